import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const phoenix = fileURLToPath(new URL('../../bin/phoenix.js', import.meta.url));

export interface ControllerProcessOptions {
  readonly kubeconfigPath: string;
  readonly namespace: string;
  /** Flags after the common ones (short timeouts and observe period, loopback hosts, no endpoints). */
  readonly args?: readonly string[];
  readonly onStdout?: (text: string) => void;
  readonly onStderr?: (text: string) => void;
}

/**
 * `phoenix controller` as its own process, for tests that kill it: what a SIGKILL takes away
 * (memory, timers, a write in flight) is really gone, unlike in an in-process restart.
 */
export function spawnController(options: ControllerProcessOptions): ChildProcess {
  const child = spawn(process.execPath, [
    phoenix, 'controller',
    '--kubeconfig', options.kubeconfigPath,
    `--namespaces=${options.namespace}`,
    '--metrics-bind-address=0', '--health-probe-bind-address=0',
    '--allowed-proxmox-hosts=loopback',
    '--proxmox-timeout=2s', '--observe-period=5s',
    ...(options.args ?? []),
  ], { stdio: ['ignore', options.onStdout ? 'pipe' : 'ignore', options.onStderr ? 'pipe' : 'ignore'] });
  if (options.onStdout) child.stdout?.on('data', (chunk: Buffer) => options.onStdout!(chunk.toString()));
  if (options.onStderr) child.stderr?.on('data', (chunk: Buffer) => options.onStderr!(chunk.toString()));
  return child;
}

/** Sends `signal` and waits for the process to be gone; nothing to do for one that has ended. */
export async function stopProcess(child: ChildProcess | undefined, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
