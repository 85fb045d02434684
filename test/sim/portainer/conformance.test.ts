// Proves the Portainer simulator's routes against the official Swagger specs (read from
// ../shared at test time): every route maps to a documented operation with the same
// method, path and path variables; the simulator requires exactly the query parameters
// and bodies the spec requires; every response status it produced is declared; and
// every 200 body validates against the documented schema with no undocumented keys.
// CE 2.17.1 is checked against a simulator playing 2.17.1, EE 2.31.2 against the
// default (2.21.4), whose routes match the newer spec's.
import assert from 'node:assert/strict';
import { routes } from '../../../src/sim/portainer/api.ts';
import type { RunningPortainerSimulator } from '../../../src/sim/portainer/index.ts';
import { call, drive, startSim, WEB_COMPOSE, type ApiResponse } from './support/client.ts';
import { loadSpec, operation, SpecValidator, type Edition, type Spec } from './support/spec.ts';

const EDITIONS: Record<Edition, { simVersion: string }> = { ce: { simVersion: '2.17.1' }, ee: { simVersion: '2.21.4' } };

/**
 * Statuses the server code returns that a spec does not list, each with the source
 * that says so. They are reported, not counted as mismatches.
 */
const UNDOCUMENTED_STATUSES: Record<string, string> = {
  '401': 'every authenticated route: the bouncer middleware (401s are not listed per operation by swaggo)',
  'POST /stacks 409': 'createComposeStackFromFileContent → stackExistsError (409)',
  'POST /stacks/create/standalone/string 409': 'createComposeStackFromFileContent → stackExistsError (409)',
  'POST /stacks 404': 'stack_create.go: unknown endpointId → 404 "Unable to find an environment…"',
  'POST /stacks/create/standalone/string 404': 'stack_create.go: unknown endpointId → 404',
  'POST /stacks/create/standalone/repository 404': 'stack_create.go: unknown endpointId → 404',
  'POST /stacks/create/standalone/repository 409': 'createComposeStackFromGitRepository → stackExistsError (409)',
};

/**
 * Spec errors: the CE 2.17.1 annotation of the legacy create says it returns a
 * CustomTemplate, but stack_create.go answers with the created portainer.Stack (the
 * same handlers serve the 2.19+ routes, documented as returning the Stack).
 */
const ERRATA: Record<Edition, Record<string, { schema: Record<string, unknown>; reason: string }>> = {
  ce: { 'POST /stacks 200': { schema: { $ref: '#/definitions/portainer.Stack' }, reason: 'documented as portainer.CustomTemplate; the handler returns portainer.Stack' } },
  ee: {},
};

interface Observation {
  route: string;
  status: number;
  body: unknown;
}

for (const edition of ['ce', 'ee'] as const) {
  describe(`Portainer simulator conformance with the official ${edition.toUpperCase()} spec`, function () {
    let spec: Spec;
    let validator: SpecValidator;
    let sim: RunningPortainerSimulator;
    const seen: Observation[] = [];
    let mismatches: string[] = [];
    let mismatchTotal = 0;
    const notes: string[] = [];
    const documented = routes.filter((r) => r.spec?.[edition] !== undefined);

    /** Calls the simulator and records the response against the route template. */
    async function observe(route: string, method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<ApiResponse> {
      const res = await drive(sim, call(sim, method, path, options));
      seen.push({ route, status: res.status, body: res.body });
      return res;
    }

    before(async function () {
      const loaded = loadSpec(edition);
      if (typeof loaded === 'string') this.skip();
      spec = loaded as Spec;
      validator = new SpecValidator(spec);
      for (const [key, e] of Object.entries(ERRATA[edition])) {
        validator.errata.set(key, e.schema);
        notes.push(`spec erratum ${key}: ${e.reason}`);
      }
      sim = await startSim({ version: EDITIONS[edition].simVersion });
    });

    beforeEach(() => {
      mismatches = [];
    });

    afterEach(() => {
      mismatchTotal += mismatches.length;
    });

    after(async function () {
      await sim?.close();
      if (spec) {
        process.stdout.write(`      ${edition.toUpperCase()} ${spec.info.version}: ${documented.length} routes checked, ${seen.length} responses checked, ${mismatchTotal} mismatches\n`);
        for (const n of notes) process.stdout.write(`        note: ${n}\n`);
      }
    });

    it('has a validator that does fail: a wrong type, a null scalar and an unknown key are caught', () => {
      const key = 'GET /stacks/{id}';
      assert.deepEqual(validator.validate(key, 200, { Id: 1, Name: 'a', Env: null, AutoUpdate: null }), []);
      assert.notDeepEqual(validator.validate(key, 200, { Id: '1' }), []);
      assert.notDeepEqual(validator.validate(key, 200, { Name: null }), []);
      assert.deepEqual(validator.keyReport(key, 200, { Id: 1, Bogus: true, CreationDate: 1 }), { unknown: ['.Bogus'], casing: ['.CreationDate'] });
    });

    it('maps every documented simulator route to an operation with the same method, path and path variables', () => {
      for (const r of documented) {
        const key = r.spec![edition]!;
        const op = operation(spec, key);
        if (!op) {
          mismatches.push(`${key}: not in the spec`);
          continue;
        }
        const [method, path] = key.split(' ');
        if (method !== r.method) mismatches.push(`${key}: simulator method ${r.method}`);
        if (path !== r.path) mismatches.push(`${key}: simulator path ${r.path}`);
        const specVars = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name).sort();
        const pathVars = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();
        if (JSON.stringify(specVars) !== JSON.stringify(pathVars)) mismatches.push(`${key}: path variables ${pathVars} vs spec ${specVars}`);
      }
      const undocumented = routes.filter((r) => r.spec?.[edition] === undefined).map((r) => `${r.method} ${r.path}`);
      notes.push(`not in this spec: ${undocumented.join(', ')}`);
      assert.deepEqual(mismatches, []);
      assert.ok(documented.length >= (edition === 'ce' ? 14 : 14));
    });

    it('drives every route and validates each 200 body against the documented schema', async () => {
      const env = sim.admin.addEnvironment({ name: 'vm-101', url: 'tcp://10.0.0.101:9001' });
      const login = await observe('POST /auth', 'POST', '/api/auth', { auth: 'none', body: { username: 'admin', password: 'portainer-sim-admin' } });
      assert.equal(login.status, 200);
      await observe('POST /auth', 'POST', '/api/auth', { auth: 'none', body: { username: 'admin', password: 'wrong-password' } });
      await observe('POST /auth', 'POST', '/api/auth', { auth: 'none', body: { username: 'admin' } });
      await observe('GET /status', 'GET', '/api/status', { auth: 'none' });
      await observe('GET /system/status', 'GET', '/api/system/status', { auth: 'none' });
      await observe('GET /system/version', 'GET', '/api/system/version');
      await observe('GET /endpoints', 'GET', '/api/endpoints');
      await observe('GET /endpoints/{id}', 'GET', `/api/endpoints/${env.id}`);
      await observe('GET /endpoints/{id}', 'GET', '/api/endpoints/999');
      await observe('GET /endpoints/{id}', 'GET', '/api/endpoints/abc');

      const body = { name: 'web', stackFileContent: WEB_COMPOSE, env: [{ name: 'GREETING', value: 'hi' }] };
      const createRoute = sim.simulator.atLeast('2.19.0') ? 'POST /stacks/create/standalone/string' : 'POST /stacks';
      const createPath = (endpointId: number | string) => (createRoute === 'POST /stacks'
        ? `/api/stacks?type=2&method=string&endpointId=${endpointId}` : `/api/stacks/create/standalone/string?endpointId=${endpointId}`);
      const created = await observe(createRoute, 'POST', createPath(env.id), { body });
      assert.equal(created.status, 200, created.text);
      await observe(createRoute, 'POST', createPath(env.id), { body });
      await observe(createRoute, 'POST', createPath(999), { body });
      await observe(createRoute, 'POST', createPath(env.id), { body: { name: 'x' } });
      const id = created.body.Id as number;
      const q = `?endpointId=${env.id}`;

      await observe('GET /stacks', 'GET', `/api/stacks?filters=${encodeURIComponent(JSON.stringify({ EndpointID: env.id }))}`);
      await observe('GET /stacks', 'GET', '/api/stacks?filters=notjson');
      await observe('GET /stacks/{id}', 'GET', `/api/stacks/${id}`);
      await observe('GET /stacks/{id}', 'GET', '/api/stacks/999');
      await observe('GET /stacks/{id}/file', 'GET', `/api/stacks/${id}/file`);
      await observe('GET /stacks/{id}/file', 'GET', '/api/stacks/999/file');
      await observe('PUT /stacks/{id}', 'PUT', `/api/stacks/${id}${q}`, { body: { stackFileContent: WEB_COMPOSE.replace('redis:7', 'redis:7.4'), env: [], prune: true, pullImage: false } });
      await observe('PUT /stacks/{id}', 'PUT', `/api/stacks/${id}${q}`, { body: { stackFileContent: '' } });
      await observe('PUT /stacks/{id}', 'PUT', `/api/stacks/999${q}`, { body: { stackFileContent: WEB_COMPOSE } });
      await observe('POST /stacks/{id}/stop', 'POST', `/api/stacks/${id}/stop${q}`);
      await observe('POST /stacks/{id}/stop', 'POST', `/api/stacks/${id}/stop${q}`);
      await observe('POST /stacks/{id}/start', 'POST', `/api/stacks/${id}/start${q}`);
      await observe('POST /stacks/{id}/start', 'POST', `/api/stacks/${id}/start${q}`);
      await observe('DELETE /stacks/{id}', 'DELETE', `/api/stacks/${id}${q}`);
      await observe('DELETE /stacks/{id}', 'DELETE', `/api/stacks/${id}${q}`);
      await observe('GET /stacks', 'GET', '/api/stacks', { auth: 'none' });

      // Git stacks, from a repository seeded through the admin (the simulator is offline).
      const repoUrl = 'https://git.example.com/lab/web.git';
      sim.admin.pushCommit(repoUrl, 'refs/heads/main', { 'docker-compose.yml': WEB_COMPOSE });
      const gitRoute = sim.simulator.atLeast('2.19.0') ? 'POST /stacks/create/standalone/repository' : 'POST /stacks';
      const gitPath = (endpointId: number | string) => (gitRoute === 'POST /stacks'
        ? `/api/stacks?type=2&method=repository&endpointId=${endpointId}` : `/api/stacks/create/standalone/repository?endpointId=${endpointId}`);
      const gitBody = { name: 'gitweb', repositoryURL: repoUrl, repositoryReferenceName: 'refs/heads/main', composeFile: 'docker-compose.yml', autoUpdate: { interval: '5m' } };
      const gitCreated = await observe(gitRoute, 'POST', gitPath(env.id), { body: gitBody });
      assert.equal(gitCreated.status, 200, gitCreated.text);
      await observe(gitRoute, 'POST', gitPath(env.id), { body: gitBody });
      await observe(gitRoute, 'POST', gitPath(999), { body: gitBody });
      await observe(gitRoute, 'POST', gitPath(env.id), { body: { ...gitBody, name: 'gitweb2', repositoryReferenceName: 'refs/heads/nope' } });
      await observe(gitRoute, 'POST', gitPath(env.id), { body: { ...gitBody, name: 'gitweb3', repositoryURL: 'not a url' } });
      const gitId = gitCreated.body.Id as number;
      await observe('GET /stacks/{id}', 'GET', `/api/stacks/${gitId}`);
      await observe('POST /stacks/{id}/git', 'POST', `/api/stacks/${gitId}/git${q}`, { body: { repositoryReferenceName: 'refs/heads/main', env: [], prune: false, autoUpdate: { interval: '1m' } } });
      await observe('POST /stacks/{id}/git', 'POST', `/api/stacks/${gitId}/git${q}`, { body: { autoUpdate: { interval: 'soon' } } });
      await observe('POST /stacks/{id}/git', 'POST', `/api/stacks/999/git${q}`, { body: {} });
      await observe('PUT /stacks/{id}/git/redeploy', 'PUT', `/api/stacks/${gitId}/git/redeploy${q}`, { body: { repositoryReferenceName: 'refs/heads/main', env: [], prune: false, pullImage: false } });
      await observe('PUT /stacks/{id}/git/redeploy', 'PUT', `/api/stacks/${gitId}/git/redeploy${q}`, { body: { repositoryReferenceName: 'refs/heads/gone' } });
      await observe('PUT /stacks/{id}/git/redeploy', 'PUT', `/api/stacks/999/git/redeploy${q}`, { body: {} });
      const plain = await drive(sim, call(sim, 'POST', createPath(env.id), { body: { name: 'plain', stackFileContent: WEB_COMPOSE.replace('8080', '8091') } }));
      await observe('PUT /stacks/{id}/git/redeploy', 'PUT', `/api/stacks/${plain.body.Id as number}/git/redeploy${q}`, { body: {} });

      for (const o of seen) {
        const r = routes.find((x) => `${x.method} ${x.path}` === o.route)!;
        const key = r.spec?.[edition];
        if (key === undefined) continue;
        const op = operation(spec, key)!;
        const statusKey = `${o.route} ${o.status}`;
        if (op.responses[String(o.status)] === undefined) {
          const reason = UNDOCUMENTED_STATUSES[statusKey] ?? UNDOCUMENTED_STATUSES[String(o.status)];
          if (reason === undefined) mismatches.push(`${key}: answered ${o.status}, which the spec does not list`);
          else notes.push(`${key} answered ${o.status}, not listed in the spec (${reason})`);
        }
        if (o.status >= 400) {
          // Errors carry libhttp's {message, details}; no spec declares their schema.
          const b = o.body as Record<string, unknown>;
          if (typeof b?.['message'] !== 'string' || typeof b?.['details'] !== 'string') mismatches.push(`${key} ${o.status}: error body is not {message, details}: ${JSON.stringify(o.body)}`);
          continue;
        }
        if (!op.responses[String(o.status)]?.schema) continue;
        const errors = validator.validate(key, o.status, o.body);
        for (const e of errors) mismatches.push(`${key} ${o.status}: ${e}`);
        const keys = validator.keyReport(key, o.status, o.body);
        for (const k of keys.unknown) mismatches.push(`${key} ${o.status}: undocumented key ${k}`);
        const casing = [...new Set(keys.casing.map((k) => k.replace(/\[\d+\]/g, '[]')))];
        if (casing.length > 0) notes.push(`${key}: Go field names where swaggo documents camelCase: ${casing.join(' ')}`);
      }
      assert.deepEqual(mismatches, []);
      // Every documented route produced at least one validated 200.
      for (const r of documented) {
        assert.ok(seen.some((o) => o.route === `${r.method} ${r.path}` && o.status < 300), `${r.method} ${r.path} never answered 2xx`);
      }
    });

    it('requires exactly the query parameters and bodies the spec marks required', async () => {
      const env = sim.admin.addEnvironment({ name: 'vm-102', url: 'tcp://10.0.0.102:9001' });
      const compose = 'services:\n  app:\n    image: alpine:3.20\n';
      const createKey = sim.simulator.atLeast('2.19.0') ? 'POST /stacks/create/standalone/string' : 'POST /stacks';
      const created = await drive(sim, call(sim, 'POST', createKey === 'POST /stacks'
        ? `/api/stacks?type=2&method=string&endpointId=${env.id}` : `/api/stacks/create/standalone/string?endpointId=${env.id}`, { body: { name: 'req', stackFileContent: compose } }));
      assert.equal(created.status, 200, created.text);
      const stackId = created.body.Id as number;
      const valid: Record<string, { query: Record<string, string>; body?: unknown; path: string }> = {
        'POST /stacks': { path: '/api/stacks', query: { type: '2', method: 'string', endpointId: String(env.id) }, body: { name: 'req2', stackFileContent: compose } },
        'POST /stacks/create/standalone/string': { path: '/api/stacks/create/standalone/string', query: { endpointId: String(env.id) }, body: { name: 'req3', stackFileContent: compose } },
        'PUT /stacks/{id}': { path: `/api/stacks/${stackId}`, query: { endpointId: String(env.id) }, body: { stackFileContent: compose } },
        'POST /stacks/{id}/stop': { path: `/api/stacks/${stackId}/stop`, query: { endpointId: String(env.id) } },
        'POST /stacks/{id}/start': { path: `/api/stacks/${stackId}/start`, query: { endpointId: String(env.id) } },
        'DELETE /stacks/{id}': { path: `/api/stacks/${stackId}`, query: { endpointId: String(env.id) } },
        'POST /stacks/create/standalone/repository': { path: '/api/stacks/create/standalone/repository', query: { endpointId: String(env.id) }, body: { name: 'req4', repositoryURL: 'https://git.example.com/lab/req.git' } },
      };
      sim.admin.pushCommit('https://git.example.com/lab/req.git', 'refs/heads/main', { 'docker-compose.yml': compose.replace('app:', 'app2:') });
      let checked = 0;
      for (const r of documented) {
        const key = r.spec![edition]!;
        const op = operation(spec, key)!;
        const probe = valid[key];
        for (const p of (op.parameters ?? []).filter((x) => x.in === 'query')) {
          if (!probe || !(p.name in probe.query)) {
            if (p.required) mismatches.push(`${key}: required query parameter ${p.name} is not handled by the simulator`);
            continue;
          }
          const query = new URLSearchParams(Object.entries(probe.query).filter(([k]) => k !== p.name));
          const res = await drive(sim, call(sim, r.method, `${probe.path}?${query}`, probe.body !== undefined ? { body: probe.body } : {}));
          const simRequires = res.status === 400 && res.body?.message === `Invalid query parameter: ${p.name}`;
          checked++;
          if (simRequires !== (p.required === true)) mismatches.push(`${key}: query ${p.name} required=${p.required === true} in the spec, simulator answered ${res.status} ${res.text.trim()}`);
        }
        const bodyParam = (op.parameters ?? []).find((x) => x.in === 'body' && x.required);
        if (bodyParam && probe) {
          const res = await drive(sim, call(sim, r.method, `${probe.path}?${new URLSearchParams(probe.query)}`));
          checked++;
          if (res.status !== 400 || res.body?.message !== 'Invalid request payload') mismatches.push(`${key}: a missing required body answered ${res.status}`);
        }
      }
      notes.push(`${checked} required/optional parameter probes`);
      assert.deepEqual(mismatches, []);
      assert.ok(checked >= 4);
    });
  });
}
