/**
 * Discovery, authentication and tasks: `/version`, `/access/ticket`, `/cluster/*`,
 * `/nodes`, node status and the task endpoints. `/cluster/nextid` answers a string
 * and reserves nothing, as on Proxmox; `/cluster/resources` can lag like pvestatd.
 */
import { nextIdRange } from './cluster-admin.ts';
import { bool, int, oneOf, str, vmidParam } from '../../../proxmox/schema.ts';
import { parseUpid, upidTokenId } from '../../../proxmox/upid.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { ApiError, fail, paramError } from '../errors.ts';
import { Reply, type Endpoint } from '../endpoint.ts';
import { hasPrivilege, type Subject } from '../auth.ts';
import type { Simulator } from '../simulator.ts';
import type { SimTask } from '../tasks.ts';
import { listEntry } from './guest-common.ts';
import { nodeOnly } from './common.ts';

const o = { optional: true } as const;

function login(sim: Simulator, p: Params): unknown {
  let username = String(p['username']);
  if (p['realm'] !== undefined && !username.includes('@')) username = `${username}@${String(p['realm'])}`;
  const password = String(p['password']);
  const user = sim.state.users.find((u) => u.userid === username);
  const now = sim.clock.nowSeconds();
  const renewing = password.startsWith('PVE:') && sim.signer.verifyTicket(password, now, sim.ticketsNotBefore) === username;
  if (!user || !(renewing || (user.password !== undefined && user.password === password))) {
    throw new ApiError(401, 'authentication failure\n');
  }
  const out: Record<string, unknown> = {
    username,
    ticket: sim.signer.ticket(username, now),
    CSRFPreventionToken: sim.signer.csrf(username, now),
    cap: { vms: {}, storage: {}, access: {}, nodes: {}, dc: {}, sdn: {}, mapping: {} },
  };
  if (sim.state.clusterName !== undefined) out['clustername'] = sim.state.clusterName;
  return out;
}

function canAudit(sim: Simulator, subject: Subject, path: string): boolean {
  return hasPrivilege(sim.state, subject, path, 'VM.Audit') || hasPrivilege(sim.state, subject, path, 'Sys.Audit') || hasPrivilege(sim.state, subject, path, 'Datastore.Audit');
}

function liveResources(sim: Simulator, subject: Subject, type: string | undefined): unknown[] {
  const items: unknown[] = [];
  if (type === undefined || type === 'vm') {
    for (const g of sim.state.guests) {
      if (!hasPrivilege(sim.state, subject, `/vms/${g.vmid}`, 'VM.Audit')) continue;
      const item: Record<string, unknown> = { id: `${g.type}/${g.vmid}`, type: g.type, vmid: g.vmid, node: g.node, ...guestStats(sim, g) };
      if (g.config['lock'] !== undefined) item['lock'] = g.config['lock'];
      if (g.config['tags'] !== undefined) item['tags'] = g.config['tags'];
      if (g.hastate !== undefined) item['hastate'] = g.hastate;
      const pool = sim.state.pools.find((p) => p.members.includes(`${g.type}/${g.vmid}`));
      if (pool) item['pool'] = pool.poolid;
      items.push(item);
    }
  }
  if (type === undefined || type === 'node') {
    for (const n of sim.state.nodes) {
      if (!canAudit(sim, subject, `/nodes/${n.name}`)) continue;
      items.push({
        id: `node/${n.name}`, type: 'node', node: n.name, status: n.online ? 'online' : 'offline', maxcpu: n.cpus, cpu: 0.02,
        maxmem: n.memoryBytes, mem: sim.nodeMemoryCommitted(n.name), maxdisk: 100 * 2 ** 30, disk: 8 * 2 ** 30, uptime: 86400, level: '', 'cgroup-mode': 2,
      });
    }
  }
  if (type === undefined || type === 'storage') {
    for (const s of sim.state.storages) {
      for (const n of sim.state.nodes) {
        if (s.nodes && !s.nodes.includes(n.name)) continue;
        if (!hasPrivilege(sim.state, subject, `/storage/${s.id}`, 'Datastore.Audit') && !hasPrivilege(sim.state, subject, `/storage/${s.id}`, 'Datastore.AllocateSpace')) continue;
        items.push({
          id: `storage/${n.name}/${s.id}`, type: 'storage', storage: s.id, node: n.name, plugintype: s.type, status: n.online ? 'available' : 'unknown',
          shared: s.shared ? 1 : 0, content: [...s.content].sort().join(','), disk: sim.storageUsed(s, n.name), maxdisk: s.totalBytes,
        });
      }
    }
  }
  if (type === undefined) for (const p of sim.state.pools) items.push({ id: `/pool/${p.poolid}`, type: 'pool', pool: p.poolid });
  return items;
}

/** What pvestatd reports of a guest into the RRD data (PVE::API2Tools::extract_vm_stats). */
function guestStats(sim: Simulator, g: Simulator['state']['guests'][number]): Record<string, unknown> {
  const e = listEntry(sim, g);
  return {
    status: g.status, name: e['name'], template: g.config['template'] === '1' ? 1 : 0,
    maxcpu: e['cpus'], cpu: e['cpu'], maxmem: e['maxmem'], mem: e['mem'], maxdisk: e['maxdisk'], disk: 0, netin: 0, netout: 0, diskread: 0, diskwrite: 0, uptime: e['uptime'],
  };
}

const guestStatKeys = ['status', 'name', 'template', 'maxcpu', 'cpu', 'maxmem', 'mem', 'maxdisk', 'disk', 'netin', 'netout', 'diskread', 'diskwrite', 'uptime'];

/**
 * `/cluster/resources` as pve-manager's PVE/API2/Cluster.pm builds it: which guests exist, on
 * which node, their lock, tags and pool come live from pmxcfs (the vmlist, the configs, the
 * pool data), but status, name, template and sizes from the RRD data pvestatd broadcasts every
 * `resourcesLagMs` (about 10 s). A guest the RRD data does not know yet shows status `unknown`
 * and no name; a start, stop or template conversion shows only at the next broadcast.
 */
function resources(sim: Simulator, subject: Subject, type: string | undefined): unknown[] {
  const live = liveResources(sim, subject, type) as Array<Record<string, unknown>>;
  if (sim.resourcesLagMs <= 0) return live;
  // Broadcasts every resourcesLagMs from the first read (pvestatd's phase is arbitrary).
  const now = sim.clock.now();
  let snapshot = sim.resourcesSnapshot;
  if (!snapshot) snapshot = { at: now, items: rrdSnapshot(sim) };
  else if (now - snapshot.at >= sim.resourcesLagMs) snapshot = { at: snapshot.at + Math.floor((now - snapshot.at) / sim.resourcesLagMs) * sim.resourcesLagMs, items: rrdSnapshot(sim) };
  sim.resourcesSnapshot = snapshot;
  const rrd = snapshot.items;
  return live.map((item) => {
    const id = String(item['id']);
    const known = rrd.get(id);
    if (item['type'] === 'lxc' || item['type'] === 'qemu') {
      const rest = Object.fromEntries(Object.entries(item).filter(([k]) => !guestStatKeys.includes(k)));
      return known ? { ...rest, ...known } : { ...rest, status: 'unknown' };
    }
    // Nodes and storages: membership and availability live, usage figures from the RRD data.
    if (!known) return item;
    const usage = Object.fromEntries(Object.entries(known).filter(([k]) => ['cpu', 'mem', 'disk', 'uptime'].includes(k)));
    return { ...item, ...usage };
  });
}

function rrdSnapshot(sim: Simulator): Map<string, Record<string, unknown>> {
  const stats = new Map<string, Record<string, unknown>>();
  for (const g of sim.state.guests) stats.set(`${g.type}/${g.vmid}`, guestStats(sim, g));
  for (const n of sim.state.nodes) stats.set(`node/${n.name}`, { cpu: 0.02, mem: sim.nodeMemoryCommitted(n.name), uptime: 86400 });
  for (const st of sim.state.storages) for (const n of sim.state.nodes) stats.set(`storage/${n.name}/${st.id}`, { disk: sim.storageUsed(st, n.name) });
  return stats;
}

function nextid(sim: Simulator, p: Params): string {
  if (p['vmid'] !== undefined) {
    const vmid = Number(p['vmid']);
    if (sim.findGuest(vmid)) throw paramError({ vmid: `VM ${vmid} already exists` });
    return String(vmid);
  }
  // datacenter.cfg `next-id` bounds the search (pve-manager API2/Cluster.pm nextid).
  const { lower, upper } = nextIdRange(sim);
  for (let id = lower; id < upper; id++) if (!sim.findGuest(id)) return String(id);
  throw fail(`unable to get any free VMID in range [${lower}, ${upper - 1}]`);
}

function taskStatus(t: SimTask): Record<string, unknown> {
  const out: Record<string, unknown> = {
    upid: t.upid, node: t.node, pid: t.pid, pstart: t.pstart, starttime: t.starttime, type: t.type, id: t.id, user: t.user.replace(/!.*$/, ''), status: t.status,
  };
  const token = upidTokenId(t.user);
  if (token !== undefined) out['tokenid'] = token;
  if (t.status === 'stopped') out['exitstatus'] = t.exitstatus;
  return out;
}

function taskListEntry(t: SimTask): Record<string, unknown> {
  const out: Record<string, unknown> = { upid: t.upid, node: t.node, pid: t.pid, pstart: t.pstart, starttime: t.starttime, type: t.type, id: t.id, user: t.user.replace(/!.*$/, '') };
  if (t.status === 'stopped') {
    out['endtime'] = t.endtime;
    out['status'] = t.exitstatus;
  }
  return out;
}

function findTask(sim: Simulator, p: Params): SimTask {
  const upid = String(p['upid']);
  const parsed = parseUpid(upid);
  if (!parsed) throw paramError({ upid: 'unable to parse worker upid' });
  const t = sim.tasks.get(upid);
  if (!t || t.node !== p['node']) throw paramError({ upid: 'no such task' });
  return t;
}

function canSeeTask(sim: Simulator, subject: Subject, t: SimTask): boolean {
  const owner = t.user.replace(/!.*$/, '');
  return owner === subject.userid || hasPrivilege(sim.state, subject, `/nodes/${t.node}`, 'Sys.Audit');
}

function taskPermission(sim: Simulator, subject: Subject, t: SimTask): void {
  if (!canSeeTask(sim, subject, t)) throw new ApiError(403, `Permission check failed\n`);
}

const upidParam = str();

export const clusterEndpoints: Endpoint[] = [
  {
    method: 'GET', path: '/version', params: {},
    handler: ({ sim }) => ({ version: sim.versionInfo.version, release: sim.versionInfo.release, repoid: sim.versionInfo.repoid }),
  },
  {
    method: 'POST', path: '/access/ticket', public: true, allowToken: false,
    params: {
      'new-format': bool(o), otp: str(o), password: str(), path: str({ ...o, maxLength: 64, requires: 'privs' }), privs: str({ ...o, format: 'pve-priv-list', maxLength: 64, requires: 'path' }),
      realm: str({ ...o, format: 'pve-realm', maxLength: 32 }), 'tfa-challenge': str(o), username: str({ maxLength: 64 }),
    },
    handler: ({ sim, params }) => login(sim, params),
  },
  { method: 'GET', path: '/access/ticket', public: true, params: {}, handler: () => null },
  {
    method: 'GET', path: '/cluster/status', params: {}, permissions: () => [{ path: '/', privs: ['Sys.Audit'] }],
    handler: ({ sim }) => {
      const nodes = sim.state.nodes.map((n, i) => ({ type: 'node', id: `node/${n.name}`, name: n.name, nodeid: i + 1, ip: n.ip, online: n.online ? 1 : 0, local: i === 0 ? 1 : 0, level: '' }));
      if (sim.state.clusterName === undefined) return nodes;
      return [{ type: 'cluster', id: 'cluster', name: sim.state.clusterName, nodes: nodes.length, quorate: 1, version: nodes.length }, ...nodes];
    },
  },
  {
    method: 'GET', path: '/cluster/resources', params: { type: oneOf(['vm', 'storage', 'node', 'sdn'], o) },
    handler: ({ sim, params, subject }) => resources(sim, subject, params['type'] as string | undefined),
  },
  { method: 'GET', path: '/cluster/nextid', params: { vmid: { ...vmidParam, optional: true } }, handler: ({ sim, params }) => nextid(sim, params) },
  {
    method: 'GET', path: '/cluster/tasks', params: {},
    handler: ({ sim, subject }) => sim.tasks.all().filter((t) => canSeeTask(sim, subject, t)).reverse().map(taskListEntry),
  },
  {
    method: 'GET', path: '/nodes', params: {},
    handler: ({ sim, subject }) =>
      sim.state.nodes.filter((n) => canAudit(sim, subject, `/nodes/${n.name}`)).map((n) => ({
        node: n.name, status: n.online ? 'online' : 'offline', id: `node/${n.name}`, type: 'node', level: '',
        ...(n.online ? { cpu: 0.02, maxcpu: n.cpus, mem: sim.nodeMemoryCommitted(n.name), maxmem: n.memoryBytes, disk: 8 * 2 ** 30, maxdisk: 100 * 2 ** 30, uptime: 86400 } : {}),
        ssl_fingerprint: '5E:9B:2A:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC',
      })),
  },
  {
    method: 'GET', path: '/nodes/{node}/status', params: nodeOnly, permissions: (p) => [{ path: `/nodes/${String(p['node'])}`, privs: ['Sys.Audit'] }],
    handler: ({ sim, params }) => {
      const n = sim.node(String(params['node']));
      const used = sim.nodeMemoryCommitted(n.name);
      return {
        uptime: 86400, loadavg: ['0.10', '0.08', '0.05'], cpu: 0.02, wait: 0, kversion: 'Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1',
        pveversion: `pve-manager/${sim.versionInfo.version}/${sim.versionInfo.repoid}`,
        cpuinfo: { cpus: n.cpus, cores: n.cpus, sockets: 1, model: 'Simulated CPU', mhz: '3000.000', hvm: '1', flags: 'sim' },
        memory: { total: n.memoryBytes, used, free: n.memoryBytes - used, available: n.memoryBytes - used },
        swap: { total: 8 * 2 ** 30, used: 0, free: 8 * 2 ** 30 }, rootfs: { total: 100 * 2 ** 30, used: 8 * 2 ** 30, free: 92 * 2 ** 30, avail: 92 * 2 ** 30 },
        'boot-info': { mode: 'efi', secureboot: 0 }, 'current-kernel': { sysname: 'Linux', release: '6.17.2-1-pve', machine: 'x86_64', version: '#1 SMP' },
      };
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/tasks',
    params: {
      ...nodeOnly, errors: bool(o), limit: int({ ...o, minimum: 0 }), since: int(o), source: oneOf(['archive', 'active', 'all'], o), start: int({ ...o, minimum: 0 }),
      statusfilter: str({ ...o, format: 'pve-task-status-type-list' }), typefilter: str(o), until: int(o), userfilter: str(o), vmid: { ...vmidParam, optional: true },
    },
    handler: ({ sim, params, subject }) => {
      // pve-manager PVE/API2/Tasks.pm, node_tasks: the active tasks first (a running one listed
      // with status 'RUNNING'), then the archive newest first; `since`/`until` bound the start time.
      const mine = sim.tasks.all().filter((t) => t.node === params['node'] && canSeeTask(sim, subject, t)).reverse();
      const source = params['source'] ?? 'archive';
      const active = source === 'archive' ? [] : mine.filter((t) => t.status === 'running');
      const archive = source === 'active' ? [] : mine.filter((t) => t.status === 'stopped');
      let list = [...active, ...archive];
      if (params['since'] !== undefined) list = list.filter((t) => t.starttime >= Number(params['since']));
      if (params['until'] !== undefined) list = list.filter((t) => t.starttime <= Number(params['until']));
      if (params['vmid'] !== undefined) list = list.filter((t) => t.id === String(params['vmid']));
      if (params['typefilter'] !== undefined) list = list.filter((t) => t.type === params['typefilter']);
      if (params['userfilter'] !== undefined) list = list.filter((t) => t.user.includes(String(params['userfilter'])));
      if (params['errors'] === 1) list = list.filter((t) => t.status === 'stopped' && t.exitstatus !== 'OK');
      const total = list.length;
      const start = Number(params['start'] ?? 0);
      const limit = Number(params['limit'] ?? 50);
      return new Reply(list.slice(start, start + limit).map((t) => (t.status === 'running' ? { ...taskListEntry(t), status: 'RUNNING' } : taskListEntry(t))), { total });
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/tasks/{upid}', params: { ...nodeOnly, upid: upidParam },
    handler: ({ sim, params }) => (findTask(sim, params), [{ name: 'log' }, { name: 'status' }]),
  },
  {
    method: 'GET', path: '/nodes/{node}/tasks/{upid}/status', params: { ...nodeOnly, upid: upidParam },
    handler: ({ sim, params, subject }) => {
      const t = findTask(sim, params);
      taskPermission(sim, subject, t);
      return taskStatus(t);
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/tasks/{upid}/log', params: { ...nodeOnly, download: bool(o), limit: int({ ...o, minimum: 0 }), start: int({ ...o, minimum: 0 }), upid: upidParam },
    handler: ({ sim, params, subject }) => {
      const t = findTask(sim, params);
      taskPermission(sim, subject, t);
      const start = Number(params['start'] ?? 0);
      const limit = Number(params['limit'] ?? 50);
      const lines = t.log.length > 0 ? t.log : ['no content'];
      return new Reply(lines.slice(start, start + limit).map((line, i) => ({ n: start + i + 1, t: line })), { total: lines.length });
    },
  },
  {
    method: 'DELETE', path: '/nodes/{node}/tasks/{upid}', params: { ...nodeOnly, upid: upidParam },
    handler: ({ sim, params, subject }) => {
      const t = findTask(sim, params);
      taskPermission(sim, subject, t);
      sim.tasks.stop(t.upid, sim.clock.now());
      return null;
    },
  },
];

