/**
 * A legacy installation with every field legacy-phoenix.md documents set at least once, main and
 * rootesting together (the dual-homed macvlan gateway, Swarm roles, the top-level firewall, the
 * VLAN and internal bridges). Used by the unit tests that account for every field, and by the
 * end-to-end test that has the API server admit what the import makes of it.
 */

export const hypervisor = {
  version: '1.0.0',
  author: 'ops',
  domain_name: 'lab.example',
  timezone: 'Europe/Berlin',
  users: { username: 'ops', password_hash: '$6$salt$c3VwZXJzZWNyZXQ', sudo_access: true, ssh_public_key: 'ssh-ed25519 AAAAC3Nza ops@lab' },
  core_paths: { lxc_config_file: '/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.json', hf_token_file: '/usr/local/phoenix_hypervisor/etc/hf.conf' },
  network: {
    external_registry_url: 'docker.io/ops',
    portainer_server_ip: '10.1.0.111',
    portainer_server_port: 9443,
    portainer_agent_port: 9001,
    interfaces: { name: 'vmbr0', address: '10.1.0.2/24', gateway: '10.1.0.1', dns_nameservers: ['10.1.0.153', '8.8.8.8'] },
    default_subnet: '10.1.0.0/24',
    nfs_server: '10.1.0.2',
    fallback_dns: '8.8.8.8',
    hostname: 'pve1',
    workgroup: 'LAB',
    public_bridge: 'vmbr0',
    macvlan_vlan_tag: 10,
    public_vlan_tag: 20,
    internal_bridge: { name: 'vmbr100', subnet: '172.16.100.0/24' },
  },
  docker: { portainer_server_image: 'portainer/portainer-ce:latest', portainer_agent_image: 'portainer/agent:latest' },
  nfs: { exports: [{ path: '/tank/shared', clients: ['10.1.0.111'], options: ['rw', 'sync'] }] },
  samba: { user: 'heads', shares: [{ name: 'shared', path: 'tank/shared', options: 'browseable=yes writable=yes', valid_users: ['heads'] }] },
  zfs: {
    arc_max_gb: 8,
    pools: [{ name: 'tank', raid_level: 'RAIDZ1', disks: ['/dev/disk/by-id/a', '/dev/disk/by-id/b', '/dev/disk/by-id/c'] }],
    datasets: [
      { name: 'vm-disks', pool: 'tank', properties: 'recordsize=16K', proxmox_storage_type: 'zfspool', proxmox_content_type: 'images,rootdir', storage_class: 'direct' },
      { name: 'iso', pool: 'tank', properties: 'recordsize=1M', proxmox_storage_type: 'dir', proxmox_content_type: 'iso,vztmpl', storage_class: 'shared' },
    ],
    settings: { allow_destructive_operations: false },
  },
  proxmox_storage_ids: { tank_vm_disks: 'tank-vm', quickos_vm: 'never-matches' },
  mount_point_base: '/mnt/pve',
  proxmox_defaults: { lxc: { cores: 2, memory_mb: 2048 } },
  tests: { system_validation: [{ name: 'Validate', type: 'script', path: 'hypervisor/validate.sh' }] },
  nvidia_driver: { install: true, version: '580.76.05', runfile_url: 'https://example.com/nvidia.run', cuda_version: '12.8', install_vllm_libs: true },
  behavior: { rollback_on_failure: false, debug_mode: true },
  shared_volumes: { models: { host_path: '/tank/models', mounts: { '950': '/models' } } },
  firewall: {
    enabled: true,
    default_input_policy: 'DROP',
    default_output_policy: 'ACCEPT',
    global_firewall_rules: [{ type: 'in', action: 'ACCEPT', proto: 'tcp', port: '22', source: '10.1.0.0/24', dest: '10.1.0.2', comment: 'SSH', iface: 'vmbr0', enabled: false }],
  },
  portainer_api: { admin_user: 'admin', admin_password: 'plaintext-admin-password', portainer_hostname: 'portainer.lab.example', api_key: 'ptr_plaintextkey' },
  vm_defaults: { ubuntu_release: 'noble' },
  dns_server: { enabled: true, upstream_servers: ['1.1.1.1'], authoritative_zones: [] },
  step_ca: { root_ca_name: 'Lab CA', intermediate_ca_name: 'Lab CA Intermediate', dns_name: 'ca.lab.example', provisioner_name: 'admin@lab.example' },
  shared_zfs_volumes: { scratch: { pool: 'tank', size_gb: 10 } },
};

export const rule = (port: string) => ({ type: 'in', action: 'ACCEPT', proto: 'tcp', source: '10.1.0.0/24', port, comment: `port ${port}` });

export const lxc = {
  $schema: '/usr/local/phoenix_hypervisor/etc/phoenix_lxc_configs.schema.json',
  nvidia_driver_version: '580.76.05',
  nvidia_repo_url: 'https://example.com/cuda',
  nvidia_runfile_url: 'https://example.com/nvidia.run',
  lxc_configs: {
    // rootesting: a template made from a vzdump archive.
    '200': {
      name: 'base', is_template: true, template: '/tank/iso/template/cache/debian-12.tar.zst', template_file: 'base-v1.tar.gz',
      memory_mb: 1024, cores: 1, storage_pool: 'tank-vm', storage_size_gb: 8, unprivileged: true,
      network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.1.0.20/24', gw: '10.1.0.1', nameservers: '10.1.0.2 1.1.1.1' },
      mac_address: '52:54:00:00:00:20',
    },
    // main: a base container built from the OS template, with lifecycle snapshots.
    '210': {
      name: 'builder', template: '/tank/iso/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst', template_snapshot_name: 'golden', enable_lifecycle_snapshots: true,
      memory_mb: 2048, cores: 2, storage_pool: 'tank-vm', storage_size_gb: 16, unprivileged: true,
      network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.1.0.21/24', gw: '10.1.0.1' },
    },
    // rootesting: the dual-homed macvlan gateway, and every other container field.
    '201': {
      name: 'gateway', clone_from_ctid: '210', memory_mb: 4096, cores: 4, swap_mb: 512, storage_pool: 'tank-vm', storage_size_gb: 32,
      network_config: { name: 'eth0', bridge: 'vmbr0.20', ip: 'dhcp', hwaddr: '02:00:00:00:01:01', nameserver: '10.1.0.2', nameservers: '8.8.8.8', type: 'macvlan', parent: 'vmbr0.20' },
      secondary_network_config: { name: 'eth1', bridge: 'vmbr100', ip: '172.16.100.10/24', gw: '172.16.100.1', hwaddr: '02:00:00:00:01:02', nameservers: '9.9.9.9' },
      mac_address: '02:00:00:00:01:01',
      unprivileged: true,
      features: ['base_setup', 'nvidia'],
      application_script: 'phoenix_hypervisor_lxc_201.sh',
      gpu_assignment: '0, 1',
      portainer_role: 'infrastructure',
      apparmor_profile: 'unconfined',
      apparmor_manages_nesting: true,
      pct_options: ['nesting=1,keyctl=1'],
      lxc_options: ['lxc.net.0.type: macvlan', 'lxc.net.0.macvlan.mode: bridge', 'lxc.net.0.link: vmbr0.20', 'lxc.mount.auto: sys:rw'],
      id_maps: [{ type: 'gid', host_id: 33, container_id: 33, size: 1 }],
      mount_points: [{ host_path: '/tank/lxc/201/logs', container_path: '/var/log/nginx', owner_uid: 33, owner_gid: 33 }],
      zfs_volumes: [{ name: 'models', pool: 'tank-vm', size_gb: 50, mount_point: '/models' }],
      volumes: [{ name: 'cache', pool: 'tank-vm', size_gb: 5, mount_point: '/cache' }],
      dependencies: ['300'],
      start_at_boot: true,
      boot_order: 2,
      boot_delay: 5,
      firewall: { enabled: true, rules: [rule('443')] },
      traefik_service: { name: 'gateway', port: 443, scheme: 'https' },
      ports: ['443:443'],
      vllm_engine_config: { ModelConfig: { model: 'org/model' }, ServerConfig: { port: 8000 } },
      health_check: { command: '/usr/local/phoenix_hypervisor/bin/health_checks/check_gateway.sh', retries: 5, interval: 10 },
      health_checks: [{ name: 'gateway', script: 'check_gateway.sh', args: '201' }],
      tests: { integration: [{ name: 'smoke', type: 'script', path: 'gateway/smoke.sh' }] },
      trigger_sync_on_completion: true,
      bootstrap_ca_url: 'https://172.16.100.11:9000',
      dns_records: [{ hostname: 'gw', ip: '10.1.0.22' }],
    },
  },
};

export const vm = {
  vm_defaults: { template: 'ubuntu-24.04-standard', cores: 2, memory_mb: 4096, disk_size_gb: 50, storage_pool: 'tank-vm', network_bridge: 'vmbr0' },
  vms: [
    {
      vmid: 9000, name: 'cloud-template', is_template: true, template_image: 'noble-server-cloudimg-amd64.img', template_snapshot_name: 'clean',
      network_config: { ip: 'dhcp', nameserver: '10.1.0.2' }, user_config: { username: 'phoenix_user' }, features: ['base_setup'], snapshots: { 'post-features': 'post' },
    },
    {
      vmid: 300, name: 'docker', clone_from_vmid: 9000, cores: 4, memory_mb: 8192, disk_size_gb: 64, storage_pool: 'tank-vm', network_bridge: 'vmbr0',
      qm_options: ['--numa 1'], count: 1, start_at_boot: true, boot_order: 1, boot_delay: 2, features: ['docker'],
      network_config: { ip: '10.1.0.30/24', gw: '10.1.0.1', nameserver: '10.1.0.2' }, user_config: { username: 'phoenix_user' },
      volumes: [{ type: 'nfs', name: 'persistent', path: '/tank/shared/300', mount_point: '/persistent', server: '10.1.0.2' }, { type: 'nfs', path: '/tank/stacks', mount_point: '/mnt/stacks', server: '10.1.0.2' }],
      snapshots: { 'pre-features': 'pre', 'post-features': 'post' },
      portainer_role: 'agent', portainer_environment_name: 'docker', portainer_agent_hostname: 'docker-agent.lab.example',
      docker_stacks: ['app', 'db'],
      traefik_service: { name: 'portainer-agent', port: 9001 },
      firewall: { enabled: true, rules: [rule('9001')], iptables_rules: ['-A INPUT -p tcp --dport 2377 -j ACCEPT'] },
      dns_records: [],
      dependencies: [],
      trigger_sync_on_completion: true,
      swarm_role: 'manager',
      node_labels: ['gpu=false'],
    },
  ],
};

export const stacks = {
  $schema: 'usr/local/phoenix_hypervisor/etc/phoenix_stacks_config.schema.json',
  docker_stacks: {
    app: {
      description: 'The app.',
      compose_file_path: 'stacks/app/docker-compose.yml',
      environments: {
        production: {
          variables: [{ name: 'API_TOKEN', value: 'plaintext-token' }, { name: 'PORT', value: '8080' }],
          files: [{ source: 'persistent-storage/app/prod.env', destination_in_container: '/app/.env' }],
          services: { web: { traefik_labels: ['traefik.enable=true', 'traefik.http.routers.app.rule=Host(`app.lab.example`)'] } },
        },
        staging: { variables: [{ name: 'PORT', value: '8081' }] },
      },
    },
  },
};

export const dbManifest = {
  description: 'A database.',
  environments: { production: { variables: [], files: [], services: {}, firewall_rules: [rule('5432')] } },
};

export const certificates = [
  { common_name: 'gw.lab.example', sans: ['gw.lab.example', '*.lab.example'], cert_path: '/tank/lxc/201/ssl/gw.crt', key_path: '/tank/lxc/201/ssl/gw.key', owner: 'root:www-data', permissions: '640', post_renewal_command: 'pct exec 201 -- systemctl reload nginx', guest_id: 201, guest_type: 'lxc', include_ca: true },
];

export const files = {
  'stacks/app/docker-compose.yml': 'services:\n  web:\n    image: app:1\n',
  'stacks/db/phoenix.json': JSON.stringify(dbManifest),
  'stacks/db/docker-compose.yml': 'services:\n  db:\n    image: postgres:16\n',
  'bin/lxc_setup/phoenix_hypervisor_feature_install_nvidia.sh': '#!/bin/bash\nsource /usr/local/phoenix_hypervisor/bin/phoenix_hypervisor_common_utils.sh\n',
  'bin/phoenix_hypervisor_common_utils.sh': '#!/bin/bash\n',
};
