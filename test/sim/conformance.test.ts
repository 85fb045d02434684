// Proves the simulator's hand-written API definitions equal the official Proxmox VE
// schema (apidata.js, read from ../shared at test time) for 9.1 and 8.4, and that
// generated invalid requests are rejected exactly where the schema rejects them while
// valid values for the same parameters pass validation.
import assert from 'node:assert/strict';
import { endpoints } from '../../src/sim/proxmox/api/index.ts';
import { servedIn } from '../../src/sim/proxmox/endpoint.ts';
import { defsForVersion, type ParamDefs } from '../../src/proxmox/schema.ts';
import { startProxmoxSimulator, type RunningSimulator } from '../../src/sim/proxmox/index.ts';
import type { PveVersion } from '../../src/sim/proxmox/simulator.ts';
import { loadOfficialSchema, normalisePattern, type OfficialMethod, type OfficialParam } from './support/official-schema.ts';
import { compareEndpoints } from './support/schema-compare.ts';
import { rawCall } from './support/api-client.ts';

const PATH_VALUES: Record<string, string> = {
  node: 'pve', vmid: '100', storage: 'local', snapname: 'snap1', iface: 'vmbr0', pos: '0', poolid: 'pool1',
  volume: 'local:iso/none.iso', upid: 'UPID:pve:00001000:00000001:69000000:qmstart:100:root@pam:',
};

/** Values a named format refuses (only formats whose rule is unambiguous). */
const INVALID_BY_FORMAT: Record<string, string> = {
  'pve-vmid': '99', 'pve-node': '-node-', 'pve-storage-id': '1storage', 'pve-configid': '1snap', 'dns-name': '-bad-', ipv4: '999.1.1.1',
  ipv6: 'zz::1::1', ip: 'not-an-ip', 'pve-tag-list': 'bad!tag', urlencoded: 'has space', CIDRv4: '10.0.0.1/40', 'mac-addr': '01:00:00:00:00:00',
  'pve-poolid': 'bad pool', 'pve-configid-list': '1bad', 'disk-size': '12X', 'pve-volume-id': 'novolume',
};

interface Probe {
  name: string;
  value: string;
  why: string;
}

function invalidProbes(name: string, p: OfficialParam, count: number | undefined): Probe[] {
  const concrete = name.endsWith('[n]') ? `${name.slice(0, -3)}0` : name;
  const probes: Probe[] = [];
  const type = p.type ?? 'string';
  if (type === 'integer') probes.push({ name: concrete, value: 'x1', why: 'integer type' });
  if (type === 'number') probes.push({ name: concrete, value: 'abc', why: 'number type' });
  if (type === 'boolean') probes.push({ name: concrete, value: 'yes', why: 'boolean is 0/1 only' });
  if (p.enum) probes.push({ name: concrete, value: 'zz-not-in-enum', why: 'enum' });
  if ((type === 'integer' || type === 'number') && p.maximum !== undefined) probes.push({ name: concrete, value: String(Number(p.maximum) + 1), why: 'maximum' });
  if ((type === 'integer' || type === 'number') && p.minimum !== undefined) probes.push({ name: concrete, value: String(Number(p.minimum) - 1), why: 'minimum' });
  if (type === 'string' && p.maxLength !== undefined && p.format === undefined && p.pattern === undefined && !p.enum) {
    probes.push({ name: concrete, value: 'a'.repeat(p.maxLength + 1), why: 'maxLength' });
  }
  if (type === 'string' && p.pattern !== undefined && p.format === undefined) {
    const re = new RegExp(`^(?:${normalisePattern(p.pattern)})$`);
    const bad = ['\u0001', '!!', ' '].find((v) => !re.test(v));
    if (bad !== undefined) probes.push({ name: concrete, value: bad, why: 'pattern' });
  }
  if (typeof p.format === 'string' && INVALID_BY_FORMAT[p.format] !== undefined) probes.push({ name: concrete, value: INVALID_BY_FORMAT[p.format]!, why: `format ${p.format}` });
  if (typeof p.format === 'object') probes.push({ name: concrete, value: 'zzunknownkey=1', why: 'property string sub-key' });
  if (count !== undefined) probes.push({ name: `${name.slice(0, -3)}${count}`, value: '1', why: `index beyond ${count - 1}` });
  return probes;
}

function validProbe(name: string, p: OfficialParam): Probe | undefined {
  if (typeof p.format !== 'undefined' || p.pattern !== undefined || name.endsWith('[n]')) return undefined;
  const type = p.type ?? 'string';
  if (p.enum) return { name, value: p.enum[0]!, why: 'enum value' };
  // 0, because skiplock=1 is refused for anyone but root@pam (a handler rule, not a schema one).
  if (type === 'boolean') return { name, value: '0', why: 'boolean 0' };
  if (type === 'integer' || type === 'number') {
    const v = p.minimum !== undefined ? Number(p.minimum) : p.maximum !== undefined ? Math.min(1, Number(p.maximum)) : 1;
    return { name, value: String(v), why: 'in range' };
  }
  if (type === 'string') return { name, value: 'x'.repeat(Math.max(1, p.minLength ?? 1)), why: 'plain string' };
  return undefined;
}

function fillPath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, (_, k: string) => encodeURIComponent(PATH_VALUES[k] ?? 'x'));
}

for (const version of ['9.1', '8.4'] as const satisfies readonly PveVersion[]) {
  describe(`conformance with the official Proxmox VE ${version} schema`, function () {
    let official: Map<string, OfficialMethod>;
    let sim: RunningSimulator;

    before(async function () {
      const loaded = loadOfficialSchema(version);
      if (typeof loaded === 'string') {
        console.log(`      skipped: ${loaded}`);
        this.skip();
      }
      official = loaded as Map<string, OfficialMethod>;
      sim = await startProxmoxSimulator({ pveVersion: version, clock: 'manual', seed: 3 });
    });

    after(async () => sim?.close());

    it('defines every implemented endpoint and parameter exactly as the schema does', () => {
      const report = compareEndpoints(endpoints.filter((e) => servedIn(e, version)), official, (e) => defsForVersion(e.params, version) as ParamDefs as never);
      console.log(
        `      PVE ${version}: ${report.endpoints} endpoints, ${report.parameters} parameters and ${report.subKeys} property-string keys checked; ` +
          `mismatches: ${report.mismatches.length}; official optional parameters/keys not implemented: ${report.gaps.length}`,
      );
      assert.deepEqual(report.mismatches, []);
    });

    it('declares every parameter the schema documents, so no client sending one is refused as unknown', () => {
      const report = compareEndpoints(endpoints.filter((e) => servedIn(e, version)), official, (e) => defsForVersion(e.params, version) as ParamDefs as never);
      const top = report.gaps.filter((g) => !/ \S+\.\S+$/.test(g));
      console.log(`      PVE ${version}: documented parameters not declared: ${top.length}; property-string keys not declared: ${report.gaps.length - top.length}`);
      assert.deepEqual(report.gaps, []);
    });

    it('rejects generated invalid requests exactly where the schema does, and accepts valid values', async function () {
      this.timeout(120_000);
      const auth = { Authorization: sim.token.header };
      // The few methods an API token may not call are probed with a ticket, as a person would call them.
      const login = (await rawCall(sim.url, {}, 'POST', '/access/ticket', { username: 'root@pam', password: 'phoenix' })).body?.data as { ticket: string; CSRFPreventionToken: string };
      const ticketAuth = { Cookie: `PVEAuthCookie=${encodeURIComponent(login.ticket)}`, CSRFPreventionToken: login.CSRFPreventionToken };
      let invalidSent = 0;
      let validSent = 0;
      const wrong: string[] = [];
      for (const endpoint of endpoints.filter((e) => servedIn(e, version))) {
        const off = official.get(`${endpoint.method} ${endpoint.path}`)!;
        const simDefs = defsForVersion(endpoint.params, version);
        const offParams = off.parameters?.properties ?? {};
        const pathNames = new Set([...endpoint.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!));
        const path = fillPath(endpoint.path);
        const send = (params: Record<string, string>) => rawCall(sim.url, endpoint.allowToken === false ? ticketAuth : auth, endpoint.method, path, params);

        const unknown = await send({ 'zz-not-a-param': '1' });
        invalidSent++;
        if (unknown.status !== 400 || unknown.body?.errors?.['zz-not-a-param'] === undefined) wrong.push(`${endpoint.method} ${endpoint.path}: unknown parameter accepted`);

        const required = Object.entries(offParams).filter(([n, p]) => !p.optional && !pathNames.has(n)).map(([n]) => n);
        if (required.length > 0) {
          const res = await send({});
          invalidSent++;
          for (const n of required) if (res.body?.errors?.[n] === undefined) wrong.push(`${endpoint.method} ${endpoint.path}: missing required '${n}' not reported`);
        }

        for (const [name, p] of Object.entries(offParams)) {
          if (pathNames.has(name) || !Object.hasOwn(simDefs, name)) continue;
          for (const probe of invalidProbes(name, p, simDefs[name]!.count)) {
            const res = await send({ [probe.name]: probe.value });
            invalidSent++;
            if (res.status !== 400 || res.body?.errors?.[probe.name] === undefined) {
              wrong.push(`${endpoint.method} ${endpoint.path} ${probe.name}=${JSON.stringify(probe.value).slice(0, 30)} (${probe.why}): got ${res.status} ${JSON.stringify(res.body?.errors ?? {}).slice(0, 120)}`);
            }
          }
          const ok = validProbe(name, p);
          if (ok) {
            const res = await send({ [ok.name]: ok.value });
            validSent++;
            if (res.body?.errors?.[ok.name] !== undefined) wrong.push(`${endpoint.method} ${endpoint.path} ${ok.name}=${ok.value} (${ok.why}) rejected: ${res.body.errors[ok.name]}`);
          }
        }
      }
      console.log(`      PVE ${version}: ${invalidSent} invalid requests sent, ${invalidSent - wrong.filter((w) => !w.includes('rejected:')).length} rejected as the schema rejects; ${validSent} valid values sent, ${validSent - wrong.filter((w) => w.includes('rejected:')).length} accepted`);
      assert.deepEqual(wrong, []);
    });
  });
}
