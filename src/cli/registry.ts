import type { Command } from './command.ts';

interface Entry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/** Every subcommand, in the order `phoenix --help` lists them. */
export const commands: Readonly<Record<string, Entry>> = {
  version: {
    summary: 'Print the Phoenix version and the API group it serves',
    load: async () => (await import('./commands/version.ts')).versionCommand,
  },
  cluster: {
    summary: 'Start or stop a local kube-apiserver and etcd for tests and the demo',
    load: async () => (await import('./commands/cluster.ts')).clusterCommand,
  },
  controller: {
    summary: 'Run the Phoenix controllers (watch, reconcile, serve /metrics and probes)',
    load: async () => (await import('./commands/controller.ts')).controllerCommand,
  },
  sim: {
    summary: 'Run a simulated Proxmox VE or Portainer API (phoenix sim proxmox|portainer) for trying Phoenix without a host',
    load: async () => (await import('./commands/sim.ts')).simCommand,
  },
  import: {
    summary: 'Turn a legacy Phoenix Hypervisor installation into Phoenix manifests and an import report',
    load: async () => (await import('./commands/import.ts')).importCommand,
  },
  demo: {
    summary: 'Run Phoenix locally against the Proxmox simulator and watch guests converge',
    load: async () => (await import('./commands/demo.ts')).demoCommand,
  },
};
