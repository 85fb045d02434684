import { strict as assert } from 'node:assert';
import { ImportContext } from '../../../src/import/context.ts';
import type { LegacyEstate } from '../../../src/import/legacy-validation.ts';
import type { MappedGuest } from '../../../src/import/map-lxc.ts';
import { planRootOnlySteps } from '../../../src/import/root-only-steps.ts';
import { host, options, runImport, tree, withExamples, H, L } from './support.ts';

const ct = (extra: Record<string, unknown>) => ({
  name: 'ct', memory_mb: 1024, cores: 1, storage_pool: 'tank-images', storage_size_gb: 8, unprivileged: true,
  network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.1.0.50/24', gw: '10.1.0.1' },
  ...extra,
});
const template = (extra: Record<string, unknown> = {}) => ct({ name: 'base', template: '/tank/iso/template/cache/debian-12-standard_12.7-1_amd64.tar.zst', template_snapshot_name: 'final-form', ...extra });
const nvidia = (gpu: number) => [`/dev/nvidia${gpu}`, '/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools'];
const devices = (paths: string[]) => paths.map((p, i) => `-dev${i} ${p},mode=0666`).join(' ');

/**
 * Expected commands are written from pve-container's `pct set` syntax and the legacy values:
 * `-mpN <host path>,mp=<container path>`, `-devN <path>,mode=0666`, `-features <flags>`.
 */
describe('import: what only root@pam may set, as a command to run once', () => {
  describe('the real files (main)', () => {
    const examples = withExamples();
    const step = (name: string) => examples().report.rootOnly.find((s) => s.name === name);

    it('lists the bind mounts and GPU containers, each with its command, and nothing else', () => {
      assert.deepEqual(examples().report.rootOnly.map((s) => `${s.kind} ${s.name} ${s.vmid}`), [
        'PhoenixLXC nginx-phoenix 101', 'PhoenixLXC traefik-internal 102', 'PhoenixLXC step-ca 103', 'PhoenixLXC granite-embedding 801', 'PhoenixLXC granite-3-3-8b-fp8 802',
        'PhoenixLXC copy-cuda12-8 901', 'PhoenixLXC copy-vllm-gpux2 910', 'PhoenixLXC copy-vllm-gpu0 911', 'PhoenixLXC copy-vllm-gpu1 912', 'PhoenixLXC ollama-gpu0 914', 'PhoenixLXC llamacpp-gpu0 917',
      ]);
      assert.equal(step('step-ca')!.command, 'pct set 103 -mp0 /mnt/pve/quickOS/lxc-persistent-data/103/ssl,mp=/etc/step-ca/ssl');
      assert.deepEqual(step('step-ca')!.options, [{ key: 'mp0', value: '/mnt/pve/quickOS/lxc-persistent-data/103/ssl,mp=/etc/step-ca/ssl', what: 'bind mount of a host directory' }]);
      assert.equal(step('step-ca')!.node, 'pve');
      assert.equal(step('nginx-phoenix')!.command, 'pct set 101 -mp0 /mnt/pve/quickOS/lxc-persistent-data/101/logs,mp=/var/log/nginx -mp1 /mnt/pve/quickOS/lxc-persistent-data/101/ssl,mp=/etc/nginx/ssl -mp2 /mnt/pve/quickOS/lxc-persistent-data/103/ssl,mp=/etc/step-ca/ssl');
      assert.equal(step('copy-cuda12-8')!.command, `pct set 901 ${devices(['/dev/nvidia0', '/dev/nvidia1', '/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools'])}`);
      // CT 101's nesting=1 is an unprivileged container's nesting: a token may set it.
      assert.ok(!step('nginx-phoenix')!.options.some((o) => o.key === 'features'));
    });

    it('also removes what a clone source may pass on: CT 911 (GPU 0) from CT 901 (GPUs 0 and 1) drops dev4', () => {
      assert.equal(step('copy-vllm-gpu0')!.command, `pct set 911 ${devices(nvidia(0))} -delete dev4`);
      assert.deepEqual(step('copy-vllm-gpu0')!.options.at(-1), { key: 'dev4', delete: true, what: 'device passthrough' });
      assert.equal(step('copy-vllm-gpu1')!.command, `pct set 912 ${devices(nvidia(1))} -delete dev4`);
      // CT 910 declares all five of CT 901's.
      assert.equal(step('copy-vllm-gpux2')!.command, `pct set 910 ${devices(['/dev/nvidia0', '/dev/nvidia1', '/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools'])}`);
      // CT 911 running keeps dev4 (deleted by root) pending until it restarts, and its clone CT 801 gets the config without pending changes.
      assert.equal(step('granite-embedding')!.command, `pct set 801 ${devices(nvidia(0))} -delete dev4`);
    });

    it('marks the legacy fields these come from, and leaves the others alone', () => {
      for (const path of ['/lxc_configs/103/mount_points/0/host_path', '/lxc_configs/801/gpu_assignment']) {
        const reason = examples().entry(L, path).reason!;
        assert.match(reason, /only allowed for root@pam/, path);
        assert.match(reason, /After you apply: once as root@pam/, path);
      }
      assert.doesNotMatch(examples().entry(L, '/lxc_configs/103/mount_points/0/container_path').reason ?? '', /root@pam/);
      assert.doesNotMatch(examples().entry(L, '/lxc_configs/101/pct_options/0').reason ?? '', /root@pam/);
    });

    it('says it in IMPORT-REPORT.md: a section with the commands, and a line in the summary', () => {
      const markdown = examples().files.get('IMPORT-REPORT.md')!;
      assert.match(markdown, /\*\*11 guests need a command run once as root@pam\*\*/);
      const section = markdown.slice(markdown.indexOf('## After you apply: once as root@pam'));
      assert.ok(section.length < markdown.length, 'no root@pam section');
      const commands = /```sh\n([^`]*)```/.exec(section)![1]!.trim().split('\n');
      assert.deepEqual(commands, examples().report.rootOnly.map((s) => s.command));
      assert.match(section, /\| PhoenixLXC copy-vllm-gpu0 \| 911 \| pve \| dev0, dev1, dev2, dev3, delete dev4 \| device passthrough \|/);
    });

    it('with --adopt, lists them with a note that the guest may have some already', () => {
      const adopted = runImport(tree({ [H]: host(), [L]: { lxc_configs: { '103': ct({ name: 'step-ca', clone_from_ctid: '900', mount_points: [{ host_path: '/tank/ssl', container_path: '/etc/step-ca/ssl' }] }), '900': template() } } }), { adopt: true });
      assert.deepEqual(adopted.report.rootOnly.map((s) => [s.command, s.note]), [['pct set 103 -mp0 /tank/ssl,mp=/etc/step-ca/ssl', 'an adopted guest may have some of these already: its RootOnly message names only what it lacks']]);
    });
  });

  describe('feature flags, classified as Proxmox does', () => {
    it('any flag of a privileged container, nesting included (lxc-manager made template containers privileged)', () => {
      const imported = runImport(tree({ [H]: host(), [L]: { lxc_configs: { '130': template({ name: 'priv', unprivileged: undefined, pct_options: ['nesting=1'] }) } } }));
      assert.equal(imported.object('PhoenixLXC', 'priv').spec.unprivileged, false);
      assert.deepEqual(imported.report.rootOnly.map((s) => [s.command, s.options.map((o) => o.what)]), [['pct set 130 -features nesting=1', ['feature flags of a privileged container']]]);
      assert.match(imported.entry(L, '/lxc_configs/130/pct_options/0').reason!, /only allowed for root@pam/);
    });

    it('flags other than nesting of an unprivileged one; nesting alone is a token\'s to set', () => {
      const imported = runImport(tree({ [H]: host(), [L]: { lxc_configs: { '131': template({ name: 'keyctl', pct_options: ['nesting=1', 'keyctl=1'] }), '132': template({ name: 'nesting', pct_options: ['nesting=1'] }) } } }));
      assert.deepEqual(imported.report.rootOnly.map((s) => [s.name, s.command, s.options.map((o) => o.what)]), [['keyctl', 'pct set 131 -features keyctl=1,nesting=1', ['feature flags other than nesting']]]);
      // Both legacy lines make up the one option Proxmox refuses.
      for (const i of [0, 1]) assert.match(imported.entry(L, `/lxc_configs/131/pct_options/${i}`).reason!, /only allowed for root@pam/);
      assert.equal(imported.entry(L, '/lxc_configs/132/pct_options/0').reason, undefined);
    });

    it('a clone is privileged when its source is, whatever its own unprivileged says (Proxmox copies it)', () => {
      const imported = runImport(tree({
        [H]: host(),
        [L]: { lxc_configs: { '900': template({ unprivileged: undefined }), '140': ct({ name: 'clone', clone_from_ctid: '900', unprivileged: true, pct_options: ['nesting=1'] }) } },
      }));
      assert.deepEqual(imported.report.rootOnly.map((s) => [s.name, s.command]), [['clone', 'pct set 140 -features nesting=1']]);
    });
  });

  describe('clones of a source\'s current state (no snapshot)', () => {
    const source = template({ name: 'gpu', template_snapshot_name: undefined, gpu_assignment: '0' });

    it('get root\'s options from the source, which is Ready (root has run its step) before it is cloned', () => {
      const imported = runImport(tree({ [H]: host(), [L]: { lxc_configs: { '900': source, '150': ct({ name: 'same', clone_from_ctid: '900', gpu_assignment: '0' }), '151': ct({ name: 'other', clone_from_ctid: '900', gpu_assignment: '1' }) } } }));
      assert.equal(imported.object('PhoenixLXC', 'same').spec.source.clone.snapshot, undefined);
      assert.deepEqual(imported.report.rootOnly.map((s) => s.command), [`pct set 151 -dev0 /dev/nvidia1,mode=0666`, `pct set 900 ${devices(nvidia(0))}`]);
    });
  });

  describe('VMs', () => {
    it('raw host PCI and USB devices need root; a cluster mapping does not', () => {
      const ctx = new ImportContext(options, { hypervisor: {} } as unknown as LegacyEstate, tree({}));
      const vm = (name: string, vmid: number, extra: Record<string, unknown>): MappedGuest => ({
        ref: { kind: 'PhoenixVM', name }, file: 'phoenix_vm_configs.json', base: `/vms/${vmid}`,
        spec: { hypervisorRef: { name: 'pve' }, node: 'pve', vmid, source: { blank: {} }, ...extra },
      });
      planRootOnlySteps(ctx, [
        vm('gpu', 300, { pciDevices: [{ host: '0000:01:00.0', pcie: true }], usbDevices: [{ mapping: 'dongle' }, { host: '046d:c52b' }] }),
        vm('mapped', 301, { pciDevices: [{ mapping: 'gpu0' }] }),
      ]);
      assert.deepEqual(ctx.report.rootOnly.map((s) => [s.command, s.options.map((o) => o.what)]), [['qm set 300 -hostpci0 0000:01:00.0,pcie=1 -usb1 046d:c52b', ['PCI passthrough of a host device', 'USB passthrough of a host device']]]);
    });
  });
});
