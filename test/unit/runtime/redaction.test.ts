import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { Controller } from '../../../src/runtime/controller.ts';
import { EventRecorder } from '../../../src/runtime/events.ts';
import type { KubeClient } from '../../../src/runtime/kube-client.ts';
import { createLogger, type LogFormat } from '../../../src/runtime/logging.ts';
import { defaultRateLimiter } from '../../../src/runtime/rate-limiter.ts';
import { Redactor } from '../../../src/runtime/redact.ts';
import type { KubeObject } from '../../../src/runtime/resource.ts';
import { StatusWriter } from '../../../src/runtime/status-writer.ts';
import { WorkQueue } from '../../../src/runtime/work-queue.ts';
import { FakeClock } from './fake-clock.ts';

/**
 * Secret-looking values of every shape Phoenix handles, and the part of each that must never leak.
 * A bare password has no shape to recognise: it is caught because the process registered it when
 * it loaded it (as the Proxmox and Portainer clients do with their credentials).
 */
const registered = 'Zq9-registered-value-7781';
const barePassword = 'hunter2-very-secret';
const secrets: ReadonlyArray<{ value: string; core: string }> = [
  { value: barePassword, core: barePassword },
  { value: 'PVEAPIToken=root@pam!phoenix=7f3c1f4e-2b6a-4c39-9d1e-5a8b9c0d1e2f', core: '7f3c1f4e-2b6a' },
  { value: 'Bearer abcdefghijklmnopqrstuvwxyz0123456789', core: 'abcdefghijklmnopqrstuvwxyz0123456789' },
  { value: 'ptr_AbCdEf1234567890xyzXYZ=', core: 'AbCdEf1234567890' },
  { value: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXZhbHVl', core: 'c2lnbmF0dXJlLXZhbHVl' },
  { value: 'https://admin:s3cr3tP4ss@pve.example:8006/api2/json', core: 's3cr3tP4ss' },
  { value: '-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END RSA PRIVATE KEY-----', core: 'MIIEvQIBADANBg' },
  { value: 'PVEAuthCookie=PVE:root@pam:65A1B2C3::sig+nature/value', core: 'sig+nature' },
  { value: 'password=plain-in-a-query-string', core: 'plain-in-a-query-string' },
  { value: '{"apiKey": "json-embedded-key-value"}', core: 'json-embedded-key-value' },
  { value: registered, core: registered },
];

function capture(format: Exclude<LogFormat, 'auto'>, redactor: Redactor) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ format, level: 'debug', stream, redactor }), text: () => lines.join('') };
}

function assertClean(output: string, where: string): void {
  assert.ok(output.length > 0, `${where}: nothing was written, so nothing was tested`);
  for (const { core } of secrets) assert.ok(!output.includes(core), `${where} leaked '${core}':\n${output}`);
}

describe('runtime: redaction', () => {
  for (const format of ['json', 'text'] as const) {
    it(`keeps secrets out of every ${format} log path`, async () => {
      const redactor = new Redactor();
      redactor.addSecret(registered);
      redactor.addSecret(barePassword);
      const { logger, text } = capture(format, redactor);
      for (const { value } of secrets) {
        logger.info(`message carrying ${value}`);
        logger.debug('as an innocently named field', { detail: value, list: [value], nested: { deeper: { text: value } } });
        logger.warn('as sensitive fields', { password: value, token: value, apiKey: value, headers: { Authorization: value } });
        logger.error('as an error field', { error: new Error(`request failed: ${value}`) });
        logger.error(new Error(`bare error: ${value}`));
        const withProps = Object.assign(new Error('with properties'), { config: { headers: { authorization: value } }, body: value });
        logger.error('error with properties', { error: withProps });
        logger.child({ kind: 'PhoenixVM', object: 'ns/vm', reconcileID: 'abc', credentials: value }).info(`child line ${value}`, { url: value });
      }
      await new Promise((resolve) => setImmediate(resolve));
      assertClean(text(), `${format} logs`);
      assert.match(text(), /\[REDACTED\]/);
    });
  }

  it('keeps secrets out of the reconcile error log, condition messages and event notes', async () => {
    const redactor = new Redactor();
    redactor.addSecret(registered);
    redactor.addSecret(barePassword);
    const { logger, text } = capture('json', redactor);
    const clock = new FakeClock();
    const object: KubeObject = { apiVersion: 'x/v1', kind: 'W', metadata: { name: 'w', namespace: 'ns', generation: 1, uid: 'u1' } };
    const sent: unknown[] = [];
    // Only the two calls the runtime makes here; recording what would go to the API server.
    const client = {
      create: async (_r: unknown, body: unknown) => (sent.push(body), body),
      mergePatch: async (_r: unknown, _ref: unknown, patch: unknown) => (sent.push(patch), object),
    } as unknown as KubeClient;
    const status = new StatusWriter(client, { clock, redactor });
    const events = new EventRecorder({ client, controller: 'test', instance: 'test', clock, redactor, logger });
    const queue = new WorkQueue({ clock, rateLimiter: defaultRateLimiter({ clock }) });
    const controller = new Controller({
      name: 'W',
      resource: { group: 'x', version: 'v1', plural: 'ws', kind: 'W', namespaced: true },
      informer: { get: () => object },
      queue,
      clock,
      logger,
      status,
      events,
      concurrency: 1,
      reconciler: {
        reconcile: async () => {
          throw new Error(`login failed: ${secrets.map((s) => s.value).join(' ')}`);
        },
      },
    });
    controller.start();
    queue.add('ns/w');
    await clock.advance(0);
    await controller.stop(100);
    assertClean(text(), 'reconcile error log');
    assertClean(JSON.stringify(sent), 'status patch and event');
    assert.equal(sent.length, 2, 'expected one event and one status patch');
  });
});

describe('runtime: redaction keeps the text around a secret', () => {
  const redactor = new Redactor();
  const cases: ReadonlyArray<[string, string]> = [
    // Phoenix's own messages, which once lost a parenthesis or a word.
    [
      'Secret ns/pve-token does not exist; create it with the API token (user@realm!tokenid=uuid) under key "token"',
      'Secret ns/pve-token does not exist; create it with the API token (user@realm!tokenid=[REDACTED]) under key "token"',
    ],
    [
      'Proxmox refused the API token in Secret phoenix-system/pve-token: check that the token exists and has not expired',
      'Proxmox refused the API token in Secret phoenix-system/pve-token: check that the token exists and has not expired',
    ],
    ['url?password=hunter2&user=root', 'url?password=[REDACTED]&user=root'],
    ['{"apiKey": "k-123", "name": "web"}', '{"apiKey": "[REDACTED]", "name": "web"}'],
    ['[token=abc123] done', '[token=[REDACTED]] done'],
    ['X-API-Key: abc123def, then', 'X-API-Key: [REDACTED], then'],
    ['PVEAPIToken=root@pam!ci=0b6e9f (sent)', 'PVEAPIToken=[REDACTED] (sent)'],
  ];
  for (const [input, expected] of cases) {
    it(`"${input.slice(0, 60)}…"`, () => assert.equal(redactor.text(input), expected));
  }
});
