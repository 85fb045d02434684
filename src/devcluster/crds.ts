import * as k8s from '@kubernetes/client-node';
import { kinds, customResourceDefinition } from '../api/kinds.ts';
import { apiGroup } from '../api/group.ts';

/** Installs (or updates) the Phoenix CRDs and waits until the API server serves them. */
export async function installPhoenixCrds(kc: k8s.KubeConfig): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const def of kinds) {
    // The typed client serialises model fields (xKubernetesListType), silently dropping raw
    // `x-kubernetes-*` keys; loadYaml (JSON is YAML) deserialises them onto the model first.
    const body = k8s.loadYaml<k8s.V1CustomResourceDefinition>(JSON.stringify(customResourceDefinition(def)));
    const name = `${def.plural}.${apiGroup}`;
    try {
      const existing = await api.readCustomResourceDefinition({ name });
      body.metadata = { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion };
      await api.replaceCustomResourceDefinition({ name, body });
    } catch (err) {
      if (!(err instanceof k8s.ApiException) || err.code !== 404) throw err;
      await api.createCustomResourceDefinition({ body });
    }
  }
  for (const def of kinds) {
    const name = `${def.plural}.${apiGroup}`;
    await eventually(`CRD ${name} established`, async () => {
      const crd = await api.readCustomResourceDefinition({ name });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    });
  }
}

/** Polls until `probe` holds, with a deadline: the one way tests wait, never a bare sleep. */
export async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** The message of a Kubernetes API error, parsed from client-node's raw body. */
export function apiErrorMessage(err: unknown): { code?: number; message: string } {
  if (err instanceof k8s.ApiException) {
    try {
      const status = JSON.parse(String(err.body)) as { message?: string };
      return { code: err.code, message: status.message ?? String(err.body) };
    } catch {
      return { code: err.code, message: String(err.body) };
    }
  }
  return { message: String(err) };
}
