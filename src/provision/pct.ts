/**
 * The command lines of the container transport: `pct exec` and `pct push` as the node's shell
 * receives them over SSH. An SSH exec request carries one string, which the account's login
 * shell splits into words, so every word Phoenix sends is quoted for a POSIX shell here, once:
 * sudo runs `pct` with the words as the shell split them, and `pct exec` hands the words after
 * `--` to lxc-attach as an argument vector (pve-container src/PVE/CLI/pct.pm, `exec`), with no
 * second shell in between.
 */

/** Words that need no quotes in a POSIX shell. */
const plainWord = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word, quoted for a POSIX shell: single quotes, each `'` written as `'\''`. */
export function shellQuote(word: string): string {
  if (plainWord.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** An argument vector as one command line the shell splits back into exactly these words. */
export const shellLine = (argv: readonly string[]): string => argv.map(shellQuote).join(' ');

/** `sudo -n` (never prompt: a missing rule fails at once instead of hanging) when the account is not root. */
const prefix = (sudo: boolean): string[] => (sudo ? ['sudo', '-n'] : []);

function checkVmid(vmid: number): string {
  if (!Number.isInteger(vmid) || vmid < 100) throw new Error(`not a VMID: ${vmid}`);
  return String(vmid);
}

/** `pct exec <vmid> -- <argv>`: runs argv in the container and waits for it. */
export function pctExecLine(vmid: number, argv: readonly string[], sudo: boolean): string {
  if (!argv.length) throw new Error('pct exec needs a command');
  return shellLine([...prefix(sudo), 'pct', 'exec', checkVmid(vmid), '--', ...argv]);
}

export interface PushOptions {
  /** Octal mode, such as `0600` (pct assumes octal). */
  readonly perms?: string;
  readonly user?: string;
  readonly group?: string;
}

/** `pct push <vmid> <local> <remote> [--perms] [--user] [--group]`: copies a file of the node into the container. */
export function pctPushLine(vmid: number, local: string, remote: string, options: PushOptions, sudo: boolean): string {
  const flags = [
    ...(options.perms !== undefined ? ['--perms', options.perms] : []),
    ...(options.user !== undefined ? ['--user', options.user] : []),
    ...(options.group !== undefined ? ['--group', options.group] : []),
  ];
  return shellLine([...prefix(sudo), 'pct', 'push', checkVmid(vmid), local, remote, ...flags]);
}

/**
 * The container is not running: pct's own refusal (pct.pm: `container '$vmid' not running!` for
 * exec, `can only push files to a running CT` for push), which is a wait, not a failure.
 */
export function containerNotRunning(stderr: string): boolean {
  return /^container '\d+' not running!$/m.test(stderr) || /^can only push files to a running CT$/m.test(stderr);
}

/** pct's refusal of a VMID that has no container config on this node (PVE::AbstractConfig::load_config). */
export function containerMissing(stderr: string): boolean {
  return /^Configuration file 'nodes\/[^/]+\/lxc\/\d+\.conf' does not exist$/m.test(stderr);
}
