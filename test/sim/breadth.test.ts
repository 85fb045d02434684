// Breadth: every method the official Proxmox VE schema (apidata.js, read from ../shared at test
// time) documents under the subtrees the simulator promises is served, never answered 501.
// Prints the coverage per subtree; the target is 100%.
import assert from 'node:assert/strict';
import { endpoints } from '../../src/sim/proxmox/api/index.ts';
import { servedIn } from '../../src/sim/proxmox/endpoint.ts';
import { startProxmoxSimulator, type RunningSimulator } from '../../src/sim/proxmox/index.ts';
import { loadOfficialSchema, type OfficialMethod } from './support/official-schema.ts';
import { rawCall } from './support/api-client.ts';

/** The subtrees issue 14 lists; a path belongs to one when it is the subtree or below it. */
const SUBTREES = [
  '/nodes/{node}/qemu', '/nodes/{node}/lxc', '/nodes/{node}/storage', '/nodes/{node}/tasks', '/nodes/{node}/network', '/nodes/{node}/disks',
  '/nodes/{node}/status', '/nodes/{node}/termproxy', '/nodes/{node}/vncshell',
  '/access', '/pools',
  '/cluster/resources', '/cluster/nextid', '/cluster/tasks', '/cluster/status', '/cluster/options', '/cluster/firewall', '/cluster/ha', '/cluster/backup',
];

const under = (path: string, subtree: string) => path === subtree || path.startsWith(`${subtree}/`);

function documented(official: Map<string, OfficialMethod>): Array<{ method: string; path: string }> {
  return [...official.keys()].map((k) => ({ method: k.split(' ')[0]!, path: k.split(' ')[1]! })).filter((m) => SUBTREES.some((s) => under(m.path, s)));
}

describe('breadth: the documented methods of the promised subtrees are served', function () {
  for (const version of ['9.1', '8.4'] as const) {
    it(`PVE ${version}: every documented method has a handler (coverage per subtree)`, function () {
      const official = loadOfficialSchema(version);
      if (typeof official === 'string') {
        console.log(`      skipped: ${official}`);
        this.skip();
      }
      const served = new Set(endpoints.filter((e) => servedIn(e, version)).map((e) => `${e.method} ${e.path}`));
      const all = documented(official as Map<string, OfficialMethod>);
      let total = 0;
      let covered = 0;
      const missing: string[] = [];
      for (const subtree of SUBTREES) {
        const mine = all.filter((m) => under(m.path, subtree));
        const ok = mine.filter((m) => served.has(`${m.method} ${m.path}`));
        total += mine.length;
        covered += ok.length;
        missing.push(...mine.filter((m) => !served.has(`${m.method} ${m.path}`)).map((m) => `${m.method} ${m.path}`));
        console.log(`      ${subtree.padEnd(26)} ${String(ok.length).padStart(3)} / ${String(mine.length).padEnd(3)} ${mine.length === 0 ? '' : `${((ok.length / mine.length) * 100).toFixed(0)}%`}`);
      }
      console.log(`      PVE ${version} total: ${covered} / ${total} methods (${((covered / total) * 100).toFixed(1)}%)`);
      assert.deepEqual(missing, []);
      // And nothing served that this release does not document (checked in detail by conformance.test.ts).
      for (const key of served) assert.ok((official as Map<string, OfficialMethod>).has(key), `${key} is not in the PVE ${version} schema`);
    });
  }

  describe('over HTTP', () => {
    let sim: RunningSimulator;
    afterEach(async () => sim?.close());

    it('no documented method answers 501, whatever its parameters; methods newer than 8.4 answer 501 there', async function () {
      this.timeout(60_000);
      const v91 = loadOfficialSchema('9.1');
      const v84 = loadOfficialSchema('8.4');
      if (typeof v91 === 'string' || typeof v84 === 'string') this.skip();
      sim = await startProxmoxSimulator({ clock: 'manual', seed: 9 });
      const auth = { Authorization: sim.token.header };
      const fill = (path: string) => path.replace(/\{([^}]+)\}/g, (_, k: string) => (k === 'node' ? 'pve' : k === 'vmid' ? '100' : 'x1'));
      const unserved: string[] = [];
      for (const m of documented(v91 as Map<string, OfficialMethod>)) {
        const res = await rawCall(sim.url, auth, m.method, fill(m.path), {});
        if (res.status === 501) unserved.push(`${m.method} ${m.path}: ${res.reason}`);
      }
      assert.deepEqual(unserved, []);
      await sim.close();

      sim = await startProxmoxSimulator({ clock: 'manual', seed: 9, pveVersion: '8.4' });
      const newer = documented(v91 as Map<string, OfficialMethod>).filter((m) => !(v84 as Map<string, OfficialMethod>).has(`${m.method} ${m.path}`));
      assert.ok(newer.length > 0, 'the schemas differ');
      for (const m of newer) {
        const res = await rawCall(sim.url, { Authorization: sim.token.header }, m.method, fill(m.path), {});
        assert.equal(res.status, 501, `${m.method} ${m.path} on 8.4`);
      }
    });
  });
});
