import { CommandError, UsageError, type Command } from '../command.ts';
import { phoenixControllers } from '../../controllers/registry.ts';
import { parsePhoenixOptions, phoenixUsage, splitPhoenixArgs, type PhoenixOptions } from '../../controllers/options.ts';
import { ConfigError, configUsage, parseRuntimeConfig, type RuntimeConfig } from '../../runtime/config.ts';
import { createLogger } from '../../runtime/logging.ts';
import { Manager } from '../../runtime/manager.ts';
import { defaultRedactor } from '../../runtime/redact.ts';
import { isNotFound } from '../../runtime/errors.ts';
import type { KubeClient } from '../../runtime/kube-client.ts';
import { Kubeconfig, NeedsPluginError, type KubeAccess } from '../../runtime/kubeconfig.ts';
import { kinds } from '../../api/kinds.ts';
import { resourceOf } from '../../api/objects.ts';
import { apiGroup } from '../../api/group.ts';

const usage = `phoenix controller [options]

Runs the Phoenix controllers against the cluster: watches the Phoenix kinds, reconciles them,
and serves /healthz, /readyz and /metrics. Stops gracefully on SIGTERM or SIGINT.

${configUsage}

${phoenixUsage}`;

async function loadKubeConfig(config: RuntimeConfig): Promise<KubeAccess> {
  let kc: KubeAccess;
  try {
    kc = await readKubeConfig(config);
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : message.split('\n')[0];
    throw new CommandError(`cannot read the kubeconfig ${config.kubeconfig ?? process.env['KUBECONFIG'] ?? '~/.kube/config'}: ${why}; pass --kubeconfig, set KUBECONFIG, or run in a pod`);
  }
  // Our own credentials must never reach a log line, whatever error text carries them.
  const user = kc.getCurrentUser();
  defaultRedactor.addSecret(user?.token);
  defaultRedactor.addSecret(user?.password);
  return kc;
}

/**
 * The service account in a pod, else the kubeconfig. Only a kubeconfig whose user runs a
 * credential plugin loads @kubernetes/client-node, which can run it (and weighs ~55 MiB).
 */
async function readKubeConfig(config: RuntimeConfig): Promise<KubeAccess> {
  if (!config.kubeconfig && process.env['KUBERNETES_SERVICE_HOST']) return Kubeconfig.inCluster();
  try {
    return Kubeconfig.fromFile(config.kubeconfig);
  } catch (err) {
    if (!(err instanceof NeedsPluginError)) throw err;
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromDefault();
    return kc;
  }
}

/**
 * Fails in one line when a Phoenix CRD is not installed: the controller cannot do anything
 * useful without it, and its informers would only retry a bare "404 page not found". Other
 * failures (the API server not answering yet) are left to the informers, which retry.
 */
async function requireCrds(client: KubeClient, config: RuntimeConfig): Promise<void> {
  for (const kind of kinds) {
    const resource = resourceOf(kind.kind);
    const namespace = kind.scope === 'Namespaced' ? config.namespaces[0] : undefined;
    try {
      await client.list(resource, { limit: 1, ...(namespace ? { namespace } : {}), metadataOnly: true });
    } catch (err) {
      if (isNotFound(err)) throw new CommandError(`the CustomResourceDefinition ${kind.plural}.${apiGroup} is not installed; install the CRDs first (kubectl apply --server-side -f crds/, or the Helm chart with crds.install=true)`);
    }
  }
}

export const controllerCommand: Command = {
  name: 'controller',
  summary: 'Run the Phoenix controllers',
  usage,
  async run(argv) {
    let config: RuntimeConfig;
    let options: PhoenixOptions;
    try {
      const { phoenix, rest } = splitPhoenixArgs(argv);
      options = parsePhoenixOptions(phoenix, process.env);
      config = parseRuntimeConfig(rest, process.env);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    const logger = createLogger({ level: config.logLevel, format: config.logFormat });
    const kubeConfig = await loadKubeConfig(config);
    try {
      // Fail at once, with a message, on a kubeconfig nothing can connect with (none found,
      // plain HTTP, unreadable certificates), instead of retrying watches forever.
      if (!kubeConfig.getCurrentCluster()) throw new Error('no current cluster');
      await kubeConfig.applyToHTTPSOptions({});
    } catch (err) {
      throw new CommandError(`cannot use the kubeconfig (${(err as Error).message}); pass --kubeconfig, set KUBECONFIG, or run in a pod`);
    }
    const manager = new Manager({ config, kubeConfig, logger });
    await requireCrds(manager.client, config);
    const phoenix = phoenixControllers({ ...options, externalCalls: manager.metrics, registry: manager.metrics.registry });
    for (const definition of phoenix.definitions) await manager.addController(definition);

    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn('second signal; exiting without waiting', { signal });
        process.exit(1);
      }
      logger.info('signal received; stopping', { signal });
      void manager.stop();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);

    await manager.start();
    const { metrics, probes } = manager.ports;
    logger.info('serving', { ...(metrics !== undefined ? { metricsPort: metrics } : {}), ...(probes !== undefined ? { probePort: probes } : {}), identity: config.leaderElection.identity });
    const exit = await manager.exited;
    phoenix.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (exit.reason === 'leadership-lost') logger.error('leadership lost; exiting so a fresh process can rejoin the election');
    if (exit.reason === 'failed') logger.error('manager failed', { error: exit.error });
    // Anything still holding the event loop open (a stuck socket) must not keep a dead controller alive.
    setTimeout(() => process.exit(process.exitCode ?? 0), 2_000).unref();
    return exit.reason === 'stopped' ? 0 : 1;
  },
};
