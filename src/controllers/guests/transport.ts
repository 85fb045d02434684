/**
 * The one seam between provisioning (and exec health checks) and the inside of a guest. Two
 * transports implement it: the QEMU guest agent through the Proxmox API for VMs
 * (guest-agent.ts), and `pct exec`/`pct push` over SSH to the node for containers
 * (pct-transport.ts). Provisioning only ever runs short commands and waits for them, writes
 * files, and starts the detached step runner (provision/guest-runner.ts); a step's outcome is
 * read by running the runner's `status`, so no transport ever waits for a step.
 */

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface GuestTransport {
  /** What provisioning waits for while the guest cannot be reached (`WaitingForGuestAgent`, `WaitingForContainer`). */
  readonly waitReason: string;
  /** Runs a short command and waits for it, at most `waitMs`; undefined when it has not ended by then. */
  run(command: readonly string[], waitMs: number): Promise<CommandResult | undefined>;
  /**
   * Writes `content` to the guest, replacing what is there. A transport with a size limit cuts
   * it into numbered parts named `name(0)`, `name(1)`, …; one without writes `name(0)` whole.
   */
  write(content: string, name: (part: number) => string): Promise<void>;
  /** Sends the runner's `start` (which returns at once); the process id when the transport knows one. */
  start(command: readonly string[]): Promise<number | undefined>;
  /** Why the guest cannot be reached now, when `err` says so: a wait, not a failure. */
  unavailable(err: unknown): string | undefined;
}
