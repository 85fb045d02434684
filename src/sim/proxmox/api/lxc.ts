/**
 * Container endpoints (`/nodes/{node}/lxc/…`), with pve-container's quirks: config
 * updates are synchronous PUTs, start/stop preconditions fail synchronously, a clone
 * locks its source with `disk`, `/template` returns null while a worker finishes.
 */
import { bool, int, num, oneOf, str as strDef, nodeParam, vmidParam, type ParamDefs } from '../../../proxmox/schema.ts';
import { formatPropertyString, parsePropertyString } from '../../../proxmox/property-string.ts';
import { lxcNetFormat } from '../../../proxmox/guest-formats.ts';
import { parseSizeChange, GiB } from '../../../proxmox/size.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { fail, TaskFailure } from '../errors.ts';
import type { Endpoint } from '../endpoint.ts';
import type { Simulator } from '../simulator.ts';
import { emptyFirewall, type SimGuestState } from '../state.ts';
import type { Subject } from '../auth.ts';
import { splitList } from '../../../proxmox/tags.ts';
import { checkCtModifyConfigPerm } from './lxc-permissions.ts';
import { applyOciImageConfig } from './oci.ts';
import { lxcOptionParams, LXC_HOT_APPLY } from './guest-params.ts';
import { allocatePerm, allocationChecks, nodeOnly, nodeVmid, optStr, vmPerm } from './common.ts';
import {
  alreadyExists, cloneDisk, removeGuest, sortConfig, applyPending, applyResize, assertTemplatable, checkDigest, convertDisksToBase, migrateGuest, diskSize, guestOf, holdLock, listEntry, materialiseDisk, normaliseOption, pendingList, readConfig, snapshotRoutes, statusCurrent, updateConfig,
} from './guest-common.ts';
import { perlTrue } from '../../../proxmox/perl-truth.ts';

const o = { optional: true } as const;
const MP_KEYS = Array.from({ length: 256 }, (_, i) => `mp${i}`);

const ct = guestOf('lxc');

/** The part of a container create spent unpacking its template onto the root disk's storage. */
const CREATE_IO_MS = 4000;

function detectOstype(template: string): string {
  const name = template.replace(/^.*\//, '');
  for (const os of ['debian', 'ubuntu', 'alpine', 'centos', 'fedora', 'archlinux', 'devuan', 'opensuse', 'gentoo', 'nixos']) if (name.startsWith(os)) return os;
  return 'unmanaged';
}

export function startContainer(sim: Simulator, g: SimGuestState): void {
  if (g.config['template'] === '1') throw new TaskFailure("you can't start a CT if it's a template");
  applyPending(g);
  g.status = 'running';
  g.startedAt = sim.clock.now();
}

function stopContainer(g: SimGuestState): void {
  g.status = 'stopped';
  g.paused = false;
  g.startedAt = undefined;
  applyPending(g);
}

function requireRunning(g: SimGuestState, word: 'CT' | 'VM' = 'CT'): void {
  if (g.status !== 'running') throw fail(`${word} ${g.vmid} not running`);
}

/** What a create call takes that is not a container option (`extract_param` in API2/LXC.pm's create). */
const CREATE_ONLY_PARAMS = new Set([
  'node', 'vmid', 'ostemplate', 'storage', 'pool', 'password', 'ssh-public-keys', 'start', 'force', 'restore', 'unique', 'ignore-unpack-errors', 'bwlimit', 'ha-managed', 'unprivileged',
]);

function create(sim: Simulator, p: Params, subject: Subject): string {
  const node = String(p['node']);
  const vmid = Number(p['vmid']);
  const exists = alreadyExists(sim, vmid);
  if (exists) throw fail(exists);
  const pool = optStr(p, 'pool');
  if (pool !== undefined && !sim.state.pools.some((x) => x.poolid === pool)) throw fail(`pool '${pool}' does not exist`);
  const options = Object.fromEntries(Object.entries(p).filter(([k]) => !CREATE_ONLY_PARAMS.has(k)));
  const unprivileged = !['0', 0, false].includes(p['unprivileged'] as string);
  checkCtModifyConfigPerm(sim, subject, { vmid, oldConf: undefined, newConf: options, deletes: [], unprivileged });
  const storage = optStr(p, 'storage') ?? 'local';
  const ostemplate = String(p['ostemplate']);
  const g: SimGuestState = {
    type: 'lxc', vmid, node, config: { lock: 'create' }, pending: {}, pendingDelete: [], snapshots: [], status: 'stopped',
    agentRunning: false, firewall: emptyFirewall(), agentFiles: {},
  };
  sim.state.guests.push(g);
  // Unpacking the template is disk I/O on the root disk's storage: about half of a create.
  const rootStorage = /^([^:,]+):/.exec(String(options['rootfs'] ?? ''))?.[1] ?? storage;
  const task = sim.startTask({
    node, type: 'vzcreate', id: vmid, subject, io: { storage: rootStorage, ms: CREATE_IO_MS }, target: vmid,
    onFailure: () => removeGuest(sim, g),
    finish: () => {
      try {
        const template = sim.volume(ostemplate);
        if (!template || template.content !== 'vztmpl') throw new TaskFailure(`volume '${ostemplate}' does not exist`);
        const config: Record<string, string> = {
          arch: 'amd64', hostname: `CT${vmid}`, memory: '512', ostype: detectOstype(ostemplate), swap: '512', unprivileged: '1',
        };
        for (const [k, v] of Object.entries(options)) config[k] = normaliseOption(sim, 'lxc', k, String(v));
        // `$conf->{unprivileged} = 1 if $unprivileged`: a privileged container has no such line.
        if (!unprivileged) delete config['unprivileged'];
        config['rootfs'] = materialiseDisk(sim, g, 'rootfs', config['rootfs'] ?? `${storage}:4`);
        for (const k of Object.keys(config)) if (/^mp\d+$/.test(k)) config[k] = materialiseDisk(sim, g, k, config[k]!);
        // An OCI archive's own config overrides the create's entrypoint and env (LXC/Create.pm).
        const ociLog = applyOciImageConfig(config, template);
        g.config = sortConfig(config);
        if (pool !== undefined) sim.state.pools.find((x) => x.poolid === pool)?.members.push(`lxc/${vmid}`);
        if (p['start'] === 1) startContainer(sim, g);
        return ociLog.length ? { log: ociLog } : undefined;
      } catch (err) {
        removeGuest(sim, g);
        throw new TaskFailure(`unable to create CT ${vmid} - ${err instanceof Error ? err.message.replace(/\n$/, '') : String(err)}`);
      }
    },
  });
  return task.upid;
}

function destroy(sim: Simulator, p: Params, subject: Subject): string {
  const g = ct(sim, p);
  sim.checkLock(g);
  if (g.config['protection'] === '1') throw fail(`can't remove CT ${g.vmid} - protection mode enabled`);
  if (g.status === 'running' && p['force'] !== 1) throw fail(`unable to destroy CT ${g.vmid} - container is running`);
  const releaseDestroy = holdLock(g, 'destroyed');
  return sim.startTask({
    node: g.node, type: 'vzdestroy', id: g.vmid, subject,
    onFailure: releaseDestroy,
    finish: () => {
      g.status = 'stopped';
      removeGuest(sim, g);
    },
  }).upid;
}

function clone(sim: Simulator, p: Params, subject: Subject): string {
  const src = ct(sim, p);
  const newid = Number(p['newid']);
  const exists = alreadyExists(sim, newid);
  if (exists) throw fail(exists);
  sim.checkLock(src);
  const isTemplate = src.config['template'] === '1';
  const full = p['full'] === undefined ? !isTemplate : p['full'] === 1;
  if (!full && !isTemplate) throw fail('linked clone feature not available - source CT is not a template');
  if (!full && p['storage'] !== undefined) throw fail("parameter 'storage' not allowed for linked clones");
  if (src.status === 'running' && p['snapname'] === undefined) throw fail('unable to clone a running container without a snapshot');
  const target = optStr(p, 'target') ?? src.node;
  sim.node(target);
  const releaseSource = holdLock(src, 'disk');
  const g: SimGuestState = {
    type: 'lxc', vmid: newid, node: target, config: { lock: 'create' }, pending: {}, pendingDelete: [], snapshots: [], status: 'stopped',
    // The source's firewall file is copied as it is (pve-firewall Helpers.pm clone_vmfw_conf).
    agentRunning: false, firewall: structuredClone(src.firewall), agentFiles: {},
  };
  sim.state.guests.push(g);
  // A full clone copies the root disk (I/O on the target storage); a linked one only snapshots it.
  const copyMs = full ? Math.round((diskSize('lxc', 'rootfs', src.config['rootfs'] ?? '') / GiB) * 500) : 0;
  const sourceStorage = /^([^:,]+):/.exec(src.config['rootfs'] ?? '')?.[1];
  const copyStorage = optStr(p, 'storage') ?? sourceStorage;
  return sim.startTask({
    node: src.node, type: 'vzclone', id: src.vmid, subject, durationMs: full ? 5000 + copyMs : 3000,
    ...(copyMs > 0 && copyStorage !== undefined ? { io: { storage: copyStorage, ms: copyMs } } : {}),
    // The source keeps its `disk` lock until the worker ends (src/PVE/API2/LXC.pm, clone_vm).
    source: { vmid: src.vmid, exclusive: true }, target: newid,
    onFailure: () => {
      releaseSource();
      removeGuest(sim, g);
    },
    finish: () => {
      releaseSource();
      try {
        const config: Record<string, string> = { ...src.config };
        // pve-container src/PVE/API2/LXC.pm clone_vm: no lock, template, snapshot or pending keys.
        for (const k of ['lock', 'template', 'snapshots', 'parent', 'snaptime', 'snapstate', 'pending']) delete config[k];
        for (const k of Object.keys(config)) {
          if (/^net\d+$/.test(k)) {
            const values = parsePropertyString(config[k]!, lxcNetFormat).values;
            values['hwaddr'] = sim.mac();
            config[k] = formatPropertyString(values, lxcNetFormat);
          }
          if (k === 'rootfs' || /^mp\d+$/.test(k)) config[k] = cloneDisk(sim, src, g, k, config[k]!, full, optStr(p, 'storage'));
          if (/^unused\d+$/.test(k)) delete config[k];
        }
        // `if $param->{hostname}`: Perl truth, so an empty (or `0`) value is not given.
        if (perlTrue(p['hostname'])) config['hostname'] = String(p['hostname']);
        if (perlTrue(p['description'])) config['description'] = String(p['description']);
        g.config = sortConfig(config);
        const pool = optStr(p, 'pool');
        if (pool !== undefined) sim.state.pools.find((x) => x.poolid === pool)?.members.push(`lxc/${newid}`);
      } catch (err) {
        removeGuest(sim, g);
        throw err;
      }
    },
  }).upid;
}

function resize(sim: Simulator, p: Params, subject: Subject): string {
  const g = ct(sim, p);
  sim.checkLock(g);
  // API2/LXC.pm resize_vm passes `{disk => …}` itself, which that check counts as an ordinary option.
  checkCtModifyConfigPerm(sim, subject, { vmid: g.vmid, oldConf: g.config, newConf: { disk: p['disk'] }, deletes: [], unprivileged: g.config['unprivileged'] === '1' });
  checkDigest(sim, g, p['digest']);
  const disk = String(p['disk']);
  const value = g.config[disk];
  if (value === undefined) throw fail(`unable to resize - no such disk '${disk}'`);
  const change = parseSizeChange(String(p['size']))!;
  const current = diskSize('lxc', disk, value);
  const newSize = change.relative ? current + change.bytes : change.bytes;
  if (newSize < current) throw fail(`unable to shrink disk size`);
  const release = holdLock(g, 'disk');
  return sim.startTask({
    node: g.node, type: 'resize', id: g.vmid, subject,
    onFailure: release,
    finish: () => {
      release();
      applyResize(sim, g, disk, newSize);
    },
  }).upid;
}

function template(sim: Simulator, p: Params, subject: Subject): null {
  const g = ct(sim, p);
  assertTemplatable(sim, g);
  const release = holdLock(g, 'disk');
  // Proxmox answers null at once and converts in a background worker.
  sim.startTask({ node: g.node, type: 'vztemplate', id: g.vmid, subject, onFailure: release, finish: () => {
    release();
    convertDisksToBase(sim, g);
    g.config['template'] = '1';
    g.config = sortConfig(g.config);
  } });
  return null;
}

function migrate(sim: Simulator, p: Params, subject: Subject): string {
  const g = ct(sim, p);
  if (g.status === 'running' && p['restart'] !== 1) throw fail('lxc live migration is currently not implemented');
  return migrateGuest(sim, g, String(p['target']), subject);
}

function interfaces(g: SimGuestState): unknown {
  if (g.status !== 'running') return null;
  const out: Array<Record<string, unknown>> = [{ name: 'lo', hwaddr: '00:00:00:00:00:00', inet: '127.0.0.1/8', inet6: '::1/128' }];
  for (const [k, v] of Object.entries(g.config)) {
    if (!/^net\d+$/.test(k)) continue;
    const n = parsePropertyString(v, lxcNetFormat).values;
    const inet = n['ip'] === 'dhcp' ? `10.0.${g.vmid % 250}.${Number(k.slice(3)) + 10}/24` : n['ip'];
    out.push({ name: n['name'], hwaddr: n['hwaddr']?.toLowerCase(), ...(inet !== undefined && inet !== 'manual' ? { inet } : {}) });
  }
  return out;
}

const resizeDisk = oneOf(['rootfs', ...MP_KEYS]);

const createParams: ParamDefs = {
  ...lxcOptionParams,
  node: nodeParam,
  vmid: vmidParam,
  ostemplate: strDef({ maxLength: 255 }),
  bwlimit: num({ ...o, minimum: 0 }),
  force: bool(o),
  'ha-managed': bool({ ...o, since: '9.1' }),
  'ignore-unpack-errors': bool(o),
  password: strDef(o),
  pool: strDef({ ...o, format: 'pve-poolid' }),
  restore: bool(o),
  'ssh-public-keys': strDef(o),
  start: bool(o),
  storage: strDef({ ...o, format: 'pve-storage-id' }),
  unique: bool({ ...o, requires: 'restore' }),
};

export const lxcEndpoints: Endpoint[] = [
  {
    method: 'GET', path: '/nodes/{node}/lxc', params: nodeOnly,
    handler: ({ sim, params }) => sim.state.guests.filter((g) => g.type === 'lxc' && g.node === params['node']).map((g) => listEntry(sim, g)),
  },
  {
    method: 'POST', path: '/nodes/{node}/lxc', params: createParams,
    permissions: (p) => [
      ...allocatePerm('vmid')(p),
      ...allocationChecks(p),
      // Privileged containers can reach the host: Proxmox wants Sys.Modify on / for them.
      ...(['0', 0, false].includes(p['unprivileged'] as string) ? [{ path: '/', privs: ['Sys.Modify'] }] : []),
    ],
    handler: ({ sim, params, subject }) => create(sim, params, subject),
  },
  {
    method: 'DELETE', path: '/nodes/{node}/lxc/{vmid}', params: { ...nodeVmid, 'destroy-unreferenced-disks': bool(o), force: bool(o), purge: bool(o) },
    permissions: vmPerm(['VM.Allocate']), handler: ({ sim, params, subject }) => destroy(sim, params, subject),
  },
  {
    method: 'GET', path: '/nodes/{node}/lxc/{vmid}/config', params: { ...nodeVmid, current: bool(o), snapshot: optionalSnapname() },
    permissions: vmPerm(['VM.Audit']), handler: ({ sim, params }) => readConfig(sim, ct(sim, params), params),
  },
  {
    method: 'PUT', path: '/nodes/{node}/lxc/{vmid}/config',
    params: { ...lxcOptionParams, ...nodeVmid, delete: strDef({ ...o, format: 'pve-configid-list' }), digest: strDef({ ...o, maxLength: 40 }), revert: strDef({ ...o, format: 'pve-configid-list' }) },
    permissions: vmPerm(['VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.Options'], true),
    handler: ({ sim, params, subject }) => {
      const g = ct(sim, params);
      sim.checkLock(g);
      checkDigest(sim, g, params['digest']);
      const listed = (key: string) => (params[key] === undefined ? [] : splitList(String(params[key])));
      const options = Object.fromEntries(Object.entries(params).filter(([k]) => !['node', 'vmid', 'digest', 'delete', 'revert'].includes(k)));
      checkCtModifyConfigPerm(sim, subject, { vmid: g.vmid, oldConf: g.config, newConf: options, deletes: [...listed('delete'), ...listed('revert')], unprivileged: g.config['unprivileged'] === '1' });
      updateConfig(sim, g, params, LXC_HOT_APPLY, new Set(['unprivileged']));
      return null;
    },
  },
  { method: 'GET', path: '/nodes/{node}/lxc/{vmid}/pending', params: nodeVmid, permissions: vmPerm(['VM.Audit']), handler: ({ sim, params }) => pendingList(ct(sim, params)) },
  {
    method: 'GET', path: '/nodes/{node}/lxc/{vmid}/status/current', params: nodeVmid, permissions: vmPerm(['VM.Audit']),
    handler: ({ sim, params }) => statusCurrent(sim, ct(sim, params)),
  },
  {
    method: 'POST', path: '/nodes/{node}/lxc/{vmid}/status/start', params: { ...nodeVmid, debug: bool(o), skiplock: bool(o) }, permissions: vmPerm(['VM.PowerMgmt']),
    handler: ({ sim, params, subject }) => {
      const node = String(params['node']);
      const vmid = Number(params['vmid']);
      const g = sim.state.guests.find((x) => x.type === 'lxc' && x.vmid === vmid && x.node === node);
      if (g?.status === 'running') throw fail(`CT ${vmid} already running`);
      return sim.startTask({ node, type: 'vzstart', id: vmid, subject, finish: () => {
        if (!g || !sim.state.guests.includes(g)) throw new TaskFailure(`Configuration file 'nodes/${node}/lxc/${vmid}.conf' does not exist`);
        if (params['skiplock'] !== 1) sim.checkLock(g);
        startContainer(sim, g);
      } }).upid;
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/lxc/{vmid}/status/stop', params: { ...nodeVmid, 'overrule-shutdown': bool(o), skiplock: bool(o) }, permissions: vmPerm(['VM.PowerMgmt']),
    handler: ({ sim, params, subject }) => {
      const g = sim.state.guests.find((x) => x.type === 'lxc' && x.vmid === Number(params['vmid']) && x.node === params['node']);
      if (!g || g.status !== 'running') throw fail(`CT ${String(params['vmid'])} not running`);
      if (params['skiplock'] !== 1) sim.checkLock(g);
      return sim.startTask({ node: g.node, type: 'vzstop', id: g.vmid, subject, finish: () => stopContainer(g) }).upid;
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/lxc/{vmid}/status/shutdown', params: { ...nodeVmid, forceStop: bool(o), timeout: int({ ...o, minimum: 0 }) }, permissions: vmPerm(['VM.PowerMgmt']),
    handler: ({ sim, params, subject }) => {
      const g = sim.state.guests.find((x) => x.type === 'lxc' && x.vmid === Number(params['vmid']) && x.node === params['node']);
      if (!g || g.status !== 'running') throw fail(`CT ${String(params['vmid'])} not running`);
      sim.checkLock(g);
      return sim.startTask({ node: g.node, type: 'vzshutdown', id: g.vmid, subject, finish: () => stopContainer(g) }).upid;
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/lxc/{vmid}/status/reboot', params: { ...nodeVmid, timeout: int({ ...o, minimum: 0 }) }, permissions: vmPerm(['VM.PowerMgmt']),
    handler: ({ sim, params, subject }) => {
      const g = sim.state.guests.find((x) => x.type === 'lxc' && x.vmid === Number(params['vmid']) && x.node === params['node']);
      // pve-container really says "VM" here.
      if (!g) throw fail(`VM ${String(params['vmid'])} not running`);
      requireRunning(g, 'VM');
      return sim.startTask({ node: g.node, type: 'vzreboot', id: g.vmid, subject, finish: () => {
        stopContainer(g);
        startContainer(sim, g);
      } }).upid;
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/lxc/{vmid}/clone',
    params: {
      ...nodeVmid, newid: { ...vmidParam }, bwlimit: num({ ...o, minimum: 0 }), description: strDef(o), full: bool(o), hostname: strDef({ ...o, format: 'dns-name' }),
      pool: strDef({ ...o, format: 'pve-poolid' }), snapname: optionalSnapname(), storage: strDef({ ...o, format: 'pve-storage-id' }), target: strDef({ ...o, format: 'pve-node' }),
    },
    permissions: (p) => [
      { path: `/vms/${String(p['vmid'])}`, privs: ['VM.Clone'] },
      ...allocatePerm('newid')(p),
      ...allocationChecks(p),
    ],
    handler: ({ sim, params, subject }) => clone(sim, params, subject),
  },
  {
    method: 'PUT', path: '/nodes/{node}/lxc/{vmid}/resize',
    params: { ...nodeVmid, digest: strDef({ ...o, maxLength: 40 }), disk: resizeDisk, size: strDef({ pattern: '\\+?\\d+(\\.\\d+)?[KMGT]?' }) },
    permissions: vmPerm(['VM.Config.Disk'], true), handler: ({ sim, params, subject }) => resize(sim, params, subject),
  },
  { method: 'POST', path: '/nodes/{node}/lxc/{vmid}/template', params: nodeVmid, permissions: vmPerm(['VM.Allocate']), handler: ({ sim, params, subject }) => template(sim, params, subject) },
  ...snapshotRoutes('lxc', {}, (sim, g) => startContainer(sim, g)),
  {
    method: 'POST', path: '/nodes/{node}/lxc/{vmid}/migrate',
    params: {
      ...nodeVmid, bwlimit: num({ ...o, minimum: 0 }), online: bool(o), restart: bool(o), target: nodeParam,
      'target-storage': strDef({ ...o, format: 'storage-pair-list' }), timeout: int(o),
    },
    permissions: vmPerm(['VM.Migrate']), handler: ({ sim, params, subject }) => migrate(sim, params, subject),
  },
  { method: 'GET', path: '/nodes/{node}/lxc/{vmid}/interfaces', params: nodeVmid, permissions: vmPerm(['VM.Audit']), handler: ({ sim, params }) => interfaces(ct(sim, params)) },
];

function optionalSnapname() {
  return strDef({ ...o, format: 'pve-configid', maxLength: 40 });
}
