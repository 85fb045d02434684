import type { Infer } from '../api/schema.ts';
import type { firewallRule } from '../api/firewall.ts';
import { patterns } from '../api/common.ts';
import type { LegacyRule } from './legacy-model.ts';

/** Value conversions from the legacy formats to Phoenix's, each refusing what Phoenix would refuse. */

export type FirewallRule = Infer<typeof firewallRule>;

/**
 * A Kubernetes object name from a legacy name: lower case, `-` for anything else (dots too, so
 * the name is also a valid label), at most 63 characters.
 */
export function objectName(legacy: string, fallback: string): string {
  const name = legacy.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return name || fallback;
}

/** Legacy megabytes (Proxmox's MiB) as a Phoenix size: whole GiB when exact. */
export function mebibytes(mb: number): string {
  return mb % 1024 === 0 ? `${mb / 1024}G` : `${mb}M`;
}

export function isHostname(name: string): boolean {
  return name.length <= 253 && new RegExp(patterns.dnsName).test(name);
}

export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIPv4Cidr(text: string): boolean {
  const [ip, bits, ...rest] = text.split('/');
  return rest.length === 0 && ip !== undefined && isIPv4(ip) && bits !== undefined && /^([0-9]|[12][0-9]|3[0-2])$/.test(bits);
}

function ipValue(ip: string): number {
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

/** Whether `ip` lies inside the subnet of `cidr` (10.0.0.1 in 10.0.0.13/24). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return ((ipValue(base) & mask) >>> 0) === ((ipValue(ip) & mask) >>> 0);
}

/** The first host address of a subnet with its prefix: 172.16.100.0/24 → 172.16.100.1/24. */
export function firstHost(subnet: string): string | undefined {
  if (!isIPv4Cidr(subnet)) return undefined;
  const [base, bits] = subnet.split('/') as [string, string];
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  const first = (((ipValue(base) & mask) >>> 0) + 1) >>> 0;
  return `${[24, 16, 8, 0].map((shift) => (first >>> shift) & 255).join('.')}/${bits}`;
}

/** `pct --nameserver` lists (space- or comma-separated) as addresses; undefined if any is not an IP. */
export function nameserverList(text: string): string[] | undefined {
  const list = text.split(/[\s,;]+/).filter(Boolean);
  return list.length > 0 && list.length <= 3 && list.every(isIPv4) ? list : undefined;
}

const portProtocols = new Set(['tcp', 'udp', 'udplite', 'dccp', 'sctp', '6', '17']);

/** A legacy firewall rule (`generate_rule_string`'s input) as a Proxmox rule, or why it cannot be one. */
export function firewallRuleOf(rule: LegacyRule): { rule: FirewallRule } | { problem: string } {
  const action = rule.action.toUpperCase();
  if (!['ACCEPT', 'DROP', 'REJECT'].includes(action)) return { problem: `action ${JSON.stringify(rule.action)} is not ACCEPT, DROP or REJECT` };
  const out: FirewallRule = { type: rule.type, action };
  if (rule.proto !== undefined) {
    const proto = rule.proto.toLowerCase();
    if (!/^[a-z0-9-]+$/.test(proto) || proto.length > 32) return { problem: `protocol ${JSON.stringify(rule.proto)} is not a protocol name or number` };
    out.proto = proto;
  }
  if (rule.source !== undefined) {
    if (rule.source.length > 512) return { problem: 'source is longer than 512 characters' };
    out.source = rule.source;
  }
  if (rule.dest !== undefined) {
    if (rule.dest.length > 512) return { problem: 'dest is longer than 512 characters' };
    out.dest = rule.dest;
  }
  if (rule.port !== undefined) {
    const port = rule.port.replace(/\s+/g, '');
    if (!/^[0-9a-z:,-]+$/.test(port) || port.length > 128) return { problem: `port ${JSON.stringify(rule.port)} is not a port list such as 80,443 or 8000:8100` };
    if (out.proto === undefined || !portProtocols.has(out.proto)) return { problem: `a port needs tcp or udp as the protocol (Proxmox refuses "${rule.port}" with ${out.proto === undefined ? 'no protocol' : out.proto})` };
    out.dport = port;
  }
  if (rule.iface !== undefined) {
    if (!/^[a-zA-Z0-9_.-]+$/.test(rule.iface) || rule.iface.length > 20) return { problem: `interface ${JSON.stringify(rule.iface)} is not an interface name` };
    out.iface = rule.iface;
  }
  if (rule.comment !== undefined) out.comment = rule.comment.slice(0, 512);
  if (rule.enabled === false) out.enabled = false;
  return { rule: out };
}
