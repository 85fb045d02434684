import proxmoxApi, { type Proxmox } from 'proxmox-api';
import { ProxmoxTransport, type ProxmoxTransportOptions } from './transport.ts';

export interface ProxmoxClient {
  /** The typed `proxmox-api` proxy: `api.nodes.$(node).lxc.$(vmid).config.$get()`. */
  readonly api: Proxmox.Api;
  readonly transport: Pick<ProxmoxTransport, 'getEnvelope'>;
  /** This client bound to an abort signal (see ProxmoxTransport.scoped); closing it closes nothing. */
  scoped(signal: AbortSignal): ProxmoxClient;
  close(): void;
}

/** One client per PhoenixHypervisor: the `proxmox-api` proxy over Phoenix's own transport. */
export function createProxmoxClient(options: ProxmoxTransportOptions): ProxmoxClient {
  const transport = new ProxmoxTransport(options);
  return {
    api: proxmoxApi(transport),
    transport,
    scoped(signal) {
      const view = transport.scoped(signal);
      return { api: proxmoxApi(view), transport: view, scoped: (other) => this.scoped(AbortSignal.any([signal, other])), close: () => undefined };
    },
    close: () => transport.close(),
  };
}
