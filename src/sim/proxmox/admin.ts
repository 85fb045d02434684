/**
 * The simulator's control surface for tests and the CLI: seed state, inject faults,
 * move the clock, expire tickets, read request counters. The same operations are
 * served over HTTP under `/_sim/` for out-of-process users.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GiB } from '../../proxmox/size.ts';
import { formatPropertyString, parsePropertyString } from '../../proxmox/property-string.ts';
import { simOptionFormat as guestOptionFormat } from './api/guest-formats-full.ts';
import { normaliseTags } from '../../proxmox/tags.ts';
import { defaultNode } from './default-state.ts';
import { emptyFirewall, type AclEntry, type GuestType, type SimGuestState, type SimStorageState, type SimVolume } from './state.ts';
import { parseFault, type Fault, type FaultKind } from './faults.ts';
import type { RequestCounters, Simulator } from './simulator.ts';
import type { SimTask } from './tasks.ts';
import { sendJson } from './http.ts';
import type { AgentRule, AgentRunRecord } from './guest-agent.ts';
import type { RunningSshServer } from './ssh.ts';
import { addOciImage, type OciImage } from './api/oci.ts';
import { idealSchedule, type IdealItem, type IdealReport } from './ideal.ts';

const CREATE_TYPES = new Set(['vzcreate', 'qmcreate', 'vzclone', 'qmclone']);
const START_TYPES = new Set(['vzstart', 'qmstart']);

export interface NodeSeed {
  name: string;
  cpus?: number;
  memoryGiB?: number;
  ip?: string;
  online?: boolean;
}

export interface StorageSeed {
  id: string;
  type: SimStorageState['type'];
  content: string[];
  totalGiB: number;
  shared?: boolean;
  nodes?: string[];
  path?: string;
}

export interface VolumeSeed {
  volid: string;
  node?: string;
  content: SimVolume['content'];
  sizeBytes?: number;
  format?: string;
  vmid?: number;
}

export interface GuestSeed {
  type: GuestType;
  vmid: number;
  node?: string;
  /** Options as in the `.conf` file; numbers are stored as their decimal text. */
  config: Record<string, string | number>;
  status?: 'running' | 'stopped';
  agentRunning?: boolean;
  pool?: string;
}

export interface TokenSeed {
  userid: string;
  tokenid: string;
  /** Privilege separation (default true): effective privileges = user ∩ token ACL. */
  privsep?: boolean;
  acl?: AclEntry[];
  /** Unix seconds; 0 or absent = never. */
  expire?: number;
  /** Fixed secret; default a seeded UUID. */
  secret?: string;
}

export interface IssuedToken {
  fullId: string;
  secret: string;
  /** Ready for an `Authorization` header. */
  header: string;
}

export class SimAdmin {
  readonly #sim: Simulator;
  /** The node's SSH server (ssh.ts), once started. */
  sshServer: RunningSshServer | undefined;

  constructor(sim: Simulator) {
    this.#sim = sim;
  }

  addNode(seed: NodeSeed): void {
    const node = defaultNode(seed.name, seed.ip ?? '127.0.0.1');
    if (seed.cpus !== undefined) node.cpus = seed.cpus;
    if (seed.memoryGiB !== undefined) node.memoryBytes = seed.memoryGiB * GiB;
    node.online = seed.online ?? true;
    this.#sim.state.nodes = this.#sim.state.nodes.filter((n) => n.name !== seed.name).concat(node);
  }

  /** A node going offline answers 595 to every request routed to it. */
  setNodeOnline(name: string, online: boolean): void {
    const node = this.#sim.state.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node '${name}'`);
    node.online = online;
  }

  addStorage(seed: StorageSeed): void {
    const s: SimStorageState = { id: seed.id, type: seed.type, content: seed.content, shared: seed.shared ?? false, totalBytes: seed.totalGiB * GiB };
    if (seed.nodes) s.nodes = seed.nodes;
    if (seed.path !== undefined) s.path = seed.path;
    if (seed.type === 'lvmthin' || seed.type === 'lvm') s.vgname = 'pve';
    this.#sim.state.storages = this.#sim.state.storages.filter((x) => x.id !== seed.id).concat(s);
  }

  /** Adds a file such as a container template (`local:vztmpl/…`), ISO or cloud image. */
  addVolume(seed: VolumeSeed): void {
    const storage = seed.volid.split(':')[0]!;
    const s = this.#sim.storage(storage);
    if (!s) throw new Error(`no storage '${storage}'`);
    const file = seed.volid.split('/').pop() ?? seed.volid;
    const vol: SimVolume = {
      volid: seed.volid, storage, content: seed.content, size: seed.sizeBytes ?? 100_000_000, ctime: this.#sim.clock.nowSeconds(),
      format: seed.format ?? (seed.content === 'vztmpl' ? 'tzst' : file.replace(/^.*\./, '')),
    };
    if (!s.shared) vol.node = seed.node ?? this.#sim.state.nodes[0]?.name ?? 'pve';
    if (seed.vmid !== undefined) vol.vmid = seed.vmid;
    this.#sim.removeVolume(seed.volid);
    this.#sim.state.volumes.push(vol);
  }

  /** Adds an existing guest; disk options naming unknown volumes get them created. */
  addGuest(seed: GuestSeed): SimGuestState {
    if (this.#sim.findGuest(seed.vmid)) throw new Error(`vmid ${seed.vmid} exists`);
    const node = seed.node ?? this.#sim.state.nodes[0]?.name ?? 'pve';
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(seed.config)) {
      let value = String(v);
      if (k === 'tags') value = normaliseTags(value);
      const format = /^net\d+$/.test(k) ? guestOptionFormat(seed.type, k) : undefined;
      if (format) {
        const values = parsePropertyString(value, format).values;
        const macKey = seed.type === 'qemu' ? 'macaddr' : 'hwaddr';
        values[macKey] = (values[macKey] ?? this.#sim.mac()).toUpperCase();
        value = formatPropertyString(values, format);
      }
      config[k] = value;
    }
    const g: SimGuestState = {
      type: seed.type, vmid: seed.vmid, node, config, pending: {}, pendingDelete: [], snapshots: [], status: seed.status ?? 'stopped',
      agentRunning: seed.agentRunning ?? (seed.status === 'running' && /^(enabled=)?1/.test(config['agent'] ?? '0')), firewall: emptyFirewall(), agentFiles: {},
    };
    if (g.status === 'running') g.startedAt = this.#sim.clock.now();
    for (const [k, v] of Object.entries(config)) this.#seedDisk(g, k, v);
    this.#sim.state.guests.push(g);
    if (seed.pool !== undefined) this.addPool(seed.pool, [`${seed.type}/${seed.vmid}`]);
    return g;
  }

  #seedDisk(g: SimGuestState, key: string, value: string): void {
    if (!(g.type === 'lxc' ? /^(rootfs|mp\d+)$/ : /^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$/).test(key)) return;
    const format = guestOptionFormat(g.type, key);
    if (!format) return;
    const values = parsePropertyString(value, format).values;
    const volid = values[g.type === 'lxc' ? 'volume' : 'file'];
    if (volid === undefined || !volid.includes(':') || values['media'] === 'cdrom' || this.#sim.volume(volid)) return;
    const storage = this.#sim.storage(volid.split(':')[0]!);
    if (!storage) return;
    const size = values['size'] === undefined ? 4 * GiB : Number(/^(\d+)/.exec(values['size'])?.[1] ?? 4) * (values['size'].endsWith('M') ? 1048576 : GiB);
    const vol: SimVolume = { volid, storage: storage.id, content: g.type === 'lxc' ? 'rootdir' : 'images', format: 'raw', size, ctime: this.#sim.clock.nowSeconds(), vmid: g.vmid };
    if (!storage.shared) vol.node = g.node;
    this.#sim.state.volumes.push(vol);
  }

  addPool(poolid: string, members: string[] = [], comment?: string): void {
    const existing = this.#sim.state.pools.find((p) => p.poolid === poolid);
    if (existing) existing.members.push(...members.filter((m) => !existing.members.includes(m)));
    else this.#sim.state.pools.push({ poolid, members: [...members], ...(comment !== undefined ? { comment } : {}) });
  }

  addUser(userid: string, options: { password?: string; acl?: AclEntry[] } = {}): void {
    this.#sim.state.users = this.#sim.state.users.filter((u) => u.userid !== userid).concat({ userid, acl: options.acl ?? [], ...(options.password !== undefined ? { password: options.password } : {}) });
  }

  createToken(seed: TokenSeed): IssuedToken {
    if (!this.#sim.state.users.some((u) => u.userid === seed.userid)) this.addUser(seed.userid);
    const fullId = `${seed.userid}!${seed.tokenid}`;
    const secret = seed.secret ?? this.#sim.random.uuid();
    this.#sim.state.tokens = this.#sim.state.tokens.filter((t) => t.fullId !== fullId).concat({
      fullId, secret, privsep: seed.privsep ?? true, acl: seed.acl ?? [], expire: seed.expire ?? 0,
    });
    return { fullId, secret, header: `PVEAPIToken=${fullId}=${secret}` };
  }

  /** Adds a fault (checked with `parseFault`, so a misspelt one is an error, not a no-op). */
  injectFault(fault: Fault): void {
    this.#sim.faults.add(parseFault(fault));
  }

  /** Resolves when no API request is in flight: a request or answer a latency fault held is done. */
  idle(): Promise<void> {
    return this.#sim.idle();
  }

  clearFaults(kind?: FaultKind): void {
    this.#sim.faults.clear(kind);
  }

  faults(): readonly Fault[] {
    return this.#sim.faults.list();
  }

  /** Moves simulated time forward; due tasks finish, delayed responses go out. */
  advance(ms: number): void {
    this.#sim.clock.advance(ms);
  }

  setSpeed(speed: number): void {
    this.#sim.clock.setSpeed(speed);
  }

  /** Every ticket issued so far stops working, as after the 2 h lifetime. */
  expireTickets(): void {
    this.#sim.ticketsNotBefore = this.#sim.clock.nowSeconds() + 1;
  }

  setGuestAgentRunning(vmid: number, running: boolean): void {
    const g = this.#sim.findGuest(vmid);
    if (!g) throw new Error(`no guest ${vmid}`);
    g.agentRunning = running;
  }

  /** A rule for commands run through the guest agent (see guest-agent.ts): their exit code, output and duration. */
  /** Adds an image (any tag of `repository`, such as `docker.io/library/nginx`) that OCI pulls find. */
  addOciImage(repository: string, image: OciImage): void {
    addOciImage(this.#sim, repository, image);
  }

  addAgentRule(rule: AgentRule): void {
    this.#sim.agents.addRule(rule);
  }

  clearAgentRules(): void {
    this.#sim.agents.clearRules();
  }

  /** Provisioning step runs started in guests (a run sent twice is started once). */
  agentRuns(vmid?: number): AgentRunRecord[] {
    return this.#sim.agents.startedRuns(vmid);
  }

  /** Puts a guest under Proxmox HA (with its HA state, e.g. `started`) or, with undefined, takes it out. */
  setGuestHaState(vmid: number, state: string | undefined): void {
    const g = this.#sim.findGuest(vmid);
    if (!g) throw new Error(`no guest ${vmid}`);
    if (state === undefined) delete g.hastate;
    else g.hastate = state;
  }

  /** pvestatd's cycle from now on: the next `/cluster/resources` read starts a broadcast period. */
  setResourcesLag(ms: number): void {
    this.#sim.resourcesLagMs = ms;
    this.#sim.resourcesSnapshot = undefined;
  }

  counters(): RequestCounters {
    return structuredClone(this.#sim.counters);
  }

  resetCounters(): void {
    this.#sim.counters = { total: 0, byEndpoint: {}, byPath: {}, firstAt: {} };
  }

  guest(vmid: number): SimGuestState | undefined {
    this.#sim.settle();
    return this.#sim.findGuest(vmid);
  }

  tasks(): SimTask[] {
    this.#sim.settle();
    return this.#sim.tasks.all();
  }

  /**
   * What a perfect client could have done with the guests given: each guest's successful create
   * (or clone) and start, with the work the simulator drew for them, scheduled as early as its
   * locks and storage allow (see ideal.ts). Throws when a guest has not been created and started.
   */
  ideal(vmids: readonly number[]): IdealReport {
    this.#sim.settle();
    const done = this.#sim.tasks.all().filter((t) => t.status === 'stopped' && (t.exitstatus === 'OK' || t.exitstatus?.startsWith('WARNINGS')));
    const items = vmids.map((vmid): IdealItem => {
      const create = done.filter((t) => CREATE_TYPES.has(t.type) && t.work.target === vmid).at(-1);
      const start = done.filter((t) => START_TYPES.has(t.type) && t.id === String(vmid)).at(-1);
      if (!create || !start) throw new Error(`guest ${vmid} has no successful ${create ? 'start' : 'create or clone'} task`);
      return { vmid, create: create.work, start: start.work, configure: create.type.endsWith('clone') };
    });
    return idealSchedule(items);
  }

  /**
   * What a PhoenixHypervisor's spec.ssh needs to reach the simulated node: address, port, node,
   * the host key (fingerprint and known_hosts line) and a key pair authorized for root.
   */
  ssh(): { host: string; port: number; node: string; hostKeyFingerprint: string; knownHosts: string; username: string; privateKey: string; publicKey: string } {
    const s = this.sshServer;
    if (!s) throw new Error('the simulator serves no SSH (started with ssh: false)');
    return { host: s.host, port: s.port, node: s.node, hostKeyFingerprint: s.hostKeyFingerprint, knownHosts: s.knownHosts, ...s.clientKey };
  }

  /** Authorizes an OpenSSH public key for a user of the simulated node (who then needs `sudo` for pct unless root). */
  authorizeSshKey(username: string, publicKey: string): void {
    if (!this.sshServer) throw new Error('the simulator serves no SSH (started with ssh: false)');
    this.sshServer.authorize(username, publicKey);
  }

  /** A deep copy of the whole state (what `--state file.json` saves). */
  snapshotState() {
    this.#sim.settle();
    return structuredClone(this.#sim.state);
  }
}

/** `/_sim/…` over HTTP: JSON in, `{data}` out. */
export function adminHandler(admin: SimAdmin) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      return sendJson(res, 400, 'Bad Request', { error: 'body must be JSON' });
    }
    const route = `${req.method ?? 'GET'} ${url.pathname.replace(/\/+$/, '')}`;
    const arg = <T>() => body as unknown as T;
    try {
      let data: unknown = null;
      let m: RegExpExecArray | null;
      if (route === 'GET /_sim/state') data = admin.snapshotState();
      else if (route === 'POST /_sim/nodes') admin.addNode(arg<NodeSeed>());
      else if ((m = /^PUT \/_sim\/nodes\/([^/]+)$/.exec(route))) admin.setNodeOnline(decodeURIComponent(m[1]!), body['online'] !== false);
      else if (route === 'POST /_sim/storages') admin.addStorage(arg<StorageSeed>());
      else if (route === 'POST /_sim/volumes') admin.addVolume(arg<VolumeSeed>());
      else if (route === 'POST /_sim/guests') admin.addGuest(arg<GuestSeed>());
      else if ((m = /^PUT \/_sim\/guests\/(\d+)\/agent$/.exec(route))) admin.setGuestAgentRunning(Number(m[1]), body['running'] !== false);
      else if (route === 'POST /_sim/agent/rules') admin.addAgentRule(arg<AgentRule>());
      else if (route === 'DELETE /_sim/agent/rules') admin.clearAgentRules();
      else if (route === 'GET /_sim/agent/runs') data = admin.agentRuns(url.searchParams.has('vmid') ? Number(url.searchParams.get('vmid')) : undefined);
      else if ((m = /^PUT \/_sim\/guests\/(\d+)\/ha$/.exec(route))) admin.setGuestHaState(Number(m[1]), typeof body['state'] === 'string' ? body['state'] : undefined);
      else if (route === 'POST /_sim/pools') admin.addPool(String(body['poolid']), (body['members'] as string[] | undefined) ?? []);
      else if (route === 'POST /_sim/users') admin.addUser(String(body['userid']), arg<{ password?: string; acl?: AclEntry[] }>());
      else if (route === 'POST /_sim/tokens') data = admin.createToken(arg<TokenSeed>());
      else if (route === 'GET /_sim/faults') data = admin.faults();
      else if (route === 'POST /_sim/faults') admin.injectFault(arg<Fault>());
      else if (route === 'DELETE /_sim/faults') admin.clearFaults((url.searchParams.get('kind') ?? undefined) as FaultKind | undefined);
      else if (route === 'POST /_sim/clock/advance') admin.advance(Number(body['ms'] ?? 0));
      else if (route === 'PUT /_sim/clock') admin.setSpeed(Number(body['speed'] ?? 1));
      else if (route === 'POST /_sim/tickets/expire') admin.expireTickets();
      else if (route === 'PUT /_sim/resources-lag') admin.setResourcesLag(Number(body['ms'] ?? 0));
      else if (route === 'GET /_sim/counters') data = admin.counters();
      else if (route === 'DELETE /_sim/counters') admin.resetCounters();
      else if (route === 'GET /_sim/tasks') data = admin.tasks();
      else if (route === 'POST /_sim/ideal') data = admin.ideal((body['vmids'] as number[] | undefined) ?? []);
      else if (route === 'GET /_sim/idle') await admin.idle();
      else if (route === 'GET /_sim/ssh') data = admin.ssh();
      else if (route === 'POST /_sim/ssh/authorized-keys') admin.authorizeSshKey(String(body['username'] ?? 'root'), String(body['publicKey'] ?? ''));
      else return sendJson(res, 404, 'Not Found', { error: `no admin route ${route}` });
      sendJson(res, 200, 'OK', { data });
    } catch (err) {
      sendJson(res, 400, 'Bad Request', { error: err instanceof Error ? err.message : String(err) });
    }
  };
}
