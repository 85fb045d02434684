// Issue 11: 10 clones of one VM template, apply → all running, against the ideal the simulator
// computes (clones of a stopped VM share its config lock, so they may all run at once).
// PHOENIX_BENCH_SPEED (default 4), PHOENIX_BENCH_SCALE (fraction of the 10).
import { runGuestsBench } from './support/guests.ts';

const count = Math.max(1, Math.round(10 * Number(process.env['PHOENIX_BENCH_SCALE'] ?? 1)));
await runGuestsBench({
  title: `${count} VM clones of one template`,
  seed: (sim) => sim.admin.addGuest({ type: 'qemu', vmid: 9000, config: { name: 'tmpl', memory: 512, scsi0: 'local-lvm:base-9000-disk-0,size=8G', template: 1 } }),
  objects: Array.from({ length: count }, (_, i) => ({
    plural: 'phoenixvms' as const,
    name: `vm-${i}`,
    spec: { hypervisorRef: { name: 'bench' }, node: 'pve', source: { clone: { vmid: 9000 } }, cores: 2, memory: '512M' },
  })),
  idealFactor: 1.15,
});
