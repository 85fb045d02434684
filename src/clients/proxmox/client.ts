import type { Proxmox } from 'proxmox-api';
import { apiProxy } from './api-proxy.ts';
import { ProxmoxTransport, type ProxmoxTransportOptions } from './transport.ts';

export interface ProxmoxClient {
  /** The typed path proxy (api-proxy.ts): `api.nodes.$(node).lxc.$(vmid).config.$get()`. */
  readonly api: Proxmox.Api;
  readonly transport: Pick<ProxmoxTransport, 'getEnvelope'>;
  /**
   * This client bound to a reconcile's signals (see ProxmoxTransport.scoped): nothing is sent
   * once `stop` fires, and requests in flight are cut once `cut` does. Closing it closes nothing.
   */
  scoped(stop: AbortSignal, cut?: AbortSignal): ProxmoxClient;
  close(): void;
}

/** One client per PhoenixHypervisor: the `proxmox-api` proxy over Phoenix's own transport. */
export function createProxmoxClient(options: ProxmoxTransportOptions): ProxmoxClient {
  const transport = new ProxmoxTransport(options);
  return {
    api: apiProxy(transport),
    transport,
    scoped(stop, cut = stop) {
      const view = transport.scoped(stop, cut);
      return {
        api: apiProxy(view),
        transport: view,
        scoped: (otherStop, otherCut = otherStop) => this.scoped(AbortSignal.any([stop, otherStop]), AbortSignal.any([cut, otherCut])),
        close: () => undefined,
      };
    },
    close: () => transport.close(),
  };
}
