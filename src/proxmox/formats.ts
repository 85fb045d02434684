/**
 * Named parameter formats (`format: 'pve-vmid'`), validated by code that is not in the
 * schema file (pve-common JSONSchema.pm and registrations in qemu-server,
 * pve-container, pve-storage). Each validator returns the message Proxmox dies with,
 * or undefined when the value is fine. `X-list` and `X-opt` are derived as Proxmox
 * derives them.
 */
import { isIP } from 'node:net';
import { splitList, TAG_RE } from './tags.ts';
import { isUnicastMac } from './mac.ts';
import { DISK_SIZE_RE } from './size.ts';
import { addressSpecProblem, portSpecProblem } from './firewall-specs.ts';
import { parsePropertyString, propertyErrorMessage } from './property-string.ts';
import type { PropertyFormat } from './schema.ts';
import { qemuHostpciFormat, qemuRngFormat, qemuSevFormat, qemuTdxFormat, qemuWatchdogFormat } from './registered-formats.ts';

type Check = (value: string) => string | undefined;

const re = (regex: RegExp, message: (v: string) => string): Check => (v) => (regex.test(v) ? undefined : message(v));

const ID_RE = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
const NODE_RE = /^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)$/;
const DNS_RE = /^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(\.([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?))*$/;

function ipv4(v: string): boolean {
  return isIP(v) === 4;
}
function ipv6(v: string): boolean {
  return isIP(v) === 6;
}
function cidr(v: string, family: 4 | 6 | 0): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(v);
  if (!m) return false;
  const fam = isIP(m[1]!);
  if (fam === 0 || (family !== 0 && fam !== family)) return false;
  return Number(m[2]) <= (fam === 4 ? 32 : 128);
}

/** `ip=<CIDRv4|dhcp>,gw=<ipv4>,ip6=<CIDRv6|auto|dhcp>,gw6=<ipv6>` (qemu cloud-init). */
function checkIpConfig(v: string): string | undefined {
  for (const part of v.split(',')) {
    const [k, val = ''] = part.split('=', 2) as [string, string?];
    const ok =
      (k === 'ip' && (val === 'dhcp' || cidr(val, 4))) ||
      (k === 'gw' && ipv4(val)) ||
      (k === 'ip6' && (val === 'dhcp' || val === 'auto' || cidr(val, 6))) ||
      (k === 'gw6' && ipv6(val));
    if (!ok) return `invalid IP configuration '${part}'`;
  }
  return undefined;
}

const VOLUME_ID_RE = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i;

/** A format registered as a property string: its errors read as an inline format's do. */
function propertyFormat(format: PropertyFormat): Check {
  return (v) => {
    const { errors } = parsePropertyString(v, format);
    return Object.keys(errors).length === 0 ? undefined : propertyErrorMessage(errors).replace(/^invalid format - /, '').replace(/\n$/, '');
  };
}

/** pve-common PVE/CpuSet.pm parse_cpuset: comma-separated CPUs or ascending ranges. */
function checkCpuset(v: string): string | undefined {
  for (const part of v.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) return 'unable to parse cpuset option';
  }
  return undefined;
}

/** pve-common JSONSchema.pm pve_verify_vlan_id_or_range. */
function checkVlanRange(v: string): string | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(v);
  if (!m) return `invalid VLAN configuration '${v}'`;
  for (const tag of [m[1], m[2]]) if (tag !== undefined && (Number(tag) < 2 || Number(tag) > 4094)) return `invalid VLAN tag '${tag}'`;
  if (m[2] !== undefined && Number(m[1]) >= Number(m[2])) return `VLAN range must go from lower to higher tag '${v}'`;
  return undefined;
}

const STORAGE_CONTENT = /^(images|rootdir|vztmpl|iso|backup|snippets|import)$/;

const checks: Record<string, Check> = {
  'pve-vmid': re(/^[1-9][0-9]{2,8}$/, () => 'value does not look like a valid VM ID'),
  'pve-node': re(NODE_RE, () => 'value does not look like a valid node name'),
  'pve-configid': re(/^[a-z][a-z0-9_-]+$/i, (v) => `invalid configuration ID '${v}'`),
  'pve-storage-id': (v) => (v.length >= 2 && ID_RE.test(v) ? undefined : `storage ID '${v}' contains illegal characters`),
  'pve-poolid': re(/^[A-Za-z0-9_\-./]+$/, (v) => `pool name '${v}' contains illegal characters`),
  'pve-bridge-id': re(/^[-_.\w\d]+$/, (v) => `invalid bridge ID '${v}'`),
  'pve-iface': re(/^[a-zA-Z][a-zA-Z0-9_.-]{1,20}[a-zA-Z0-9]$/, (v) => `invalid network interface name '${v}'`),
  'dns-name': re(DNS_RE, (v) => `value '${v}' does not look like a valid DNS name`),
  'pve-tag': re(TAG_RE, () => 'invalid characters in tag'),
  ip: (v) => (isIP(v) ? undefined : `value '${v}' does not look like a valid IP address`),
  ipv4: (v) => (ipv4(v) ? undefined : `value '${v}' does not look like a valid IPv4 address`),
  ipv6: (v) => (ipv6(v) ? undefined : `value '${v}' does not look like a valid IPv6 address`),
  // pve-common JSONSchema.pm pve_verify_address: an IP address or a DNS name.
  address: (v) => (isIP(v) || DNS_RE.test(v) ? undefined : `value does not look like a valid address: ${v}`),
  CIDR: (v) => (cidr(v, 0) ? undefined : `value '${v}' does not look like a valid CIDR network`),
  CIDRv4: (v) => (cidr(v, 4) ? undefined : `value '${v}' does not look like a valid IPv4 CIDR network`),
  CIDRv6: (v) => (cidr(v, 6) ? undefined : `value '${v}' does not look like a valid IPv6 CIDR network`),
  'pve-ipv4-config': (v) => (v === 'dhcp' || v === 'manual' || cidr(v, 4) ? undefined : 'invalid IPv4 network configuration'),
  'pve-ipv6-config': (v) => (['auto', 'dhcp', 'manual'].includes(v) || cidr(v, 6) ? undefined : 'invalid IPv6 network configuration'),
  'lxc-ip-with-ll-iface': (v) => (isIP(v.replace(/%[^%]+$/, '')) ? undefined : `value '${v}' does not look like a valid IP address`),
  'mac-addr': (v) => (isUnicastMac(v) ? undefined : `value does not look like a valid unicast MAC address`),
  'disk-size': re(DISK_SIZE_RE, (v) => `unable to parse size '${v}'`),
  'pve-volume-id': (v) => (VOLUME_ID_RE.test(v) ? undefined : `unable to parse volume ID '${v}'`),
  'pve-volume-id-or-qm-path': (v) => (VOLUME_ID_RE.test(v) || v.startsWith('/') || v === 'none' || v === 'cdrom' ? undefined : `unable to parse volume ID '${v}'`),
  'pve-volume-id-or-absolute-path': (v) => (VOLUME_ID_RE.test(v) || v.startsWith('/') ? undefined : `unable to parse volume ID '${v}'`),
  'pve-lxc-mp-string': (v) => (VOLUME_ID_RE.test(v) || v.startsWith('/') ? undefined : `unable to parse volume ID '${v}'`),
  // pve_parse_startup_order: `[order=]<n>`, `up=<n>`, `down=<n>`, comma-separated, in any order.
  'pve-startup-order': (v) => (v !== '' && v !== '0' && v.split(',').every((p) => /^\s*$|^(order=)?\d+$|^(up|down)=\d+$/.test(p)) ? undefined : 'invalid startup order'),
  urlencoded: re(/^[-%a-zA-Z0-9_.!~*'()]*$/, (v) => `invalid urlencoded string: ${v}`),
  'pve-userid': re(/^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$/, (v) => `value '${v}' does not look like a valid user name`),
  'pve-realm': re(/^[A-Za-z][A-Za-z0-9.\-_]+$/, (v) => `value '${v}' does not look like a valid realm`),
  'pve-tokenid': re(/^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$/, (v) => `invalid token ID '${v}'`),
  'pve-groupid': re(/^[A-Za-z0-9.\-_]+$/, (v) => `invalid group name '${v}'`),
  'pve-roleid': re(/^[A-Za-z0-9.\-_]+$/, (v) => `invalid role ID '${v}'`),
  'pve-priv': re(/^[A-Za-z.]+$/, (v) => `invalid privilege '${v}'`),
  'pve-ct-timezone': re(/^(host|[A-Za-z0-9_+\-/]+)$/, (v) => `invalid time zone '${v}'`),
  'pve-snapshot-name': re(/^[a-z][a-z0-9_-]+$/i, (v) => `invalid configuration ID '${v}'`),
  // Parsed as pve-firewall parses them, so the simulator refuses 999.1.1.1 or a backwards range as Proxmox does.
  'pve-fw-addr-spec': addressSpecProblem,
  'pve-fw-dport-spec': portSpecProblem,
  'pve-fw-sport-spec': portSpecProblem,
  'pve-fw-protocol-spec': re(/^[a-z0-9\-]+$/i, () => 'invalid protocol spec'),
  'pve-fw-icmp-type-spec': re(/^[a-z0-9\-]+$/i, () => 'invalid icmp-type spec'),
  'pve-fw-conntrack-helper': () => undefined,
  'pve-sdn-zone-id': re(/^[a-z][a-z0-9]*[a-z0-9]$/i, (v) => `zone ID '${v}' contains illegal characters`),
  'pve-storage-content': re(/^(images|rootdir|vztmpl|iso|backup|snippets|import)$/, (v) => `invalid content type '${v}'`),
  'pve-storage-path': re(/^\/.+$/, (v) => `invalid path '${v}'`),
  'pve-storage-server': (v) => (isIP(v) || DNS_RE.test(v) ? undefined : `invalid server address '${v}'`),
  'pve-storage-vgname': re(/^[a-zA-Z0-9.+_][a-zA-Z0-9.+_-]+$/, (v) => `invalid volume group name '${v}'`),
  'pve-storage-options': () => undefined,
  'pve-storage-format': re(/^(raw|qcow2|vmdk|subvol)$/, (v) => `invalid format '${v}'`),
  'pve-day-of-week': re(/^(mon|tue|wed|thu|fri|sat|sun)$/, (v) => `invalid day '${v}'`),
  'pve-tfa-secret': () => undefined,
  'pve-qm-bootdisk': re(/^(ide|sata|scsi|virtio|efidisk|tpmstate)\d+$/, (v) => `invalid boot disk '${v}'`),
  'pve-qm-hookscript': (v) => (VOLUME_ID_RE.test(v) ? undefined : `unable to parse volume ID '${v}'`),
  email: re(/^[\w+\-~]+(\.[\w+\-~]+)*@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*$/, (v) => `value '${v}' does not look like a valid email address`),
  'pve-command-batch': () => undefined,
  'pve-qm-ipconfig': checkIpConfig,
  'pve-qm-boot': re(/^(order=[a-z0-9]+(;[a-z0-9]+)*|legacy=[acdn]{1,4}|[acdn]{1,4})?$/, () => 'invalid boot order'),
  'pve-qm-cicustom': re(/^((meta|network|user|vendor)=[^,]+)(,(meta|network|user|vendor)=[^,]+)*$/, () => 'invalid cicustom specification'),
  'pve-vm-cpu-conf': re(/^(cputype=)?[A-Za-z0-9_\-.]+(,[a-z\-]+=[^,]+)*$/, () => 'invalid CPU configuration'),
  'pve-hotplug-features': re(/^(0|1|((network|disk|cpu|memory|usb|cloudinit)(,(network|disk|cpu|memory|usb|cloudinit))*))$/, (v) => `invalid hotplug feature '${v}'`),
  'pve-qm-smbios1': re(/^[a-z0-9]+=[^,]+(,[a-z0-9]+=[^,]+)*$/i, () => 'invalid smbios1 specification'),
  'pve-lxc-dev-string': re(/^\/dev\/.+$/, (v) => `invalid device path '${v}'`),
  'pve-qm-ide': (v) => (VOLUME_ID_RE.test(v.split(',')[0]!) || /^(cdrom|none|\/)/.test(v) ? undefined : `unable to parse volume ID '${v}'`),
  'storage-pair': re(/^([a-z][a-z0-9\-_.]*[a-z0-9](:[a-z][a-z0-9\-_.]*[a-z0-9])?|1)$/i, (v) => `invalid storage pair '${v}'`),
  'pve-task-status-type': re(/^(ok|error|warning|unknown)$/i, (v) => `invalid task status '${v}'`),
  'pve-replication-job-id': re(/^\d+-\d+$/, () => 'invalid job ID'),
  // qemu-server / pve-container remote migration: `source=target` bridge pairs, or one bridge for all.
  'bridge-pair': re(/^([-_.\w\d]+(:[-_.\w\d]+)?|1)$/, (v) => `invalid bridge pair '${v}'`),
  // pve-common `proxmox-remote`: host=…,apitoken=PVEAPIToken=…[,port=…][,fingerprint=…].
  'proxmox-remote': (v) => (/(^|,)host=[^,]+/.test(v) && /(^|,)apitoken=PVEAPIToken=[^,]+/.test(v) ? undefined : `invalid remote '${v}': host and apitoken are required`),
  // pve-storage `prune-backups`: keep-all=1 or keep-{last,hourly,daily,weekly,monthly,yearly}=N.
  'prune-backups': re(/^(keep-(all|last|hourly|daily|weekly|monthly|yearly)=\d+)(,keep-(all|last|hourly|daily|weekly|monthly|yearly)=\d+)*$/, (v) => `invalid retention '${v}'`),
  // pve-access-control LDAP realms: attribute names; sync defaults; the realm's second factor.
  'ldap-simple-attr': re(/^[a-zA-Z0-9]+$/, (v) => `invalid LDAP attribute '${v}'`),
  'realm-sync-options': re(/^((scope|enable-new|remove-vanished|full|purge)=[^,]+)(,(scope|enable-new|remove-vanished|full|purge)=[^,]+)*$/, (v) => `invalid sync options '${v}'`),
  'pve-tfa-config': re(/^(type=)?(oath|yubico)(,[a-z_-]+=[^,]+)*$/, (v) => `invalid TFA configuration '${v}'`),
  // pve-firewall: an address or network; ipset entries may also name an alias.
  IPorCIDR: (v) => (isIP(v) || cidr(v, 0) ? undefined : `value does not look like a valid IP address or CIDR network`),
  IPorCIDRorAlias: (v) => (isIP(v) || cidr(v, 0) || /^(?:(dc|guest)\/)?[A-Za-z][A-Za-z0-9\-_]+$/.test(v) ? undefined : `value does not look like a valid IP address, CIDR network or alias`),
  // pve-ha-manager: `vm:100`, `ct:101` or a bare VMID; nodes with an optional priority.
  'pve-ha-resource-or-vm-id': re(/^(?:(?:vm|ct):)?[1-9][0-9]{2,8}$/, (v) => `invalid HA resource ID '${v}'`),
  'pve-ha-resource-id': re(/^(?:(?:vm|ct):)?[1-9][0-9]{2,8}$/, (v) => `invalid HA resource ID '${v}'`),
  'pve-ha-group-node': re(/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(:\d+)?$/, (v) => `invalid HA node '${v}'`),
  'pve-ha-node': re(/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(:\d+)?$/, (v) => `invalid HA node '${v}'`),
  // pve-manager vzdump: fleecing/performance property strings, mail targets, calendar events, MAC prefixes.
  'backup-fleecing': re(/^((enabled=)?[01]|storage=[a-z][a-z0-9\-_.]*[a-z0-9])(,((enabled=)?[01]|storage=[a-z][a-z0-9\-_.]*[a-z0-9]))*$/i, (v) => `invalid fleecing option '${v}'`),
  'backup-performance': re(/^((max-workers|pbs-entries-max)=\d+)(,(max-workers|pbs-entries-max)=\d+)*$/, (v) => `invalid performance option '${v}'`),
  'email-or-username': (v) => (/^[\w+\-~.]+@[A-Za-z0-9.-]+$/.test(v) || /^[^\s:/@]+(@[A-Za-z][A-Za-z0-9.\-_]+)?$/.test(v) ? undefined : `value '${v}' does not look like a valid email address or user name`),
  'pve-calendar-event': re(/^[A-Za-z0-9 *:/.,\-~]+$/, (v) => `unable to parse calendar event '${v}'`),
  'mac-prefix': re(/^[0-9a-f][02468ace](?::[0-9a-f]{2}){0,2}:?$/i, (v) => `invalid MAC prefix '${v}'`),
  // JSONSchema's `string-list` (ZFS `devices`): any text, split on commas, spaces and semicolons.
  'string-list': re(/^[^\0\n]*$/, () => 'value contains invalid characters'),
  // qemu-server registers these (src/PVE/QemuServer.pm, QemuServer/{CPUConfig,PCI,RNG}.pm).
  'pve-cpuset': checkCpuset,
  'pve-qm-watchdog': propertyFormat(qemuWatchdogFormat),
  'pve-qm-rng': propertyFormat(qemuRngFormat),
  'pve-qemu-sev-fmt': propertyFormat(qemuSevFormat),
  'pve-qemu-tdx-fmt': propertyFormat(qemuTdxFormat),
  'pve-qm-hostpci': propertyFormat(qemuHostpciFormat),
  // pve-common JSONSchema.pm: a dotted netmask from /1 to /32; a VLAN tag or ascending range.
  ipv4mask: (v) => (netmaskBits(v) !== undefined ? undefined : 'value does not look like a valid IP netmask'),
  'pve-vlan-id-or-range': checkVlanRange,
  // pve-storage Plugin.pm verify_portal_dns (an address with an optional port) and verify_dir_override.
  'pve-storage-portal-dns': (v) => (/^(?:\[[0-9a-fA-F:.]+\]|[^\s:\[\]]+)(?::\d+)?$/.test(v) && (isIP(v.replace(/^\[|\](:\d+)?$|:\d+$/g, '')) || DNS_RE.test(v.replace(/:\d+$/, ''))) ? undefined : 'value does not look like a valid portal address'),
  'pve-dir-override': (v) => {
    const m = /^([a-z]+)=([^.]*(?:\.?[^.]+)+)$/.exec(v);
    return m && STORAGE_CONTENT.test(m[1]!) && m[2]!.length < 1023 && m[2]!.split('/').every((x) => x.length < 255) ? undefined : `invalid override '${v}'`;
  },
};

/** The prefix length of a dotted IPv4 netmask, if it is one (1–32 bits, contiguous). */
export function netmaskBits(v: string): number | undefined {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(v) || v.split('.').some((x) => Number(x) > 255)) return undefined;
  const n = v.split('.').reduce((acc, x) => acc * 256 + Number(x), 0);
  for (let bits = 1; bits <= 32; bits++) if (n === 2 ** 32 - 2 ** (32 - bits)) return bits;
  return undefined;
}

export function isKnownFormat(name: string): boolean {
  return resolve(name) !== undefined;
}

function resolve(name: string): Check | undefined {
  const direct = checks[name];
  if (direct) return direct;
  if (name.endsWith('-list')) {
    const item = resolve(name.slice(0, -5));
    if (!item) return undefined;
    return (v) => {
      for (const part of splitList(v)) {
        const err = item(part);
        if (err !== undefined) return err;
      }
      return undefined;
    };
  }
  if (name.endsWith('-opt')) {
    const item = resolve(name.slice(0, -4));
    return item && ((v) => (v === '' ? undefined : item(v)));
  }
  return undefined;
}

/**
 * Validates a value against a named format. Formats this module does not know are
 * accepted: the conformance test lists any the simulator relies on so none slip by.
 */
export function checkNamedFormat(name: string, value: string): string | undefined {
  return resolve(name)?.(value);
}
