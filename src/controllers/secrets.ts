import { TerminalError } from '../runtime/errors.ts';
import type { Informer } from '../runtime/informer.ts';
import type { KubeObject } from '../runtime/resource.ts';

export interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

/**
 * The text under `key` of Secret `namespace/name`, read from the cache. A missing Secret or key
 * is a TerminalError: the Secret watch brings the object back when it appears. `hint` tells
 * the user what the value should be.
 */
export function secretText(cache: Pick<Informer<SecretObject>, 'get'>, namespace: string, name: string, key: string, hint = ''): string {
  const secret = existingSecret(cache, namespace, name, '', hint ? `; create it with ${hint} under key "${key}"` : '');
  const encoded = secret.data?.[key];
  if (encoded === undefined) throw new TerminalError('SecretKeyNotFound', `Secret ${namespace}/${name} has no key "${key}"`);
  return Buffer.from(encoded, 'base64').toString('utf8');
}

/** The Secret's keys as text, for a Secret whose keys are alternatives (`password` or `token`); a missing Secret is a TerminalError. */
export function secretKeys(cache: Pick<Informer<SecretObject>, 'get'>, namespace: string, name: string, what = ''): (key: string) => string | undefined {
  const secret = existingSecret(cache, namespace, name, what);
  return (key) => (secret.data?.[key] === undefined ? undefined : Buffer.from(secret.data[key]!, 'base64').toString('utf8'));
}

/** `label` says what the Secret is for; `advice` follows the message. */
function existingSecret(cache: Pick<Informer<SecretObject>, 'get'>, namespace: string, name: string, label: string, advice = ''): SecretObject {
  const secret = cache.get(`${namespace}/${name}`);
  if (!secret) throw new TerminalError('SecretNotFound', `Secret ${namespace}/${name}${label ? ` ${label}` : ''} does not exist${advice}`);
  return secret;
}
