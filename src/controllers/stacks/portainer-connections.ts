import { PortainerClient } from '../../clients/portainer/client.ts';
import { isPortainerError } from '../../clients/portainer/errors.ts';
import { ClientRegistry } from '../client-registry.ts';
import type { Informer } from '../../runtime/informer.ts';
import type { Redactor } from '../../runtime/redact.ts';
import type { PhoenixHypervisor } from '../../api/objects.ts';
import { secretText, type SecretObject } from '../secrets.ts';

export interface PortainerConnection {
  readonly hypervisor: string;
  readonly url: string;
  readonly client: PortainerClient;
  /** Portainer's version once a check succeeded with the current key. */
  version?: string;
}

/**
 * One Portainer client per PhoenixHypervisor with `spec.portainer`, shared by the hypervisor
 * controller (which reports the version) and every stack reconciler.
 */
export class PortainerConnections extends ClientRegistry<PortainerConnection> {
  readonly #checks = new Map<string, Promise<string>>();

  /**
   * The connection for `hv` with the API key from its Secret; undefined when it declares no
   * Portainer. Every caller goes through here, so a host --allowed-proxmox-hosts excludes is
   * never contacted, whatever the caller (create, observe, delete, the hypervisor's status).
   */
  connect(hv: PhoenixHypervisor, secrets: Pick<Informer<SecretObject>, 'get'>, redactor?: Redactor): PortainerConnection | undefined {
    const portainer = hv.spec.portainer;
    if (!portainer) {
      this.remove(hv.metadata.name);
      return undefined;
    }
    this.assertAllowed(portainer.url, 'Portainer at ');
    const ref = portainer.apiKeySecretRef;
    const apiKey = secretText(secrets, ref.namespace, ref.name, ref.key ?? 'apiKey', 'a Portainer access token (ptr_…)').trim();
    redactor?.addSecret(apiKey);
    const url = portainer.url.replace(/\/$/, '');
    const name = hv.metadata.name;
    return this.obtain(name, [url, apiKey, portainer.caBundle ?? '', portainer.insecureSkipTLSVerify ?? false], () => ({
      hypervisor: name,
      url,
      client: new PortainerClient({
        url,
        apiKey,
        ...(portainer.caBundle ? { caBundle: portainer.caBundle } : {}),
        insecureSkipTLSVerify: portainer.insecureSkipTLSVerify ?? false,
        ...(this.recorder ? { recorder: this.recorder } : {}),
      }),
    }));
  }

  /** Asks Portainer for its version with the current key (one request in flight per hypervisor). */
  check(connection: PortainerConnection): Promise<string> {
    const running = this.#checks.get(connection.hypervisor);
    if (running) return running;
    const check = connection.client.status().then(
      ({ version }) => {
        connection.version = version;
        return version;
      },
      (err: unknown) => {
        delete connection.version;
        throw err;
      },
    ).finally(() => this.#checks.delete(connection.hypervisor));
    this.#checks.set(connection.hypervisor, check);
    return check;
  }

  /**
   * For the hypervisor's status: the version, or why there is none. Never throws: an
   * unreachable Portainer must not make the Proxmox side of the hypervisor (and every guest)
   * look broken; stacks report it themselves.
   */
  async describe(hv: PhoenixHypervisor, secrets: Pick<Informer<SecretObject>, 'get'>, redactor?: Redactor): Promise<{ version?: string; note: string }> {
    try {
      const connection = this.connect(hv, secrets, redactor);
      if (!connection) return { note: '' };
      const version = await this.check(connection);
      return { version, note: `Portainer ${version}` };
    } catch (err) {
      return { note: `Portainer: ${isPortainerError(err) ? describeFailure(err, hv.spec.portainer!.url) : (err as Error).message}` };
    }
  }
}

/** A failed check in words a person can act on. */
export function describeFailure(err: unknown, url: string): string {
  if (isPortainerError(err, 'Unauthorized')) return 'Portainer refused the API key (revoked or wrong?)';
  if (isPortainerError(err, 'Forbidden')) return `the API key's user may not use this API: ${err.detail}`;
  if (isPortainerError(err, 'Unavailable')) return `cannot reach Portainer at ${url}: ${err.detail}`;
  return (err as Error).message;
}
