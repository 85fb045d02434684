/**
 * What a guest uses of its host's configuration: its pool, its storages, the volume it is made
 * from, its node's network. While a PhoenixHypervisor is still applying host configuration
 * (status.hostPending lists the items not done yet), a guest waits only for the items it uses,
 * so a long ISO download does not hold every container on the host.
 */

export interface HostNeeds {
  readonly node: string;
  /** Names that appear as words of a host item: pool and storage ids, volume ids, bridges. */
  readonly names: ReadonlySet<string>;
  readonly usesNetwork: boolean;
}

interface GuestSpecLike {
  readonly node: string;
  readonly pool?: string;
  readonly networks?: readonly { readonly bridge?: string }[];
}

/** Every value of a `storage` key anywhere in the spec: root disk, disks, mount points, cloud-init, clone target. */
function storagesIn(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) storagesIn(v, into);
  } else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'storage' && typeof v === 'string') into.add(v);
      else storagesIn(v, into);
    }
  }
}

export function hostNeeds(spec: GuestSpecLike, sourceVolume?: string): HostNeeds {
  const names = new Set<string>();
  if (spec.pool) names.add(spec.pool);
  storagesIn(spec, names);
  if (sourceVolume) {
    names.add(sourceVolume);
    names.add(sourceVolume.split(':')[0]!);
  }
  for (const net of spec.networks ?? []) if (net.bridge) names.add(net.bridge);
  return { node: spec.node, names, usesNetwork: (spec.networks ?? []).length > 0 };
}

/**
 * The pending host items this guest must wait for. An item names what it is about in words
 * (`pool ai`, `storage tank`, `download local:iso/x.iso on node pve`, `network interface vmbr1
 * on node pve`); it blocks a guest when one of those words is a name the guest uses. A reload of
 * its node's network (`network of node pve`) blocks every guest with a NIC on that node. A
 * wrong match only makes a guest wait, as it did before host items were told apart.
 */
export function blockingHostItems(pending: readonly string[], needs: HostNeeds): string[] {
  return pending.filter((item) => {
    if (needs.usesNetwork && item === `network of node ${needs.node}`) return true;
    return item.split(/\s+/).some((word) => needs.names.has(word));
  });
}
