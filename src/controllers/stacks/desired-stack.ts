/** The stack a PhoenixStack asks for: its compose file and env, resolved from Secrets and ConfigMaps. */

import { TerminalError } from '../../runtime/errors.ts';
import { ComposeInvalidError, desiredStack, type DesiredStack, resolveEnv } from '../../stacks/desired.ts';
import { secretText } from '../secrets.ts';
import type { StackContext } from './stack-context.ts';

export function desiredFromSpec(ctx: StackContext): DesiredStack {
  const source = ctx.spec.compose;
  const compose = source.git ? '' : (source.inline ?? configMapText(ctx, source.configMapRef!.name, source.configMapRef!.key ?? 'docker-compose.yml'));
  let resolved;
  try {
    resolved = resolveEnv(
      ctx.spec.env,
      (kind, name, key) => (kind === 'Secret' ? secretText(ctx.shared.secretCache, ctx.namespace, name, key) : configMapText(ctx, name, key)),
      (name) => ctx.shared.secretCache.get(`${ctx.namespace}/${name}`)?.metadata.resourceVersion,
    );
  } catch (err) {
    if (err instanceof TerminalError) throw err;
    throw new TerminalError('InvalidSpec', (err as Error).message);
  }
  // Values from Secrets may end up in a Portainer error text (compose quoting them): never in status or events.
  for (const value of resolved.secretValues) ctx.setup.redactor.addSecret(value);
  try {
    return desiredStack({
      stackName: ctx.spec.stackName ?? ctx.current.metadata.name,
      compose,
      ...(source.git ? { git: { url: source.git.url, ref: source.git.ref ?? 'refs/heads/main', path: source.git.path ?? 'docker-compose.yml', autoUpdateInterval: source.git.autoUpdateInterval ?? '5m' } } : {}),
      env: resolved.env,
      hashEnv: resolved.hashEnv,
      ...(ctx.spec.state ? { state: ctx.spec.state } : {}),
      ...(ctx.spec.prune !== undefined ? { prune: ctx.spec.prune } : {}),
      ...(ctx.spec.pullImage !== undefined ? { pullImage: ctx.spec.pullImage } : {}),
      ...(ctx.mode === 'Manage' ? { ownerUid: ctx.current.metadata.uid ?? '' } : {}),
    });
  } catch (err) {
    if (err instanceof ComposeInvalidError) throw new TerminalError('InvalidCompose', err.message);
    throw err;
  }
}

function configMapText(ctx: StackContext, name: string, key: string): string {
  const cm = ctx.shared.configMapCache.get(`${ctx.namespace}/${name}`);
  if (!cm) throw new TerminalError('ConfigMapNotFound', `ConfigMap ${ctx.namespace}/${name} does not exist`);
  const value = cm.data?.[key];
  if (value === undefined) throw new TerminalError('ConfigMapKeyNotFound', `ConfigMap ${ctx.namespace}/${name} has no key "${key}"`);
  return value;
}
