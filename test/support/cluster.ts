import { mkdtempSync, writeFileSync } from 'node:fs';
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
 * k3s in a container with PHOENIX_TEST_CLUSTER=k3s (needs a Docker engine), or else a real
 * etcd and kube-apiserver started once per run on loopback. Never a fake.
 */
export function testCluster(): Promise<TestCluster> {
  shared ??= start();
  return shared;
}

/** Why k3s cannot run here, or undefined when a container engine answers. */
export async function containerEngineUnavailable(): Promise<string | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return `no Docker engine reachable for testcontainers (${(err as Error).message.split('\n')[0]})`;
  }
}

/** A k3s cluster in a container (testcontainers), for machines with a Docker engine. */
export async function startK3s(): Promise<{ kubeconfigPath: string; kc: k8s.KubeConfig; stop: () => Promise<void> }> {
  const { K3sContainer } = await import('@testcontainers/k3s');
  const container = await new K3sContainer(process.env['PHOENIX_K3S_IMAGE'] ?? 'rancher/k3s:v1.34.4-k3s1').start();
  const kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'phoenix-k3s-')), 'kubeconfig');
  writeFileSync(kubeconfigPath, container.getKubeConfig(), { mode: 0o600 });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return { kubeconfigPath, kc, stop: async () => void (await container.stop()) };
}

let k3sStop: (() => Promise<void>) | undefined;

async function start(): Promise<TestCluster> {
  const external = process.env['PHOENIX_TEST_KUBECONFIG'];
  if (process.env['PHOENIX_TEST_CLUSTER'] === 'k3s') {
    const reason = await containerEngineUnavailable();
    if (reason) throw new Error(`PHOENIX_TEST_CLUSTER=k3s, but ${reason}`);
    const k3s = await startK3s();
    k3sStop = k3s.stop;
    process.stdout.write(`      [cluster] k3s in a container: ${k3s.kc.getCurrentCluster()?.server}\n`);
    return { kubeconfigPath: k3s.kubeconfigPath, kc: k3s.kc };
  }
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
  await k3sStop?.();
  k3sStop = undefined;
  shared = undefined;
}
