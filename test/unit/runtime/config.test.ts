import { strict as assert } from 'node:assert';
import { ConfigError, parseBindAddress, parseDuration, parseRuntimeConfig } from '../../../src/runtime/config.ts';

describe('runtime: configuration', () => {
  it('has controller-runtime defaults', () => {
    const config = parseRuntimeConfig([], {});
    assert.equal(config.defaultConcurrency, undefined, 'each kind keeps its own default');
    assert.equal(config.resyncPeriodMs, 600_000);
    assert.equal(config.leaderElection.enabled, false);
    assert.deepEqual(
      [config.leaderElection.leaseDurationMs, config.leaderElection.renewDeadlineMs, config.leaderElection.retryPeriodMs],
      [15_000, 10_000, 2_000],
    );
    assert.deepEqual(config.namespaces, []);
    assert.equal(config.metricsAddress, ':8080');
  });

  it('reads the environment, and lets flags win', () => {
    const env = { PHOENIX_NAMESPACES: 'a, b', PHOENIX_CONCURRENCY: '3,PhoenixVM=5', PHOENIX_LEADER_ELECT: 'true', POD_NAME: 'pod-1', PHOENIX_LOG_LEVEL: 'debug' };
    const fromEnv = parseRuntimeConfig([], env);
    assert.deepEqual(fromEnv.namespaces, ['a', 'b']);
    assert.equal(fromEnv.defaultConcurrency, 3);
    assert.deepEqual(fromEnv.concurrency, { PhoenixVM: 5 });
    assert.equal(fromEnv.leaderElection.identity, 'pod-1');
    assert.equal(fromEnv.logLevel, 'debug');
    const flags = parseRuntimeConfig(['--namespaces', 'c', '--concurrency', 'PhoenixLXC=2', '--resync-period', '90s', '--log-level', 'warn'], env);
    assert.deepEqual(flags.namespaces, ['c']);
    assert.deepEqual(flags.concurrency, { PhoenixLXC: 2 });
    assert.equal(flags.resyncPeriodMs, 90_000);
    assert.equal(flags.logLevel, 'warn');
  });

  it('refuses inconsistent or malformed settings', () => {
    assert.throws(() => parseRuntimeConfig(['--renew-deadline', '20s'], {}), ConfigError);
    assert.throws(() => parseRuntimeConfig(['--concurrency', 'PhoenixVM=0'], {}), ConfigError);
    assert.throws(() => parseRuntimeConfig(['--log-level', 'loud'], {}), ConfigError);
    assert.throws(() => parseRuntimeConfig(['--no-such-flag'], {}), ConfigError);
    assert.throws(() => parseDuration('ten seconds'), ConfigError);
  });

  it('parses durations and bind addresses', () => {
    assert.deepEqual(['500ms', '15s', '10m', '1h', '2'].map(parseDuration), [500, 15_000, 600_000, 3_600_000, 2000]);
    assert.deepEqual(parseBindAddress(':8080'), { port: 8080 });
    assert.deepEqual(parseBindAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.equal(parseBindAddress('0'), undefined);
  });
});
