import { stripProvisioned } from '../provision/lineage.ts';
import type { PropertyFormat } from '../proxmox/schema.ts';
import { parseSize, GiB, MiB } from '../proxmox/size.ts';
import { describeWithMarker, readMarker, type Owner } from './marker.ts';
import { norm, type DesiredOption, type PropertyOption } from './desired.ts';

/** Fields both guest kinds share, as the guest mapping modules read them. */
export interface CommonGuestSpec {
  hostname?: string;
  description?: string;
  tags?: string[];
  cores?: number;
  cpuLimit?: number;
  cpuUnits?: number;
  memory?: string;
  onBoot?: boolean;
  startup?: { order?: number; upDelay?: number; downDelay?: number };
  protection?: boolean;
  dns?: { nameservers?: string[]; searchDomain?: string };
}

export interface GuestIdentity {
  /**
   * The default guest name (metadata.name) for guests Phoenix creates. Undefined for adopted
   * and observed guests, whose name is managed only when the spec sets one.
   */
  readonly name: string | undefined;
  readonly owner: Owner;
}

/** A spec size in whole MiB (Proxmox's unit for memory and swap). */
export function mebibytes(size: string): number {
  return Math.ceil((parseSize(size) ?? 0) / MiB);
}

/** A spec size in GiB for a new volume (`local-lvm:8`); Proxmox takes fractions. */
export function gibibytesForNewVolume(size: string): string {
  const gib = (parseSize(size) ?? 0) / GiB;
  return String(Math.round(gib * 1000) / 1000);
}

/**
 * `pve-startup-order`: `[[order=]\d+] [,up=\d+] [,down=\d+]`, so a bare number is the order.
 * Phoenix writes `order=` as the Proxmox UI does.
 */
export const startupFormat: PropertyFormat = {
  order: { type: 'integer', optional: true, default_key: true, writeKeyed: true },
  up: { type: 'integer', optional: true },
  down: { type: 'integer', optional: true },
};

export function scalar(key: string, desired: string | number | boolean, normalise = norm.text): DesiredOption {
  const value = typeof desired === 'boolean' ? (desired ? '1' : '0') : String(desired);
  return { kind: 'scalar', key, desired: value, normalise };
}

export function startupOption(startup: NonNullable<CommonGuestSpec['startup']>): PropertyOption {
  const desired: Record<string, string> = {};
  if (startup.order !== undefined) desired['order'] = String(startup.order);
  if (startup.upDelay !== undefined) desired['up'] = String(startup.upDelay);
  if (startup.downDelay !== undefined) desired['down'] = String(startup.downDelay);
  return { kind: 'property', key: 'startup', format: startupFormat, desired, managedKeys: ['order', 'up', 'down'] };
}

/**
 * The description always carries the ownership marker, so it is always managed. The notes
 * above it are managed when the spec sets them or when Phoenix made the guest; an adopted
 * or observed guest keeps its notes when the spec says nothing about them (only the marker
 * is compared, as its name is compared only when the spec sets one).
 */
function descriptionOption(description: string | undefined, id: GuestIdentity): DesiredOption {
  const desired = describeWithMarker(description, id.owner);
  if (description === undefined && foundGuest(id)) return scalar('description', desired, (v) => readMarker(v)?.uid);
  // The provisioned marker is written by the pipeline (controllers/guests/lineage.ts), not the spec.
  return scalar('description', desired, (v) => stripProvisioned(v ?? '').trim() || undefined);
}

/** An adopted or observed guest: Phoenix found it rather than made it from the spec. */
export function foundGuest(id: GuestIdentity): boolean {
  return id.name === undefined;
}

/**
 * Which keys of a NIC Phoenix compares. On a guest it made, the NIC was written from the spec,
 * so every key it knows is managed (one the spec leaves out must be absent). On a guest it
 * found, a key the spec leaves unset is not managed: an adopted VLAN or MTU stays as it was.
 */
export function managedNicKeys(id: GuestIdentity, known: readonly string[], specified: readonly string[]): string[] {
  return foundGuest(id) ? known.filter((k) => specified.includes(k)) : [...known];
}

/** Options both kinds map the same way. */
export function commonOptions(spec: CommonGuestSpec, id: GuestIdentity, nameKey: 'hostname' | 'name'): DesiredOption[] {
  const options: DesiredOption[] = [descriptionOption(spec.description, id)];
  const name = spec.hostname ?? id.name;
  if (name !== undefined) options.unshift(scalar(nameKey, name));
  if (spec.tags !== undefined) options.push(scalar('tags', spec.tags.map((t) => t.toLowerCase()).sort().join(';'), norm.set(/[;, ]+/, ';')));
  if (spec.cores !== undefined) options.push(scalar('cores', spec.cores, norm.int()));
  if (spec.cpuLimit !== undefined) options.push(scalar('cpulimit', spec.cpuLimit, norm.int(0)));
  if (spec.cpuUnits !== undefined) options.push(scalar('cpuunits', spec.cpuUnits, norm.int()));
  if (spec.onBoot !== undefined) options.push(scalar('onboot', spec.onBoot, norm.bool()));
  if (spec.protection !== undefined) options.push(scalar('protection', spec.protection, norm.bool()));
  if (spec.startup !== undefined) options.push(startupOption(spec.startup));
  if (spec.dns?.nameservers !== undefined) options.push(scalar('nameserver', spec.dns.nameservers.join(' '), (v) => v?.trim().split(/[\s,;]+/).join(' ') || undefined));
  if (spec.dns?.searchDomain !== undefined) options.push(scalar('searchdomain', spec.dns.searchDomain, norm.lower));
  return options;
}
