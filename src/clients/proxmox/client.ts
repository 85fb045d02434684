import proxmoxApi, { type Proxmox } from 'proxmox-api';
import { ProxmoxTransport, type ProxmoxTransportOptions } from './transport.ts';

export interface ProxmoxClient {
  /** The typed `proxmox-api` proxy: `api.nodes.$(node).lxc.$(vmid).config.$get()`. */
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
    api: proxmoxApi(transport),
    transport,
    scoped(stop, cut = stop) {
      const view = transport.scoped(stop, cut);
      return {
        api: proxmoxApi(view),
        transport: view,
        scoped: (otherStop, otherCut = otherStop) => this.scoped(AbortSignal.any([stop, otherStop]), AbortSignal.any([cut, otherCut])),
        close: () => undefined,
      };
    },
    close: () => transport.close(),
  };
}
