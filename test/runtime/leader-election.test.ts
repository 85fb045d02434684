import { strict as assert } from 'node:assert';
import { installPhoenixCrds } from '../support/crds.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { KubeClient } from '../../src/runtime/kube-client.ts';
import { leases, type KubeObject } from '../../src/runtime/resource.ts';
import { testCluster, type TestCluster } from '../support/cluster.ts';
import { eventually, freshNamespace, getOrUndefined } from './support.ts';

const phoenix = new URL('../../bin/phoenix.js', import.meta.url).pathname;

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string | null; leaseTransitions?: number };
}

interface Replica {
  readonly identity: string;
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: string;
}

/** Two (or three) real `phoenix controller` processes contending for one Lease with the default timings. */
describe('runtime: leader election between `phoenix controller` processes', function () {
  let cluster: TestCluster;
  let client: KubeClient;
  const replicas: Replica[] = [];

  before(async function () {
    this.timeout(30 * 60_000);
    cluster = await testCluster();
    // `phoenix controller` watches the Phoenix kinds; the chart installs their CRDs first.
    await installPhoenixCrds(cluster.kc);
    client = new KubeClient(cluster.kc);
  });

  after(async () => {
    for (const r of replicas) if (r.process.exitCode === null && r.process.signalCode === null) r.process.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    client.close();
  });

  function startReplica(identity: string, namespace: string): Replica {
    const child = spawn(
      process.execPath,
      [
        phoenix, 'controller',
        '--kubeconfig', cluster.kubeconfigPath,
        '--leader-elect',
        '--leader-election-namespace', namespace,
        '--leader-election-id', 'phoenix-test',
        '--leader-election-identity', identity,
        '--metrics-bind-address', '0',
        '--health-probe-bind-address', '127.0.0.1:0',
        '--log-format', 'json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const replica: Replica = {
      identity,
      process: child,
      output: '',
      exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    };
    child.stdout?.on('data', (d: Buffer) => (replica.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (replica.output += d.toString()));
    replicas.push(replica);
    return replica;
  }

  async function holder(namespace: string): Promise<string | undefined> {
    const lease = await getOrUndefined<Lease>(client, leases, 'phoenix-test', namespace);
    return lease?.spec?.holderIdentity ?? undefined;
  }

  it('one leads; after SIGKILL the other takes over within the lease duration; after SIGTERM within two seconds', async function () {
    this.timeout(120_000);
    const ns = await freshNamespace(client, 'election');
    const a = startReplica('replica-a', ns);
    const b = startReplica('replica-b', ns);
    await eventually('a leader', async () => ['replica-a', 'replica-b'].includes((await holder(ns)) ?? ''), 30_000);
    const first = (await holder(ns)) === 'replica-a' ? a : b;
    const second = first === a ? b : a;
    // Both are up: the follower is really waiting, not still starting.
    await eventually('the follower is waiting for leadership', async () => second.output.includes('waiting for leadership'), 30_000);
    assert.ok(first.output.includes('acquired leadership'));
    assert.ok(!second.output.includes('acquired leadership'), 'both replicas claim to lead');

    const killedAt = Date.now();
    first.process.kill('SIGKILL');
    // The follower may take over only once the lease (15 s) has gone unrenewed.
    await eventually('the follower takes over', async () => (await holder(ns)) === second.identity, 15_000 + 2_000 + 3_000);
    const killTakeover = Date.now() - killedAt;
    process.stdout.write(`      [election] take-over after SIGKILL: ${(killTakeover / 1000).toFixed(1)} s\n`);
    // The last renewal came at most a retry period (2 s) before the kill; allow that much slack for a loaded machine.
    assert.ok(killTakeover < 15_000 + 2_000, `take-over after SIGKILL took ${killTakeover} ms`);

    const c = startReplica('replica-c', ns);
    await eventually('a new follower is waiting', async () => c.output.includes('waiting for leadership'), 30_000);
    const terminatedAt = Date.now();
    second.process.kill('SIGTERM');
    await eventually('the new follower takes over', async () => (await holder(ns)) === 'replica-c', 10_000);
    const termTakeover = Date.now() - terminatedAt;
    process.stdout.write(`      [election] take-over after SIGTERM: ${(termTakeover / 1000).toFixed(1)} s\n`);
    const exit = await second.exited;
    assert.equal(exit.code, 0, `the SIGTERMed leader exited with ${JSON.stringify(exit)}:\n${second.output}`);
    assert.ok(second.output.includes('released leadership'), 'the leader did not release the Lease');
    // Released, the Lease is free at once: the follower's watch on it wakes it (its 2 s retry is the fallback).
    assert.ok(termTakeover < 2_000, `take-over after SIGTERM took ${termTakeover} ms`);
    const lease = await client.get<Lease>(leases, 'phoenix-test', ns);
    assert.equal(lease.spec?.leaseTransitions, 2);
  });
});
