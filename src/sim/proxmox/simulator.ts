/**
 * The simulated Proxmox VE cluster: state, clock, tasks, auth, faults and the domain
 * operations the API handlers share (guest lookup, locks, digests, volumes).
 */
import { GuestAgents } from './guest-agent.ts';
import { createHash, randomBytes } from 'node:crypto';
import { generateMac } from '../../proxmox/mac.ts';
import { GiB } from '../../proxmox/size.ts';
import { SimClock, type ClockMode } from './clock.ts';
import { SeededRandom } from './random.ts';
import { TaskTable, type SimTask, type TaskOutcome } from './tasks.ts';
import type { TaskWork } from './ideal.ts';
import { TicketSigner, subjectName, type Subject } from './auth.ts';
import { FaultTable, type Delay, type Fault } from './faults.ts';
import { ApiError, fail, TaskFailure } from './errors.ts';
import { defaultState } from './default-state.ts';
import type { GuestType, SimGuestState, SimNodeState, SimState, SimStorageState, SimVolume } from './state.ts';

export type PveVersion = '9.1' | '8.4';

/** pvestatd broadcasts guest status every 10 s (PVE/Service/pvestatd.pm's update loop). */
export const defaultResourcesLagMs = 10_000;

export interface SimulatorOptions {
  /** Seeds MACs, UUIDs, PIDs, task durations and fault dice. Default 1. */
  seed?: number;
  /** Simulated seconds per real second. Default 1 (realistic durations). */
  speed?: number;
  /** `manual`: time only moves when advanced (tests). Default `real`. */
  clock?: ClockMode;
  pveVersion?: PveVersion;
  /** Initial state; default a fresh single-node install. */
  state?: SimState;
  /** Real Proxmox delays every 401 by about 3 s; off by default. */
  authFailureDelayMs?: number;
  /** How long /cluster/resources lags behind the truth: pvestatd's cycle, 10 s by default as on Proxmox; 0 for none. */
  resourcesLagMs?: number;
  /**
   * Simulated start time (ms since epoch). Default now, as a real host reports the current
   * time (snapshot times, task start times, tickets); a test that needs a fixed start sets it.
   */
  startMs?: number;
}

/** Default simulated durations (ms) per task type, before jitter and the speed factor. */
export const TASK_DURATION_MS: Readonly<Record<string, number>> = {
  vzcreate: 8000, qmcreate: 2000, qmclone: 4000, vzclone: 5000, qmconfig: 500,
  qmstart: 2500, vzstart: 1500, qmstop: 1000, vzstop: 1000, qmshutdown: 5000, vzshutdown: 4000,
  qmreboot: 7000, vzreboot: 5000, qmdestroy: 2000, vzdestroy: 2000, qmtemplate: 2000, vztemplate: 1500,
  qmsnapshot: 2000, vzsnapshot: 2000, qmdelsnapshot: 1500, vzdelsnapshot: 1500, qmrollback: 3000, vzrollback: 3000,
  resize: 1500, qmigrate: 10000, vzmigrate: 10000, download: 15000, ociregistrypull: 12000, srvreload: 2000, imgdel: 500,
};

export const VERSION_INFO: Readonly<Record<PveVersion, { version: string; release: string; repoid: string; authFailure: string }>> = {
  '9.1': { version: '9.1.5', release: '9.1', repoid: '26c10a2e8fe0ab19', authFailure: 'Authentication failed!' },
  '8.4': { version: '8.4.1', release: '8.4', repoid: '2a5fa54a8503f96d', authFailure: 'permission denied - invalid PVE ticket' },
};

export interface RequestCounters {
  total: number;
  /** `GET /nodes/{node}/qemu/{vmid}/config` → count */
  byEndpoint: Record<string, number>;
  /** `GET /nodes/pve/qemu/100/config` → count */
  byPath: Record<string, number>;
  /** `GET /nodes/pve/qemu/100/config` → the ordinal (1 = first counted) of its first request: which path was asked for first. */
  firstAt: Record<string, number>;
}

export class Simulator {
  readonly clock: SimClock;
  readonly random: SeededRandom;
  readonly tasks: TaskTable;
  readonly faults = new FaultTable<Fault>();
  /** The inside of the VMs, as their guest agents show it. */
  readonly agents: GuestAgents;
  readonly signer = new TicketSigner(randomBytes(32));
  readonly pveVersion: PveVersion;
  readonly authFailureDelayMs: number;
  resourcesLagMs: number;
  state: SimState;
  counters: RequestCounters = { total: 0, byEndpoint: {}, byPath: {}, firstAt: {} };
  /** Tickets issued before this (unix s) are rejected: the "ticket expiry" fault. */
  ticketsNotBefore = 0;
  /** The RRD data pvestatd last broadcast, by resource id, that /cluster/resources overlays. */
  resourcesSnapshot: { at: number; items: Map<string, Record<string, unknown>> } | undefined;

  constructor(options: SimulatorOptions = {}) {
    const seed = options.seed ?? 1;
    this.random = new SeededRandom(seed);
    this.clock = new SimClock({ startMs: options.startMs ?? Date.now(), speed: options.speed ?? 1, mode: options.clock ?? 'real' });
    this.agents = new GuestAgents(this.clock);
    this.tasks = new TaskTable(seed);
    this.pveVersion = options.pveVersion ?? '9.1';
    this.authFailureDelayMs = options.authFailureDelayMs ?? 0;
    this.resourcesLagMs = options.resourcesLagMs ?? defaultResourcesLagMs;
    this.state = options.state ?? defaultState(this.clock.nowSeconds());
    this.clock.onAdvance(() => this.settle());
  }

  get versionInfo() {
    return VERSION_INFO[this.pveVersion];
  }

  /** Finishes every task whose simulated duration has elapsed. */
  settle(): void {
    this.tasks.settle(this.clock.now());
  }

  /** Waits as a delaying fault says: simulated `ms`, or wall-clock `realMs`. */
  hold(delay: Delay): Promise<void> {
    return delay.realMs !== undefined ? this.clock.sleepReal(delay.realMs) : this.clock.sleep(delay.ms ?? 0);
  }

  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];

  /** Brackets an API request, so tests can wait for held requests to be answered. */
  requestStarted(): void {
    this.#inFlight++;
  }

  requestEnded(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** Resolves when no API request is in flight (e.g. one a latency fault holds was answered). */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  count(method: string, template: string, path: string): void {
    this.counters.total++;
    const e = `${method} ${template}`;
    const p = `${method} ${path}`;
    this.counters.byEndpoint[e] = (this.counters.byEndpoint[e] ?? 0) + 1;
    this.counters.byPath[p] = (this.counters.byPath[p] ?? 0) + 1;
    this.counters.firstAt[p] ??= this.counters.total;
  }

  // ---- nodes ---------------------------------------------------------------------

  /** A node named in a request path: unknown → host lookup failure, offline → 595. */
  node(name: string): SimNodeState {
    const node = this.state.nodes.find((n) => n.name === name);
    if (!node) throw fail(`hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known`);
    if (!node.online) throw new ApiError(595, `Connection refused`, { emptyBody: true });
    return node;
  }

  nodeMemoryCommitted(node: string): number {
    return this.state.guests
      .filter((g) => g.node === node && g.status === 'running')
      .reduce((sum, g) => sum + guestMemoryBytes(g), 0);
  }

  // ---- guests --------------------------------------------------------------------

  findGuest(vmid: number): SimGuestState | undefined {
    return this.state.guests.find((g) => g.vmid === vmid);
  }

  /** The guest at node/type/vmid, or Proxmox's 500 for a missing config file. */
  guest(node: string, type: GuestType, vmid: number): SimGuestState {
    const g = this.state.guests.find((x) => x.vmid === vmid && x.type === type && x.node === node);
    if (!g) throw fail(configMissing(node, type, vmid));
    return g;
  }

  /** `check_lock`: a locked guest refuses changes. */
  checkLock(g: SimGuestState): void {
    const lock = g.config['lock'];
    if (lock !== undefined) throw fail(`${g.type === 'qemu' ? 'VM' : 'CT'} is locked (${lock})`);
  }

  /** sha1 of the config file as Proxmox would write it (config, pending, snapshots). */
  digest(g: SimGuestState): string {
    const lines = Object.entries(g.config).map(([k, v]) => `${k}: ${v}`);
    if (g.parentSnapshot !== undefined) lines.push(`parent: ${g.parentSnapshot}`);
    if (Object.keys(g.pending).length > 0 || g.pendingDelete.length > 0) {
      lines.push('', '[PENDING]', ...Object.entries(g.pending).map(([k, v]) => `${k}: ${v}`));
      if (g.pendingDelete.length > 0) lines.push(`delete: ${g.pendingDelete.join(',')}`);
    }
    for (const s of g.snapshots) {
      lines.push('', `[${s.name}]`, ...Object.entries(s.config).map(([k, v]) => `${k}: ${v}`));
      if (s.parent !== undefined) lines.push(`parent: ${s.parent}`);
      lines.push(`snaptime: ${s.snaptime}`);
      if (s.description !== '') lines.push(`description: ${s.description}`);
    }
    return createHash('sha1').update(lines.join('\n') + '\n').digest('hex');
  }

  mac(): string {
    return generateMac(() => this.random.byte());
  }

  // ---- storage -------------------------------------------------------------------

  storage(id: string): SimStorageState | undefined {
    return this.state.storages.find((s) => s.id === id);
  }

  /** Storage `id` as seen from `node`, or Proxmox's error when it is not there. */
  storageOn(id: string, node: string): SimStorageState {
    const s = this.storage(id);
    if (!s) throw fail(`storage '${id}' does not exist`);
    if (s.nodes && !s.nodes.includes(node)) throw fail(`storage '${id}' is not available on node '${node}'`);
    if (s.disable) throw fail(`storage '${id}' is disabled`);
    return s;
  }

  storageUsed(s: SimStorageState, node: string): number {
    return this.state.volumes.filter((v) => v.storage === s.id && (s.shared || v.node === node)).reduce((sum, v) => sum + v.size, 0);
  }

  volume(volid: string): SimVolume | undefined {
    return this.state.volumes.find((v) => v.volid === volid);
  }

  /**
   * Allocates a guest disk inside a task: applies the storage-lock-timeout fault,
   * checks capacity, names the volume as the storage plugin would.
   */
  allocateDisk(storageId: string, node: string, vmid: number, sizeBytes: number, content: 'images' | 'rootdir', format?: string): SimVolume {
    const s = this.storageOn(storageId, node);
    this.throwIfStorageLocked(storageId);
    if (!s.content.includes(content)) throw new TaskFailure(`storage '${storageId}' does not support content-type '${content}'`);
    const free = s.totalBytes - this.storageUsed(s, node);
    const name = this.nextDiskName(s, vmid);
    if (sizeBytes > free) {
      throw new TaskFailure(
        s.type === 'lvmthin' || s.type === 'lvm'
          ? `lvcreate '${s.vgname ?? 'pve'}/${name}' error:   Volume group "${s.vgname ?? 'pve'}" has insufficient free space (${Math.floor(free / 4194304)} extents): ${Math.ceil(sizeBytes / 4194304)} required.`
          : `unable to create image: qemu-img: ${name}: Could not resize image: No space left on device`,
      );
    }
    const isFile = s.type === 'dir' || s.type === 'nfs';
    // A file storage's `format` option is its default image format (pve-storage Plugin.pm default_format).
    const configured = s.options?.['format'];
    const fmt = format ?? (isFile ? (content === 'rootdir' ? 'raw' : configured !== undefined ? String(configured) : 'qcow2') : 'raw');
    const volid = isFile ? `${s.id}:${vmid}/${name}.${fmt}` : `${s.id}:${name}`;
    const vol: SimVolume = { volid, storage: s.id, content, format: fmt, size: sizeBytes, ctime: this.clock.nowSeconds(), vmid };
    if (!s.shared) vol.node = node;
    this.state.volumes.push(vol);
    return vol;
  }

  throwIfStorageLocked(storageId: string): void {
    if (this.faults.take('storage-lock-timeout', (f) => f.storage === storageId)) {
      throw new TaskFailure(`can't lock file '/var/lock/pve-manager/pve-storage-${storageId}' - got timeout`);
    }
  }

  /** The plugin's `find_free_diskname`: the lowest unused `vm-<vmid>-disk-<n>`. */
  nextDiskName(s: SimStorageState, vmid: number): string {
    const used = new Set(this.state.volumes.filter((v) => v.storage === s.id).map((v) => v.volid.replace(/^.*[:/]/, '').replace(/\.[a-z0-9]+$/, '')));
    for (let i = 0; ; i++) {
      const name = `vm-${vmid}-disk-${i}`;
      if (!used.has(name)) return name;
    }
  }

  removeVolume(volid: string): void {
    this.state.volumes = this.state.volumes.filter((v) => v.volid !== volid);
  }

  // ---- tasks ---------------------------------------------------------------------

  /**
   * Starts a worker task. Its `finish` step runs when the simulated duration has
   * elapsed; a task-failure fault for this type replaces the outcome. `onFailure` undoes
   * what the API call did before the worker ran (a lock, a placeholder config), as a
   * failing Proxmox worker does; `finish` handles its own failures.
   */
  startTask(spec: {
    node: string; type: string; id: string | number; subject: Subject; durationMs?: number; log?: string[]; finish: () => TaskOutcome | void; onFailure?: () => void;
    /** The part of the duration that is disk I/O on one storage: it waits for the I/O already queued there. */
    io?: { storage: string; ms: number };
    /** A clone's source and how it holds it; the guest a create or clone brings into existence. */
    source?: { vmid: number; exclusive: boolean };
    target?: number;
    /** How long the worker first waits for a file lock another task holds: not scaled by jitter, as the holder's end is fixed. */
    lockWaitMs?: number;
  }): SimTask {
    const id = String(spec.id);
    const forType = (f: { taskType: string; vmid?: number }) => f.taskType === spec.type && (f.vmid === undefined || String(f.vmid) === id);
    const slower = this.faults.take('slow-task', forType)?.ms ?? 0;
    const base = spec.durationMs ?? TASK_DURATION_MS[spec.type] ?? 1000;
    const jitter = 0.8 + this.random.next() * 0.4;
    const ioMs = Math.round(Math.min(spec.io?.ms ?? 0, base) * jitter);
    const work: TaskWork = {
      fixedMs: Math.round(base * jitter) - ioMs + slower + (spec.lockWaitMs ?? 0), ioMs,
      ...(spec.io ? { ioStorage: spec.io.storage } : {}), ...(spec.source ? { source: spec.source } : {}), ...(spec.target !== undefined ? { target: spec.target } : {}),
    };
    const injected = this.faults.take('task-failure', forType);
    const finish = injected
      ? () => {
          if (injected.warnings !== undefined) {
            const outcome = spec.finish() ?? {};
            return { ...outcome, warnings: Array.from({ length: injected.warnings }, (_, i) => `injected warning ${i + 1}`) };
          }
          spec.onFailure?.();
          throw new TaskFailure(injected.message ?? 'injected task failure');
        }
      : spec.finish;
    return this.tasks.start({
      node: spec.node, type: spec.type, id, user: subjectName(spec.subject), nowMs: this.clock.now(),
      durationMs: this.#ioWait(work) + work.ioMs + work.fixedMs, work, log: spec.log, finish,
    });
  }

  /** When each storage has finished the disk I/O queued on it so far (simulated ms). */
  readonly #storageBusyUntil = new Map<string, number>();

  /**
   * A storage copies one task's data at a time at full speed: concurrent copies share its
   * bandwidth, so a copy queued behind others ends no sooner than if it had been sent after them.
   */
  #ioWait(work: TaskWork): number {
    if (work.ioStorage === undefined || work.ioMs === 0) return 0;
    const now = this.clock.now();
    const ioStart = Math.max(now, this.#storageBusyUntil.get(work.ioStorage) ?? 0);
    this.#storageBusyUntil.set(work.ioStorage, ioStart + work.ioMs);
    return ioStart - now;
  }
}

export function configMissing(node: string, type: GuestType, vmid: number): string {
  return `Configuration file 'nodes/${node}/${type === 'qemu' ? 'qemu-server' : 'lxc'}/${vmid}.conf' does not exist`;
}

/** Memory a guest claims from its node while running (MiB in the config). */
export function guestMemoryBytes(g: SimGuestState): number {
  const raw = g.config['memory'] ?? '512';
  const mib = Number(/^(?:current=)?(\d+)/.exec(raw)?.[1] ?? 512);
  return mib * 1024 * 1024;
}

export const DEFAULT_ROOTFS_GIB = 4;
export const BYTES_PER_GIB = GiB;
