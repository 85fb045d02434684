/**
 * Just enough of the Compose specification to know what `docker compose up` would run:
 * services, replicas, images, ports, healthchecks, restart policies, environment, and
 * `${VAR}` interpolation from the stack's env. Pure: no clock, no state, no I/O.
 *
 * Errors carry compose-go's wording where it is known, because Portainer passes the
 * compose error text through unchanged as both `message` and `details` of its 500.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml, YAMLParseError } from 'yaml';

export class ComposeError extends Error {
  override readonly name = 'ComposeError';
}

export interface Pair {
  name: string;
  value: string;
}

export interface Healthcheck {
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export interface PortBinding {
  hostIp: string;
  published?: number;
  target: number;
  protocol: 'tcp' | 'udp';
}

export type RestartPolicy = 'no' | 'always' | 'on-failure' | 'unless-stopped';

export interface ComposeService {
  name: string;
  image: string;
  containerName?: string;
  replicas: number;
  command: string[];
  environment: Record<string, string>;
  labels: Record<string, string>;
  ports: PortBinding[];
  restart: RestartPolicy;
  healthcheck?: Healthcheck;
  dependsOn: string[];
  /** sha256 of the effective service definition: what compose's config-hash label carries. */
  configHash: string;
}

export interface ComposeProject {
  services: ComposeService[];
  /** Variables used but not set (compose only warns about these). */
  warnings: string[];
}

/**
 * Portainer's NormalizeStackName: lower case, and everything outside `[-_a-z0-9]`
 * removed, which is also what compose accepts as a project name.
 */
export function normalizeStackName(name: string): string {
  return name.toLowerCase().replace(/[^-_a-z0-9]/g, '');
}

const SERVICE_KEYS = new Set([
  'annotations', 'attach', 'blkio_config', 'build', 'cap_add', 'cap_drop', 'cgroup', 'cgroup_parent', 'command', 'configs', 'container_name',
  'cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period', 'cpu_rt_runtime', 'cpu_shares', 'cpus', 'cpuset', 'credential_spec',
  'depends_on', 'deploy', 'develop', 'device_cgroup_rules', 'devices', 'dns', 'dns_opt', 'dns_search', 'domainname', 'entrypoint', 'env_file',
  'environment', 'expose', 'extends', 'external_links', 'extra_hosts', 'gpus', 'group_add', 'healthcheck', 'hostname', 'image', 'init', 'ipc',
  'isolation', 'labels', 'label_file', 'links', 'logging', 'mac_address', 'mem_limit', 'mem_reservation', 'mem_swappiness', 'memswap_limit',
  'network_mode', 'networks', 'oom_kill_disable', 'oom_score_adj', 'pid', 'pids_limit', 'platform', 'ports', 'post_start', 'pre_stop',
  'privileged', 'profiles', 'provider', 'pull_policy', 'read_only', 'restart', 'runtime', 'scale', 'secrets', 'security_opt', 'shm_size',
  'stdin_open', 'stop_grace_period', 'stop_signal', 'storage_opt', 'sysctls', 'tmpfs', 'tty', 'ulimits', 'use_api_socket', 'user', 'userns_mode',
  'uts', 'volumes', 'volumes_from', 'working_dir',
]);

const TOP_LEVEL_KEYS = new Set(['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'include', 'models']);

/** The file Portainer writes the stack's env into, so services can say `env_file: stack.env`. */
export const STACK_ENV_FILE = 'stack.env';

/**
 * Parses and validates a compose file as `docker compose up` would see it, with the
 * stack's env as the interpolation source. `file` names the file in error texts.
 */
export function parseCompose(content: string, env: readonly Pair[], file = 'docker-compose.yml'): ComposeProject {
  let doc: unknown;
  try {
    doc = parseYaml(content, { uniqueKeys: true });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const line = err.linePos?.[0]?.line;
      throw new ComposeError(`yaml: ${line !== undefined ? `line ${line}: ` : ''}${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    throw new ComposeError(String(err));
  }
  if (doc === null || doc === undefined) throw new ComposeError('empty compose file');
  if (!isMap(doc)) throw new ComposeError(`Top-level object must be a mapping`);
  const vars = new Map(env.map((p) => [p.name, p.value]));
  const warnings: string[] = [];
  const interpolated = interpolateTree(doc, vars, warnings, '') as Record<string, unknown>;

  for (const key of Object.keys(interpolated)) {
    if (!TOP_LEVEL_KEYS.has(key) && !key.startsWith('x-')) throw new ComposeError(`validating ${file}: additional properties '${key}' not allowed`);
  }
  const rawServices = interpolated['services'] ?? {};
  if (!isMap(rawServices)) throw new ComposeError(`validating ${file}: services must be a mapping`);

  const services: ComposeService[] = [];
  for (const [name, raw] of Object.entries(rawServices)) {
    const def = raw ?? {};
    if (!isMap(def)) throw new ComposeError(`validating ${file}: services.${name} must be a mapping`);
    for (const key of Object.keys(def)) {
      if (!SERVICE_KEYS.has(key) && !key.startsWith('x-')) throw new ComposeError(`validating ${file}: services.${name} additional properties '${key}' not allowed`);
    }
    services.push(parseService(name, def, vars, file));
  }
  const names = new Set(services.map((s) => s.name));
  for (const s of services) {
    for (const d of s.dependsOn) {
      if (!names.has(d)) throw new ComposeError(`service "${s.name}" depends on undefined service "${d}": invalid compose project`);
    }
  }
  return { services: startOrder(services), warnings };
}

function parseService(name: string, def: Record<string, unknown>, vars: Map<string, string>, file: string): ComposeService {
  const image = def['image'];
  if (image === undefined) {
    if (def['build'] !== undefined) throw new ComposeError(`service "${name}" has a build section; the simulator cannot build images, give it an image`);
    throw new ComposeError(`service "${name}" has neither an image nor a build context specified: invalid compose project`);
  }
  if (typeof image !== 'string' || image === '') throw new ComposeError(`validating ${file}: services.${name}.image must be a string`);
  const environment: Record<string, string> = {};
  const envFiles = def['env_file'] === undefined ? [] : Array.isArray(def['env_file']) ? def['env_file'] : [def['env_file']];
  for (const f of envFiles) {
    const path = isMap(f) ? String(f['path']) : String(f);
    if (path.replace(/^\.\//, '') !== STACK_ENV_FILE) throw new ComposeError(`env file ${path} not found: stat ${path}: no such file or directory`);
    for (const [k, v] of vars) environment[k] = v;
  }
  Object.assign(environment, keyValues(def['environment'], `services.${name}.environment`, file, vars));
  const labels = keyValues(def['labels'], `services.${name}.labels`, file, vars);
  const deploy = isMap(def['deploy']) ? def['deploy'] : {};
  const replicas = toInt(deploy['replicas'] ?? def['scale'] ?? 1, `services.${name}.deploy.replicas`, file);
  const restart = String(def['restart'] ?? 'no').replace(/:\d+$/, '');
  if (!['no', 'always', 'on-failure', 'unless-stopped'].includes(restart)) throw new ComposeError(`invalid restart policy: unknown policy '${restart}'`);
  const service: ComposeService = {
    name, image: withTag(image), replicas, command: commandOf(def['command']), environment, labels,
    ports: (Array.isArray(def['ports']) ? def['ports'] : []).map((p) => parsePort(p, name)),
    restart: restart as RestartPolicy,
    dependsOn: Array.isArray(def['depends_on']) ? def['depends_on'].map(String) : isMap(def['depends_on']) ? Object.keys(def['depends_on']) : [],
    configHash: '',
  };
  if (typeof def['container_name'] === 'string') service.containerName = def['container_name'];
  const hc = parseHealthcheck(def['healthcheck'], name);
  if (hc) service.healthcheck = hc;
  service.configHash = createHash('sha256').update(JSON.stringify({ ...service, configHash: undefined })).digest('hex');
  return service;
}

/** compose starts dependencies first; ties keep file order. */
function startOrder(services: ComposeService[]): ComposeService[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const out: ComposeService[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: ComposeService, path: string[]) => {
    if (state.get(s.name) === 'done') return;
    if (state.get(s.name) === 'visiting') throw new ComposeError(`dependency cycle detected: ${[...path, s.name].join(' -> ')}`);
    state.set(s.name, 'visiting');
    for (const d of s.dependsOn) visit(byName.get(d)!, [...path, s.name]);
    state.set(s.name, 'done');
    out.push(s);
  };
  for (const s of services) visit(s, []);
  return out;
}

/** Docker pulls `:latest` when a reference has no tag or digest. */
export function withTag(image: string): string {
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  return lastSegment.includes(':') || lastSegment.includes('@') ? image : `${image}:latest`;
}

function parseHealthcheck(raw: unknown, service: string): Healthcheck | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMap(raw)) throw new ComposeError(`services.${service}.healthcheck must be a mapping`);
  if (raw['disable'] === true) return undefined;
  const test = raw['test'];
  const testList = Array.isArray(test) ? test.map(String) : typeof test === 'string' ? ['CMD-SHELL', test] : [];
  if (testList[0] === 'NONE') return undefined;
  if (testList.length === 0) return undefined;
  return {
    test: testList,
    intervalMs: durationMs(raw['interval'], 30_000, `services.${service}.healthcheck.interval`),
    timeoutMs: durationMs(raw['timeout'], 30_000, `services.${service}.healthcheck.timeout`),
    retries: raw['retries'] === undefined ? 3 : Number(raw['retries']),
    startPeriodMs: durationMs(raw['start_period'], 0, `services.${service}.healthcheck.start_period`),
  };
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, which compose uses for healthcheck timings. */
export function durationMs(raw: unknown, fallback: number, field: string): number {
  if (raw === undefined || raw === null) return fallback;
  const text = String(raw);
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) throw new ComposeError(`${field}: time: invalid duration "${text}"`);
  return total;
}

function parsePort(raw: unknown, service: string): PortBinding {
  if (isMap(raw)) {
    const target = Number(raw['target']);
    if (!Number.isInteger(target)) throw new ComposeError(`services.${service}.ports.target is required`);
    const binding: PortBinding = { hostIp: String(raw['host_ip'] ?? '0.0.0.0'), target, protocol: raw['protocol'] === 'udp' ? 'udp' : 'tcp' };
    if (raw['published'] !== undefined) binding.published = Number(raw['published']);
    return binding;
  }
  const text = String(raw);
  const m = /^(?:(?:([\d.]+|\[[0-9a-f:]+\]):)?(\d+):)?(\d+)(?:\/(tcp|udp))?$/.exec(text);
  if (!m) throw new ComposeError(`invalid port specification: "${text}"`);
  const binding: PortBinding = { hostIp: m[1] ?? '0.0.0.0', target: Number(m[3]), protocol: (m[4] ?? 'tcp') as 'tcp' | 'udp' };
  if (m[2] !== undefined) binding.published = Number(m[2]);
  return binding;
}

function commandOf(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw)) return raw.map(String);
  return String(raw).split(/\s+/).filter((s) => s !== '');
}

function keyValues(raw: unknown, field: string, file: string, vars: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw === null) return out;
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const text = String(item);
      const eq = text.indexOf('=');
      // `- NAME` without a value takes it from the environment compose runs in.
      if (eq < 0) {
        const v = vars.get(text);
        if (v !== undefined) out[text] = v;
      } else out[text.slice(0, eq)] = text.slice(eq + 1);
    }
    return out;
  }
  if (!isMap(raw)) throw new ComposeError(`validating ${file}: ${field} must be a mapping or a list`);
  for (const [k, v] of Object.entries(raw)) out[k] = v === null ? (vars.get(k) ?? '') : String(v);
  return out;
}

function toInt(raw: unknown, field: string, file: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ComposeError(`validating ${file}: ${field} must be a integer`);
  return n;
}

function interpolateTree(node: unknown, vars: Map<string, string>, warnings: string[], path: string): unknown {
  if (typeof node === 'string') return interpolate(node, vars, warnings, path);
  if (Array.isArray(node)) return node.map((n, i) => interpolateTree(n, vars, warnings, `${path}[${i}]`));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = interpolateTree(v, vars, warnings, path === '' ? k : `${path}.${k}`);
    return out;
  }
  return node;
}

/**
 * compose-go's interpolation: `$$` escapes, `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`.
 */
export function interpolate(text: string, vars: Map<string, string>, warnings: string[] = [], path = ''): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    if (next === '{') {
      const end = matchingBrace(text, i + 1);
      if (end < 0) throw new ComposeError(`Invalid template: "${text}"`);
      out += substitute(text.slice(i + 2, end), vars, warnings, path, text);
      i = end;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (!m) {
      out += '$';
      continue;
    }
    out += lookup(m[0], vars, warnings);
    i += m[0].length;
  }
  return out;
}

function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function substitute(expr: string, vars: Map<string, string>, warnings: string[], path: string, whole: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(expr);
  if (!m) throw new ComposeError(`Invalid template: "${whole}"`);
  const [, name, op, arg = ''] = m as unknown as [string, string, string | undefined, string | undefined];
  const value = vars.get(name);
  const unsetOrEmpty = value === undefined || value === '';
  switch (op) {
    case undefined: return lookup(name, vars, warnings);
    case ':-': return unsetOrEmpty ? interpolate(arg, vars, warnings, path) : value!;
    case '-': return value === undefined ? interpolate(arg, vars, warnings, path) : value;
    case ':?':
      if (unsetOrEmpty) throw new ComposeError(`required variable ${name} is missing a value${arg ? `: ${interpolate(arg, vars, warnings, path)}` : ''}`);
      return value!;
    case '?':
      if (value === undefined) throw new ComposeError(`required variable ${name} is missing a value${arg ? `: ${interpolate(arg, vars, warnings, path)}` : ''}`);
      return value;
    case ':+': return unsetOrEmpty ? '' : interpolate(arg, vars, warnings, path);
    case '+': return value === undefined ? '' : interpolate(arg, vars, warnings, path);
    default: throw new ComposeError(`Invalid template: "${whole}"`);
  }
}

function lookup(name: string, vars: Map<string, string>, warnings: string[]): string {
  const v = vars.get(name);
  if (v === undefined) {
    const w = `The "${name}" variable is not set. Defaulting to a blank string.`;
    if (!warnings.includes(w)) warnings.push(w);
    return '';
  }
  return v;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
