/**
 * VM endpoints (`/nodes/{node}/qemu/…`), with qemu-server's quirks: power checks happen
 * inside the worker (a start of a running VM is a failed task, a stop of a stopped VM
 * is OK), `POST config` is a task while `PUT config` is synchronous, resize is a task
 * whose checks only show in the task, a clone task's id is the source vmid, cloud-init
 * `sshkeys` must be URL-encoded, and the guest agent answers only while running.
 */
import { bool, int, oneOf, str as strDef, nodeParam, vmidParam, type ParamDefs } from '../../../proxmox/schema.ts';
import { formatPropertyString, parsePropertyString } from '../../../proxmox/property-string.ts';
import { INDEX_COUNT, qemuMachineFormat, qemuNetFormat } from '../../../proxmox/guest-formats.ts';
import { parseSizeChange, GiB } from '../../../proxmox/size.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { fail, paramError, permissionDenied, TaskFailure } from '../errors.ts';
import type { Endpoint } from '../endpoint.ts';
import { configMissing, guestMemoryBytes, type Simulator } from '../simulator.ts';
import { emptyFirewall, type SimGuestState } from '../state.ts';
import { hasPrivilege, subjectName, type Subject } from '../auth.ts';
import { simOptionFormat } from './guest-formats-full.ts';
import { assertTagPermissions } from './tag-permissions.ts';
import { checkCloudInitSnippets } from '../snippets.ts';
import { splitList } from '../../../proxmox/tags.ts';
import { perlTrue } from '../../../proxmox/perl-truth.ts';
import { qemuOptionParams, QEMU_FAST_PLUG } from './guest-params.ts';
import { allocatePerm, allocationChecks, nodeOnly, nodeVmid, optStr, vmPerm } from './common.ts';
import {
  alreadyExists, cloneDisk, removeGuest, sortConfig, applyPending, applyResize, assertTemplatable, checkConfigUpdate, checkDigest, convertDisksToBase, migrateGuest, diskSize, guestOf, listEntry, materialiseDisk, normaliseOption, pendingList, readConfig, statusCurrent, updateConfig, effectiveConfig, snapshotRoutes,
} from './guest-common.ts';

const o = { optional: true } as const;
const optionalSnapname = strDef({ ...o, format: 'pve-configid', maxLength: 40 });
const digestParam = strDef({ ...o, maxLength: 40 });
const DISK_KEYS = [
  ...Array.from({ length: INDEX_COUNT.qemu.ide }, (_, i) => `ide${i}`),
  ...Array.from({ length: INDEX_COUNT.qemu.scsi }, (_, i) => `scsi${i}`),
  ...Array.from({ length: INDEX_COUNT.qemu.virtio }, (_, i) => `virtio${i}`),
  ...Array.from({ length: INDEX_COUNT.qemu.sata }, (_, i) => `sata${i}`),
  'efidisk0', 'tpmstate0',
];
const CLOUDINIT_KEYS = ['ciuser', 'cipassword', 'sshkeys', 'nameserver', 'searchdomain', 'citype', 'ciupgrade', 'cicustom'];
const SSH_KEY_RE = /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+[A-Za-z0-9+/]+={0,3}(\s.*)?$/;

const vm = guestOf('qemu');

/** qemu-server unescapes `sshkeys` and runs ssh-keygen on every line. */
function checkSshKeys(p: Params): void {
  if (p['sshkeys'] === undefined) return;
  const keys = decodeURIComponent(String(p['sshkeys']));
  for (const line of keys.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))) {
    if (!SSH_KEY_RE.test(line)) throw fail('SSH public key validation error');
  }
}

/**
 * qemu-server API2/Qemu.pm `$check_vm_modify_config_perm`: options outside its privilege
 * categories (`args`, `arch`, `hookscript`, `lock`, `vmgenid`, …) may be set or deleted only
 * by root@pam itself; anyone else, a root token included, gets a plain die.
 */
const PRIVILEGED_CATEGORIES = new Set([
  'cores', 'cpu', 'runningcpu', 'cpulimit', 'cpuunits', 'numa', 'smp', 'sockets', 'vcpus', 'memory', 'balloon', 'shares', 'allow-ksm',
  'acpi', 'hotplug', 'kvm', 'machine', 'runningmachine', 'scsihw', 'smbios1', 'tablet', 'vga', 'watchdog', 'audio0', 'rng0',
  'agent', 'autostart', 'bios', 'description', 'keyboard', 'localtime', 'migrate_downtime', 'migrate_speed', 'name', 'onboot', 'ostype', 'protection', 'reboot', 'startdate', 'startup', 'tdf', 'template',
  'freeze', 'boot', 'bootdisk', 'vmstatestorage', 'cicustom', 'cipassword', 'citype', 'ciuser', 'ciupgrade', 'nameserver', 'searchdomain', 'sshkeys', 'vmstate', 'cdrom', 'tags', 'running-nets-host-mtu',
]);

function checkRootOnlyOptions(subject: Subject, keys: readonly string[]): void {
  if (subjectName(subject) === 'root@pam') return;
  for (const opt of keys) {
    if (/^(ide|sata|scsi|virtio|unused|serial|usb|hostpci|virtiofs|net|ipconfig|numa)\d+$/.test(opt) || opt === 'efidisk0' || opt === 'tpmstate0' || opt === 'tags') continue;
    if (!PRIVILEGED_CATEGORIES.has(opt)) throw fail(`only root can set '${opt}' config`);
  }
}

/**
 * qemu-server API2/Qemu.pm check_usb_perm, check_hostpci_perm, check_rng_perm and check_dir_perm:
 * devices of the host itself are root@pam's alone; mapped ones need Mapping.Use on their mapping.
 */
function checkDevicePerms(sim: Simulator, subject: Subject, p: Params, current: Readonly<Record<string, string>> = {}): void {
  if (subjectName(subject) === 'root@pam') return;
  const needMapping = (path: string) => {
    if (!hasPrivilege(sim.state, subject, path, 'Mapping.Use')) throw permissionDenied(path, 'Mapping.Use');
  };
  // Removing or replacing a device is checked against the value it had, as setting it is.
  const values: Array<[string, unknown]> = [...Object.entries(p)];
  for (const opt of splitList(String(p['delete'] ?? ''))) if (current[opt] !== undefined) values.push([opt, current[opt]]);
  for (const opt of Object.keys(p)) if (current[opt] !== undefined && /^(usb|hostpci|virtiofs)\d+$|^rng0$/.test(opt)) values.push([opt, current[opt]]);
  for (const [opt, raw] of values) {
    const format = simOptionFormat('qemu', opt);
    if (!format || !/^(usb|hostpci|virtiofs)\d+$|^rng0$/.test(opt)) continue;
    const device = parsePropertyString(String(raw), format).values;
    if (opt.startsWith('usb')) {
      if (device['host'] !== undefined) {
        if (!/^spice$/i.test(device['host'])) throw fail(`only root can set '${opt}' config for real devices`);
      } else if (device['mapping'] !== undefined) needMapping(`/mapping/usb/${device['mapping']}`);
      else throw fail("either 'host' or 'mapping' must be set.");
    } else if (opt.startsWith('hostpci')) {
      if (device['host'] !== undefined) throw fail(`only root can set '${opt}' config for non-mapped devices`);
      if (device['mapping'] === undefined) throw fail("either 'host' or 'mapping' must be set.");
      needMapping(`/mapping/pci/${device['mapping']}`);
      if (device['romfile'] !== undefined) throw paramError({ [opt]: "only root@pam can set 'romfile' option" });
    } else if (opt.startsWith('virtiofs')) needMapping(`/mapping/dir/${device['dirid'] ?? ''}`);
    else if (device['source'] === '/dev/hwrng') needMapping('/mapping/hwrng');
  }
}

/** What create and config calls take that is not a VM option (`extract_param` in API2/Qemu.pm). */
const NOT_OPTIONS = new Set(['node', 'vmid', 'archive', 'bwlimit', 'force', 'pool', 'start', 'ha-managed', 'storage', 'unique', 'live-restore', 'import-working-storage', 'digest', 'skiplock', 'delete', 'revert', 'background_delay', 'skip_cloud_init']);

function optionKeys(p: Params): string[] {
  const keys = Object.keys(p).filter((k) => !NOT_OPTIONS.has(k));
  return [...splitList(String(p['delete'] ?? '')), ...keys];
}

function bootOrder(config: Record<string, string>): string {
  const devices = Object.keys(config).filter((k) => /^(ide|sata|scsi|virtio)\d+$/.test(k) || /^net\d+$/.test(k));
  const rank = (k: string) => (/^net/.test(k) ? 2 : /media=cdrom/.test(config[k]!) ? 1 : 0);
  devices.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
  return `order=${devices.slice(0, 3).join(';')}`;
}

export function startVm(sim: Simulator, g: SimGuestState, skiplock: boolean): void {
  if (!sim.state.guests.includes(g)) throw new TaskFailure(configMissing(g.node, 'qemu', g.vmid));
  if (g.status === 'running') throw new TaskFailure(`VM ${g.vmid} already running`);
  if (g.config['template'] === '1') throw new TaskFailure("you can't start a vm if it's a template");
  // qemu-server vm_start: a VM hibernated to disk (lock `suspended`) starts by resuming its saved state.
  if (g.config['lock'] === 'suspended') {
    if (g.config['vmstate'] !== undefined) sim.removeVolume(g.config['vmstate']);
    delete g.config['vmstate'];
    delete g.config['lock'];
  }
  if (!skiplock && g.config['lock'] !== undefined) throw new TaskFailure(`VM is locked (${g.config['lock']})`);
  const node = sim.state.nodes.find((n) => n.name === g.node)!;
  applyPending(g);
  checkCloudInitSnippets(sim, g);
  if (sim.nodeMemoryCommitted(g.node) + guestMemoryBytes(g) > node.memoryBytes) {
    throw new TaskFailure(`start failed: QEMU exited with code 1`);
  }
  g.status = 'running';
  g.startedAt = sim.clock.now();
  // `freeze`: the CPU waits for a resume; the guest (and its agent) has not booted yet.
  g.prelaunch = g.config['freeze'] === '1';
  g.paused = g.prelaunch;
  g.agentRunning = !g.prelaunch && /^(enabled=)?1/.test(g.config['agent'] ?? '0');
}

function stopVm(g: SimGuestState): void {
  g.status = 'stopped';
  g.paused = false;
  g.startedAt = undefined;
  g.agentRunning = false;
}

function create(sim: Simulator, p: Params, subject: Subject): string {
  const node = String(p['node']);
  const vmid = Number(p['vmid']);
  const exists = alreadyExists(sim, vmid);
  checkRootOnlyOptions(subject, optionKeys(p));
  checkDevicePerms(sim, subject, p);
  if (exists) throw fail(`unable to create VM ${vmid} - VM ${vmid} already exists on node '${sim.findGuest(vmid)!.node}'`);
  checkSshKeys(p);
  const pool = optStr(p, 'pool');
  if (pool !== undefined && !sim.state.pools.some((x) => x.poolid === pool)) throw fail(`pool '${pool}' does not exist`);
  const g: SimGuestState = {
    type: 'qemu', vmid, node, config: { lock: 'create' }, pending: {}, pendingDelete: [], snapshots: [], status: 'stopped',
    agentRunning: false, firewall: emptyFirewall(), agentFiles: {},
  };
  sim.state.guests.push(g);
  const imports = Object.values(p).some((v) => /import-from=/.test(String(v)));
  return sim.startTask({
    node, type: 'qmcreate', id: vmid, subject, durationMs: imports ? 20000 : undefined, target: vmid,
    onFailure: () => removeGuest(sim, g),
    finish: () => {
      try {
        const skip = new Set(['node', 'vmid', 'pool', 'start', 'storage', 'force', 'unique', 'archive', 'ha-managed', 'bwlimit', 'live-restore', 'import-working-storage']);
        // In the worker, as qemu-server's create does before writing the config.
        if (p['tags'] !== undefined) assertTagPermissions(sim, subject, vmid, undefined, String(p['tags']));
        const config: Record<string, string> = {};
        for (const [k, v] of Object.entries(p)) {
          if (skip.has(k)) continue;
          config[k] = materialiseDisk(sim, g, k, normaliseOption(sim, 'qemu', k, String(v)));
        }
        config['smbios1'] ??= `uuid=${sim.random.uuid()}`;
        config['vmgenid'] ??= sim.random.uuid();
        config['meta'] = `creation-qemu=10.1.2,ctime=${sim.clock.nowSeconds()}`;
        config['boot'] ??= bootOrder(config);
        g.config = sortConfig(config);
        if (pool !== undefined) sim.state.pools.find((x) => x.poolid === pool)?.members.push(`qemu/${vmid}`);
        if (p['start'] === 1) startVm(sim, g, false);
      } catch (err) {
        removeGuest(sim, g);
        throw new TaskFailure(`unable to create VM ${vmid} - ${err instanceof Error ? err.message.replace(/\n$/, '') : String(err)}`);
      }
    },
  }).upid;
}

function destroy(sim: Simulator, p: Params, subject: Subject): string {
  const g = vm(sim, p);
  if (g.config['protection'] === '1') throw fail(`can't remove VM ${g.vmid} - protection mode enabled`);
  if (g.status === 'running') throw fail(`VM ${g.vmid} is running - destroy failed`);
  const skiplock = p['skiplock'] === 1;
  return sim.startTask({
    node: g.node, type: 'qmdestroy', id: g.vmid, subject,
    finish: () => {
      if (!skiplock) sim.checkLock(g);
      removeGuest(sim, g);
    },
  }).upid;
}

function clone(sim: Simulator, p: Params, subject: Subject): string {
  const src = vm(sim, p);
  const newid = Number(p['newid']);
  if (sim.findGuest(newid)) throw fail(`unable to create VM ${newid}: config file already exists`);
  sim.checkLock(src);
  const isTemplate = src.config['template'] === '1';
  const full = p['full'] === undefined ? !isTemplate : p['full'] === 1;
  if (!full && (p['storage'] !== undefined || p['format'] !== undefined)) throw fail(`parameter '${p['storage'] !== undefined ? 'storage' : 'format'}' not allowed for linked clones`);
  if (!full && !isTemplate) {
    const firstDisk = Object.keys(src.config).find((k) => /^(scsi|virtio|sata|ide)\d+$/.test(k) && !/media=cdrom/.test(src.config[k]!)) ?? 'scsi0';
    throw fail(`Linked clone feature is not supported for drive '${firstDisk}'`);
  }
  const target = optStr(p, 'target') ?? src.node;
  sim.node(target);
  // The worker holds the source's config flock while it copies: exclusively when the source
  // runs, shared when not; a second clone that cannot get it within 1 s fails (src/PVE/API2/Qemu.pm,
  // clone_vm: `lock_config_full($vmid, 1, …)` / `lock_config_shared($vmid, 1, …)`).
  const exclusive = src.status === 'running';
  if (sim.tasks.running().some((t) => t.type === 'qmclone' && t.work.source?.vmid === src.vmid && (exclusive || t.work.source.exclusive))) {
    return sim.startTask({
      node: src.node, type: 'qmclone', id: src.vmid, subject, durationMs: 1000,
      // PVE::Tools::lock_file_full's message when the flock is not had in time.
      finish: () => {
        throw new TaskFailure(`can't lock file '/var/lock/qemu-server/lock-${src.vmid}.conf' - got timeout`);
      },
    }).upid;
  }
  const g: SimGuestState = {
    type: 'qemu', vmid: newid, node: target, config: { lock: 'clone' }, pending: {}, pendingDelete: [], snapshots: [], status: 'stopped',
    // The source's firewall file is copied as it is (pve-firewall Helpers.pm clone_vmfw_conf).
    agentRunning: false, firewall: structuredClone(src.firewall), agentFiles: {},
  };
  sim.state.guests.push(g);
  const diskBytes = Object.entries(src.config).filter(([k]) => /^(scsi|virtio|sata|ide)\d+$/.test(k)).reduce((s, [k, v]) => s + diskSize('qemu', k, v), 0);
  const copyMs = full ? Math.round((diskBytes / GiB) * 400) : 0;
  const sourceStorage = Object.entries(src.config).map(([k, v]) => (/^(scsi|virtio|sata|ide)\d+$/.test(k) && !/media=cdrom/.test(v) ? /^([^:,]+):/.exec(v)?.[1] : undefined)).find((x) => x !== undefined);
  const copyStorage = optStr(p, 'storage') ?? sourceStorage;
  return sim.startTask({
    node: src.node, type: 'qmclone', id: src.vmid, subject, durationMs: full ? 5000 + copyMs : 3000,
    ...(copyMs > 0 && copyStorage !== undefined ? { io: { storage: copyStorage, ms: copyMs } } : {}),
    source: { vmid: src.vmid, exclusive }, target: newid,
    onFailure: () => removeGuest(sim, g),
    finish: () => {
      try {
        const config: Record<string, string> = { ...src.config };
        // qemu-server src/PVE/API2/Qemu.pm clone_vm: neither snapshot nor runtime keys are copied.
        for (const k of ['lock', 'template', 'snapshots', 'parent', 'snaptime', 'vmstate', 'snapstate', 'runningcpu', 'runningmachine', 'running-nets-host-mtu']) delete config[k];
        for (const k of Object.keys(config)) {
          if (/^net\d+$/.test(k)) {
            const values = parsePropertyString(config[k]!, qemuNetFormat).values;
            values['macaddr'] = sim.mac();
            config[k] = formatPropertyString(values, qemuNetFormat);
          } else if (/^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$/.test(k)) {
            config[k] = /cloudinit/.test(config[k]!) ? config[k]!.replace(`vm-${src.vmid}-cloudinit`, `vm-${newid}-cloudinit`) : cloneDisk(sim, src, g, k, config[k]!, full, optStr(p, 'storage'));
          } else if (/^unused\d+$/.test(k)) delete config[k];
        }
        // Perl truth decides: an empty (or `0`) name or description is not given.
        config['name'] = perlTrue(p['name']) ? String(p['name']) : `Copy-of-VM-${src.config['name'] ?? src.vmid}`;
        if (perlTrue(p['description'])) config['description'] = String(p['description']);
        // A new UUID in smbios1, whose other fields are kept; a new vmgenid only where the source has one.
        // print_property_string writes the fields in key order.
        const smbios1 = new Map((config['smbios1'] ?? '').split(',').filter(Boolean).map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] as const));
        smbios1.set('uuid', sim.random.uuid());
        config['smbios1'] = [...smbios1].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',');
        if (perlTrue(config['vmgenid'])) config['vmgenid'] = sim.random.uuid();
        g.config = sortConfig(config);
        const pool = optStr(p, 'pool');
        if (pool !== undefined) sim.state.pools.find((x) => x.poolid === pool)?.members.push(`qemu/${newid}`);
        // The clone takes the source's current values; its pending section is dropped, with a
        // warning naming it (its keys, and `delete` for pending deletions).
        const pending = [...Object.keys(src.pending), ...(src.pendingDelete.length ? ['delete'] : [])].sort();
        return pending.length ? { warnings: [`found pending changes for '${pending.join(',')}', discarding for clone`] } : {};
      } catch (err) {
        removeGuest(sim, g);
        throw new TaskFailure(`clone failed: ${err instanceof Error ? err.message.replace(/\n$/, '') : String(err)}`);
      }
    },
  }).upid;
}

/** update_vm_api's checks and changes: synchronous for PUT, in the `qmconfig` task for POST. */
function configUpdate(sim: Simulator, g: SimGuestState, p: Params, subject: Subject): void {
  checkDevicePerms(sim, subject, p, g.config);
  // qemu-server update_vm_api: tags, set or deleted, go through assert_tag_permissions.
  if (p['tags'] !== undefined) assertTagPermissions(sim, subject, g.vmid, g.config['tags'], String(p['tags']));
  if (splitList(String(p['delete'] ?? '')).includes('tags')) assertTagPermissions(sim, subject, g.vmid, g.config['tags'], '');
  updateConfig(sim, g, p, QEMU_FAST_PLUG, new Set());
}

/**
 * update_vm_api's `$load_and_check_config` (qemu-server src/PVE/API2/Qemu.pm): run once before
 * the worker is forked, so its refusals are the request's own 500s, and again inside the
 * worker under the config lock, so a change made in between (another write, a task's lock)
 * fails the task instead of being overwritten.
 */
function loadAndCheckConfig(sim: Simulator, g: SimGuestState, p: Params): void {
  checkDigest(sim, g, p['digest']);
  if (p['skiplock'] !== 1) sim.checkLock(g);
}

/** PVE::AbstractConfig::lock_config's flock timeout. */
const configLockTimeoutMs = 10_000;

async function postConfig(sim: Simulator, p: Params, subject: Subject): Promise<string | null> {
  // update_vm_api makes these checks before it forks, so they are the request's own 400 or 500.
  checkSshKeys(p);
  checkConfigUpdate('qemu', p, new Set());
  checkRootOnlyOptions(subject, optionKeys(p));
  const g = vm(sim, p);
  loadAndCheckConfig(sim, g, p);
  // The worker runs under the config's flock (PVE::AbstractConfig::lock_config, 10 s timeout):
  // it begins once the config tasks before it on this VM have ended, or gives up.
  const now = sim.clock.now();
  const freeAt = Math.max(now, ...sim.tasks.running().filter((t) => t.type === 'qmconfig' && t.id === String(g.vmid)).map((t) => t.endsAt));
  const lockTimedOut = freeAt - now > configLockTimeoutMs;
  const task = sim.startTask({
    node: g.node, type: 'qmconfig', id: g.vmid, subject,
    ...(lockTimedOut ? { durationMs: 0, lockWaitMs: configLockTimeoutMs } : { lockWaitMs: freeAt - now }),
    finish: () => {
      // PVE::Tools::lock_file_full's message.
      if (lockTimedOut) throw new TaskFailure(`can't lock file '/var/lock/qemu-server/lock-${g.vmid}.conf' - got timeout`);
      loadAndCheckConfig(sim, g, p);
      configUpdate(sim, g, p, subject);
    },
  });
  const delay = p['background_delay'];
  if (delay === undefined) return task.upid;
  // update_vm_api waits up to background_delay seconds for the worker (a sleep(1) loop that the
  // worker's end interrupts), then answers null if the task ended OK or with warnings
  // (PVE::UPID::status_is_error), its UPID if it still runs, and this 500 if it failed.
  await sim.clock.sleep(Math.min(Number(delay) * 1000, task.endsAt - sim.clock.now()));
  sim.settle();
  if (task.status === 'running') return task.upid;
  const status = task.exitstatus ?? 'unexpected status';
  if (status !== 'OK' && !/^WARNINGS: \d+$/.test(status)) throw fail(`failed to update VM ${g.vmid}: ${status}`);
  return null;
}

function resize(sim: Simulator, p: Params, subject: Subject): string {
  const g = vm(sim, p);
  const disk = String(p['disk']);
  const digest = p['digest'];
  return sim.startTask({
    node: g.node, type: 'resize', id: g.vmid, subject,
    finish: () => {
      if (digest !== undefined && digest !== sim.digest(g)) throw new TaskFailure('checksum mismatch (file change by other user?)');
      if (p['skiplock'] !== 1 && g.config['lock'] !== undefined) throw new TaskFailure(`VM is locked (${g.config['lock']})`);
      const value = g.config[disk];
      if (value === undefined) throw new TaskFailure(`disk '${disk}' does not exist`);
      if (/media=cdrom/.test(value)) throw new TaskFailure("you can't resize a cdrom");
      const change = parseSizeChange(String(p['size']))!;
      const current = diskSize('qemu', disk, value);
      const newSize = change.relative ? current + change.bytes : change.bytes;
      if (newSize < current) throw new TaskFailure('shrinking disks is not supported');
      applyResize(sim, g, disk, newSize);
    },
  }).upid;
}

function template(sim: Simulator, p: Params, subject: Subject): string {
  const g = vm(sim, p);
  assertTemplatable(sim, g);
  return sim.startTask({ node: g.node, type: 'qmtemplate', id: g.vmid, subject, finish: () => {
    convertDisksToBase(sim, g);
    g.config['template'] = '1';
    g.config = sortConfig(g.config);
  } }).upid;
}

function migrate(sim: Simulator, p: Params, subject: Subject): string {
  const g = vm(sim, p);
  if (g.status === 'running' && p['online'] !== 1) throw fail("can't migrate running VM without --online");
  return migrateGuest(sim, g, String(p['target']), subject);
}

/** Guest-agent calls need the agent enabled in the config and answering in a running VM. */
function agentGuest(sim: Simulator, p: Params): SimGuestState {
  const g = vm(sim, p);
  if (!/^(enabled=)?1/.test(g.config['agent'] ?? '0')) throw fail('No QEMU guest agent configured');
  if (g.status !== 'running') throw fail(`VM ${g.vmid} is not running`);
  if (!g.agentRunning) throw fail('QEMU guest agent is not running');
  return g;
}

function agentInterfaces(g: SimGuestState): unknown {
  const result: Array<Record<string, unknown>> = [
    { name: 'lo', 'hardware-address': '00:00:00:00:00:00', 'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 }] },
  ];
  for (const [k, v] of Object.entries(g.config)) {
    if (!/^net\d+$/.test(k)) continue;
    const n = Number(k.slice(3));
    const mac = parsePropertyString(v, qemuNetFormat).values['macaddr']?.toLowerCase();
    const ipconfig = /ip=([0-9.]+)\/(\d+)/.exec(g.config[`ipconfig${n}`] ?? '');
    const ip = ipconfig ? { address: ipconfig[1]!, prefix: Number(ipconfig[2]) } : { address: `10.1.${g.vmid % 250}.${n + 10}`, prefix: 24 };
    result.push({ name: `eth${n}`, 'hardware-address': mac, 'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': ip.address, prefix: ip.prefix }] });
  }
  return { result };
}


/**
 * The guest agent's commands and the privilege each needs beside VM.GuestAgent.Unrestricted
 * (qemu-server API2/Qemu/Agent.pm `$guest_agent_commands`), with what the simulated guest
 * (a Debian VM) answers. `ping`, `network-get-interfaces` are served on their own routes above.
 */
const AGENT_COMMANDS: Readonly<Record<string, { method: 'GET' | 'POST'; privs: readonly string[]; answer: (sim: Simulator, g: SimGuestState) => unknown }>> = {
  'get-time': { method: 'GET', privs: ['VM.GuestAgent.Audit'], answer: (sim) => Math.floor(sim.clock.now() * 1e6) },
  info: { method: 'GET', privs: ['VM.GuestAgent.Audit'], answer: () => ({ version: '7.2.0', supported_commands: Object.keys(AGENT_COMMANDS).map((name) => ({ name: `guest-${name}`, enabled: true, 'success-response': true })) }) },
  'fsfreeze-status': { method: 'POST', privs: ['VM.GuestAgent.Audit', 'VM.GuestAgent.FileSystemMgmt'], answer: (_sim, g) => (frozen.has(g) ? 'frozen' : 'thawed') },
  'fsfreeze-freeze': { method: 'POST', privs: ['VM.GuestAgent.FileSystemMgmt'], answer: (_sim, g) => (frozen.add(g), 1) },
  'fsfreeze-thaw': { method: 'POST', privs: ['VM.GuestAgent.FileSystemMgmt'], answer: (_sim, g) => (frozen.delete(g) ? 1 : 0) },
  fstrim: { method: 'POST', privs: ['VM.GuestAgent.FileSystemMgmt'], answer: () => ({ paths: [{ path: '/', trimmed: 0, minimum: 0 }] }) },
  'get-fsinfo': { method: 'GET', privs: ['VM.GuestAgent.Audit'], answer: () => [{ name: 'sda1', mountpoint: '/', type: 'ext4', 'total-bytes': 8 * GiB, 'used-bytes': GiB, disk: [{ 'bus-type': 'scsi', bus: 0, target: 0, unit: 0, dev: '/dev/sda1' }] }] },
  'get-host-name': { method: 'GET', privs: ['VM.GuestAgent.Audit'], answer: (_sim, g) => ({ 'host-name': g.config['name'] ?? `VM${g.vmid}` }) },
  'get-memory-block-info': { method: 'GET', privs: ['VM.GuestAgent.Audit'], answer: () => ({ size: 134217728 }) },
  'get-memory-blocks': { method: 'GET', privs: ['VM.GuestAgent.Audit'], answer: (_sim, g) => Array.from({ length: Math.max(1, Math.floor(guestMemoryBytes(g) / 134217728)) }, (_, i) => ({ phys_index: i, online: true, 'can-offline': i > 0 })) },
  'get-osinfo': { method: 'GET', privs: ['VM.GuestAgent.Audit'], answer: () => ({ id: 'debian', name: 'Debian GNU/Linux', 'pretty-name': 'Debian GNU/Linux 12 (bookworm)', version: '12 (bookworm)', 'version-id': '12', 'kernel-release': '6.1.0-28-amd64', 'kernel-version': '#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)', machine: 'x86_64' }) },
  'get-timezone': { method: 'GET', privs: ['VM.GuestAgent.Audit'], answer: () => ({ zone: 'UTC', offset: 0 }) },
  'get-users': { method: 'GET', privs: ['VM.GuestAgent.Audit'], answer: () => [] },
  'get-vcpus': { method: 'GET', privs: ['VM.GuestAgent.Audit'], answer: (_sim, g) => Array.from({ length: Number(g.config['cores'] ?? 1) * Number(g.config['sockets'] ?? 1) }, (_, i) => ({ 'logical-id': i, online: true, 'can-offline': i > 0 })) },
  shutdown: { method: 'POST', privs: ['VM.PowerMgmt'], answer: (_sim, g) => (stopVm(g), {}) },
  'suspend-disk': { method: 'POST', privs: ['VM.PowerMgmt'], answer: (_sim, g) => (stopVm(g), {}) },
  'suspend-hybrid': { method: 'POST', privs: ['VM.PowerMgmt'], answer: (_sim, g) => (stopVm(g), {}) },
  'suspend-ram': { method: 'POST', privs: ['VM.PowerMgmt'], answer: (_sim, g) => ((g.paused = true), {}) },
};

const frozen = new WeakSet<SimGuestState>();

const agentPerm = (privs: readonly string[]) => vmPerm([...privs, 'VM.GuestAgent.Unrestricted'], true);

function agentCommandEndpoints(): Endpoint[] {
  const base = '/nodes/{node}/qemu/{vmid}/agent';
  const all = ['fsfreeze-freeze', 'fsfreeze-status', 'fsfreeze-thaw', 'fstrim', 'get-fsinfo', 'get-host-name', 'get-memory-block-info', 'get-memory-blocks', 'get-osinfo', 'get-time', 'get-timezone', 'get-users', 'get-vcpus', 'info', 'network-get-interfaces', 'ping', 'shutdown', 'suspend-disk', 'suspend-hybrid', 'suspend-ram'];
  const run = (sim: Simulator, p: Params, command: string): unknown => {
    const g = agentGuest(sim, p);
    if (command === 'ping') return { result: {} };
    if (command === 'network-get-interfaces') return agentInterfaces(g);
    return { result: AGENT_COMMANDS[command]!.answer(sim, g) };
  };
  return [
    {
      method: 'GET', path: base, params: nodeVmid, permissions: vmPerm(['VM.Audit']),
      handler: ({ sim, params }) => (vm(sim, params), [...all, 'exec', 'exec-status', 'file-read', 'file-write', 'set-user-password'].sort().map((name) => ({ name }))),
    },
    {
      method: 'POST', path: base, params: { command: oneOf(all), ...nodeVmid },
      // The generic call checks the command's own privilege inside (Agent.pm agent_cmd).
      permissions: vmPerm(['VM.GuestAgent.Audit', 'VM.GuestAgent.FileSystemMgmt', 'VM.PowerMgmt', 'VM.GuestAgent.Unrestricted'], true),
      handler: ({ sim, params }) => run(sim, params, String(params['command'])),
    },
    ...Object.entries(AGENT_COMMANDS).map(([command, c]): Endpoint => ({
      method: c.method, path: `${base}/${command}`, params: nodeVmid, permissions: agentPerm(c.privs),
      handler: ({ sim, params }) => run(sim, params, command),
    })),
    {
      method: 'POST', path: `${base}/set-user-password`,
      params: { crypted: bool(o), ...nodeVmid, password: strDef({ minLength: 5, maxLength: 1024 }), username: strDef() },
      permissions: vmPerm(['VM.GuestAgent.Unrestricted']),
      handler: ({ sim, params }) => {
        agentGuest(sim, params);
        return { result: {} };
      },
    },
    {
      method: 'GET', path: `${base}/file-read`,
      params: { count: int({ ...o, minimum: 1, maximum: 16777216, since: '9.1' }), decode: bool({ ...o, since: '9.1' }), file: strDef(), ...nodeVmid, offset: int({ ...o, minimum: 0, since: '9.1' }) },
      permissions: vmPerm(['VM.GuestAgent.FileRead', 'VM.GuestAgent.Unrestricted'], true),
      handler: ({ sim, params }) => {
        const g = agentGuest(sim, params);
        const file = String(params['file']);
        const content = g.agentFiles[file];
        if (content === undefined) throw fail(`Agent error: Failed to open file '${file}': No such file or directory`);
        const offset = Number(params['offset'] ?? 0);
        const count = Number(params['count'] ?? 16777216);
        const slice = content.slice(offset, offset + count);
        const data = params['decode'] === 0 ? Buffer.from(slice).toString('base64') : slice;
        return { content: data, 'bytes-read': Buffer.byteLength(slice), ...(offset + count < content.length ? { truncated: 1 } : {}) };
      },
    },
  ];
}

const createParams: ParamDefs = {
  ...qemuOptionParams,
  node: nodeParam,
  vmid: vmidParam,
  archive: strDef({ ...o, maxLength: 255 }),
  bwlimit: int({ ...o, minimum: 0 }),
  force: bool({ ...o, requires: 'archive' }),
  'ha-managed': bool({ ...o, since: '9.1' }),
  'import-working-storage': strDef({ ...o, format: 'pve-storage-id' }),
  'live-restore': bool(o),
  pool: strDef({ ...o, format: 'pve-poolid' }),
  start: bool(o),
  storage: strDef({ ...o, format: 'pve-storage-id' }),
  unique: bool({ ...o, requires: 'archive' }),
};

const configWriteParams: ParamDefs = {
  ...qemuOptionParams,
  ...nodeVmid,
  delete: strDef({ ...o, format: 'pve-configid-list' }),
  digest: digestParam,
  force: bool({ ...o, requires: 'delete' }),
  revert: strDef({ ...o, format: 'pve-configid-list' }),
  skiplock: bool(o),
};

const CONFIG_PRIVS = ['VM.Config.Disk', 'VM.Config.CDROM', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.HWType', 'VM.Config.Options', 'VM.Config.Cloudinit'];

export const qemuEndpoints: Endpoint[] = [
  ...agentCommandEndpoints(),
  {
    method: 'GET', path: '/nodes/{node}/qemu', params: { ...nodeOnly, full: bool(o) },
    handler: ({ sim, params }) => sim.state.guests.filter((g) => g.type === 'qemu' && g.node === params['node']).map((g) => listEntry(sim, g)),
  },
  {
    method: 'POST', path: '/nodes/{node}/qemu', params: createParams,
    permissions: (p) => [...allocatePerm('vmid')(p), ...allocationChecks(p)],
    handler: ({ sim, params, subject }) => create(sim, params, subject),
  },
  {
    method: 'DELETE', path: '/nodes/{node}/qemu/{vmid}', params: { ...nodeVmid, 'destroy-unreferenced-disks': bool(o), purge: bool(o), skiplock: bool(o) },
    permissions: vmPerm(['VM.Allocate']), handler: ({ sim, params, subject }) => destroy(sim, params, subject),
  },
  {
    method: 'GET', path: '/nodes/{node}/qemu/{vmid}/config', params: { ...nodeVmid, current: bool(o), snapshot: optionalSnapname },
    permissions: vmPerm(['VM.Audit']), handler: ({ sim, params }) => readConfig(sim, vm(sim, params), params),
  },
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/config',
    params: { ...configWriteParams, background_delay: int({ ...o, minimum: 1, maximum: 30 }), 'import-working-storage': strDef({ ...o, format: 'pve-storage-id' }) },
    permissions: vmPerm(CONFIG_PRIVS, true), handler: ({ sim, params, subject }) => postConfig(sim, params, subject),
  },
  {
    method: 'PUT', path: '/nodes/{node}/qemu/{vmid}/config', params: configWriteParams, permissions: vmPerm(CONFIG_PRIVS, true),
    handler: ({ sim, params, subject }) => {
      checkSshKeys(params);
      checkRootOnlyOptions(subject, optionKeys(params));
      const g = vm(sim, params);
      loadAndCheckConfig(sim, g, params);
      configUpdate(sim, g, params, subject);
      return null;
    },
  },
  { method: 'GET', path: '/nodes/{node}/qemu/{vmid}/pending', params: nodeVmid, permissions: vmPerm(['VM.Audit']), handler: ({ sim, params }) => pendingList(vm(sim, params)) },
  {
    method: 'GET', path: '/nodes/{node}/qemu/{vmid}/cloudinit', params: nodeVmid, permissions: vmPerm(['VM.Audit']),
    handler: ({ sim, params }) => {
      const g = vm(sim, params);
      const eff = effectiveConfig(g);
      return Object.keys(eff).filter((k) => CLOUDINIT_KEYS.includes(k) || /^ipconfig\d+$/.test(k)).sort().map((key) => ({ key, value: key === 'cipassword' ? '**********' : eff[key] }));
    },
  },
  { method: 'PUT', path: '/nodes/{node}/qemu/{vmid}/cloudinit', params: nodeVmid, permissions: vmPerm(['VM.Config.Cloudinit']), handler: ({ sim, params }) => (vm(sim, params), null) },
  { method: 'GET', path: '/nodes/{node}/qemu/{vmid}/status/current', params: nodeVmid, permissions: vmPerm(['VM.Audit']), handler: ({ sim, params }) => statusCurrent(sim, vm(sim, params)) },
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/status/start',
    params: {
      ...nodeVmid, 'force-cpu': strDef(o), machine: strDef({ ...o, format: qemuMachineFormat }),
      migratedfrom: strDef({ ...o, format: 'pve-node' }), migration_network: strDef({ ...o, format: 'CIDR' }), migration_type: oneOf(['secure', 'insecure'], o),
      'nets-host-mtu': strDef({ ...o, since: '9.1', pattern: 'net\\d+=\\d+(,net\\d+=\\d+)*' }), skiplock: bool(o), stateuri: strDef({ ...o, maxLength: 128 }),
      targetstorage: strDef({ ...o, format: 'storage-pair-list' }), timeout: int({ ...o, minimum: 0 }), 'with-conntrack-state': bool({ ...o, since: '9.1' }),
    },
    permissions: vmPerm(['VM.PowerMgmt']),
    handler: ({ sim, params, subject }) => {
      const node = String(params['node']);
      const vmid = Number(params['vmid']);
      const g = sim.state.guests.find((x) => x.type === 'qemu' && x.vmid === vmid && x.node === node);
      return sim.startTask({ node, type: 'qmstart', id: vmid, subject, finish: () => {
        if (!g) throw new TaskFailure(configMissing(node, 'qemu', vmid));
        startVm(sim, g, params['skiplock'] === 1);
      } }).upid;
    },
  },
  ...(['stop', 'shutdown'] as const).map((action): Endpoint => ({
    method: 'POST', path: `/nodes/{node}/qemu/{vmid}/status/${action}`,
    params: action === 'stop'
      ? { ...nodeVmid, keepActive: bool(o), migratedfrom: strDef({ ...o, format: 'pve-node' }), 'overrule-shutdown': bool(o), skiplock: bool(o), timeout: int({ ...o, minimum: 0 }) }
      : { ...nodeVmid, forceStop: bool(o), keepActive: bool(o), skiplock: bool(o), timeout: int({ ...o, minimum: 0 }) },
    permissions: vmPerm(['VM.PowerMgmt']),
    handler: ({ sim, params, subject }) => {
      const node = String(params['node']);
      const vmid = Number(params['vmid']);
      const g = sim.state.guests.find((x) => x.type === 'qemu' && x.vmid === vmid && x.node === node);
      return sim.startTask({ node, type: action === 'stop' ? 'qmstop' : 'qmshutdown', id: vmid, subject, finish: () => {
        if (!g || !sim.state.guests.includes(g)) throw new TaskFailure(configMissing(node, 'qemu', vmid));
        if (params['skiplock'] !== 1 && g.config['lock'] !== undefined) throw new TaskFailure(`VM is locked (${g.config['lock']})`);
        stopVm(g);
      } }).upid;
    },
  })),
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/status/reboot', params: { ...nodeVmid, timeout: int({ ...o, minimum: 0 }) }, permissions: vmPerm(['VM.PowerMgmt']),
    handler: ({ sim, params, subject }) => {
      const g = vm(sim, params);
      if (g.status !== 'running') throw fail(`VM ${g.vmid} not running`);
      return sim.startTask({ node: g.node, type: 'qmreboot', id: g.vmid, subject, finish: () => {
        stopVm(g);
        startVm(sim, g, false);
      } }).upid;
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/clone',
    params: {
      ...nodeVmid, newid: { ...vmidParam }, bwlimit: int({ ...o, minimum: 0 }), description: strDef(o), format: oneOf(['raw', 'qcow2', 'vmdk'], o), full: bool(o),
      name: strDef({ ...o, format: 'dns-name' }), pool: strDef({ ...o, format: 'pve-poolid' }), snapname: optionalSnapname,
      storage: strDef({ ...o, format: 'pve-storage-id' }), target: strDef({ ...o, format: 'pve-node' }),
    },
    permissions: (p) => [
      { path: `/vms/${String(p['vmid'])}`, privs: ['VM.Clone'] },
      ...allocatePerm('newid')(p),
      ...allocationChecks(p),
    ],
    handler: ({ sim, params, subject }) => clone(sim, params, subject),
  },
  {
    method: 'PUT', path: '/nodes/{node}/qemu/{vmid}/resize',
    params: { ...nodeVmid, digest: digestParam, disk: oneOf(DISK_KEYS), size: strDef({ pattern: '\\+?\\d+(\\.\\d+)?[KMGT]?' }), skiplock: bool(o) },
    permissions: vmPerm(['VM.Config.Disk']), handler: ({ sim, params, subject }) => resize(sim, params, subject),
  },
  { method: 'POST', path: '/nodes/{node}/qemu/{vmid}/template', params: { ...nodeVmid, disk: oneOf(DISK_KEYS, o) }, permissions: vmPerm(['VM.Allocate']), handler: ({ sim, params, subject }) => template(sim, params, subject) },
  ...snapshotRoutes('qemu', { vmstate: bool(o) }, (sim, g) => startVm(sim, g, true)),
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/migrate',
    params: {
      ...nodeVmid, bwlimit: int({ ...o, minimum: 0 }), force: bool(o), migration_network: strDef({ ...o, format: 'CIDR' }), migration_type: oneOf(['secure', 'insecure'], o),
      online: bool(o), target: nodeParam, targetstorage: strDef({ ...o, format: 'storage-pair-list' }), 'with-conntrack-state': bool({ ...o, since: '9.1' }), 'with-local-disks': bool(o),
    },
    permissions: vmPerm(['VM.Migrate']), handler: ({ sim, params, subject }) => migrate(sim, params, subject),
  },
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/agent/ping', params: nodeVmid, permissions: vmPerm(['VM.GuestAgent.Audit', 'VM.GuestAgent.Unrestricted'], true),
    handler: ({ sim, params }) => (agentGuest(sim, params), { result: {} }),
  },
  {
    method: 'GET', path: '/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces', params: nodeVmid,
    permissions: vmPerm(['VM.GuestAgent.Audit', 'VM.GuestAgent.Unrestricted'], true), handler: ({ sim, params }) => agentInterfaces(agentGuest(sim, params)),
  },
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/agent/exec', params: { ...nodeVmid, command: { type: 'array' }, 'input-data': strDef({ ...o, maxLength: 65536 }) },
    permissions: vmPerm(['VM.GuestAgent.Unrestricted']),
    handler: ({ sim, params }) => {
      const g = agentGuest(sim, params);
      const command = params['command'] === undefined ? [] : (Array.isArray(params['command']) ? params['command'] : [params['command']]).map(String);
      // PVE/QemuServer/Agent.pm qemu_exec
      if (!command.length && params['input-data'] === undefined) throw fail('command or input-data (or both) required');
      return { pid: sim.agents.exec(g, command) };
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/qemu/{vmid}/agent/exec-status', params: { ...nodeVmid, pid: int() }, permissions: vmPerm(['VM.GuestAgent.Unrestricted']),
    handler: ({ sim, params }) => {
      const g = agentGuest(sim, params);
      const status = sim.agents.execStatus(g, Number(params['pid']));
      // qga answers QERR_INVALID_PARAMETER for a pid it does not know, or no longer knows once it reported it exited.
      if (!status) throw fail(`Agent error: Invalid parameter 'pid'`);
      return status;
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/agent/file-write', params: { ...nodeVmid, content: strDef({ maxLength: 61440 }), encode: bool(o), file: strDef() },
    permissions: vmPerm(['VM.GuestAgent.FileWrite', 'VM.GuestAgent.Unrestricted'], true),
    handler: ({ sim, params }) => {
      const g = agentGuest(sim, params);
      const content = String(params['content']);
      const error = sim.agents.writeFile(g, String(params['file']), params['encode'] === 0 ? Buffer.from(content, 'base64').toString('utf8') : content);
      if (error) throw fail(error);
      return null;
    },
  },
];
