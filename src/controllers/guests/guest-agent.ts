/**
 * The VM transport of provisioning: commands and files through the QEMU guest agent, over the
 * Proxmox API (`agent/exec`, `agent/exec-status`, `agent/file-write`). Only short commands are
 * waited for here (creating a directory, reading a run's status, a health check); a step's
 * script runs detached (see provision/guest-runner.ts) and is polled across reconciles.
 */

import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import { base64Pieces } from '../../provision/chunks.ts';
import type { GuestApi } from './guest-api.ts';
import type { CommandResult, GuestTransport } from './transport.ts';

/** The VM transport: the guest agent of `api`'s VM. */
export function agentTransport(api: GuestApi): GuestTransport {
  return {
    waitReason: 'WaitingForGuestAgent',
    run: (command, waitMs) => runShort(api, command, waitMs),
    write: (content, name) => writeParts(api, content, name),
    // exec answers a pid at once; the runner's start detaches the step and ends.
    start: (command) => api.agentExec(command),
    unavailable: agentUnavailable,
  };
}

/**
 * The texts of qemu-server's assert_agent_available (PVE/QemuServer/Agent.pm): the agent is not
 * (yet) there to answer, which is a wait, not a failure of the step.
 */
export function agentUnavailable(err: unknown): string | undefined {
  if (!isProxmoxError(err, 'ServerError')) return undefined;
  const m = /QEMU guest agent is not running|No QEMU guest agent configured|VM \d+ is not running/.exec(err.message);
  return m ? m[0] : undefined;
}

const pollDelaysMs = [20, 50, 100, 200, 400, 800];

/**
 * Runs a short command and waits for it, at most `waitMs`; undefined when it has not finished
 * by then (it may still run in the guest: callers only wait for commands that end by themselves,
 * or run them under `timeout`).
 */
export async function runShort(api: GuestApi, command: readonly string[], waitMs: number, sleep = defaultSleep): Promise<CommandResult | undefined> {
  const pid = await api.agentExec(command);
  const deadline = Date.now() + waitMs;
  for (let i = 0; ; i++) {
    const status = await api.agentExecStatus(pid);
    if (status.exited === 1 || status.exited === true) {
      // A command killed by a signal has no exit code: report it as the shell would (128 + n).
      const exitCode = status.exitcode ?? (status.signal !== undefined ? 128 + status.signal : -1);
      return { exitCode, stdout: status['out-data'] ?? '', stderr: status['err-data'] ?? '' };
    }
    const delay = pollDelaysMs[Math.min(i, pollDelaysMs.length - 1)]!;
    if (Date.now() + delay > deadline) return undefined;
    await sleep(delay);
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Writes `content` as numbered part files (`name(i)`), as many as the agent's size limit needs. */
export async function writeParts(api: GuestApi, content: string, name: (part: number) => string): Promise<void> {
  const pieces = base64Pieces(content);
  for (let i = 0; i < pieces.length; i++) await api.agentFileWrite(name(i), pieces[i]!);
}
