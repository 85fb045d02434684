/**
 * The guest side of a provisioning step, as Phoenix lays it out through the guest agent:
 *
 *   /var/lib/phoenix/phoenix-step-<version>   the runner (below), one file per runner version
 *   /var/lib/phoenix/steps/<step>/<runId>/    one run of one step (mode 0700):
 *     script, env, files (the manifest), f<i>.<part>   what Phoenix wrote
 *     started/                                 made by `start` with mkdir: atomic, so a second
 *                                              start of the same run starts nothing
 *     pid, log, exit                           the detached runner's pid (to tell a run the
 *                                              guest lost in a restart), output and exit code
 *
 * The run is detached (setsid, nohup), so it outlives the agent's exec and Phoenix itself;
 * Phoenix polls `status`, which reads the exit file and the log's last lines. Every run has its
 * own directory (see runId).
 * The runner is plain POSIX sh plus coreutils (timeout, runuser for a user other than root).
 */

import { createHash } from 'node:crypto';

export const phoenixRoot = '/var/lib/phoenix';

const runnerScript = `#!/bin/sh
# Phoenix provisioning step runner. Usage: phoenix-step start|status <run-dir> [interpreter user timeout-seconds]
set -u
cmd=$1; run=$2
case "$cmd" in
start)
  # mkdir is atomic: the first start of a run wins, any later one starts nothing.
  if ! mkdir "$run/started" 2>/dev/null; then echo "state=already-started"; exit 0; fi
  setsid nohup /bin/sh "$0" exec "$run" "$3" "$4" "$5" </dev/null >/dev/null 2>&1 &
  echo "state=started"
  ;;
exec)
  interp=$3; user=$4; limit=$5
  umask 077
  echo "$$" > "$run/pid"
  {
    rc=0
    if [ -s "$run/files" ]; then
      while IFS=' ' read -r idx mode owner path; do
        mkdir -p "$(dirname "$path")" &&
          cat "$run/f$idx".* > "$path.phoenix-new" &&
          chown "$owner" "$path.phoenix-new" && chmod "$mode" "$path.phoenix-new" &&
          mv -f "$path.phoenix-new" "$path" || { echo "phoenix: could not place $path"; rc=1; break; }
      done < "$run/files"
    fi
    if [ "$rc" -eq 0 ]; then
      set -a; . "$run/env"; set +a
      if [ "$user" = root ]; then
        timeout "$limit" "$interp" "$run/script"; rc=$?
      else
        copy=$(mktemp) && cat "$run/script" > "$copy" && chown "$user" "$copy" &&
          timeout "$limit" runuser -u "$user" -- "$interp" "$copy"; rc=$?
        rm -f "$copy"
      fi
      [ "$rc" -eq 124 ] && echo "phoenix: the step ran longer than its timeout ($limit s) and was stopped"
    fi
  } > "$run/log" 2>&1
  echo "$rc" > "$run/exit.new" && mv -f "$run/exit.new" "$run/exit"
  ;;
status)
  if [ -f "$run/exit" ]; then echo "state=exited exit=$(cat "$run/exit")"
  elif [ -d "$run/started" ]; then
    # Started, no exit code, and its process gone: the guest restarted under it.
    if [ -f "$run/pid" ] && ! kill -0 "$(cat "$run/pid")" 2>/dev/null; then echo "state=lost"; else echo "state=running"; fi
  else echo "state=absent"; fi
  echo "---"
  tail -n 40 "$run/log" 2>/dev/null || true
  ;;
*)
  echo "phoenix-step: unknown command $cmd" >&2; exit 2
  ;;
esac
`;

/** The runner's text and where it lives: versioned by content, so a running step's runner is never rewritten. */
export const runner = {
  text: runnerScript,
  path: `${phoenixRoot}/phoenix-step-${createHash('sha256').update(runnerScript).digest('hex').slice(0, 12)}`,
};

/**
 * A run's id: the hash prefix and attempt say what it runs, and `nonce` (drawn when the run is
 * recorded, before it starts) tells it from an earlier run of the same content, which a change to
 * an earlier step makes run again.
 */
export function runId(hash: string, attempt: number, nonce: string): string {
  return `${hash.slice(0, 12)}-${attempt}-${nonce}`;
}

export function runDir(step: string, id: string): string {
  return `${phoenixRoot}/steps/${step}/${id}`;
}

/** Creates the run directory, private to root: the env and files in it may hold Secret values. */
export const prepareCommand = (dir: string): string[] => ['/bin/mkdir', '-p', '-m', '0700', dir];

export const startCommand = (dir: string, interpreter: string, user: string, timeoutSeconds: number): string[] =>
  ['/bin/sh', runner.path, 'start', dir, interpreter, user, String(timeoutSeconds)];

export const statusCommand = (dir: string): string[] => ['/bin/sh', runner.path, 'status', dir];

/** A health check: the command under `timeout`, so a hung check ends in the guest too. */
export const probeCommand = (command: string, timeoutSeconds: number): string[] => ['timeout', String(timeoutSeconds), '/bin/sh', '-c', command];

/** `export NAME='value'` lines, single quotes escaped the POSIX way. */
export function envFile(env: readonly { name: string; value: string }[]): string {
  return env.map((e) => `${e.name}='${e.value.replace(/'/g, `'\\''`)}'\n`).join('');
}

/** The manifest the runner reads: `index mode owner path` per file (paths cannot hold newlines). */
export function filesManifest(files: readonly { path: string; mode: string; owner: string }[]): string {
  return files.map((f, i) => `${i} ${f.mode} ${f.owner} ${f.path}\n`).join('');
}

/** The name of part `part` of file `index`: zero-padded, so the runner's glob concatenates them in order. */
export const partName = (dir: string, index: number, part: number): string => `${dir}/f${index}.${String(part).padStart(4, '0')}`;

export type RunStatus =
  | { readonly state: 'absent' | 'running' | 'already-started' | 'started' | 'lost' }
  | { readonly state: 'exited'; readonly exitCode: number; readonly output: string };

/** Parses the runner's `status` (or `start`) output; undefined when it is not the runner's. */
export function parseRunStatus(stdout: string): (RunStatus & { output: string }) | undefined {
  const [head = '', ...rest] = stdout.split('\n');
  const sep = rest.indexOf('---');
  const output = sep >= 0 ? rest.slice(sep + 1).join('\n') : '';
  const m = /^state=(absent|running|already-started|started|exited|lost)(?: exit=(-?\d+))?$/.exec(head.trim());
  if (!m) return undefined;
  if (m[1] === 'exited') return { state: 'exited', exitCode: m[2] === undefined ? -1 : Number(m[2]), output };
  return { state: m[1] as 'absent' | 'running' | 'already-started' | 'started' | 'lost', output };
}
