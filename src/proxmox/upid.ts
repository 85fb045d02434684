/**
 * Proxmox task identifiers (UPIDs), as written by pve-common `PVE::Tools::upid_encode`:
 * `UPID:<node>:<pid %08X>:<pstart %08X>:<starttime %08X>:<type>:<id>:<user>:` — note the
 * trailing colon, which clients that split on ':' rely on.
 */
export interface Upid {
  readonly node: string;
  readonly pid: number;
  /** Process start time in clock ticks since boot; may need 9 hex digits. */
  readonly pstart: number;
  /** Unix seconds. */
  readonly starttime: number;
  readonly type: string;
  /** Usually the vmid as a string, or '' for node-level tasks. */
  readonly id: string;
  /** `user@realm`, or `user@realm!tokenid` for API tokens. */
  readonly user: string;
}

const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');

export function formatUpid(upid: Upid): string {
  return `UPID:${upid.node}:${hex8(upid.pid)}:${hex8(upid.pstart)}:${hex8(upid.starttime)}:${upid.type}:${upid.id}:${upid.user}:`;
}

const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

/** Returns undefined for anything real Proxmox would answer "unable to parse worker upid". */
export function parseUpid(text: string): Upid | undefined {
  const m = UPID_RE.exec(text);
  if (!m) return undefined;
  return {
    node: m[1]!,
    pid: parseInt(m[3]!, 16),
    pstart: parseInt(m[4]!, 16),
    starttime: parseInt(m[5]!, 16),
    type: m[6]!,
    id: m[7]!,
    user: m[8]!,
  };
}

/** The token part of a UPID user (`root@pam!ci` → `ci`), which task status reports as `tokenid`. */
export function upidTokenId(user: string): string | undefined {
  const bang = user.indexOf('!');
  return bang < 0 ? undefined : user.slice(bang + 1);
}

/**
 * A worker id as `PVE::ParseUtils::encode_text` puts it into a UPID (pve-common): the UTF-8
 * bytes outside printable ASCII, ':' and '%' percent-encoded with upper-case hex. Downloads and
 * OCI pulls use the file name as their id, so this is how their tasks are recognised.
 */
export function encodeWorkerId(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const safe = byte >= 0x20 && byte <= 0x7e && byte !== 0x25 && byte !== 0x3a;
    out += safe ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
