/**
 * Git stacks: `POST /stacks/create/standalone/repository` (and the legacy
 * `POST /stacks?type=2&method=repository`), `POST /stacks/{id}/git` (settings only) and
 * `PUT /stacks/{id}/git/redeploy` (pull and deploy), plus Portainer's auto-update poll.
 * The simulator cannot reach the internet, so "cloning" reads repositories its admin
 * seeded (URL → refs → commit → files); failures carry Portainer's texts
 * (stackutils.DownloadGitRepository and the handlers' wrappers).
 */
import { createHash } from 'node:crypto';
import { badRequest, PortainerError, serverError } from './errors.ts';
import { decodePayload, queryInt, routeId } from './request.ts';
import type { Pair } from './compose.ts';
import type { Reply, RequestContext } from './api.ts';
import type { PortainerSimulator } from './simulator.ts';
import type { SimAutoUpdate, SimGitConfig, SimRepository, SimStack } from './state.ts';

/** git.ErrInvalidGitCredential, which DownloadGitRepository returns for an authentication failure. */
export const INVALID_GIT_CREDENTIAL = 'Invalid git credential';
const REPOSITORY_NOT_FOUND = 'unable to clone git repository: Git repository could not be found, please ensure that the URL is correct.';
const REFERENCE_NOT_FOUND = 'unable to clone git repository: reference not found';

export interface Credentials {
  username: string;
  password: string;
}

export function repositories(sim: PortainerSimulator): Record<string, SimRepository> {
  return (sim.state.repositories ??= {});
}

/** Adds a commit holding exactly `files` on `ref` (creating the repository); returns its hash. */
export function pushCommit(sim: PortainerSimulator, url: string, ref: string, files: Record<string, string>): string {
  const repo = (repositories(sim)[url] ??= { refs: {}, commits: {} });
  const parent = repo.refs[ref] ?? '';
  const hash = createHash('sha1').update(JSON.stringify([url, ref, parent, Object.keys(repo.commits).length, files])).digest('hex');
  repo.commits[hash] = { ...files };
  repo.refs[ref] = hash;
  return hash;
}

/** The commit a ref names: an exact ref, a short branch or tag name, or a known commit hash. */
function resolveRef(repo: SimRepository, ref: string): string | undefined {
  if (ref === '') return repo.refs['refs/heads/main'] ?? repo.refs['refs/heads/master'] ?? Object.values(repo.refs)[0];
  return repo.refs[ref] ?? repo.refs[`refs/heads/${ref}`] ?? repo.refs[`refs/tags/${ref}`] ?? (repo.commits[ref] ? ref : undefined);
}

/** Clone and LatestCommitID: the commit and its files, or Portainer's error text (as an Error). */
export function cloneRepository(sim: PortainerSimulator, url: string, ref: string, credentials: Credentials | null): { commit: string; files: Record<string, string> } {
  const repo = repositories(sim)[url];
  if (!repo) throw new Error(REPOSITORY_NOT_FOUND);
  if (repo.auth && (credentials === null || credentials.username !== repo.auth.username || credentials.password !== repo.auth.password)) {
    throw new Error(INVALID_GIT_CREDENTIAL);
  }
  const commit = resolveRef(repo, ref);
  if (commit === undefined) throw new Error(REFERENCE_NOT_FOUND);
  return { commit, files: repo.commits[commit]! };
}

/** Go's time.ParseDuration for the units Portainer's intervals use. */
export function parseInterval(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
}

/** update.ValidateAutoUpdateSettings. */
function decodeAutoUpdate(raw: unknown, sim: PortainerSimulator): SimAutoUpdate | null {
  if (raw === undefined || raw === null) return null;
  const invalid = (details: string) => badRequest('Invalid request payload', details);
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid(`json: cannot unmarshal ${Array.isArray(raw) ? 'array' : typeof raw} into Go value of type portainer.AutoUpdateSettings`);
  const get = (k: string) => Object.entries(raw as Record<string, unknown>).find(([x]) => x.toLowerCase() === k.toLowerCase())?.[1];
  const str = (k: string) => {
    const v = get(k);
    if (v !== undefined && v !== null && typeof v !== 'string') throw invalid(`json: cannot unmarshal ${typeof v} into Go struct field AutoUpdateSettings.${k} of type string`);
    return (v as string | undefined) ?? '';
  };
  const interval = str('interval');
  const webhook = str('webhook');
  if (interval === '' && webhook === '') throw invalid('Webhook or Interval must be provided');
  if (webhook !== '' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(webhook)) throw invalid('invalid Webhook format');
  if (interval !== '' && parseInterval(interval) === undefined) throw invalid('invalid Interval format');
  return { interval, webhook, forceUpdate: get('forceUpdate') === true, forcePullImage: get('forcePullImage') === true, jobId: interval !== '' ? String(1 + sim.random.int(99)) : '' };
}

const CREATE_STRUCT = 'stacks.composeStackFromGitRepositoryPayload';

/** Shared by the 2.19+ route and the legacy `POST /stacks?type=2&method=repository`. */
export async function createComposeFromRepository(ctx: RequestContext, endpointId: number): Promise<Reply> {
  const { sim } = ctx;
  const endpoint = sim.requireEndpoint(endpointId);
  const payload = decodePayload(ctx.bodyText, CREATE_STRUCT, {
    name: 'string', repositoryURL: 'string', repositoryReferenceName: 'string', composeFile: 'string', repositoryAuthentication: 'bool',
    repositoryUsername: 'string', repositoryPassword: 'string', env: 'pairs', fromAppTemplate: 'bool', tlsskipVerify: 'bool',
  });
  const rawName = (payload['name'] as string | undefined) ?? '';
  const url = (payload['repositoryURL'] as string | undefined) ?? '';
  const useAuth = (payload['repositoryAuthentication'] as boolean | undefined) ?? false;
  const password = (payload['repositoryPassword'] as string | undefined) ?? '';
  if (rawName === '') throw badRequest('Invalid request payload', 'Invalid stack name');
  if (url === '' || !/^(https?|ssh|git):\/\/[^\s/]+/.test(url)) throw badRequest('Invalid request payload', 'Invalid repository URL. Must correspond to a valid URL format');
  if (useAuth && password === '') throw badRequest('Invalid request payload', 'Invalid repository credentials. Password must be specified when authentication is enabled');
  const autoUpdate = decodeAutoUpdate(JSON.parse(ctx.bodyText)?.autoUpdate, sim);
  const name = sim.normalizeName(rawName);
  if (name === '') throw badRequest('Invalid request payload', 'Invalid stack name');
  sim.assertUniqueName(endpoint, name);

  const composeFile = ((payload['composeFile'] as string | undefined) ?? '') || 'docker-compose.yml';
  const credentials = useAuth ? { username: (payload['repositoryUsername'] as string | undefined) ?? '', password } : null;
  const id = sim.state.nextId.stack++;
  let clone;
  try {
    clone = cloneRepository(sim, url, (payload['repositoryReferenceName'] as string | undefined) ?? '', credentials);
  } catch (err) {
    throw serverError((err as Error).message);
  }
  const content = fileAt(sim, id, clone.files, composeFile);
  const env = (payload['env'] as Pair[] | undefined) ?? null;
  await sim.composeUp({ stackId: id, project: name, endpoint, content, env: env ?? [] });
  if (sim.state.stacks.some((s) => s.endpointId === endpoint.id && s.name === name)) {
    throw new PortainerError(409, `A stack with the normalized name '${name}' already exists`, 'A stack already exists with this name');
  }
  const stack: SimStack = {
    id, name, endpointId: endpoint.id, env, status: 1, fileContent: content, creationDate: sim.nowSeconds(), createdBy: ctx.principal?.user.username ?? '',
    updateDate: 0, updatedBy: '', resourceControlId: sim.state.nextId.resourceControl++, fromAppTemplate: (payload['fromAppTemplate'] as boolean | undefined) ?? false, prune: null,
    git: {
      url, referenceName: (payload['repositoryReferenceName'] as string | undefined) ?? '', configFilePath: composeFile, configHash: clone.commit, auth: credentials,
      tlsSkipVerify: (payload['tlsskipVerify'] as boolean | undefined) ?? false,
    },
    autoUpdate, lastAutoUpdateMs: sim.now(), entryPoint: composeFile,
  };
  sim.state.stacks.push(stack);
  sim.state.resourceControls.push({ id: stack.resourceControlId, resourceId: `${endpoint.id}_${name}`, type: 6 });
  return { status: 200, body: sim.stackJson(stack) };
}

/** The compose file in the clone, or compose's refusal to open it. */
function fileAt(sim: PortainerSimulator, stackId: number, files: Record<string, string>, path: string): string {
  const content = files[path.replace(/^\.?\//, '')];
  if (content === undefined) throw serverError(`failed to deploy a stack: open ${sim.projectPath(stackId)}/${path}: no such file or directory`);
  return content;
}

export async function createStandaloneRepository(ctx: RequestContext): Promise<Reply> {
  return createComposeFromRepository(ctx, queryInt(ctx.query, 'endpointId', false)!);
}

function gitStack(ctx: RequestContext): { stack: SimStack; git: SimGitConfig } {
  const stack = ctx.sim.requireStack(routeId(ctx.params['id']!, 'stack'));
  const given = queryInt(ctx.query, 'endpointId', true);
  ctx.sim.requireEndpoint(given ?? stack.endpointId, 'Unable to find the environment associated to the stack inside the database');
  if (!stack.git) throw badRequest('Stack is not created from git', 'Stack is not created from git');
  return { stack, git: stack.git };
}

/** The credentials a settings update or redeploy uses: an empty password keeps the stored one. */
function credentialsFrom(payload: Record<string, unknown>, git: SimGitConfig): Credentials | null {
  if (payload['repositoryAuthentication'] !== true) return null;
  const password = ((payload['repositoryPassword'] as string | undefined) ?? '') || (git.auth?.password ?? '');
  return { username: (payload['repositoryUsername'] as string | undefined) ?? '', password };
}

/** `POST /stacks/{id}/git`: saves the ref, credentials, env, prune and auto-update; deploys nothing. */
export function updateGitSettings(ctx: RequestContext): Reply {
  const { sim } = ctx;
  const stack = sim.requireStack(routeId(ctx.params['id']!, 'stack'));
  const payload = decodePayload(ctx.bodyText, 'stacks.stackGitUpdatePayload', {
    repositoryReferenceName: 'string', repositoryAuthentication: 'bool', repositoryUsername: 'string', repositoryPassword: 'string', env: 'pairs', prune: 'bool', tlsskipVerify: 'bool',
  });
  const autoUpdate = decodeAutoUpdate(JSON.parse(ctx.bodyText)?.autoUpdate, sim);
  const given = queryInt(ctx.query, 'endpointId', true);
  sim.requireEndpoint(given ?? stack.endpointId, 'Unable to find the environment associated to the stack inside the database');
  if (!stack.git) throw badRequest('Stack is not created from git', 'Stack is not created from git');
  const git = stack.git;
  const ref = (payload['repositoryReferenceName'] as string | undefined) ?? '';
  const credentials = credentialsFrom(payload, git);
  if (credentials) {
    try {
      cloneRepository(sim, git.url, ref || git.referenceName, credentials);
    } catch (err) {
      throw serverError('Unable to fetch git repository', (err as Error).message);
    }
  }
  git.referenceName = ref;
  git.auth = credentials;
  stack.autoUpdate = autoUpdate;
  stack.env = (payload['env'] as Pair[] | undefined) ?? null;
  stack.prune = (payload['prune'] as boolean | undefined) ?? false;
  stack.updateDate = sim.nowSeconds();
  stack.updatedBy = ctx.principal?.user.username ?? '';
  return { status: 200, body: sim.stackJson(stack) };
}

/** `PUT /stacks/{id}/git/redeploy`: clones the ref again and runs compose up with the file there. */
export async function redeployGit(ctx: RequestContext): Promise<Reply> {
  const { sim } = ctx;
  const payload = decodePayload(ctx.bodyText, 'stacks.stackGitRedployPayload', {
    repositoryReferenceName: 'string', repositoryAuthentication: 'bool', repositoryUsername: 'string', repositoryPassword: 'string', env: 'pairs', prune: 'bool', pullImage: 'bool',
  });
  const { stack, git } = gitStack(ctx);
  const endpoint = sim.requireEndpoint(stack.endpointId);
  const ref = ((payload['repositoryReferenceName'] as string | undefined) ?? '') || git.referenceName;
  const credentials = credentialsFrom(payload, git);
  let clone;
  try {
    clone = cloneRepository(sim, git.url, ref, credentials);
  } catch (err) {
    throw serverError('Unable to clone git repository directory', (err as Error).message);
  }
  const content = fileAt(sim, stack.id, clone.files, git.configFilePath);
  const env = (payload['env'] as Pair[] | undefined) ?? null;
  const prune = (payload['prune'] as boolean | undefined) ?? false;
  await sim.composeUp({ stackId: stack.id, project: stack.name, endpoint, content, env: env ?? [], prune, pullImage: (payload['pullImage'] as boolean | undefined) ?? false });
  git.referenceName = ref;
  git.configHash = clone.commit;
  git.auth = credentials;
  stack.fileContent = content;
  stack.env = env;
  stack.prune = prune;
  stack.status = 1;
  stack.updateDate = sim.nowSeconds();
  stack.updatedBy = ctx.principal?.user.username ?? '';
  return { status: 200, body: sim.stackJson(stack) };
}

/**
 * Portainer's auto-update job: every `interval` it resolves the ref and redeploys only when
 * the commit changed (or `forceUpdate`). The simulator runs the due polls when a request
 * arrives or its clock is advanced rather than on its own timer, which keeps manual-clock
 * tests deterministic; a poll that finds a change deploys in the background like the job.
 */
export function runDueAutoUpdates(sim: PortainerSimulator, busy: Set<number>): void {
  const now = sim.now();
  for (const stack of sim.state.stacks) {
    const interval = stack.autoUpdate?.interval ? parseInterval(stack.autoUpdate.interval) : undefined;
    if (!stack.git || interval === undefined || busy.has(stack.id)) continue;
    if (now - (stack.lastAutoUpdateMs ?? 0) < interval) continue;
    stack.lastAutoUpdateMs = now;
    const git = stack.git;
    let clone;
    try {
      clone = cloneRepository(sim, git.url, git.referenceName, git.auth);
    } catch {
      continue; // the job logs and tries again next interval
    }
    if (clone.commit === git.configHash && !stack.autoUpdate!.forceUpdate) continue;
    const content = clone.files[git.configFilePath.replace(/^\.?\//, '')];
    const endpoint = sim.endpoint(stack.endpointId);
    if (content === undefined || !endpoint) continue;
    busy.add(stack.id);
    void sim.composeUp({ stackId: stack.id, project: stack.name, endpoint, content, env: stack.env ?? [], prune: stack.prune ?? false, pullImage: stack.autoUpdate!.forcePullImage })
      .then(() => {
        git.configHash = clone.commit;
        stack.fileContent = content;
        stack.updateDate = sim.nowSeconds();
        stack.updatedBy = 'auto-update';
        sim.autoUpdateDeploys++;
      }, () => undefined)
      .finally(() => busy.delete(stack.id));
  }
}
