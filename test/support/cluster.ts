import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane } from '../../src/devcluster/control-plane.ts';

export interface TestCluster {
  readonly kubeconfigPath: string;
  readonly kc: k8s.KubeConfig;
  /** Present only when the suite started its own control plane (so it can restart it). */
  readonly plane?: ControlPlane;
}

let shared: Promise<TestCluster> | undefined;

/**
 * The Kubernetes API server for this test run: the cluster named by PHOENIX_TEST_KUBECONFIG,
 * or a real etcd and kube-apiserver started once per run on loopback. Never a fake.
 */
export function testCluster(): Promise<TestCluster> {
  shared ??= start();
  return shared;
}

async function start(): Promise<TestCluster> {
  const external = process.env['PHOENIX_TEST_KUBECONFIG'];
  const kc = new k8s.KubeConfig();
  if (external) {
    kc.loadFromFile(external);
    process.stdout.write(`      [cluster] using existing cluster from ${external}: ${kc.getCurrentCluster()?.server}\n`);
    return { kubeconfigPath: external, kc };
  }
  const plane = new ControlPlane({
    dir: mkdtempSync(join(tmpdir(), 'phoenix-test-cluster-')),
    log: (line) => process.stdout.write(`      [cluster] ${line}\n`),
  });
  const state = await plane.start();
  kc.loadFromFile(state.kubeconfig);
  return { kubeconfigPath: state.kubeconfig, kc, plane };
}

export async function stopTestCluster(): Promise<void> {
  if (!shared) return;
  const cluster = await shared.catch(() => undefined);
  await cluster?.plane?.stop();
  shared = undefined;
}
