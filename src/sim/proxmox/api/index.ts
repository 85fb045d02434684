/** Every endpoint the simulator serves; the conformance test walks this list. */
import type { Endpoint } from '../endpoint.ts';
import { clusterEndpoints } from './cluster.ts';
import { lxcEndpoints } from './lxc.ts';
import { qemuEndpoints } from './qemu.ts';
import { storageEndpoints } from './storage.ts';
import { ociEndpoints } from './oci.ts';
import { poolEndpoints } from './pools.ts';
import { networkEndpoints } from './network.ts';
import { firewallEndpoints } from './firewall.ts';
import { accessEndpoints } from './access.ts';
import { diskEndpoints } from './disks.ts';
import { guestExtraEndpoints } from './guest-extras.ts';
import { accessAdminEndpoints } from './access-admin.ts';
import { nodePowerEndpoints } from './node-power.ts';
import { clusterAdminEndpoints } from './cluster-admin.ts';
import { startVm } from './qemu.ts';
import { startContainer } from './lxc.ts';

export const endpoints: readonly Endpoint[] = [
  ...clusterEndpoints, ...lxcEndpoints, ...qemuEndpoints, ...storageEndpoints, ...ociEndpoints, ...poolEndpoints, ...networkEndpoints, ...firewallEndpoints, ...accessEndpoints, ...accessAdminEndpoints, ...diskEndpoints, ...nodePowerEndpoints, ...clusterAdminEndpoints,
  ...guestExtraEndpoints((sim, g) => startVm(sim, g, true), startContainer),
];
