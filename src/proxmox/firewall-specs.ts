/**
 * pve-firewall's address and port specs, parsed as Proxmox parses them (src/PVE/Firewall.pm:
 * `parse_address_list`, `parse_port_name_number_or_range`, and the IP set and alias names
 * `verify_rule` accepts). Each check returns what is wrong, or undefined when the value is one
 * Proxmox takes. The API server checks a single address and a list's form (src/api/firewall.ts);
 * what only a parse can tell, such as a range that ends before it starts, is found here.
 */
import { isIP } from 'node:net';

const ipsetRe = /^\+(dc\/|guest\/|sdn\/)?[A-Za-z][A-Za-z0-9_-]+$/;
const aliasRe = /^(dc\/|guest\/)?[A-Za-z][A-Za-z0-9_-]+$/;
const maxNameLength = 64;

/** An address as a number, so that ranges can be ordered and networks masked. */
function addressValue(address: string): bigint {
  if (isIP(address) === 4) return address.split('.').reduce((value, octet) => (value << 8n) + BigInt(Number(octet)), 0n);
  const groups = (part: string): string[] =>
    part === '' ? [] : part.split(':').flatMap((group) => {
      if (!group.includes('.')) return [group];
      const v4 = addressValue(group);
      return [(v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
    });
  const [head = '', tail] = address.split('::') as [string, string?];
  const before = groups(head);
  const after = tail === undefined ? [] : groups(tail);
  const zeros: string[] = tail === undefined ? [] : new Array<string>(8 - before.length - after.length).fill('0');
  return [...before, ...zeros, ...after].reduce((value, group) => (value << 16n) + BigInt(parseInt(group, 16)), 0n);
}

interface Element {
  readonly family: 4 | 6;
  readonly range: boolean;
}

/** One list element: an address, a network with its host bits zero, or a range `a-b`. */
function parseElement(element: string): Element | string {
  const range = element.split('-');
  if (range.length === 2) {
    const [first = '', last = ''] = range;
    const family = isIP(first);
    if (family === 0 || isIP(last) !== family) return `invalid IP address: ${element} is not a range of two addresses of one family`;
    if (addressValue(first) > addressValue(last)) return `invalid IP address: the range ${element} ends before it starts`;
    return { family: family as 4 | 6, range: true };
  }
  const network = /^([^/]+)\/(\d{1,3})$/.exec(element);
  if (network) {
    const [, address = '', length = ''] = network;
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    if (family === 0 || Number(length) > bits) return `invalid IP address: ${element} is not a network`;
    const hostBits = (1n << BigInt(bits - Number(length))) - 1n;
    if ((addressValue(address) & hostBits) !== 0n) return `invalid IP address: ${element} has host bits set (Invalid prefix); the network is written with them zero`;
    return { family: family as 4 | 6, range: false };
  }
  const family = isIP(element);
  if (family === 0) return `invalid IP address: ${element}`;
  return { family: family as 4 | 6, range: false };
}

/** `pve-fw-addr-spec`: an IP set (`+name`), an alias, or a list of addresses, networks and ranges. */
export function addressSpecProblem(spec: string): string | undefined {
  if (spec.startsWith('+')) {
    if (!ipsetRe.test(spec)) return `invalid ipset name '${spec}'`;
    return spec.length > maxNameLength + 1 ? 'ipset name too long' : undefined;
  }
  if (aliasRe.test(spec)) return spec.length > maxNameLength ? 'alias name too long' : undefined;
  const elements = spec.split(',');
  if (elements.some((e) => e === '')) return 'extraneous commas in list';
  let family: 4 | 6 | undefined;
  let ranges = 0;
  for (const element of elements) {
    const parsed = parseElement(element);
    if (typeof parsed === 'string') return parsed;
    if (family !== undefined && parsed.family !== family) return `detected mixed ipv4/ipv6 addresses in address list '${spec}'`;
    family = parsed.family;
    if (parsed.range) ranges++;
  }
  if (ranges > 0 && elements.length > 1) return "you can't use a range in a list";
  return undefined;
}

/** The IP family of an address spec that names addresses itself (not an IP set or alias). */
export function addressSpecFamily(spec: string): 4 | 6 | undefined {
  if (spec.startsWith('+') || aliasRe.test(spec)) return undefined;
  return spec.includes(':') ? 6 : 4;
}

const serviceNameRe = /^[A-Za-z][A-Za-z0-9._+-]*$/;
const maxPort = 65535;
/** Proxmox counts a port as one and a range as two, and takes at most 15. */
const maxPortCount = 15;

/**
 * `pve-fw-dport-spec` and `pve-fw-sport-spec`: ports, ranges `first:last` and service names,
 * separated by commas. Whether a name is in /etc/services only the Proxmox host can tell.
 */
export function portSpecProblem(spec: string): string | undefined {
  const items = spec.split(',');
  if (items.some((i) => i === '')) return 'extraneous commas in list';
  let count = 0;
  for (const item of items) {
    const range = /^(\d+):(\d+)$/.exec(item);
    if (range) {
      const first = Number(range[1]);
      const last = Number(range[2]);
      if (first > maxPort) return `invalid port '${range[1]}'`;
      if (last > maxPort) return `invalid port '${range[2]}'`;
      if (first > last) return `backwards range '${item}' not allowed, did you mean '${range[2]}:${range[1]}'?`;
      count += 2;
    } else if (/^\d+$/.test(item)) {
      if (Number(item) > maxPort) return `invalid port '${item}'`;
      count += 1;
    } else if (!serviceNameRe.test(item)) {
      return `invalid port '${item}'`;
    }
  }
  return count > maxPortCount ? `too many entries in port list (> ${maxPortCount} numbers)` : undefined;
}
