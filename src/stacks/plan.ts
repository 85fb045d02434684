/**
 * Observed versus desired for a Portainer stack, and the one step that brings them together.
 * Pure: the reconciler reads Portainer, calls these, and performs the step.
 */
import { ownerEnvName, type DesiredStack, type EnvPair } from './desired.ts';

export interface ObservedContainer {
  /** `com.docker.compose.service`. */
  readonly service: string | undefined;
  /** Docker's `State`: created | running | paused | restarting | exited | removing | dead. */
  readonly state: string;
  /** Docker's `Status` text: `Up 5 minutes (healthy)`, `Exited (1) 3 seconds ago`… */
  readonly status: string;
  readonly image: string;
}

export interface ObservedStack {
  /** Portainer's Status: 1 active, 2 inactive. */
  readonly status: number;
  readonly env: readonly EnvPair[] | null;
  readonly file: string;
  readonly containers: readonly ObservedContainer[];
  /** Portainer's GitConfig: null for a stack made from a string (or detached from git by a file update). */
  readonly git?: { readonly url: string; readonly ref: string; readonly path: string; readonly commit: string } | null;
  /** The auto-update interval Portainer polls the repository with ('' when off). */
  readonly autoUpdateInterval?: string;
}

export interface StackDiff {
  /** The stack file differs from the spec's compose text. */
  readonly file: boolean;
  /** Names of env variables added, removed or changed (never values: some come from Secrets). */
  readonly env: string[];
  /** Portainer's state when it is not the desired one. */
  readonly state?: { readonly observed: 'Running' | 'Stopped'; readonly desired: 'Running' | 'Stopped' };
  /** Services that should run and have no container at all (removed on the host). */
  readonly missing: string[];
  /**
   * Git stacks: `ref` (another ref is deployed), `autoUpdate` (another poll interval), and the
   * differences no Portainer call can fix in place: `url`, `path`, `detached` (not a git stack).
   */
  readonly git?: string[];
}


/** Git differences that need the stack re-created (Portainer cannot change them in place). */
export const gitSourceDifferences = ['url', 'path', 'detached'];

export function observedState(status: number): 'Running' | 'Stopped' {
  return status === 1 ? 'Running' : 'Stopped';
}

function envMap(env: readonly EnvPair[] | null | undefined, withMarker: boolean): Map<string, string> {
  return new Map((env ?? []).filter((e) => withMarker || e.name !== ownerEnvName).map((e) => [e.name, e.value]));
}

/** What differs. In Observe mode `desired.env` has no marker, and the marker is not compared. */
export function diffStack(desired: DesiredStack, observed: ObservedStack): StackDiff {
  const withMarker = desired.env.some((e) => e.name === ownerEnvName);
  const want = envMap(desired.env, withMarker);
  const have = envMap(observed.env, withMarker);
  const env = [...new Set([...want.keys(), ...have.keys()])].filter((name) => want.get(name) !== have.get(name)).sort();
  const state = observedState(observed.status);
  const running = desired.state === 'Running' && state === 'Running';
  const present = new Set(observed.containers.map((c) => c.service).filter((s): s is string => s !== undefined));
  const git = desired.git ? gitDiff(desired.git, observed) : undefined;
  return {
    // A git stack's file is the repository's: what changes it is another ref or commit.
    file: desired.git ? false : observed.file !== desired.compose,
    env,
    // Present (possibly empty) for every git stack: it is what makes the plan redeploy rather than update.
    ...(git ? { git } : {}),
    ...(state !== desired.state ? { state: { observed: state, desired: desired.state } } : {}),
    // compose down removes a stopped stack's containers: none are expected then.
    missing: running ? desired.services.filter((s) => !present.has(s)) : [],
  };
}

function gitDiff(want: NonNullable<DesiredStack['git']>, observed: ObservedStack): string[] {
  const have = observed.git;
  if (!have) return ['detached'];
  const out: string[] = [];
  if (have.url !== want.url) out.push('url');
  if (have.path.replace(/^\.?\//, '') !== want.path.replace(/^\.?\//, '')) out.push('path');
  if (have.ref !== want.ref) out.push('ref');
  if ((observed.autoUpdateInterval ?? '') !== (want.autoUpdateInterval ?? '')) out.push('autoUpdate');
  return out;
}

/** The differences as words for events, conditions and drift records; names only, no values. */
export function describeDiff(diff: StackDiff): string[] {
  const parts: string[] = [];
  if (diff.file) parts.push('the compose file differs');
  if (diff.env.length) parts.push(`env ${diff.env.join(', ')} differ${diff.env.length === 1 ? 's' : ''}`);
  if (diff.state) parts.push(`the stack is ${diff.state.observed === 'Running' ? 'running' : 'stopped'}`);
  for (const g of diff.git ?? []) {
    parts.push(g === 'detached' ? 'the stack is no longer deployed from git' : g === 'autoUpdate' ? 'the git auto-update interval differs' : `the git ${g === 'ref' ? 'reference' : g} differs`);
  }
  if (diff.missing.length) parts.push(`service${diff.missing.length === 1 ? '' : 's'} ${diff.missing.join(', ')} ha${diff.missing.length === 1 ? 's' : 've'} no container`);
  return parts;
}

export type StackStep =
  | { readonly action: 'start' }
  | { readonly action: 'stop' }
  | { readonly action: 'update' }
  /** Git stacks: pull the ref and deploy (`PUT /stacks/{id}/git/redeploy`); also writes env. */
  | { readonly action: 'redeploy' }
  /** Git stacks: save the auto-update interval (`POST /stacks/{id}/git`); deploys nothing. */
  | { readonly action: 'settings' }
  /** Git source differences Portainer cannot change in place. */
  | { readonly action: 'refuse'; readonly reason: string }
  /** `deferred`: differences that cannot be applied now (content of a stopped stack). */
  | { readonly action: 'none'; readonly deferred?: string };

/**
 * One step at a time. A stopped stack is started before its content is updated; a stack that
 * should be stopped is never updated, because Portainer's update runs `compose up` and would
 * start its containers (while still calling the stack inactive).
 */
export function planStack(diff: StackDiff, desired: 'Running' | 'Stopped'): StackStep {
  const source = (diff.git ?? []).filter((g) => gitSourceDifferences.includes(g));
  if (source.length) return { action: 'refuse', reason: describeDiff({ file: false, env: [], missing: [], git: source }).join('; ') };
  if (diff.state?.desired === 'Stopped') return { action: 'stop' };
  if (diff.state?.desired === 'Running') return { action: 'start' };
  const content = diff.file || diff.env.length > 0 || (diff.git ?? []).includes('ref');
  if (desired === 'Stopped') return content ? { action: 'none', deferred: 'the new content is deployed when the stack runs again' } : { action: 'none' };
  // A redeploy of the same content is also how a removed container comes back.
  // A file update would detach a git stack from its repository, so git stacks are redeployed.
  if (content || diff.missing.length) return { action: diff.git !== undefined ? 'redeploy' : 'update' };
  if ((diff.git ?? []).includes('autoUpdate')) return { action: 'settings' };
  return { action: 'none' };
}


export interface ServiceStatus {
  readonly name: string;
  readonly state: string;
  readonly image?: string;
}

export interface ServicesHealth {
  readonly services: ServiceStatus[];
  /** Every expected service has a container and all of them run (and are healthy, if checked). */
  readonly ready: boolean;
  /** `web: exited (1)`, `db: unhealthy`, `cache: missing`. */
  readonly problems: string[];
}

/** One container's state in a word or two: running, healthy, unhealthy, starting, exited (1)… */
export function containerState(c: Pick<ObservedContainer, 'state' | 'status'>): string {
  if (c.state === 'running') {
    const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.status)?.[1];
    if (health === 'health: starting') return 'starting';
    return health ?? 'running';
  }
  if (c.state === 'exited') {
    const code = /^Exited \((-?\d+)\)/.exec(c.status)?.[1];
    return code === undefined ? 'exited' : `exited (${code})`;
  }
  return c.state;
}

const good = new Set(['running', 'healthy']);

/**
 * Each expected service's state from its containers (the worst one when it has several), and
 * whether the stack is Ready. Containers of services not in the file (not pruned) are listed
 * too, but do not count against readiness.
 */
export function servicesHealth(expected: readonly string[], containers: readonly ObservedContainer[]): ServicesHealth {
  const byService = new Map<string, ObservedContainer[]>();
  for (const c of containers) {
    if (c.service === undefined) continue;
    byService.set(c.service, [...(byService.get(c.service) ?? []), c]);
  }
  const services: ServiceStatus[] = [];
  const problems: string[] = [];
  for (const name of [...new Set([...expected, ...byService.keys()])].sort()) {
    const list = byService.get(name) ?? [];
    if (!list.length) {
      services.push({ name, state: 'missing' });
      problems.push(`${name}: missing`);
      continue;
    }
    const states = list.map((c) => ({ c, state: containerState(c) }));
    const worst = states.find((s) => !good.has(s.state)) ?? states[0]!;
    services.push({ name, state: worst.state.slice(0, 64), image: worst.c.image.slice(0, 1024) });
    if (expected.includes(name) && !good.has(worst.state)) problems.push(`${name}: ${worst.state}`);
  }
  return { services, ready: problems.length === 0, problems };
}
