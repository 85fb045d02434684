// Proxmox simulator throughput: config reads and task-status polls per second over
// keep-alive HTTP with token auth, the simulator in this process (as Phoenix's tests
// and benchmarks run it). Target (issue 3): >= 2,000 config reads/s on the 2-core box,
// so the simulator is never the bottleneck of Phoenix's own benchmarks.
import { request, Agent } from 'node:http';
import { startProxmoxSimulator } from '../src/sim/proxmox/index.ts';
import { Verdict } from './support/verdict.ts';

const DURATION_MS = 3000;
const CONCURRENCY = 8;

const sim = await startProxmoxSimulator({ clock: 'manual', seed: 1 });
for (let i = 0; i < 50; i++) {
  sim.admin.addGuest({
    type: i % 2 === 0 ? 'qemu' : 'lxc', vmid: 100 + i,
    config: i % 2 === 0
      ? { name: `vm-${i}`, memory: '2048', cores: 2, net0: 'virtio,bridge=vmbr0', scsi0: `local-lvm:vm-${100 + i}-disk-0,size=16G`, tags: 'bench;web' }
      : { hostname: `ct-${i}`, memory: 512, net0: 'name=eth0,bridge=vmbr0,ip=dhcp', rootfs: `local-lvm:vm-${100 + i}-disk-0,size=4G` },
  });
}
// Long-running tasks so every poll reads a live task.
const upids: string[] = [];
for (let i = 0; i < 10; i++) {
  const g = sim.admin.guest(100 + i * 2)!;
  upids.push(sim.simulator.startTask({ node: 'pve', type: 'qmsnapshot', id: g.vmid, subject: { userid: 'root@pam', via: 'token' }, durationMs: 1e9, finish: () => {} }).upid);
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const { port } = sim;
const headers = { Authorization: sim.token.header };

function get(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/api2/json${path}`, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function measure(label: string, pathFor: (i: number) => string): Promise<number> {
  let done = 0;
  const until = performance.now() + DURATION_MS;
  const worker = async (w: number) => {
    for (let i = w; performance.now() < until; i += CONCURRENCY) {
      await get(pathFor(i));
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  const rate = done / ((performance.now() - started) / 1000);
  console.log(`${label.padEnd(28)} ${Math.round(rate).toLocaleString('en-US').padStart(7)} requests/s  (${done} in ${DURATION_MS / 1000} s, ${CONCURRENCY} in flight)`);
  return rate;
}

await measure('warm-up', (i) => `/nodes/pve/qemu/${100 + (i % 25) * 2}/config`);
const configReads = await measure('config reads (qemu+lxc)', (i) => `/nodes/pve/${i % 2 === 0 ? 'qemu' : 'lxc'}/${100 + (i % 50)}/config`);
const taskPolls = await measure('task-status polls', (i) => `/nodes/pve/tasks/${encodeURIComponent(upids[i % upids.length]!)}/status`);
await measure('cluster/resources (50 guests)', () => '/cluster/resources');
const verdict = new Verdict();
verdict.check('config reads', `${Math.round(configReads).toLocaleString('en-US')}/s`, '≥ 2,000/s', configReads >= 2000);
verdict.note('task-status polls', `${Math.round(taskPolls).toLocaleString('en-US')}/s`);
agent.destroy();
await sim.close();
verdict.finish('Proxmox simulator throughput');
