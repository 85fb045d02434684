import { strict as assert } from 'node:assert';
import { leafPaths, resolveField, under } from '../../support/legacy.ts';
import { runImport, tree, H, L, V, S } from './support.ts';
import { certificates, dbManifest, files, hypervisor, lxc, stacks, vm } from '../../support/legacy-variants.ts';

/**
 * Every field legacy-phoenix.md documents, main and rootesting, set at least once, with the
 * outcome the notes lead to: mapped (and then present in the manifest named), a provisioning
 * step, host setup for a person, or not mapped. The expectations are written from the notes;
 * a field the importer does not account for, or accounts for differently, fails here.
 */

/** Longest matching prefix decides; every prefix must match a field. */
const expected: Record<string, Record<string, string>> = {
  [H]: {
    '/version': 'not-mapped', '/author': 'not-mapped', '/domain_name': 'mapped', '/timezone': 'mapped',
    '/users/username': 'mapped', '/users/password_hash': 'not-mapped', '/users/sudo_access': 'host-setup', '/users/ssh_public_key': 'host-setup',
    '/core_paths': 'not-mapped',
    '/network/external_registry_url': 'not-mapped', '/network/portainer_server_ip': 'mapped', '/network/portainer_server_port': 'mapped', '/network/portainer_agent_port': 'not-mapped',
    '/network/interfaces/name': 'mapped', '/network/interfaces/address': 'mapped', '/network/interfaces/gateway': 'mapped', '/network/interfaces/dns_nameservers': 'not-mapped',
    '/network/default_subnet': 'not-mapped', '/network/nfs_server': 'mapped', '/network/fallback_dns': 'not-mapped', '/network/hostname': 'mapped', '/network/workgroup': 'host-setup',
    '/network/public_bridge': 'mapped', '/network/macvlan_vlan_tag': 'mapped', '/network/public_vlan_tag': 'mapped', '/network/internal_bridge/name': 'mapped', '/network/internal_bridge/subnet': 'mapped',
    '/docker': 'not-mapped',
    '/nfs/exports/0/path': 'mapped', '/nfs/exports/0/clients': 'host-setup', '/nfs/exports/0/options': 'host-setup',
    '/samba': 'host-setup',
    '/zfs/arc_max_gb': 'host-setup', '/zfs/pools/0': 'mapped', '/zfs/settings': 'not-mapped',
    '/zfs/datasets/0': 'mapped', '/zfs/datasets/0/properties': 'host-setup', '/zfs/datasets/0/storage_class': 'not-mapped',
    '/zfs/datasets/1': 'mapped', '/zfs/datasets/1/properties': 'host-setup', '/zfs/datasets/1/storage_class': 'not-mapped',
    '/proxmox_storage_ids/tank_vm_disks': 'mapped', '/proxmox_storage_ids/quickos_vm': 'not-mapped',
    '/mount_point_base': 'not-mapped', '/proxmox_defaults': 'not-mapped', '/tests': 'provisioning', '/nvidia_driver': 'host-setup', '/behavior': 'not-mapped',
    '/shared_volumes': 'not-mapped', '/firewall': 'mapped',
    '/portainer_api/admin_user': 'not-mapped', '/portainer_api/admin_password': 'not-mapped', '/portainer_api/portainer_hostname': 'not-mapped', '/portainer_api/api_key': 'mapped',
    '/vm_defaults/ubuntu_release': 'mapped', '/dns_server/enabled': 'host-setup', '/dns_server/upstream_servers': 'mapped', '/dns_server/authoritative_zones': 'host-setup',
    '/step_ca': 'not-mapped', '/shared_zfs_volumes': 'not-mapped',
  },
  [L]: {
    '/$schema': 'not-mapped', '/nvidia_driver_version': 'provisioning', '/nvidia_repo_url': 'provisioning', '/nvidia_runfile_url': 'provisioning',
    '/lxc_configs/200': 'mapped', '/lxc_configs/200/template': 'not-mapped',
    '/lxc_configs/210': 'mapped',
    '/lxc_configs/201': 'mapped',
    '/lxc_configs/201/lxc_options': 'not-mapped',
    '/lxc_configs/201/features': 'provisioning', '/lxc_configs/201/application_script': 'provisioning', '/lxc_configs/201/vllm_engine_config': 'provisioning',
    '/lxc_configs/201/health_check': 'provisioning', '/lxc_configs/201/health_checks': 'provisioning', '/lxc_configs/201/tests': 'provisioning', '/lxc_configs/201/bootstrap_ca_url': 'provisioning',
    '/lxc_configs/201/portainer_role': 'not-mapped', '/lxc_configs/201/apparmor_profile': 'host-setup', '/lxc_configs/201/apparmor_manages_nesting': 'host-setup', '/lxc_configs/201/id_maps': 'host-setup',
    '/lxc_configs/201/mount_points/0/owner_uid': 'host-setup', '/lxc_configs/201/mount_points/0/owner_gid': 'host-setup',
    '/lxc_configs/201/zfs_volumes/0/name': 'not-mapped', '/lxc_configs/201/volumes/0/name': 'not-mapped',
    '/lxc_configs/201/traefik_service': 'not-mapped', '/lxc_configs/201/ports': 'not-mapped', '/lxc_configs/201/trigger_sync_on_completion': 'not-mapped', '/lxc_configs/201/dns_records': 'not-mapped',
    '/lxc_configs/201/mac_address': 'not-mapped',
    '/lxc_configs/201/network_config/nameservers': 'not-mapped', '/lxc_configs/201/secondary_network_config/nameservers': 'not-mapped',
  },
  [V]: {
    '/vm_defaults/template': 'not-mapped', '/vm_defaults/cores': 'mapped', '/vm_defaults/memory_mb': 'mapped', '/vm_defaults/disk_size_gb': 'not-mapped', '/vm_defaults/storage_pool': 'mapped', '/vm_defaults/network_bridge': 'mapped',
    '/vms/0': 'mapped', '/vms/0/template_snapshot_name': 'not-mapped', '/vms/0/features': 'provisioning', '/vms/0/snapshots': 'not-mapped',
    '/vms/1': 'mapped',
    '/vms/1/qm_options': 'not-mapped', '/vms/1/count': 'not-mapped', '/vms/1/features': 'provisioning', '/vms/1/volumes': 'provisioning',
    '/vms/1/portainer_role': 'not-mapped', '/vms/1/portainer_agent_hostname': 'not-mapped', '/vms/1/traefik_service': 'not-mapped',
    '/vms/1/firewall/iptables_rules': 'provisioning', '/vms/1/dns_records': 'not-mapped', '/vms/1/dependencies': 'not-mapped', '/vms/1/trigger_sync_on_completion': 'not-mapped',
    '/vms/1/swarm_role': 'provisioning', '/vms/1/node_labels': 'provisioning',
  },
  [S]: {
    '/$schema': 'not-mapped',
    '/docker_stacks/app': 'mapped',
    '/docker_stacks/app/environments/production/files': 'not-mapped',
    '/docker_stacks/app/environments/staging': 'mapped',
  },
  'stacks/db/phoenix.json': {
    '/description': 'mapped', '/environments/production/variables': 'not-mapped', '/environments/production/files': 'not-mapped', '/environments/production/services': 'not-mapped', '/environments/production/firewall_rules': 'mapped',
  },
  'certificate-manifest.json': { '/0': 'host-setup' },
};

describe('import: every documented legacy field, main and rootesting', () => {
  const imported = runImport(tree({ [H]: hypervisor, [L]: lxc, [V]: vm, [S]: stacks, 'certificate-manifest.json': certificates }, files));
  const inputs: Record<string, unknown> = { [H]: hypervisor, [L]: lxc, [V]: vm, [S]: stacks, 'stacks/db/phoenix.json': dbManifest, 'certificate-manifest.json': certificates };

  for (const [file, json] of Object.entries(inputs)) {
    it(`accounts for every field of ${file} as the notes say`, () => {
      const table = expected[file]!;
      const leaves = leafPaths(json);
      const got: string[] = [];
      const want: string[] = [];
      for (const leaf of leaves) {
        const key = Object.keys(table).filter((k) => under(leaf, k)).sort((a, b) => b.length - a.length)[0];
        assert.ok(key !== undefined, `${file} ${leaf}: no expectation written`);
        got.push(`${leaf} ${imported.outcome(file, leaf)}`);
        want.push(`${leaf} ${table[key]}`);
      }
      assert.deepEqual(got, want);
      for (const key of Object.keys(table)) assert.ok(leaves.some((l) => under(l, key)), `expectation ${key} matches no field`);
    });
  }

  it('finds every mapped field in the manifest it names', () => {
    const objects = new Map<string, unknown>();
    for (const o of imported.report.objects) objects.set(`${o.kind}/${o.name}`, imported.object(o.kind, o.name));
    for (const e of imported.report.entries.filter((x) => x.outcome === 'mapped')) {
      for (const t of e.targets ?? []) {
        const value = resolveField(objects.get(`${t.kind}/${t.name}`), t.field);
        assert.notEqual(value, undefined, `${e.file} ${e.path} → ${t.kind} ${t.name} ${t.field}`);
      }
    }
  });

  it('flags every plaintext secret as exposed, and copies none of them', () => {
    const exposed = imported.report.entries.filter((e) => e.exposed).map((e) => `${e.file} ${e.path}`).sort();
    assert.deepEqual(exposed, [
      `${H} /portainer_api/admin_password`,
      `${H} /portainer_api/api_key`,
      `${H} /samba/user`,
      `${H} /users/password_hash`,
      `${S} /docker_stacks/app/environments/production/variables/0`,
    ]);
    for (const [path, text] of imported.files) {
      for (const secret of ['plaintext-admin-password', 'ptr_plaintextkey', 'plaintext-token', 'c3VwZXJzZWNyZXQ']) assert.ok(!text.includes(secret), `${path} contains ${secret}`);
    }
  });
});
