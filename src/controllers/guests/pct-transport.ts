/**
 * The container transport of provisioning: Proxmox has no API to run a command in a container,
 * so, as bpg's Terraform provider does for what the API cannot, Phoenix runs `pct` on the node
 * over SSH. A command is `pct exec <vmid> -- <argv>`; a file is uploaded over SFTP to a private
 * temporary file on the node (mode 0600, removed right after) and copied in with
 * `pct push <vmid> <tmp> <path> --perms 0600 --user 0 --group 0`. pct push reads its source in
 * a forked worker with its standard input closed (pct.pm, `push`, through fork_worker), so the
 * content cannot be piped in.
 */

import { randomBytes } from 'node:crypto';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import { containerMissing, containerNotRunning, pctExecLine, pctPushLine } from '../../provision/pct.ts';
import { HostKeyError, SshAuthError, type SshSessions, type SshTarget } from '../../clients/ssh/sessions.ts';
import type { CommandResult, GuestTransport } from './transport.ts';

/** How long a `pct push` may take (it copies one file of a step, at most a few MiB). */
const pushWaitMs = 60_000;

/** The container is not running (pct refused): provisioning waits, health checks count a failure. */
class ContainerNotRunning extends Error {}

export interface PctTarget {
  readonly ssh: SshTarget;
  readonly node: string;
  readonly vmid: number;
  readonly sudo: boolean;
  /** The PhoenixHypervisor, for messages. */
  readonly hypervisor: string;
  /** Once aborted (leadership lost, shutting down), nothing more is sent to the node. */
  readonly stop?: AbortSignal;
}

export function pctTransport(sessions: SshSessions, target: PctTarget): GuestTransport {
  const where = `node ${target.node} (${target.ssh.host}:${target.ssh.port})`;

  /** Runs one pct command line; SSH failures become the reasons a person acts on. */
  async function pct(line: string, waitMs: number): Promise<CommandResult | undefined> {
    notStopped();
    let result: CommandResult | undefined;
    try {
      result = await sessions.exec(target.ssh, line, waitMs);
    } catch (err) {
      throw classify(err);
    }
    if (result && result.exitCode !== 0) {
      if (containerNotRunning(result.stderr)) throw new ContainerNotRunning(`container ${target.vmid} is not running`);
      if (containerMissing(result.stderr)) throw new RetryableError('ContainerNotFound', `pct on ${where} finds no container ${target.vmid}: ${result.stderr.trim()}`);
      if (/^please run as root$/m.test(result.stderr)) throw new TerminalError('SSHPermissionDenied', `pct on ${where} refused user ${target.ssh.username}: "please run as root". Set spec.ssh.sudo: true in PhoenixHypervisor ${target.hypervisor} and give the user a sudo rule for pct exec and pct push (see docs/provisioning.md), or log in as root`, { recheckAfterMs: 60_000 });
      if (/^sudo: /m.test(result.stderr)) throw new TerminalError('SSHPermissionDenied', `sudo on ${where} refused to run pct for user ${target.ssh.username}: ${result.stderr.trim()}. Give the user a sudo rule for pct exec and pct push (see docs/provisioning.md)`, { recheckAfterMs: 60_000 });
    }
    return result;
  }

  function notStopped(): void {
    if (target.stop?.aborted) throw new RetryableError('Unreachable', 'not sent: this controller stopped acting (leadership lost or shutting down)');
  }

  function classify(err: unknown): Error {
    if (err instanceof HostKeyError) {
      const reason = err.verdict === 'unknown' ? 'HostKeyUnknown' : 'HostKeyMismatch';
      return new TerminalError(reason, `${err.message}; Phoenix sent nothing. Pin the node's key in PhoenixHypervisor ${target.hypervisor}'s spec.ssh (knownHosts or hostKeyFingerprints) once you have checked it`, { recheckAfterMs: 60_000 });
    }
    if (err instanceof SshAuthError) return new TerminalError('SSHAuthenticationFailed', `${err.message}: check PhoenixHypervisor ${target.hypervisor}'s spec.ssh.credentialsSecretRef and the node's authorized_keys`, { recheckAfterMs: 60_000 });
    return new RetryableError('SSHUnreachable', `cannot reach ${where} over SSH: ${(err as Error).message}`, { cause: err });
  }

  return {
    waitReason: 'WaitingForContainer',
    run: (command, waitMs) => pct(pctExecLine(target.vmid, command, target.sudo), waitMs),
    async write(content, name) {
      const tmp = `/tmp/.phoenix-push-${randomBytes(8).toString('hex')}`;
      const path = name(0);
      notStopped();
      try {
        await sessions.writeFile(target.ssh, tmp, Buffer.from(content, 'utf8'), 0o600);
        const pushed = await pct(pctPushLine(target.vmid, tmp, path, { perms: '0600', user: '0', group: '0' }, target.sudo), pushWaitMs);
        if (!pushed) throw new RetryableError('PushTimedOut', `pct push of ${path} into container ${target.vmid} did not end within ${pushWaitMs / 1000} s`);
        if (pushed.exitCode !== 0) throw new RetryableError('PushFailed', `pct push of ${path} into container ${target.vmid} failed (exit code ${pushed.exitCode}): ${pushed.stderr.trim()}`);
      } catch (err) {
        throw err instanceof TerminalError || err instanceof RetryableError || err instanceof ContainerNotRunning ? err : classify(err);
      } finally {
        // The file may hold a Secret's value: it does not stay on the node.
        await sessions.unlink(target.ssh, tmp).catch(() => undefined);
      }
    },
    async start(command) {
      // The runner's start detaches the step (setsid, nohup) and ends at once: pct exec returns with it.
      const started = await pct(pctExecLine(target.vmid, command, target.sudo), 30_000);
      if (started && started.exitCode !== 0) throw new RetryableError('StepStartFailed', `the step runner's start in container ${target.vmid} exited with code ${started.exitCode}: ${started.stderr.trim()}`);
      return undefined;
    },
    unavailable: (err) => (err instanceof ContainerNotRunning ? err.message : undefined),
  };
}
