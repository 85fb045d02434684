/**
 * The config a clone has once Proxmox's clone task ended well, known from the source's config
 * and the clone's parameters with no read of the clone itself. Pure: no I/O, no clock.
 *
 * The rules are those of the clone endpoints:
 * - pve-container `src/PVE/API2/LXC.pm` (`clone_vm`): every option is copied except `unusedN`;
 *   each `netN` gets a new `hwaddr`; `rootfs` and each `mpN` get a new volume (full copy or
 *   linked clone); `lock`, `snapshots`, `parent`, `snaptime`, `snapstate`, `pending` and
 *   `template` are dropped; `hostname` and `description` are set from the parameters when given
 *   (Perl-true: neither empty nor `0`).
 * - qemu-server `src/PVE/API2/Qemu.pm` (`clone_vm`): every option is copied except `unusedN`
 *   and the snapshot and runtime keys (`snapshots`, `parent`, `snaptime`, `vmstate`,
 *   `snapstate`, `runningcpu`, `runningmachine`, `running-nets-host-mtu`); each `netN` gets a
 *   new MAC address; each drive that is not a CD-ROM gets a new volume (a cloud-init drive too);
 *   `smbios1` gets a new `uuid` (and exists even if the source had none); `vmgenid` gets a new
 *   one when the source had one; `template` and `pending` are dropped; `name` is the
 *   parameter's, else `Copy-of-VM-<source name or VMID>`; `description` is the parameter's
 *   when given (Perl-true).
 * Pool membership is no config option, and the firewall's file is copied apart from the config.
 */

import { perlTrue } from '../proxmox/perl-truth.ts';

export type CloneType = 'lxc' | 'qemu';

export interface PredictedClone {
  /** The clone's options as `GET …/config` shows them; no digest: the clone's is not known. */
  readonly config: Record<string, unknown>;
  /**
   * Options whose value Proxmox makes anew (a MAC address, a volume, a UUID). They hold the
   * source's value here, which the clone's is not: nothing may be concluded or written from them.
   */
  readonly generated: readonly string[];
}

/**
 * Keys `GET …/config?current=1` shows that no clone keeps. Pending changes are not among them:
 * the source is read with `current=1`, which leaves them out as both clones do (a config GET
 * shows no `pending` key; it shows pending values in place of the current ones without it).
 */
const droppedKeys: Record<CloneType, ReadonlySet<string>> = {
  lxc: new Set(['digest', 'lock', 'template', 'snapshots', 'parent', 'snaptime', 'snapstate']),
  qemu: new Set(['digest', 'lock', 'template', 'snapshots', 'parent', 'snaptime', 'vmstate', 'snapstate', 'runningcpu', 'runningmachine', 'running-nets-host-mtu']),
};

/** qemu-server's `is_valid_drivename`: the bus drives, the EFI vars disk and the TPM state. */
const qemuDrive = /^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|efidisk0|tpmstate0)$/;

/**
 * The config of the clone of `source` (VMID `sourceVmid`, its config as `GET …/config` showed
 * it) made with `params` (the clone call's parameters).
 */
export function predictClone(type: CloneType, sourceVmid: number, source: Readonly<Record<string, unknown>>, params: Readonly<Record<string, string | number>>): PredictedClone {
  const config: Record<string, unknown> = {};
  const generated: string[] = [];
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined || droppedKeys[type].has(key) || /^unused\d+$/.test(key)) continue;
    config[key] = value;
    if (/^net\d+$/.test(key) || isNewVolume(type, key, String(value))) generated.push(key);
  }
  const given = (name: string): string | undefined => (perlTrue(params[name]) ? String(params[name]) : undefined);
  if (type === 'lxc') {
    const hostname = given('hostname');
    if (hostname !== undefined) config['hostname'] = hostname;
  } else {
    config['name'] = given('name') ?? `Copy-of-VM-${source['name'] ?? sourceVmid}`;
    generated.push('smbios1');
    if (perlTrue(source['vmgenid'])) generated.push('vmgenid');
  }
  const description = given('description');
  if (description !== undefined) config['description'] = description;
  return { config, generated: generated.sort() };
}

/**
 * Whether a change to `key` may be written on the strength of a prediction, with no digest to
 * guard it: not to an option whose value Proxmox made anew, and not to a volume option, whose
 * write allocates storage when the option is new: were the prediction wrong and the clone had
 * the option already, the old volume would be left behind as `unusedN`. Never to `description`:
 * it carries the owner marker, and a marker written into a guest that is not the clone (someone
 * destroyed it and took the VMID in the seconds before the write) would make that guest look
 * like Phoenix's, to be deleted with the object. The clone's own parameters set the description
 * the spec asks for, so it differs only when the spec changed while the clone ran: then the
 * guest is read first.
 */
export function writableFromPrediction(type: CloneType, predicted: PredictedClone, key: string): boolean {
  if (predicted.generated.includes(key) || key === 'description') return false;
  return type === 'lxc' ? key !== 'rootfs' && !/^mp\d+$/.test(key) : !qemuDrive.test(key);
}

/** Whether the clone gets a volume of its own for this option (a disk, not a CD-ROM). */
function isNewVolume(type: CloneType, key: string, value: string): boolean {
  if (type === 'lxc') return key === 'rootfs' || /^mp\d+$/.test(key);
  // drive_is_cdrom($drive, 1): a CD-ROM is copied as it is; a cloud-init drive is not a CD-ROM here.
  return qemuDrive.test(key) && !(/(^|,)media=cdrom(,|$)/.test(value) && !/cloudinit/.test(value));
}

/**
 * How recent, on Phoenix's own clock, the end of its own clone must be known to be for a write
 * from the prediction: the write carries no digest, and the proof that the guest at the VMID
 * is the clone ("the clone ended OK") says nothing about what happened to the VMID since.
 */
export const ownCloneEndRecentMs = 5_000;

/**
 * Whether a clone that ended after `after` (see `cloneEndedAfter`) and was seen ended by a list asked for at `seenEndedAt` (both on
 * Phoenix's clock, ms) ended recently enough at `now`: its end located within
 * `ownCloneEndRecentMs`, and no more than as long since that list. Proxmox's own end time is
 * on the node's clock and is not used.
 */
/**
 * The earliest moment (Phoenix's clock, ms) the clone can have ended: after a list last showed it
 * running, and after it was sent plus how long it took by Proxmox's own clock. The task list's
 * `endtime` and the UPID's start are whole seconds of the node's clock; their difference is a
 * duration, so no clock is compared with another, and it took more than that difference less a
 * second. A task sent at 0 that took 7 s by Proxmox's times and was found ended at 7.4 s ended
 * after 6 s: within a look that did not see it run.
 */
export function cloneEndedAfter(sentAt: number, seenRunningAt: number | undefined, upidStart: number | undefined, endtime: number | undefined): number {
  const tookMoreThanMs = upidStart !== undefined && endtime !== undefined ? (endtime - upidStart - 1) * 1000 : 0;
  return Math.max(seenRunningAt ?? sentAt, sentAt + tookMoreThanMs);
}

export function ownCloneEndRecent(after: number, seenEndedAt: number, now: number): boolean {
  return seenEndedAt - after <= ownCloneEndRecentMs && now - seenEndedAt <= ownCloneEndRecentMs;
}
