import * as k8s from '@kubernetes/client-node';
import { UsageError, type Command } from '../command.ts';
import { phoenixControllers } from '../../controllers/registry.ts';
import { parsePhoenixOptions, phoenixUsage, splitPhoenixArgs, type PhoenixOptions } from '../../controllers/options.ts';
import { ConfigError, configUsage, parseRuntimeConfig, type RuntimeConfig } from '../../runtime/config.ts';
import { createLogger } from '../../runtime/logging.ts';
import { Manager } from '../../runtime/manager.ts';
import { defaultRedactor } from '../../runtime/redact.ts';

const usage = `phoenix controller [options]

Runs the Phoenix controllers against the cluster: watches the Phoenix kinds, reconciles them,
and serves /healthz, /readyz and /metrics. Stops gracefully on SIGTERM or SIGINT.

${configUsage}

${phoenixUsage}`;

function loadKubeConfig(config: RuntimeConfig): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else if (process.env['KUBERNETES_SERVICE_HOST']) kc.loadFromCluster();
  else kc.loadFromDefault();
  // Our own credentials must never reach a log line, whatever error text carries them.
  const user = kc.getCurrentUser();
  defaultRedactor.addSecret(user?.token);
  defaultRedactor.addSecret(user?.password);
  return kc;
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
    const kubeConfig = loadKubeConfig(config);
    try {
      // Fail at once, with a message, on a kubeconfig nothing can connect with (none found,
      // plain HTTP, unreadable certificates), instead of retrying watches forever.
      if (!kubeConfig.getCurrentCluster()) throw new Error('no current cluster');
      await kubeConfig.applyToHTTPSOptions({});
    } catch (err) {
      process.stderr.write(`phoenix controller: cannot use the kubeconfig (${(err as Error).message}); pass --kubeconfig, set KUBECONFIG, or run in a pod\n`);
      return 1;
    }
    const manager = new Manager({ config, kubeConfig, logger });
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
    logger.info('serving', { metricsPort: manager.ports.metrics, probePort: manager.ports.probes, identity: config.leaderElection.identity });
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
