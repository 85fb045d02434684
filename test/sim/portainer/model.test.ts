// The pure parts: compose parsing and interpolation, and the container model (health
// probes, restart back-off, docker ps Status texts), without HTTP or a server.
import assert from 'node:assert/strict';
import { ComposeError, durationMs, interpolate, normalizeStackName, parseCompose } from '../../../src/sim/portainer/compose.ts';
import { healthAt, humanDuration, settleContainer, startContainer, exitContainer, statusText, parseFilters, FilterError, type SimContainer } from '../../../src/sim/portainer/docker.ts';

function container(over: Partial<SimContainer> = {}): SimContainer {
  return {
    id: 'a'.repeat(64), name: 'p-web-1', endpointId: 1, project: 'p', service: 'web', image: 'nginx:latest', imageId: 'sha256:x', command: [], env: [],
    labels: {}, ports: [], restart: 'no', createdMs: 0, state: 'created', exitCode: 0, restartCount: 0, ...over,
  };
}

describe('Portainer simulator model: compose', () => {
  it('normalises stack names like Portainer', () => {
    assert.equal(normalizeStackName('My_Web-App 2!'), 'my_web-app2');
  });

  it('interpolates $VAR, ${VAR}, defaults, alternatives, $$ and refuses missing required ones', () => {
    const vars = new Map([['A', 'x'], ['EMPTY', '']]);
    assert.equal(interpolate('$A-${A}-${B:-d}-${EMPTY:-e}-${EMPTY-f}-${A:+alt}-$$A', vars), 'x-x-d-e--alt-$A');
    const warnings: string[] = [];
    assert.equal(interpolate('${MISSING}', vars, warnings), '');
    assert.deepEqual(warnings, ['The "MISSING" variable is not set. Defaulting to a blank string.']);
    assert.throws(() => interpolate('${B:?needed}', vars), new ComposeError('required variable B is missing a value: needed'));
  });

  it('parses services, replicas, ports, healthchecks, env_file stack.env and start order', () => {
    const p = parseCompose(`services:
  web:
    image: nginx
    depends_on: [db]
    deploy: { replicas: 2 }
    ports: ["127.0.0.1:8080:80/tcp", "9000"]
    env_file: stack.env
    environment: ["EXTRA=1"]
    healthcheck: { test: "curl -f http://localhost", interval: 1m30s, retries: 5, start_period: 500ms }
  db:
    image: postgres:16
    restart: always
`, [{ name: 'TOKEN', value: 't' }]);
    assert.deepEqual(p.services.map((s) => s.name), ['db', 'web']);
    const web = p.services[1]!;
    assert.equal(web.image, 'nginx:latest');
    assert.equal(web.replicas, 2);
    assert.deepEqual(web.ports, [{ hostIp: '127.0.0.1', published: 8080, target: 80, protocol: 'tcp' }, { hostIp: '0.0.0.0', target: 9000, protocol: 'tcp' }]);
    assert.deepEqual(web.environment, { TOKEN: 't', EXTRA: '1' });
    assert.deepEqual(web.healthcheck, { test: ['CMD-SHELL', 'curl -f http://localhost'], intervalMs: 90_000, timeoutMs: 30_000, retries: 5, startPeriodMs: 500 });
    assert.equal(p.services[0]!.restart, 'always');
  });

  it('refuses what compose refuses, with its wording', () => {
    const bad: Array<[string, RegExp]> = [
      ['services:\n  web: {}\n', /service "web" has neither an image nor a build context specified: invalid compose project/],
      ['services:\n  web:\n    image: a\n    depends_on: [ghost]\n', /depends on undefined service "ghost"/],
      ['servicess: {}\n', /additional properties 'servicess' not allowed/],
      ['services:\n  web:\n    image: a\n    restart: sometimes\n', /invalid restart policy/],
      ['services:\n  web:\n    image: a\n    ports: ["x:y"]\n', /invalid port specification/],
      ['services: [\n', /yaml: line \d+: /],
      ['', /empty compose file/],
    ];
    for (const [text, re] of bad) assert.throws(() => parseCompose(text, []), re, text);
  });

  it('parses Go durations', () => {
    assert.equal(durationMs('1h2m3.5s', 0, 'x'), 3_723_500);
    assert.throws(() => durationMs('10', 0, 'interval'), /time: invalid duration "10"/);
  });
});

describe('Portainer simulator model: containers', () => {
  it('formats docker ps Status like go-units', () => {
    assert.deepEqual([0, 1000, 59_000, 60_000, 119_000, 3_000_000, 5_400_000, 50 * 3600_000, 20 * 86_400_000].map(humanDuration),
      ['Less than a second', '1 second', '59 seconds', 'About a minute', 'About a minute', '50 minutes', '2 hours', '2 days', '2 weeks']);
  });

  it('runs health probes one interval apart and turns unhealthy after retries failures', () => {
    const c = container({ healthcheck: { test: ['CMD', 'true'], intervalMs: 10_000, timeoutMs: 1000, retries: 3, startPeriodMs: 0 } });
    startContainer(c, 0);
    assert.equal(healthAt(c, 9_999)!.status, 'starting');
    assert.equal(healthAt(c, 10_000)!.status, 'healthy');
    assert.equal(statusText(c, 10_000), 'Up 10 seconds (healthy)');
    c.probeFailingSinceMs = 15_000;
    assert.deepEqual(healthAt(c, 39_999), { status: 'healthy', failingStreak: 2 });
    assert.deepEqual(healthAt(c, 40_000), { status: 'unhealthy', failingStreak: 3 });
  });

  it('restarts with doubling back-off under a restart policy, and not after docker stop', () => {
    const c = container({ restart: 'on-failure' });
    startContainer(c, 0);
    exitContainer(c, 1000, 1, false);
    assert.equal(c.state, 'restarting');
    settleContainer(c, 1100);
    assert.deepEqual([c.state, c.restartCount], ['running', 1]);
    exitContainer(c, 1200, 1, false);
    settleContainer(c, 1399);
    assert.equal(c.state, 'restarting', 'second back-off is 200 ms');
    settleContainer(c, 1400);
    assert.equal(c.state, 'running');
    exitContainer(c, 2000, 0, false);
    assert.equal(c.state, 'exited', 'on-failure does not restart a clean exit');
    startContainer(c, 3000);
    exitContainer(c, 4000, 0, true);
    assert.equal(statusText(c, 64_000), 'Exited (0) About a minute ago');
  });

  it('parses both filter encodings and refuses unknown ones', () => {
    assert.deepEqual(parseFilters('{"label":{"a=b":true},"status":["exited"]}').label, ['a=b']);
    assert.throws(() => parseFilters('{"status":["sleeping"]}'), new FilterError("invalid filter 'status=sleeping'"));
    assert.throws(() => parseFilters('[1]'), FilterError);
  });
});
