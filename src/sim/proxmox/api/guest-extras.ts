/**
 * Guest endpoints beyond create/config/power: directory indexes, snapshot config, pause and
 * resume, feature and migration pre-checks, RRD statistics, consoles and remote migration.
 * Consoles and tunnels are answered as Proxmox answers them (a ticket, a port, a task) though
 * no console will ever connect: the task ends when nobody does, as termproxy's does.
 */
import { bool, int, oneOf, str, type ParamDefs } from '../../../proxmox/schema.ts';
import { splitList } from '../../../proxmox/tags.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { fail, paramError, TaskFailure } from '../errors.ts';
import type { Endpoint } from '../endpoint.ts';
import type { Subject } from '../auth.ts';
import type { Simulator } from '../simulator.ts';
import type { GuestType, SimGuestState } from '../state.ts';
import { diskVolume, guestOf, holdLock, label, snapshotConfig, statusCurrent } from './guest-common.ts';
import { nodeVmid, vmPerm } from './common.ts';
import { rrdData, rrdImage } from './storage.ts';
import { isDiskOption } from '../../../proxmox/guest-formats.ts';

const o = { optional: true } as const;
const snapname = str({ format: 'pve-configid', maxLength: 40 });
const timeframe = oneOf(['hour', 'day', 'week', 'month', 'year']);
const cf = oneOf(['AVERAGE', 'MAX'], o);

/** How long a console or tunnel worker waits for its client before it gives up (termproxy: 10 s). */
const CONSOLE_WAIT_MS = 10_000;

const consoleTickets = new WeakMap<Simulator, Map<string, string>>();

/** A one-time console ticket bound to the console's path (`PVEVNC:…`), as pve-access-control issues it. */
export function consoleTicket(sim: Simulator, subject: Subject, authPath: string): string {
  const ticket = `PVEVNC:${sim.clock.nowSeconds().toString(16).toUpperCase().padStart(8, '0')}::${sim.random.uuid().replace(/-/g, '')}`;
  const map = consoleTickets.get(sim) ?? new Map<string, string>();
  consoleTickets.set(sim, map);
  map.set(ticket, `${subject.userid}:${authPath}`);
  return ticket;
}

export function consoleTicketValid(sim: Simulator, subject: Subject, ticket: string, authPath: string): boolean {
  return consoleTickets.get(sim)?.get(ticket) === `${subject.userid}:${authPath}`;
}

/** A console worker (`vncproxy`, `vncshell`, `termproxy`): nobody connects, so it times out. */
export function consoleTask(sim: Simulator, node: string, type: string, id: string | number, subject: Subject): string {
  return sim.startTask({
    node, type, id, subject, durationMs: CONSOLE_WAIT_MS,
    finish: () => {
      throw new TaskFailure('connection timed out');
    },
  }).upid;
}

/** The VNC port pair Proxmox hands out: 5900 + a free display number. */
function vncPort(sim: Simulator): number {
  return 5900 + Math.floor(sim.random.next() * 100);
}

function requireRunning(g: SimGuestState): void {
  if (g.status !== 'running') throw fail(`${label(g.type)} ${g.vmid} not running`);
}

/** Storage types that snapshot (and linked-clone) volumes, as the pve-storage plugins' volume_has_feature say. */
function diskHas(sim: Simulator, g: SimGuestState, key: string, value: string, feature: string): boolean {
  if (/media=cdrom/.test(value)) return true;
  const volid = diskVolume(g.type, key, value);
  if (volid === undefined || !volid.includes(':')) return feature === 'copy';
  const storage = sim.storage(volid.slice(0, volid.indexOf(':')));
  if (!storage) return false;
  if (feature === 'copy') return true;
  if (storage.type === 'lvmthin' || storage.type === 'zfspool') return true;
  if (storage.type === 'dir' || storage.type === 'nfs') return /\.qcow2$/.test(volid);
  return false;
}

function hasFeature(sim: Simulator, g: SimGuestState, feature: string, snapshot?: string): boolean {
  let config = g.config;
  if (snapshot !== undefined) {
    const snap = g.snapshots.find((s) => s.name === snapshot);
    if (!snap) throw fail(`snapshot '${snapshot}' does not exist`);
    config = snap.config;
  }
  if (feature === 'clone' && config['template'] !== '1' && snapshot === undefined) return false;
  return Object.entries(config).filter(([k]) => isDiskOption(g.type, k)).every(([k, v]) => diskHas(sim, g, k, v, feature));
}

function pause(sim: Simulator, g: SimGuestState, p: Params, subject: Subject): string {
  requireRunning(g);
  if (g.type === 'lxc') {
    return sim.startTask({ node: g.node, type: 'vzsuspend', id: g.vmid, subject, finish: () => void (g.paused = true) }).upid;
  }
  const todisk = p['todisk'] === 1;
  if (todisk && g.hastate !== undefined) throw fail('Cannot suspend HA managed VM to disk');
  if (p['skiplock'] !== 1) sim.checkLock(g);
  if (!todisk) return sim.startTask({ node: g.node, type: 'qmpause', id: g.vmid, subject, durationMs: 200, finish: () => void (g.paused = true) }).upid;
  const release = holdLock(g, 'suspending');
  const storage = p['statestorage'] === undefined ? undefined : String(p['statestorage']);
  if (storage !== undefined) sim.storageOn(storage, g.node);
  return sim.startTask({
    node: g.node, type: 'qmsuspend', id: g.vmid, subject, durationMs: 4000, onFailure: release,
    finish: () => {
      release();
      // qemu-server RunState::vm_suspend: the RAM goes into a state volume, the VM stops locked `suspended`.
      const target = storage ?? g.config['vmstatestorage'] ?? 'local-lvm';
      const vol = sim.allocateDisk(target, g.node, g.vmid, Number(g.config['memory'] ?? 512) * 1024 * 1024 * 2, 'images', 'raw');
      g.config['vmstate'] = vol.volid;
      g.config['lock'] = 'suspended';
      g.status = 'stopped';
      g.startedAt = undefined;
      g.paused = false;
      g.agentRunning = false;
    },
  }).upid;
}

function resume(sim: Simulator, g: SimGuestState, p: Params, subject: Subject, start: (g: SimGuestState) => void): string {
  if (g.type === 'lxc') {
    requireRunning(g);
    return sim.startTask({ node: g.node, type: 'vzresume', id: g.vmid, subject, finish: () => void (g.paused = false) }).upid;
  }
  if (p['nocheck'] === 1 && subject.userid !== 'root@pam') throw paramError({ nocheck: 'Only root may use this option.' });
  const fromDisk = g.config['lock'] === 'suspended';
  if (!fromDisk) requireRunning(g);
  return sim.startTask({
    node: g.node, type: 'qmresume', id: g.vmid, subject, durationMs: fromDisk ? 3000 : 200,
    finish: () => {
      if (!fromDisk) {
        g.paused = false;
        // Leaving `prelaunch` (a `freeze` start) boots the guest, agent included.
        if (g.prelaunch) g.agentRunning = /^(enabled=)?1/.test(g.config['agent'] ?? '0');
        g.prelaunch = false;
        return;
      }
      const state = g.config['vmstate'];
      delete g.config['lock'];
      delete g.config['vmstate'];
      if (state !== undefined) sim.removeVolume(state);
      start(g);
    },
  }).upid;
}

/** `GET …/migrate`: the pre-checks the GUI shows before a migration. */
function migrateCheck(sim: Simulator, g: SimGuestState, target: string | undefined): Record<string, unknown> {
  const others = sim.state.nodes.filter((n) => n.name !== g.node);
  if (target !== undefined) sim.node(target);
  const localDisks = Object.entries(g.config)
    .filter(([k, v]) => isDiskOption(g.type, k) && !/media=cdrom/.test(v))
    .map(([k, v]) => ({ key: k, volid: diskVolume(g.type, k, v) }))
    .filter((d) => d.volid !== undefined && !sim.storage(d.volid.split(':')[0]!)?.shared)
    .map((d) => ({ volid: d.volid, drivename: d.key, size: 0, is_unused: /^unused/.test(d.key) ? 1 : 0, cdrom: 0 }));
  const out: Record<string, unknown> = { running: g.status === 'running' ? 1 : 0, allowed_nodes: others.filter((n) => n.online).map((n) => n.name), not_allowed_nodes: {} };
  if (g.type === 'qemu') {
    out['local_disks'] = localDisks;
    out['local_resources'] = Object.keys(g.config).filter((k) => /^(hostpci|usb)\d+$/.test(k)).sort();
    out['mapped-resources'] = [];
    out['mapped-resource-info'] = {};
    out['has-dbus-vmstate'] = 0;
  }
  return out;
}

/** Moves a disk to another storage (`qmmove`/`move_volume`): the old volume is kept as `unusedN` unless `delete`. */
function moveDisk(sim: Simulator, g: SimGuestState, key: string, p: Params, subject: Subject): string {
  const value = g.config[key];
  if (value === undefined) throw fail(g.type === 'qemu' ? `disk '${key}' does not exist` : `cannot move volumes of a running container`);
  const targetVmid = p['target-vmid'] === undefined ? g.vmid : Number(p['target-vmid']);
  if (targetVmid !== g.vmid) {
    // Reassigning a disk to another guest of the same node.
    const target = sim.state.guests.find((x) => x.vmid === targetVmid && x.type === g.type && x.node === g.node);
    if (!target) throw fail(`Configuration file 'nodes/${g.node}/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/${targetVmid}.conf' does not exist`);
    const targetKey = String(p[g.type === 'qemu' ? 'target-disk' : 'target-volume'] ?? key);
    if (target.config[targetKey] !== undefined) throw fail(`Target disk key '${targetKey}' is already in use for VM '${targetVmid}'`);
    sim.checkLock(g);
    sim.checkLock(target);
    return sim.startTask({ node: g.node, type: g.type === 'qemu' ? 'qmmove' : 'move_volume', id: g.vmid, subject, finish: () => {
      const volid = diskVolume(g.type, key, value);
      const vol = volid === undefined ? undefined : sim.volume(volid);
      let moved = value;
      if (vol && volid !== undefined) {
        vol.volid = volid.replace(`vm-${g.vmid}-`, `vm-${targetVmid}-`).replace(`:${g.vmid}/`, `:${targetVmid}/`);
        vol.vmid = targetVmid;
        moved = value.replace(volid, vol.volid);
      }
      delete g.config[key];
      target.config[targetKey] = moved;
    } }).upid;
  }
  if (p['storage'] === undefined) throw paramError({ storage: 'parameter is missing and it is not optional' });
  const storage = String(p['storage']);
  sim.storageOn(storage, g.node);
  if (g.type === 'lxc' && g.status === 'running') throw fail('cannot move volumes of a running container');
  sim.checkLock(g);
  const release = holdLock(g, g.type === 'qemu' ? 'clone' : 'disk');
  return sim.startTask({
    node: g.node, type: g.type === 'qemu' ? 'qmmove' : 'move_volume', id: g.vmid, subject, durationMs: 6000, onFailure: release,
    finish: () => {
      release();
      const volid = diskVolume(g.type, key, value);
      const old = volid === undefined ? undefined : sim.volume(volid);
      const format = p['format'] === undefined ? undefined : String(p['format']);
      const vol = sim.allocateDisk(storage, g.node, g.vmid, old?.size ?? 1024 ** 3, g.type === 'qemu' ? 'images' : 'rootdir', format);
      if (volid === undefined) return;
      g.config[key] = value.replace(volid, vol.volid);
      if (p['delete'] === 1) sim.removeVolume(volid);
      else {
        let n = 0;
        while (g.config[`unused${n}`] !== undefined) n++;
        g.config[`unused${n}`] = volid;
      }
    },
  }).upid;
}

function guestEndpoints(type: GuestType, start: (sim: Simulator, g: SimGuestState) => void): Endpoint[] {
  const base = `/nodes/{node}/${type}/{vmid}`;
  const guest = guestOf(type);
  const audit = vmPerm(['VM.Audit']);
  const consolePerm = vmPerm(['VM.Console']);
  const endpoints: Endpoint[] = [
    {
      method: 'GET', path: base, params: nodeVmid, permissions: audit,
      handler: ({ sim, params }) => {
        guest(sim, params);
        const subdirs = type === 'qemu'
          ? ['config', 'pending', 'cloudinit', 'status', 'unlink', 'vncproxy', 'termproxy', 'migrate', 'resize', 'move', 'rrd', 'rrddata', 'monitor', 'agent', 'snapshot', 'spiceproxy', 'sendkey', 'firewall', 'mtunnel', 'remote_migrate']
          : ['config', 'pending', 'status', 'vncproxy', 'termproxy', 'vncwebsocket', 'spiceproxy', 'migrate', 'clone', 'rrd', 'rrddata', 'firewall', 'snapshot', 'resize', 'interfaces', 'mtunnel', 'remote_migrate'];
        return subdirs.map((subdir) => ({ subdir }));
      },
    },
    {
      method: 'GET', path: `${base}/status`, params: nodeVmid, permissions: audit,
      handler: ({ sim, params }) => {
        guest(sim, params);
        const cmds = type === 'qemu' ? ['current', 'start', 'stop', 'reset', 'shutdown', 'suspend', 'reboot'] : ['current', 'start', 'stop', 'shutdown', 'migrate'];
        return cmds.map((subdir) => ({ subdir }));
      },
    },
    {
      method: 'GET', path: `${base}/snapshot/{snapname}`, params: { ...nodeVmid, snapname }, permissions: audit,
      // qemu-server and pve-container list the commands without looking the snapshot up.
      handler: ({ sim, params }) => (guest(sim, params), [{ cmd: 'rollback' }, { cmd: 'config' }]),
    },
    {
      method: 'GET', path: `${base}/snapshot/{snapname}/config`, params: { ...nodeVmid, snapname },
      permissions: vmPerm(['VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.Audit'], true),
      handler: ({ sim, params }) => snapshotConfig(guest(sim, params), String(params['snapname'])),
    },
    {
      method: 'PUT', path: `${base}/snapshot/{snapname}/config`, params: { ...nodeVmid, description: str(o), snapname }, permissions: vmPerm(['VM.Snapshot']),
      handler: ({ sim, params }) => {
        const g = guest(sim, params);
        // qemu-server update_snapshot_config: nothing to do without a description.
        if (params['description'] === undefined) return null;
        sim.checkLock(g);
        const snap = g.snapshots.find((s) => s.name === params['snapname']);
        if (!snap) throw fail(`snapshot '${String(params['snapname'])}' does not exist`);
        snap.description = String(params['description']);
        return null;
      },
    },
    {
      method: 'POST', path: `${base}/status/suspend`,
      params: type === 'qemu' ? { ...nodeVmid, skiplock: bool(o), statestorage: str({ ...o, format: 'pve-storage-id', requires: 'todisk' }), todisk: bool(o) } : nodeVmid,
      permissions: vmPerm(['VM.PowerMgmt']),
      handler: ({ sim, params, subject }) => pause(sim, guest(sim, params), params, subject),
    },
    {
      method: 'POST', path: `${base}/status/resume`, params: type === 'qemu' ? { ...nodeVmid, nocheck: bool(o), skiplock: bool(o) } : nodeVmid,
      permissions: vmPerm(['VM.PowerMgmt']),
      handler: ({ sim, params, subject }) => resume(sim, guest(sim, params), params, subject, (g) => start(sim, g)),
    },
    {
      method: 'GET', path: `${base}/feature`, params: { ...nodeVmid, feature: oneOf(['snapshot', 'clone', 'copy']), snapname: str({ ...o, format: 'pve-configid', maxLength: 40 }) },
      permissions: audit,
      handler: ({ sim, params }) => {
        const g = guest(sim, params);
        const ok = hasFeature(sim, g, String(params['feature']), params['snapname'] === undefined ? undefined : String(params['snapname']));
        return { hasFeature: ok ? 1 : 0, nodes: ok ? sim.state.nodes.map((n) => n.name) : [] };
      },
    },
    {
      method: 'GET', path: `${base}/migrate`, ...(type === 'lxc' ? { since: '9.1' } : {}), params: { ...nodeVmid, target: str({ ...o, format: 'pve-node' }) }, permissions: vmPerm(['VM.Migrate']),
      handler: ({ sim, params }) => migrateCheck(sim, guest(sim, params), params['target'] === undefined ? undefined : String(params['target'])),
    },
    {
      method: 'GET', path: `${base}/rrd`, params: { ...nodeVmid, cf, ds: str({ format: 'pve-configid-list' }), timeframe }, permissions: audit,
      handler: ({ sim, params }) => {
        const g = guest(sim, params);
        return rrdImage(`pve-vm-9.0/${g.vmid}`, params['ds'], params['timeframe']);
      },
    },
    {
      method: 'GET', path: `${base}/rrddata`, params: { ...nodeVmid, cf, timeframe }, permissions: audit,
      handler: ({ sim, params }) => {
        const g = guest(sim, params);
        const s = statusCurrent(sim, g);
        return rrdData(sim, String(params['timeframe']), () => ({
          cpu: Number(s['cpu']), maxcpu: Number(s['cpus']), mem: Number(s['mem']), maxmem: Number(s['maxmem']), disk: 0, maxdisk: Number(s['maxdisk']),
          netin: 0, netout: 0, diskread: 0, diskwrite: 0,
        }));
      },
    },
    {
      method: 'POST', path: `${base}/vncproxy`,
      params: type === 'qemu'
        ? { ...nodeVmid, 'generate-password': bool(o), websocket: bool(o) }
        : { ...nodeVmid, height: int({ ...o, minimum: 16, maximum: 2160 }), websocket: bool(o), width: int({ ...o, minimum: 16, maximum: 4096 }) },
      permissions: consolePerm,
      handler: ({ sim, params, subject }) => {
        const g = guest(sim, params);
        if (type === 'lxc') requireRunning(g);
        const port = vncPort(sim);
        const out: Record<string, unknown> = {
          user: subject.userid, ticket: consoleTicket(sim, subject, `/vms/${g.vmid}`), port: String(port),
          cert: '-----BEGIN CERTIFICATE-----\n(simulated pve-ssl.pem)\n-----END CERTIFICATE-----\n',
          upid: consoleTask(sim, g.node, 'vncproxy', g.vmid, subject),
        };
        if (params['generate-password'] === 1) out['password'] = sim.random.uuid().slice(0, 8);
        return out;
      },
    },
    {
      method: 'POST', path: `${base}/termproxy`, params: type === 'qemu' ? { ...nodeVmid, serial: oneOf(['serial0', 'serial1', 'serial2', 'serial3'], o) } : nodeVmid,
      permissions: consolePerm,
      handler: ({ sim, params, subject }) => {
        const g = guest(sim, params);
        if (params['serial'] !== undefined && g.config[String(params['serial'])] === undefined) throw fail(`no serial port '${String(params['serial'])}' configured`);
        return { user: subject.userid, ticket: consoleTicket(sim, subject, `/vms/${g.vmid}`), port: vncPort(sim), upid: consoleTask(sim, g.node, 'vncproxy', g.vmid, subject) };
      },
    },
    {
      method: 'GET', path: `${base}/vncwebsocket`, params: { ...nodeVmid, port: int({ minimum: 5900, maximum: 5999 }), vncticket: str({ maxLength: 512 }) }, permissions: consolePerm,
      handler: ({ sim, params, subject }) => {
        const g = guest(sim, params);
        // pve-access-control verify_vnc_ticket; the websocket upgrade itself never happens here.
        if (!consoleTicketValid(sim, subject, String(params['vncticket']), `/vms/${g.vmid}`)) throw fail('permission denied - invalid vnc ticket');
        return { port: String(params['port']) };
      },
    },
    {
      method: 'POST', path: `${base}/spiceproxy`, params: { ...nodeVmid, proxy: str({ ...o, format: 'address' }) }, permissions: consolePerm,
      handler: ({ sim, params, subject }) => {
        const g = guest(sim, params);
        requireRunning(g);
        if (type === 'qemu' && !/^qxl|^virtio-gl|^virtio/.test(g.config['vga'] ?? '')) throw fail('No SPICE display configured');
        return {
          type: 'spice', host: `pvespiceproxy:${sim.random.uuid().replace(/-/g, '')}:${g.vmid}:${g.node}::${sim.random.uuid()}`, proxy: `http://${String(params['proxy'] ?? sim.state.nodes.find((n) => n.name === g.node)?.ip ?? g.node)}:3128`,
          'tls-port': 61000, password: sim.random.uuid().slice(0, 12), 'host-subject': `OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN=${g.node}`, ca: '(simulated)', title: `VM ${g.vmid}`,
          'delete-this-file': 1, 'secure-attention': 'Ctrl+Alt+Ins', 'release-cursor': 'Ctrl+Alt+R', 'toggle-fullscreen': 'Shift+F11', subject: subject.userid,
        };
      },
    },
    {
      method: 'POST', path: `${base}/mtunnel`, params: { ...nodeVmid, bridges: str({ ...o, format: 'pve-bridge-id-list' }), storages: str({ ...o, format: 'pve-storage-id-list' }) },
      permissions: (p) => [{ path: `/vms/${String(p['vmid'])}`, privs: ['VM.Allocate'] }, { path: '/', privs: ['Sys.Incoming'] }],
      handler: ({ sim, params, subject }) => {
        const node = String(params['node']);
        const vmid = Number(params['vmid']);
        for (const s of splitList(String(params['storages'] ?? ''))) sim.storageOn(s, node);
        const owner = sim.findGuest(vmid);
        // qemu-server / pve-container mtunnel: the incoming guest's config must not exist yet.
        if (owner) throw paramError({ vmid: `unable to create empty ${type === 'qemu' ? 'VM' : 'CT'} config - ${type === 'qemu' ? 'VM' : 'CT'} ${vmid} already exists on node '${owner.node}'\n` });
        const ticket = consoleTicket(sim, subject, `/socket/run/${type === 'qemu' ? 'qemu-server' : 'pve'}/${vmid}.mtunnel`);
        return { ticket, socket: `/run/${type === 'qemu' ? 'qemu-server' : 'pve'}/${vmid}.mtunnel`, upid: consoleTask(sim, node, type === 'qemu' ? 'qmtunnel' : 'vztunnel', vmid, subject) };
      },
    },
    {
      method: 'GET', path: `${base}/mtunnelwebsocket`, params: { ...nodeVmid, socket: str(), ticket: str() },
      permissions: () => [],
      handler: ({ sim, params, subject }) => {
        if (!consoleTicketValid(sim, subject, String(params['ticket']), `/socket${String(params['socket'])}`)) throw fail('permission denied - invalid ticket');
        return { socket: String(params['socket']) };
      },
    },
    {
      method: 'POST', path: `${base}/remote_migrate`,
      params: {
        ...nodeVmid, bwlimit: type === 'qemu' ? int({ ...o, minimum: 0 }) : { type: 'number', optional: true, minimum: 0 }, delete: bool(o), online: bool(o),
        ...(type === 'lxc' ? { restart: bool(o), timeout: int(o) } : {}),
        'target-bridge': str({ format: 'bridge-pair-list' }), 'target-endpoint': str({ format: 'proxmox-remote' }), 'target-storage': str({ format: 'storage-pair-list' }),
        'target-vmid': { type: 'integer', format: 'pve-vmid', minimum: 100, maximum: 999999999, optional: true },
      } as ParamDefs,
      permissions: vmPerm(['VM.Migrate']),
      handler: ({ sim, params }) => {
        const g = guest(sim, params);
        sim.checkLock(g);
        if (g.hastate !== undefined) throw paramError({ vmid: `cannot remote-migrate ${type === 'qemu' ? 'VM' : 'CT'} that is configured for HA` });
        // The simulated host reaches no other cluster: PVE::APIClient::LWP fails to connect.
        const host = /(?:^|,)host=([^,]+)/.exec(String(params['target-endpoint']))?.[1] ?? '';
        const port = /(?:^|,)port=(\d+)/.exec(String(params['target-endpoint']))?.[1] ?? '8006';
        throw fail(`500 Can't connect to ${host}:${port} (Connection refused)`);
      },
    },
  ];
  return endpoints;
}

/** The qemu-only extras: reset, sendkey, monitor, cloud-init dump, unlink, move_disk, dbus-vmstate. */
function qemuOnly(start: (sim: Simulator, g: SimGuestState) => void): Endpoint[] {
  const base = '/nodes/{node}/qemu/{vmid}';
  const vm = guestOf('qemu');
  const DISKS = [
    ...Array.from({ length: 4 }, (_, i) => `ide${i}`), ...Array.from({ length: 31 }, (_, i) => `scsi${i}`), ...Array.from({ length: 16 }, (_, i) => `virtio${i}`),
    ...Array.from({ length: 6 }, (_, i) => `sata${i}`), 'efidisk0', 'tpmstate0', ...Array.from({ length: 256 }, (_, i) => `unused${i}`),
  ];
  void start;
  return [
    {
      method: 'POST', path: `${base}/status/reset`, params: { ...nodeVmid, skiplock: bool(o) }, permissions: vmPerm(['VM.PowerMgmt']),
      handler: ({ sim, params, subject }) => {
        const g = vm(sim, params);
        requireRunning(g);
        if (params['skiplock'] !== 1) sim.checkLock(g);
        return sim.startTask({ node: g.node, type: 'qmreset', id: g.vmid, subject, durationMs: 200, finish: () => void (g.startedAt = sim.clock.now()) }).upid;
      },
    },
    {
      method: 'PUT', path: `${base}/sendkey`, params: { ...nodeVmid, key: str(), skiplock: bool(o) }, permissions: vmPerm(['VM.Console']),
      handler: ({ sim, params }) => {
        const g = vm(sim, params);
        requireRunning(g);
        return null;
      },
    },
    {
      method: 'POST', path: `${base}/monitor`, params: { ...nodeVmid, command: str() }, permissions: vmPerm(['Sys.Audit', 'Sys.Modify'], true),
      handler: ({ sim, params, subject }) => {
        const g = vm(sim, params);
        const command = String(params['command']).trim();
        const name = command.split(/\s+/)[0] ?? '';
        // qemu-server API2/Qemu.pm monitor: HMP commands are root-only unless HMPPerms opens them
        // (the simulator opens only `info` and `help`); the check compares the user, so tokens of root too.
        if (subject.userid !== 'root@pam' && !/^(info|help)$/.test(name)) throw fail(`command '${name}' non-existent or not assigned a required permission yet, limiting to root user`);
        requireRunning(g);
        if (command === 'info status') return `VM status: ${g.paused ? 'paused' : 'running'}`;
        if (command === 'info version') return '10.1.2pve1';
        return '';
      },
    },
    {
      method: 'GET', path: `${base}/cloudinit/dump`, params: { ...nodeVmid, type: oneOf(['user', 'network', 'meta']) }, permissions: vmPerm(['VM.Audit']),
      handler: ({ sim, params }) => {
        const g = vm(sim, params);
        const c = g.config;
        if (params['type'] === 'meta') return `instance-id: ${sim.digest(g).slice(0, 40)}\n`;
        if (params['type'] === 'network') {
          const lines = ['version: 1', 'config:'];
          for (const k of Object.keys(c).filter((x) => /^ipconfig\d+$/.test(x)).sort()) {
            const ip = /ip=([^,]+)/.exec(c[k]!)?.[1];
            lines.push(`    - type: physical`, `      name: eth${k.slice(8)}`, '      subnets:', ip === 'dhcp' || ip === undefined ? '      - type: dhcp4' : `      - type: static\n        address: '${ip.split('/')[0]}'`);
          }
          return `${lines.join('\n')}\n`;
        }
        const user = ['#cloud-config', `hostname: ${c['name'] ?? `VM${g.vmid}`}`, 'manage_etc_hosts: true', `fqdn: ${c['name'] ?? `VM${g.vmid}`}`];
        if (c['ciuser'] !== undefined) user.push(`user: ${c['ciuser']}`);
        if (c['sshkeys'] !== undefined) user.push('ssh_authorized_keys:', ...decodeURIComponent(c['sshkeys']).split('\n').filter((l) => l.trim() !== '').map((l) => `  - ${l}`));
        user.push('chpasswd:', '  expire: False', `package_upgrade: ${c['ciupgrade'] === '0' ? 'false' : 'true'}`);
        return `${user.join('\n')}\n`;
      },
    },
    {
      method: 'PUT', path: `${base}/unlink`, params: { ...nodeVmid, force: bool(o), idlist: str({ format: 'pve-configid-list' }) }, permissions: vmPerm(['VM.Config.Disk']),
      handler: ({ sim, params }) => {
        const g = vm(sim, params);
        sim.checkLock(g);
        for (const key of splitList(String(params['idlist']))) {
          const value = g.config[key];
          if (value === undefined) continue;
          const volid = diskVolume('qemu', key, value);
          delete g.config[key];
          // Without force the volume stays as an unused disk; with force it is deleted.
          if (volid === undefined || !volid.includes(':') || /media=cdrom/.test(value)) continue;
          if (params['force'] === 1 || /^unused/.test(key)) sim.removeVolume(volid);
          else {
            let n = 0;
            while (g.config[`unused${n}`] !== undefined) n++;
            g.config[`unused${n}`] = volid;
          }
        }
        return null;
      },
    },
    {
      method: 'POST', path: `${base}/move_disk`,
      params: {
        ...nodeVmid, bwlimit: int({ ...o, minimum: 0 }), delete: bool(o), digest: str({ ...o, maxLength: 40 }), disk: oneOf(DISKS), format: oneOf(['raw', 'qcow2', 'vmdk'], o),
        storage: str({ ...o, format: 'pve-storage-id' }), 'target-digest': str({ ...o, maxLength: 40 }), 'target-disk': oneOf(DISKS, o),
        'target-vmid': { type: 'integer', format: 'pve-vmid', minimum: 100, maximum: 999999999, optional: true },
      } as ParamDefs,
      permissions: vmPerm(['VM.Config.Disk']),
      handler: ({ sim, params, subject }) => {
        const g = vm(sim, params);
        // PVE::Tools::assert_if_modified.
        if (params['digest'] !== undefined && params['digest'] !== sim.digest(g)) throw fail('detected modified configuration - file changed by other user? Try again.');
        return moveDisk(sim, g, String(params['disk']), params, subject);
      },
    },
    {
      method: 'POST', path: `${base}/dbus-vmstate`, since: '9.1', params: { ...nodeVmid, action: oneOf(['start', 'stop']) }, permissions: vmPerm(['VM.Migrate']),
      handler: ({ sim, params }) => {
        const g = vm(sim, params);
        requireRunning(g);
        return null;
      },
    },
  ];
}

function lxcOnly(): Endpoint[] {
  const ct = guestOf('lxc');
  const VOLUMES = ['rootfs', ...Array.from({ length: 256 }, (_, i) => `mp${i}`), ...Array.from({ length: 256 }, (_, i) => `unused${i}`)];
  return [
    {
      method: 'POST', path: '/nodes/{node}/lxc/{vmid}/move_volume',
      params: {
        ...nodeVmid, bwlimit: { type: 'number', optional: true, minimum: 0 }, delete: bool(o), digest: str({ ...o, maxLength: 40 }), storage: str({ ...o, format: 'pve-storage-id' }),
        'target-digest': str({ ...o, maxLength: 40 }), 'target-vmid': { type: 'integer', format: 'pve-vmid', minimum: 100, maximum: 999999999, optional: true }, 'target-volume': oneOf(VOLUMES, o), volume: oneOf(VOLUMES),
      } as ParamDefs,
      permissions: vmPerm(['VM.Config.Disk']),
      handler: ({ sim, params, subject }) => {
        const g = ct(sim, params);
        if (params['digest'] !== undefined && params['digest'] !== sim.digest(g)) throw fail('detected modified configuration - file changed by other user? Try again.');
        return moveDisk(sim, g, String(params['volume']), params, subject);
      },
    },
  ];
}

export function guestExtraEndpoints(startVm: (sim: Simulator, g: SimGuestState) => void, startCt: (sim: Simulator, g: SimGuestState) => void): Endpoint[] {
  return [...guestEndpoints('qemu', startVm), ...qemuOnly(startVm), ...guestEndpoints('lxc', startCt), ...lxcOnly()];
}
