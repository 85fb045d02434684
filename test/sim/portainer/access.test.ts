// Authentication as Portainer's bouncer does it: X-API-Key (header or query), JWT from
// POST /api/auth with an 8 h lifetime on the simulated clock, the CSRF refusal of both
// headers at once, and the exact 401/403/422 bodies.
import assert from 'node:assert/strict';
import type { RunningPortainerSimulator } from '../../../src/sim/portainer/index.ts';
import { call, startSim } from './support/client.ts';

describe('Portainer simulator: authentication', () => {
  let sim: RunningPortainerSimulator;
  beforeEach(async () => {
    sim = await startSim();
  });
  afterEach(async () => sim?.close());

  it('answers 401 without credentials and with an unknown API key', async () => {
    const none = await call(sim, 'GET', '/api/endpoints', { auth: 'none' });
    assert.deepEqual([none.status, none.body], [401, { message: 'A valid authorization token is missing', details: 'Unauthorized' }]);
    const bad = await call(sim, 'GET', '/api/endpoints', { auth: { key: 'ptr_not-a-real-key' } });
    assert.deepEqual([bad.status, bad.body], [401, { message: 'Invalid JWT token', details: 'Unauthorized' }]);
    assert.equal(bad.headers.get('content-type'), 'application/json');
  });

  it('accepts the API key in the header (any case) and as an x-api-key query parameter', async () => {
    assert.match(sim.apiKey, /^ptr_[A-Za-z0-9+/]{43}=$/);
    assert.equal((await call(sim, 'GET', '/api/endpoints', { auth: 'none', headers: { 'x-api-key': sim.apiKey } })).status, 200);
    assert.equal((await call(sim, 'GET', `/api/endpoints?X-Api-Key=${encodeURIComponent(sim.apiKey)}`, { auth: 'none' })).status, 200);
  });

  it('logs in with POST /api/auth (keys in any case) and refuses wrong or missing credentials', async () => {
    const ok = await call(sim, 'POST', '/api/auth', { auth: 'none', body: { Username: 'admin', Password: 'portainer-sim-admin' } });
    assert.equal(ok.status, 200);
    assert.deepEqual(Object.keys(ok.body), ['jwt']);
    assert.equal((await call(sim, 'GET', '/api/stacks', { auth: { jwt: ok.body.jwt } })).status, 200);
    const wrong = await call(sim, 'POST', '/api/auth', { auth: 'none', body: { username: 'admin', password: 'nope-nope-nope' } });
    assert.deepEqual([wrong.status, wrong.body], [422, { message: 'Invalid credentials', details: 'Unauthorized' }]);
    const missing = await call(sim, 'POST', '/api/auth', { auth: 'none', body: { username: 'admin' } });
    assert.deepEqual([missing.status, missing.body], [400, { message: 'Invalid request payload', details: 'Invalid password' }]);
  });

  it('refuses an API key and an Authorization header together (CSRF rule)', async () => {
    const jwt = (await call(sim, 'POST', '/api/auth', { auth: 'none', body: { username: 'admin', password: 'portainer-sim-admin' } })).body.jwt;
    const both = await call(sim, 'GET', '/api/endpoints', { headers: { Authorization: `Bearer ${jwt}` } });
    assert.equal(both.status, 403);
    assert.equal(both.body.message, 'api key and auth header are not allowed at the same time');
  });

  it('expires a JWT after 8 h of simulated time, and on the admin’s expireSessions', async () => {
    const login = () => call(sim, 'POST', '/api/auth', { auth: 'none', body: { username: 'admin', password: 'portainer-sim-admin' } });
    const jwt = (await login()).body.jwt;
    sim.admin.advance(8 * 3600 * 1000 - 1000);
    assert.equal((await call(sim, 'GET', '/api/stacks', { auth: { jwt } })).status, 200);
    sim.admin.advance(1000);
    const expired = await call(sim, 'GET', '/api/stacks', { auth: { jwt } });
    assert.deepEqual([expired.status, expired.body.message], [401, 'Invalid JWT token']);
    const fresh = (await login()).body.jwt;
    sim.admin.expireSessions();
    assert.equal((await call(sim, 'GET', '/api/stacks', { auth: { jwt: fresh } })).status, 401);
    const tampered = `${fresh.slice(0, -2)}xx`;
    assert.equal((await call(sim, 'GET', '/api/stacks', { auth: { jwt: tampered } })).status, 401);
  });

  it('serves /api/status and /api/system/status without auth, /api/system/version only with', async () => {
    for (const path of ['/api/status', '/api/system/status']) {
      const res = await call(sim, 'GET', path, { auth: 'none' });
      assert.equal(res.status, 200);
      assert.equal(res.body.Version, '2.21.4');
      assert.match(res.body.InstanceID, /^[0-9a-f-]{36}$/);
    }
    assert.equal((await call(sim, 'GET', '/api/system/version', { auth: 'none' })).status, 401);
    assert.equal((await call(sim, 'GET', '/api/system/version')).body.ServerVersion, '2.21.4');
  });

  it('answers unknown paths with gorilla’s text 404 and wrong methods with 405', async () => {
    const unknown = await call(sim, 'GET', '/api/nothing-here');
    assert.deepEqual([unknown.status, unknown.text], [404, '404 page not found\n']);
    const method = await call(sim, 'PATCH', '/api/stacks/1');
    assert.deepEqual([method.status, method.text], [405, '']);
  });

  it('never writes the API key or the password into a response or the counters', async () => {
    await call(sim, 'GET', `/api/endpoints?x-api-key=${encodeURIComponent(sim.apiKey)}`, { auth: 'none' });
    await call(sim, 'POST', '/api/auth', { auth: 'none', body: { username: 'admin', password: 'portainer-sim-admin' } });
    const counters = JSON.stringify(sim.admin.counters());
    assert.ok(!counters.includes(sim.apiKey) && !counters.includes('portainer-sim-admin'), counters);
    const state = JSON.stringify(sim.admin.snapshotState().apiKeys);
    assert.ok(!state.includes(sim.apiKey), 'only the digest of a key is kept');
  });
});
