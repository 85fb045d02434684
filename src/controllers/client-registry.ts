import { createHash } from 'node:crypto';
import type { ExternalCallRecorder } from '../runtime/metrics.ts';
import { TerminalError } from '../runtime/errors.ts';

/**
 * Clients of one external API, one per PhoenixHypervisor, shared by every reconciler that
 * talks to that API. A client is rebuilt only when something it was built from changes (URL,
 * credential, CA, TLS mode), so a rotated Secret takes effect at the next reconcile without a
 * restart, and the replaced client is closed rather than leaked.
 */
export class ClientRegistry<T extends { readonly client: { close(): void } }> {
  readonly #entries = new Map<string, { fingerprint: string; value: T }>();
  readonly #allowHost: (host: string) => boolean;
  protected readonly recorder: ExternalCallRecorder | undefined;

  /**
   * `allowHost` restricts which hosts may be contacted at all (tests and demos allow loopback
   * only, so a manifest naming a real address can never send traffic there).
   */
  constructor(recorder?: ExternalCallRecorder, allowHost: (host: string) => boolean = () => true) {
    this.recorder = recorder;
    this.#allowHost = allowHost;
  }

  /**
   * Refuses a URL whose host `allowHost` excludes; called before any Secret is read or client
   * built. `what` names the endpoint in the message, e.g. "Portainer at ".
   */
  assertAllowed(url: string, what = ''): void {
    const host = new URL(url).hostname;
    if (!this.#allowHost(host)) throw new TerminalError('EndpointNotAllowed', `this controller may not connect to ${what}${host} (restricted by --allowed-proxmox-hosts)`);
  }

  get(name: string): T | undefined {
    return this.#entries.get(name)?.value;
  }

  /**
   * The entry for `name` built from `inputs`: the existing one (passed through `keep`) when it
   * was built from the same inputs, else a new one from `build`. Only a digest of the inputs is
   * kept, so a credential among them stays in the client alone.
   */
  protected obtain(name: string, inputs: readonly unknown[], build: () => T, keep: (existing: T) => T = (existing) => existing): T {
    const fingerprint = createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
    const existing = this.#entries.get(name);
    let value: T;
    if (existing?.fingerprint === fingerprint) value = keep(existing.value);
    else {
      existing?.value.client.close();
      value = build();
    }
    this.#entries.set(name, { fingerprint, value });
    return value;
  }

  /** Replaces the entry for `name` with one derived from it, keeping its client. */
  protected replace(name: string, change: (existing: T) => T): void {
    const entry = this.#entries.get(name);
    if (entry) this.#entries.set(name, { ...entry, value: change(entry.value) });
  }

  remove(name: string): void {
    this.#entries.get(name)?.value.client.close();
    this.#entries.delete(name);
  }

  close(): void {
    for (const name of [...this.#entries.keys()]) this.remove(name);
  }
}
