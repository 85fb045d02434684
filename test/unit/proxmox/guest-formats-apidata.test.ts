// Every sub-key the official Proxmox VE schema (apidata.js, read from ../shared at test time)
// documents for a guest's disks, mount points and NICs survives Phoenix's parse and print,
// in the order pve-common's print_property_string writes it. Phoenix's formats leave many of
// them out (I/O limits, error policies…); a config it rewrites must still keep them.
import assert from 'node:assert/strict';
import { formatPropertyString, parsePropertyString } from '../../../src/proxmox/property-string.ts';
import { guestOptionFormat } from '../../../src/proxmox/guest-formats.ts';
import { loadOfficialSchema, SCHEMA_FILES, type OfficialParam } from '../../sim/support/official-schema.ts';

type SubKey = OfficialParam & { default_key?: number; alias?: string; keyAlias?: string };

const OPTIONS = {
  qemu: ['scsi[n]', 'virtio[n]', 'sata[n]', 'ide[n]', 'efidisk0', 'tpmstate0', 'net[n]'],
  lxc: ['rootfs', 'mp[n]', 'net[n]'],
} as const;

const MAC = 'BC:24:11:00:00:01';

/** A value Proxmox accepts for a sub-key, chosen from its schema entry (by hand where a pattern says more). */
function sample(key: string, def: SubKey): string {
  const byKey: Record<string, string> = {
    trunks: '10;20', mountoptions: 'noatime;nodev', wwn: '0x5000c500a1b2c3d4', product: 'DISK', vendor: 'ACME', name: 'eth0', mp: '/data',
  };
  if (byKey[key] !== undefined) return byKey[key]!;
  if (def.enum !== undefined) return def.enum[def.enum.length - 1]!;
  if (def.type === 'boolean') return '1';
  if (def.type === 'integer' || def.type === 'number') return String(def.minimum ?? 1);
  const byFormat: Record<string, string> = {
    'disk-size': '8G', 'mac-addr': MAC, 'pve-bridge-id': 'vmbr0', ipv4: '10.0.0.1', ipv6: 'fd00::1', 'pve-ipv4-config': '10.0.0.5/24',
    'pve-ipv6-config': 'auto', urlencoded: 'abc%20d', 'pve-volume-id-or-absolute-path': 'local:import/disk.qcow2',
  };
  return (typeof def.format === 'string' ? byFormat[def.format] : undefined) ?? 'x';
}

/** The option's first part: its default key's bare value, or `model=<mac>` for a qemu NIC. */
function head(format: Record<string, SubKey>): { text: string; keys: string[] } {
  const defaultKey = Object.keys(format).find((k) => format[k]!.default_key);
  if (defaultKey === undefined) return { text: '', keys: [] };
  const keyAlias = Object.entries(format).find(([, d]) => d.keyAlias === defaultKey);
  if (keyAlias !== undefined) return { text: `${keyAlias[0]}=${MAC}`, keys: [defaultKey, keyAlias[1].alias!] };
  return { text: 'local-lvm:vm-100-disk-0', keys: [defaultKey] };
}

describe('guest property strings: every sub-key the official schema documents round-trips', () => {
  for (const version of Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]) {
    describe(`Proxmox VE ${version}`, function () {
      const loaded = loadOfficialSchema(version);
      before(function () {
        if (typeof loaded === 'string') {
          console.log(`      skipped: ${loaded}`);
          this.skip();
        }
      });
      for (const guest of ['qemu', 'lxc'] as const) {
        for (const option of OPTIONS[guest]) {
          it(`${guest} ${option}`, () => {
            const schema = loaded as Exclude<typeof loaded, string>;
            const official = schema.get(`PUT /nodes/{node}/${guest}/{vmid}/config`)?.parameters?.properties?.[option]?.format as Record<string, SubKey> | undefined;
            assert.ok(official && typeof official === 'object', `${option} has no property format in the schema`);
            const format = guestOptionFormat(guest, option.replace('[n]', '0'));
            assert.ok(format, `Phoenix has no format for ${option}`);
            const first = head(official);
            const keys = Object.keys(official).filter((k) => official[k]!.alias === undefined && !first.keys.includes(k)).sort();
            assert.ok(keys.length > 0);
            const pairs = keys.map((k) => `${k}=${sample(k, official[k]!)}`);

            // Written in reverse order: printed back in print_property_string's, required keys
            // (an lxc NIC's name, a mount point's mp) right after the default key, then the rest sorted.
            const required = keys.filter((k) => !official[k]!.optional);
            const expected = [first.text, ...required.map((k) => `${k}=${sample(k, official[k]!)}`), ...pairs.filter((p) => !required.includes(p.split('=')[0]!))]
              .filter(Boolean).join(',');
            const input = [first.text, ...[...pairs].reverse()].filter(Boolean).join(',');
            const { values } = parsePropertyString(input, format);
            for (const k of keys) assert.equal(values[k], sample(k, official[k]!), `${option}: ${k} lost on parse`);
            assert.equal(formatPropertyString(values, format), expected);
            // And each one alone, beside the option's head, is printed as it was read.
            for (const pair of pairs) {
              const text = [first.text, pair].filter(Boolean).join(',');
              if (required.length && !required.some((k) => pair.startsWith(`${k}=`))) continue;
              assert.equal(formatPropertyString(parsePropertyString(text, format).values, format), text);
            }

            // An alias (`iops_rd_length` for `iops_rd_max_length`) keeps its value under one name or the other.
            for (const [alias, def] of Object.entries(official)) {
              if (def.alias === undefined || def.keyAlias !== undefined || first.keys.includes(def.alias)) continue;
              const printed = formatPropertyString(parsePropertyString(`${first.text},${alias}=5`, format).values, format);
              assert.ok(printed.includes(`${alias}=5`) || printed.includes(`${def.alias}=5`), `${option}: ${alias} lost: ${printed}`);
            }
          });
        }
      }
    });
  }
});
