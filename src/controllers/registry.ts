/**
 * The controllers `phoenix controller` runs: PhoenixHypervisor, PhoenixLXC, PhoenixVM and PhoenixStack,
 * built together so they share one connection per hypervisor, one VMID allocator and one set
 * of create limits (see docs/runtime.md, "Writing a controller").
 */
export { createPhoenixControllers as phoenixControllers } from './phoenix.ts';
