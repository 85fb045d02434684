import type { PhoenixLXCSpec } from '../api/lxc.ts';
import { lxcFeaturesFormat, lxcMountPointFormat, lxcNetFormat, lxcRootfsFormat } from '../proxmox/guest-formats.ts';
import type { PropertyFormat } from '../proxmox/schema.ts';
import { parseSize } from '../proxmox/size.ts';
import { commonOptions, gibibytesForNewVolume, managedNicKeys, mebibytes, scalar, type GuestIdentity } from './common-config.ts';
import { norm, type DesiredConfig, type DesiredOption, type PropertyOption } from './desired.ts';

const lxcDevFormat: PropertyFormat = {
  path: { type: 'string', default_key: true },
  mode: { type: 'string', optional: true },
  uid: { type: 'integer', optional: true },
  gid: { type: 'integer', optional: true },
  'deny-write': { type: 'boolean', optional: true },
};

const netKeys = ['name', 'bridge', 'tag', 'ip', 'gw', 'ip6', 'gw6', 'firewall', 'mtu', 'rate'] as const;

function networkOption(index: number, net: NonNullable<PhoenixLXCSpec['networks']>[number], id: GuestIdentity): PropertyOption {
  const desired: Record<string, string> = { name: net.name, bridge: net.bridge, type: 'veth' };
  if (net.vlan !== undefined) desired['tag'] = String(net.vlan);
  if (net.ipv4 !== undefined && net.ipv4 !== 'manual') desired['ip'] = net.ipv4;
  if (net.gatewayV4 !== undefined) desired['gw'] = net.gatewayV4;
  if (net.ipv6 !== undefined && net.ipv6 !== 'manual') desired['ip6'] = net.ipv6;
  if (net.gatewayV6 !== undefined) desired['gw6'] = net.gatewayV6;
  if (net.firewall) desired['firewall'] = '1';
  if (net.mtu !== undefined) desired['mtu'] = String(net.mtu);
  if (net.rateLimit !== undefined) desired['rate'] = String(net.rateLimit);
  if (net.mac !== undefined) desired['hwaddr'] = net.mac.toUpperCase();
  return {
    kind: 'property',
    key: `net${index}`,
    format: lxcNetFormat,
    desired,
    // The MAC is managed only when the spec names one; otherwise Proxmox's generated MAC stays.
    managedKeys: managedNicKeys(id, net.mac !== undefined ? [...netKeys, 'hwaddr'] : netKeys, specifiedNicKeys(net)),
    normalisers: { firewall: norm.bool(), hwaddr: norm.upper, tag: norm.int(), mtu: norm.int(), rate: norm.int() },
  };
}

/** The NIC keys whose spec field is set (false and 'manual' included: they say "none"). */
function specifiedNicKeys(net: NonNullable<PhoenixLXCSpec['networks']>[number]): string[] {
  const fields: [unknown, string][] = [[net.vlan, 'tag'], [net.ipv4, 'ip'], [net.gatewayV4, 'gw'], [net.ipv6, 'ip6'], [net.gatewayV6, 'gw6'], [net.firewall, 'firewall'], [net.mtu, 'mtu'], [net.rateLimit, 'rate'], [net.mac, 'hwaddr']];
  return ['name', 'bridge', ...fields.filter(([v]) => v !== undefined).map(([, k]) => k)];
}

function mountPointOption(index: number, mp: NonNullable<PhoenixLXCSpec['mountPoints']>[number]): PropertyOption {
  const flags: Record<string, string> = { mp: mp.path };
  if (mp.readOnly !== undefined) flags['ro'] = mp.readOnly ? '1' : '0';
  if (mp.backup !== undefined) flags['backup'] = mp.backup ? '1' : '0';
  if (mp.shared !== undefined) flags['shared'] = mp.shared ? '1' : '0';
  const managedKeys = ['mp', ...(['ro', 'backup', 'shared'] as const).filter((k) => flags[k] !== undefined)];
  const flagText = Object.entries(flags).map(([k, v]) => `${k}=${v}`).join(',');
  const normalisers = { ro: norm.bool(), backup: norm.bool(), shared: norm.bool() };
  if (mp.hostPath !== undefined) {
    return { kind: 'property', key: `mp${index}`, format: lxcMountPointFormat, desired: { volume: mp.hostPath, ...flags }, managedKeys: ['volume', ...managedKeys], normalisers };
  }
  return {
    kind: 'property',
    key: `mp${index}`,
    format: lxcMountPointFormat,
    desired: flags,
    managedKeys,
    normalisers,
    minSizeBytes: parseSize(mp.size ?? '0') ?? 0,
    createValue: `${mp.storage}:${gibibytesForNewVolume(mp.size ?? '0')},${flagText}`,
  };
}

function featuresOption(features: NonNullable<PhoenixLXCSpec['features']>): PropertyOption {
  const desired: Record<string, string> = {};
  for (const key of ['nesting', 'keyctl', 'fuse', 'mknod'] as const) {
    if (features[key] !== undefined) desired[key] = features[key] ? '1' : '0';
  }
  if (features.mount?.length) desired['mount'] = [...features.mount].sort().join(';');
  const managedKeys = [...(['nesting', 'keyctl', 'fuse', 'mknod'] as const).filter((k) => features[k] !== undefined), ...(features.mount !== undefined ? ['mount'] : [])];
  return {
    kind: 'property',
    key: 'features',
    format: lxcFeaturesFormat,
    desired,
    managedKeys,
    normalisers: { nesting: norm.bool(), keyctl: norm.bool(), fuse: norm.bool(), mknod: norm.bool(), mount: norm.set(/[;, ]+/, ';') },
  };
}

function deviceOption(index: number, dev: NonNullable<PhoenixLXCSpec['devices']>[number]): PropertyOption {
  const desired: Record<string, string> = { path: dev.path };
  if (dev.mode !== undefined) desired['mode'] = dev.mode.padStart(4, '0');
  if (dev.uid !== undefined) desired['uid'] = String(dev.uid);
  if (dev.gid !== undefined) desired['gid'] = String(dev.gid);
  return {
    kind: 'property',
    key: `dev${index}`,
    format: lxcDevFormat,
    desired,
    managedKeys: ['path', 'mode', 'uid', 'gid'],
    normalisers: { mode: (v) => (v === undefined ? undefined : v.padStart(4, '0')), uid: norm.int(), gid: norm.int() },
  };
}

/**
 * The file an OCI image is pulled to: pve-storage's oci_registry_pull names it after the
 * reference's last path component, every character outside `[a-zA-Z0-9_.-]` replaced by `_`
 * (`normalize_content_filename`), plus `.tar`, under the storage's `vztmpl` content.
 */
export function ociImageVolume(reference: string, storage: string): string {
  const file = reference.replace(/^.*[/\\]/, '').replace(/[^a-zA-Z0-9_.-]/g, '_');
  return `${storage}:vztmpl/${file}.tar`;
}

/** A container's `env` as variables in order: Proxmox keeps it NUL-separated (`lxc.environment.runtime` lines). */
export function parseContainerEnv(raw: string | undefined): [string, string][] {
  if (!raw) return [];
  return raw.split(/\0+/).filter(Boolean).map((entry) => {
    const eq = entry.indexOf('=');
    return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
  });
}

export function formatContainerEnv(vars: readonly (readonly [string, string])[]): string {
  return vars.map(([name, value]) => `${name}=${value}`).join('\0');
}

/**
 * A container's `env` as status and events show it: the names only. Values may come from
 * Secrets, and which ones did is not known where this is shown.
 */
export function maskedEnv(raw: string): string {
  return parseContainerEnv(raw).map(([name]) => `${name}=(hidden)`).join(' ');
}

/**
 * The `env` Phoenix writes: the observed variables with the spec's set to its values (in
 * place), and the spec's missing ones appended. Variables the spec does not name (an OCI
 * image's `PATH`) are kept, so an unchanged spec against an unchanged container is no change.
 */
export function mergeContainerEnv(observed: string | undefined, wanted: readonly (readonly [string, string])[]): string {
  const vars = parseContainerEnv(observed);
  for (const [name, value] of wanted) {
    const at = vars.findIndex(([n]) => n === name);
    if (at >= 0) vars[at] = [name, value];
    else vars.push([name, value]);
  }
  return formatContainerEnv(vars);
}

/** What the container's runtime settings are read from: the spec's env values, resolved. */
export interface LxcRuntimeInputs {
  /** The spec's env with every value resolved (Secret values included), in spec order. */
  readonly env?: readonly (readonly [string, string])[];
  /** The container's `env` as Proxmox holds it now (undefined before it exists). */
  readonly observedEnv?: string;
}

/**
 * The container config a PhoenixLXC asks for: every option Phoenix manages, in the form
 * Proxmox stores it. Options the spec leaves unset are absent, so they are never compared.
 */
export function desiredLxcConfig(spec: PhoenixLXCSpec, id: GuestIdentity, runtime: LxcRuntimeInputs = {}): DesiredConfig {
  const options: DesiredOption[] = commonOptions(spec, id, 'hostname');
  if (spec.entrypoint !== undefined) options.push(scalar('entrypoint', spec.entrypoint, norm.text));
  if (runtime.env?.length) options.push(scalar('env', mergeContainerEnv(runtime.observedEnv, runtime.env), norm.text));
  if (spec.memory !== undefined) options.push(scalar('memory', mebibytes(spec.memory), norm.int(512)));
  if (spec.swap !== undefined) options.push(scalar('swap', mebibytes(spec.swap), norm.int(512)));
  if (spec.rootDisk !== undefined) {
    options.push({
      kind: 'property',
      key: 'rootfs',
      format: lxcRootfsFormat,
      desired: {},
      managedKeys: [],
      minSizeBytes: parseSize(spec.rootDisk.size) ?? 0,
      createValue: `${spec.rootDisk.storage ?? 'local-lvm'}:${gibibytesForNewVolume(spec.rootDisk.size)}`,
    });
  }
  spec.networks?.forEach((net, i) => options.push(networkOption(i, net, id)));
  spec.mountPoints?.forEach((mp, i) => options.push(mountPointOption(i, mp)));
  spec.devices?.forEach((dev, i) => options.push(deviceOption(i, dev)));
  if (spec.features !== undefined) options.push(featuresOption(spec.features));
  const exclusiveFamilies: Record<string, number> = {};
  if (spec.networks !== undefined) exclusiveFamilies['net'] = spec.networks.length;
  if (spec.devices !== undefined) exclusiveFamilies['dev'] = spec.devices.length;
  // Mount points dropped from the spec are detached (Proxmox keeps the volume as unusedN).
  if (spec.mountPoints !== undefined) exclusiveFamilies['mp'] = spec.mountPoints.length;
  return { options, exclusiveFamilies };
}

/** Parameters only a create can set (Proxmox refuses or ignores them later). */
export function lxcCreateOnlyParams(spec: PhoenixLXCSpec, secrets: { rootPassword?: string }): Record<string, string> {
  const params: Record<string, string> = { unprivileged: spec.unprivileged === false ? '0' : '1' };
  if (spec.osType !== undefined) params['ostype'] = spec.osType;
  if (spec.pool !== undefined) params['pool'] = spec.pool;
  if (secrets.rootPassword !== undefined) params['password'] = secrets.rootPassword;
  if (spec.sshPublicKeys?.length) params['ssh-public-keys'] = spec.sshPublicKeys.join('\n');
  return params;
}
