// Issue 11: 30 full clones of one container template, apply → all running, against the ideal the
// simulator computes (a container clone locks its source, so clones of one template go one at a
// time). PHOENIX_BENCH_SPEED (default 4), PHOENIX_BENCH_SCALE (fraction of the 30, for quick runs).
import { runGuestsBench } from './support/guests.ts';

const count = Math.max(1, Math.round(30 * Number(process.env['PHOENIX_BENCH_SCALE'] ?? 1)));
await runGuestsBench({
  title: `${count} LXC full clones of one template`,
  seed: (sim) => sim.admin.addGuest({ type: 'lxc', vmid: 9100, config: { hostname: 'tmpl', memory: 512, ostype: 'debian', rootfs: 'local-lvm:base-9100-disk-0,size=4G', template: 1 } }),
  objects: Array.from({ length: count }, (_, i) => ({
    plural: 'phoenixlxcs' as const,
    name: `ct-${i}`,
    spec: { hypervisorRef: { name: 'bench' }, node: 'pve', source: { clone: { vmid: 9100, full: true, storage: 'local-lvm' } }, memory: '256M', networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: 'dhcp' }] },
  })),
  idealFactor: 1.15,
});
