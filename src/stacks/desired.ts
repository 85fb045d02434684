/**
 * The stack Phoenix wants in Portainer, computed from a PhoenixStack without any I/O: the
 * compose text, the resolved environment, the ownership marker, the services compose will
 * run, and one hash of everything that is deployed.
 */
import { createHash } from 'node:crypto';
import { parse } from 'yaml';

export interface EnvPair {
  readonly name: string;
  readonly value: string;
}

/**
 * The ownership marker: an extra stack environment variable naming the UID of the owning
 * PhoenixStack. Portainer keeps a stack's env with the stack and returns it on every read, it
 * is set atomically by the create call itself (so a create whose answer was lost still proves
 * who made it), and compose ignores variables the file does not use. Stack names cannot carry
 * it (they are the compose project name) and Portainer stacks have no labels.
 */
export const ownerEnvName = 'PHOENIX_OWNER_UID';

export type Ownership = 'ours' | 'unmarked' | 'foreign';

export function ownershipOf(env: readonly EnvPair[] | null | undefined, uid: string): Ownership {
  const marker = (env ?? []).find((e) => e.name === ownerEnvName);
  if (!marker) return 'unmarked';
  return marker.value === uid ? 'ours' : 'foreign';
}

/** Portainer's normalisation: lower case, only `[-_a-z0-9]` kept; also the compose project name. */
export function normalizeStackName(name: string): string {
  return name.toLowerCase().replace(/[^-_a-z0-9]/g, '');
}

export interface EnvSource {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    readonly secretKeyRef?: { readonly name: string; readonly key?: string };
    readonly configMapKeyRef?: { readonly name: string; readonly key?: string };
  };
}

/** Reads a key of a Secret or ConfigMap in the stack's namespace; throws when it is missing. */
export type ValueLookup = (kind: 'Secret' | 'ConfigMap', name: string, key: string) => string;

export interface ResolvedEnv {
  readonly env: EnvPair[];
  /** Values that came from Secrets: never to be logged, shown or written into status. */
  readonly secretValues: string[];
  /**
   * The env as the content hash sees it: a value from a Secret stands as the Secret's name, key
   * and resourceVersion. The hash is in status, where a hash of a short password could be
   * reversed by guessing; a new Secret version still changes it, which redeploys.
   */
  readonly hashEnv: EnvPair[];
}

/** The resourceVersion of a Secret in the stack's namespace. */
export type SecretVersionLookup = (name: string) => string | undefined;

/** The spec's env list with every reference resolved, in spec order. */
export function resolveEnv(sources: readonly EnvSource[] | undefined, lookup: ValueLookup, secretVersion: SecretVersionLookup = () => undefined): ResolvedEnv {
  const env: EnvPair[] = [];
  const hashEnv: EnvPair[] = [];
  const secretValues: string[] = [];
  for (const source of sources ?? []) {
    if (source.name === ownerEnvName) throw new Error(`env ${ownerEnvName} is reserved for Phoenix's ownership marker`);
    const secret = source.valueFrom?.secretKeyRef;
    const configMap = source.valueFrom?.configMapKeyRef;
    let value: string;
    let hashed: string | undefined;
    if (secret) {
      const key = secret.key ?? source.name;
      value = lookup('Secret', secret.name, key);
      secretValues.push(value);
      hashed = `(Secret ${secret.name}/${key} version ${secretVersion(secret.name) ?? 'unknown'})`;
    } else if (configMap) {
      value = lookup('ConfigMap', configMap.name, configMap.key ?? source.name);
    } else {
      value = source.value ?? '';
    }
    env.push({ name: source.name, value });
    hashEnv.push({ name: source.name, value: hashed ?? value });
  }
  return { env, secretValues, hashEnv };
}

/**
 * The hash of what is deployed: the compose text and the environment (names and values, order
 * ignored, the marker left out). Callers pass Secret values as their versions (ResolvedEnv's
 * hashEnv), so a new Secret version changes it, which is what makes a Secret change redeploy.
 */
export function contentHash(compose: string, env: readonly EnvPair[]): string {
  const pairs = env.filter((e) => e.name !== ownerEnvName).map((e) => [e.name, e.value]).sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
  return `sha256:${createHash('sha256').update(JSON.stringify([compose, pairs])).digest('hex')}`;
}

export class ComposeInvalidError extends Error {
  override readonly name = 'ComposeInvalidError';
}

/**
 * The services compose runs containers for, sorted: every service, except those scaled to
 * zero. Only as much of the file is read as that needs; compose itself validates the rest.
 */
export function composeServices(content: string): string[] {
  let doc: unknown;
  try {
    doc = parse(content);
  } catch (err) {
    throw new ComposeInvalidError(`the compose file is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const services = (doc as { services?: unknown } | null)?.services;
  if (!services || typeof services !== 'object' || Array.isArray(services) || Object.keys(services).length === 0) {
    throw new ComposeInvalidError('the compose file declares no services');
  }
  return Object.entries(services as Record<string, unknown>)
    .filter(([, def]) => {
      const d = (def ?? {}) as { scale?: unknown; deploy?: { replicas?: unknown } };
      return d.scale !== 0 && d.deploy?.replicas !== 0;
    })
    .map(([name]) => name)
    .sort();
}

/** A compose file in a git repository, which Portainer clones. */
export interface GitSpec {
  readonly url: string;
  readonly ref: string;
  readonly path: string;
  /** Portainer's auto-update poll (a Go duration); how new commits on the ref get deployed. */
  readonly autoUpdateInterval?: string;
}

export interface DesiredStack {
  /** The name sent to Portainer, already normalised (it is also the compose project name). */
  readonly name: string;
  /** The compose text; for a git stack the file Portainer deployed from the repository ('' before it exists). */
  readonly compose: string;
  /** Set for git stacks: the file is the repository's, at whatever commit the ref names. */
  readonly git?: GitSpec;
  /** The spec's env, then the marker when Phoenix manages the stack. */
  readonly env: EnvPair[];
  readonly contentHash: string;
  readonly services: string[];
  readonly state: 'Running' | 'Stopped';
  readonly prune: boolean;
  readonly pullImage: boolean;
}

export interface DesiredInput {
  readonly stackName: string;
  readonly compose: string;
  readonly env: readonly EnvPair[];
  /** The env for the content hash (Secret values replaced by their versions); default `env`. */
  readonly hashEnv?: readonly EnvPair[];
  /** For git stacks instead of `compose`. */
  readonly git?: GitSpec;
  readonly state?: 'Running' | 'Stopped';
  readonly prune?: boolean;
  readonly pullImage?: boolean;
  /** The owner's UID for the marker; undefined in Observe mode (nothing is written). */
  readonly ownerUid?: string;
}

export function desiredStack(input: DesiredInput): DesiredStack {
  const env = input.ownerUid ? [...input.env, { name: ownerEnvName, value: input.ownerUid }] : [...input.env];
  const git = input.git;
  // A git stack's hash covers where the file comes from, not the commit: status.gitCommit says which commit runs.
  const hashed = git ? `git ${JSON.stringify([git.url, git.ref, git.path, git.autoUpdateInterval ?? ''])}` : input.compose;
  return {
    name: normalizeStackName(input.stackName),
    compose: git ? '' : input.compose,
    ...(git ? { git } : {}),
    env,
    contentHash: contentHash(hashed, input.hashEnv ?? input.env),
    // A git stack's services are known once Portainer has its file (withGitFile).
    services: git ? [] : composeServices(input.compose),
    state: input.state ?? 'Running',
    prune: input.prune ?? true,
    pullImage: input.pullImage ?? false,
  };
}

/** A git stack's desired state once the file Portainer deployed is known: its services are expected. */
export function withGitFile(desired: DesiredStack, file: string): DesiredStack {
  return { ...desired, compose: file, services: composeServices(file) };
}

/**
 * The env to write to an adopted stack: variables the spec does not name (set by whoever made
 * the stack) stay, the spec's win, and the marker goes last. A created stack's env is owned
 * whole instead, so a variable added by hand there is drift.
 */
export function adoptedEnv(desired: readonly EnvPair[], observed: readonly EnvPair[] | null | undefined): EnvPair[] {
  const named = new Set(desired.map((e) => e.name));
  return [...(observed ?? []).filter((e) => !named.has(e.name) && e.name !== ownerEnvName), ...desired];
}
