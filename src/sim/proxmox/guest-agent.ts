/**
 * The inside of a simulated guest: a VM as its QEMU guest agent shows it, or a container as
 * `pct exec`/`pct push` on its node reach it (ssh.ts). A small file system, and
 * commands that do not really run. A command's outcome (exit code, output, how long it takes in
 * simulated time) follows the rules tests set through the admin API; without a rule it succeeds
 * silently after a short time. The agent's own behaviour is qemu-ga's: exec answers a pid at
 * once, exec-status reports `exited` 0 until the command ends, then its `exitcode`, `out-data`,
 * `err-data` (and `out-truncated`/`err-truncated` past 16 MiB, qga's GUEST_EXEC_MAX_OUTPUT), and
 * forgets the pid once it reported it exited (qga/commands.c guest_exec_status), so a second
 * read fails. file-write opens with `wb` (PVE/API2/Qemu/Agent.pm): it truncates, and fails when
 * the directory does not exist.
 *
 * A few programs are understood, so that what Phoenix does in a guest has effects a later
 * command sees: mkdir, cat, echo, test/[ (-e, -f, -d), true and false; and Phoenix's step runner
 * (provision/guest-runner.ts), whose `start` and `status` the simulator follows: `start` makes
 * the run's `started` directory only once, places the run's files, and the run ends (exit and
 * log files) when its simulated duration is over, or is lost when the VM stops first.
 */

import type { SimGuestState } from './state.ts';
import type { SimClock } from './clock.ts';

/** What a test decides about matching commands (a step's script, or a command line). */
export interface AgentRule {
  /** A substring of the command line, or of a step's run directory and script. */
  readonly match: string;
  /** Only for this VMID. */
  readonly vmid?: number;
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
  /** Simulated milliseconds the command runs. */
  readonly durationMs?: number;
  /** Applies to this many matching commands, then is dropped. Default: every one. */
  times?: number;
}

/** A started step run, for tests: which run, and when. */
export interface AgentRunRecord {
  readonly vmid: number;
  readonly dir: string;
  readonly startedAt: number;
}

/** qga's GUEST_EXEC_MAX_OUTPUT. */
const maxOutputBytes = 16 * 1024 * 1024;
/** How long a command without a rule takes, and a step run without one. */
const shortCommandMs = 20;
const defaultStepMs = 3_000;

/** Directories every guest has. */
const baseDirs = ['/', '/etc', '/home', '/opt', '/root', '/run', '/srv', '/tmp', '/usr', '/usr/bin', '/usr/local', '/usr/local/bin', '/var', '/var/lib', '/var/log'];

interface Process {
  readonly endsAt: number;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface StepRun {
  readonly dir: string;
  readonly endsAt: number;
  readonly exitCode: number;
  readonly output: string;
  /** The boot (the VM's startedAt) the run began in: a run of an earlier boot is lost. */
  readonly boot: number | undefined;
}

interface GuestInside {
  nextPid: number;
  readonly processes: Map<number, Process>;
  readonly dirs: Set<string>;
  readonly runs: Map<string, StepRun>;
}

export class GuestAgents {
  readonly #clock: SimClock;
  readonly #inside = new WeakMap<SimGuestState, GuestInside>();
  #rules: AgentRule[] = [];
  readonly #started: AgentRunRecord[] = [];

  constructor(clock: SimClock) {
    this.#clock = clock;
  }

  addRule(rule: AgentRule): void {
    this.#rules.push({ ...rule });
  }

  clearRules(): void {
    this.#rules = [];
  }

  /** Every step run started so far (a second start of the same run is not one). */
  startedRuns(vmid?: number): AgentRunRecord[] {
    return this.#started.filter((r) => vmid === undefined || r.vmid === vmid);
  }

  #of(g: SimGuestState): GuestInside {
    let inside = this.#inside.get(g);
    if (!inside) {
      inside = { nextPid: 1000 + (g.vmid % 1000), processes: new Map(), dirs: new Set(baseDirs), runs: new Map() };
      this.#inside.set(g, inside);
    }
    return inside;
  }

  #rule(g: SimGuestState, text: string): AgentRule | undefined {
    const rule = this.#rules.find((r) => (r.vmid === undefined || r.vmid === g.vmid) && text.includes(r.match));
    if (rule?.times !== undefined) {
      rule.times -= 1;
      if (rule.times <= 0) this.#rules = this.#rules.filter((r) => r !== rule);
    }
    return rule;
  }

  isDir(g: SimGuestState, path: string): boolean {
    return this.#of(g).dirs.has(path);
  }

  /** `agent/file-write`: the parent directory must exist; the file is replaced whole. */
  writeFile(g: SimGuestState, path: string, content: string): string | undefined {
    if (!this.isDir(g, parent(path))) return `Agent error: failed to open file '${path}': No such file or directory`;
    if (this.isDir(g, path)) return `Agent error: failed to open file '${path}': Is a directory`;
    g.agentFiles[path] = content;
    return undefined;
  }

  /**
   * Runs a command to its end at once (`pct exec`): its outcome, and how long it takes in
   * simulated time, for the caller to wait before answering.
   */
  runToEnd(g: SimGuestState, command: readonly string[]): { exitCode: number; stdout: string; stderr: string; durationMs: number } {
    const outcome = this.#run(g, this.#of(g), command);
    return { exitCode: outcome.exitCode, stdout: outcome.stdout ?? '', stderr: outcome.stderr ?? '', durationMs: outcome.durationMs };
  }

  /**
   * `pct push`'s create_file in the container (pct.pm): the parent directory must exist; the
   * file is created or truncated. An error text when it cannot be.
   */
  pushFile(g: SimGuestState, path: string, content: string): string | undefined {
    if (!path.startsWith('/')) path = `/${path}`;
    if (this.isDir(g, path)) return `failed to create file: ${path}: Is a directory`;
    if (!this.isDir(g, parent(path))) return `failed to create file: ${path}: No such file or directory`;
    g.agentFiles[path] = content;
    return undefined;
  }

  /** `agent/exec`: starts the command; returns its pid. */
  exec(g: SimGuestState, command: readonly string[]): number {
    const inside = this.#of(g);
    const pid = inside.nextPid++;
    const outcome = this.#run(g, inside, command);
    inside.processes.set(pid, { endsAt: this.#clock.now() + outcome.durationMs, exitCode: outcome.exitCode, stdout: outcome.stdout ?? '', stderr: outcome.stderr ?? '' });
    return pid;
  }

  /** `agent/exec-status`, or undefined for a pid the agent does not know (any more). */
  execStatus(g: SimGuestState, pid: number): Record<string, unknown> | undefined {
    const inside = this.#of(g);
    const p = inside.processes.get(pid);
    if (!p) return undefined;
    if (this.#clock.now() < p.endsAt) return { exited: 0 };
    inside.processes.delete(pid);
    const out = capped(p.stdout);
    const err = capped(p.stderr);
    return {
      exited: 1,
      exitcode: p.exitCode,
      ...(out.text !== '' ? { 'out-data': out.text } : {}),
      ...(err.text !== '' ? { 'err-data': err.text } : {}),
      ...(out.truncated ? { 'out-truncated': 1 } : {}),
      ...(err.truncated ? { 'err-truncated': 1 } : {}),
    };
  }

  #run(g: SimGuestState, inside: GuestInside, argv: readonly string[]): { exitCode: number; stdout?: string; stderr?: string; durationMs: number } {
    const done = (exitCode: number, stdout = '', stderr = '') => ({ exitCode, stdout, stderr, durationMs: shortCommandMs });
    let args = [...argv];
    let limitMs: number | undefined;
    if (args[0] === 'timeout' || args[0] === '/usr/bin/timeout') {
      limitMs = Number(args[1]) * 1000;
      args = args.slice(2);
    }
    const shell = args[0] === '/bin/sh' || args[0] === 'sh' || args[0] === '/bin/bash' || args[0] === 'bash';
    if (shell && args[1] !== '-c' && args[1] !== undefined) {
      const script = args[1];
      if (g.agentFiles[script] === undefined) return done(127, '', `${args[0]}: 0: cannot open ${script}: No such file\n`);
      if (/\/phoenix-step-[0-9a-f]+$/.test(script)) return this.#runner(g, inside, args.slice(2));
    }
    const line = shell && args[1] === '-c' ? (args[2] ?? '') : args.join(' ');
    const rule = this.#rule(g, line);
    if (rule) {
      const durationMs = rule.durationMs ?? shortCommandMs;
      if (limitMs !== undefined && durationMs > limitMs) return { exitCode: 124, durationMs: limitMs };
      return { exitCode: rule.exitCode ?? 0, stdout: rule.stdout ?? '', stderr: rule.stderr ?? '', durationMs };
    }
    return this.#builtin(g, inside, shell && args[1] === '-c' ? splitWords(args[2] ?? '') : args, done);
  }

  #builtin(g: SimGuestState, inside: GuestInside, words: string[], done: (exitCode: number, stdout?: string, stderr?: string) => { exitCode: number; durationMs: number }): { exitCode: number; durationMs: number; stdout?: string; stderr?: string } {
    const [program = '', ...rest] = words;
    const name = program.split('/').pop();
    if (name === 'true') return done(0);
    if (name === 'false') return done(1);
    if (name === 'echo') return done(0, `${rest.join(' ')}\n`);
    if (name === 'cat') {
      const missing = rest.find((p) => g.agentFiles[p] === undefined);
      if (missing !== undefined) return done(1, '', `cat: ${missing}: No such file or directory\n`);
      return done(0, rest.map((p) => g.agentFiles[p]).join(''));
    }
    if (name === 'test' || name === '[') {
      const [flag, path = ''] = name === '[' ? rest.slice(0, -1) : rest;
      const isFile = g.agentFiles[path] !== undefined;
      const ok = flag === '-f' ? isFile : flag === '-d' ? inside.dirs.has(path) : flag === '-e' ? isFile || inside.dirs.has(path) : false;
      return done(ok ? 0 : 1);
    }
    if (name === 'mkdir') {
      const parents = rest.includes('-p');
      const paths = rest.filter((w, i) => !w.startsWith('-') && rest[i - 1] !== '-m');
      for (const path of paths) {
        if (g.agentFiles[path] !== undefined) return done(1, '', `mkdir: cannot create directory '${path}': File exists\n`);
        if (!parents && !inside.dirs.has(parent(path))) return done(1, '', `mkdir: cannot create directory '${path}': No such file or directory\n`);
        for (const dir of ancestry(path)) inside.dirs.add(dir);
      }
      return done(0);
    }
    return done(0);
  }

  /** Phoenix's step runner: `start <dir> <interpreter> <user> <timeout>` and `status <dir>`. */
  #runner(g: SimGuestState, inside: GuestInside, args: readonly string[]): { exitCode: number; stdout: string; durationMs: number } {
    const [cmd, dir = ''] = args;
    const answer = (stdout: string) => ({ exitCode: 0, stdout, durationMs: shortCommandMs });
    if (cmd === 'start') {
      // mkdir "$run/started" fails when it exists (or the run directory does not).
      if (!inside.dirs.has(dir) || inside.dirs.has(`${dir}/started`)) return answer('state=already-started\n');
      inside.dirs.add(`${dir}/started`);
      const script = g.agentFiles[`${dir}/script`] ?? '';
      const rule = this.#rule(g, `${dir}\n${script}`);
      const timeoutMs = Number(args[4] ?? '0') * 1000;
      let durationMs = rule?.durationMs ?? defaultStepMs;
      let exitCode = rule?.exitCode ?? 0;
      let output = `${rule?.stdout ?? ''}${rule?.stderr ?? ''}`;
      if (timeoutMs > 0 && durationMs > timeoutMs) {
        durationMs = timeoutMs;
        exitCode = 124;
        output += `phoenix: the step ran longer than its timeout (${timeoutMs / 1000} s) and was stopped\n`;
      }
      const placed = this.#placeFiles(g, inside, dir);
      if (placed) {
        exitCode = 1;
        output = placed;
        durationMs = shortCommandMs;
      }
      inside.runs.set(dir, { dir, endsAt: this.#clock.now() + durationMs, exitCode, output, boot: g.startedAt });
      this.#started.push({ vmid: g.vmid, dir, startedAt: this.#clock.now() });
      return answer('state=started\n');
    }
    if (cmd === 'status') {
      const run = inside.runs.get(dir);
      if (run && g.agentFiles[`${dir}/exit`] === undefined && this.#clock.now() >= run.endsAt && run.boot === g.startedAt) {
        g.agentFiles[`${dir}/log`] = run.output;
        g.agentFiles[`${dir}/exit`] = `${run.exitCode}\n`;
      }
      const log = tailLines(g.agentFiles[`${dir}/log`] ?? '', 40);
      const exit = g.agentFiles[`${dir}/exit`];
      if (exit !== undefined) return answer(`state=exited exit=${exit.trim()}\n---\n${log}`);
      if (inside.dirs.has(`${dir}/started`)) return answer(`${run && run.boot !== g.startedAt ? 'state=lost' : 'state=running'}\n---\n${log}`);
      return answer(`state=absent\n---\n`);
    }
    return { exitCode: 2, stdout: '', durationMs: shortCommandMs };
  }

  /** The runner's file placement: the manifest's parts joined into each path. An error text when one cannot be placed. */
  #placeFiles(g: SimGuestState, inside: GuestInside, dir: string): string | undefined {
    for (const line of (g.agentFiles[`${dir}/files`] ?? '').split('\n')) {
      const m = /^(\d+) (\d+) (\S+) (\/.*)$/.exec(line);
      if (!m) continue;
      const prefix = `${dir}/f${m[1]}.`;
      const parts = Object.keys(g.agentFiles).filter((k) => k.startsWith(prefix) && /^\d+$/.test(k.slice(prefix.length))).sort();
      const path = m[4]!;
      if (inside.dirs.has(path)) return `phoenix: could not place ${path}\n`;
      for (const d of ancestry(parent(path))) inside.dirs.add(d);
      g.agentFiles[path] = parts.map((k) => g.agentFiles[k]).join('');
    }
    return undefined;
  }
}

function parent(path: string): string {
  const i = path.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function ancestry(path: string): string[] {
  const out: string[] = [];
  for (let p = path; p !== '/' && p !== ''; p = parent(p)) out.push(p);
  return out;
}

function tailLines(text: string, lines: number): string {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all.slice(-lines).map((l) => `${l}\n`).join('');
}

function capped(text: string): { text: string; truncated: boolean } {
  const bytes = Buffer.from(text);
  return bytes.length > maxOutputBytes ? { text: bytes.subarray(0, maxOutputBytes).toString(), truncated: true } : { text, truncated: false };
}

/** Words of a simple command line (quotes removed); enough for the built-in programs. */
function splitWords(line: string): string[] {
  return (line.match(/'[^']*'|"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^['"]|['"]$/g, ''));
}
