import proxmoxApi, { type Proxmox } from 'proxmox-api';
import { ProxmoxTransport, type ProxmoxTransportOptions } from './transport.ts';

export interface ProxmoxClient {
  /** The typed `proxmox-api` proxy: `api.nodes.$(node).lxc.$(vmid).config.$get()`. */
  readonly api: Proxmox.Api;
  readonly transport: ProxmoxTransport;
  close(): void;
}

/** One client per PhoenixHypervisor: the `proxmox-api` proxy over Phoenix's own transport. */
export function createProxmoxClient(options: ProxmoxTransportOptions): ProxmoxClient {
  const transport = new ProxmoxTransport(options);
  return { api: proxmoxApi(transport), transport, close: () => transport.close() };
}
