import type { SchemaObject } from 'ajv';

/**
 * The legacy Phoenix Hypervisor files as the importer reads them: a TypeScript type and a
 * JSON Schema per file, written from the fields the legacy tool documents and reads (main and
 * the rootesting branch). The schemas check only what the mapping relies on (types, and the
 * few fields it cannot do without); a field they do not name still passes and, unless a mapping
 * claims it, is listed in the report as unknown. The legacy tool's own schemas, shipped beside
 * the files, are checked as well (legacy-validation.ts).
 */

export const legacyFiles = {
  hypervisor: 'phoenix_hypervisor_config.json',
  lxc: 'phoenix_lxc_configs.json',
  vm: 'phoenix_vm_configs.json',
  stacks: 'phoenix_stacks_config.json',
  certificates: 'certificate-manifest.json',
} as const;

export interface LegacyRule {
  type: 'in' | 'out';
  action: string;
  proto?: string;
  source?: string;
  dest?: string;
  port?: string;
  comment?: string;
  iface?: string;
  /** rootesting: rules switched off during the macvlan migration. */
  enabled?: boolean;
}

export interface LegacyGuestFirewall {
  enabled: boolean;
  rules?: LegacyRule[];
  /** rootesting (VMs): raw iptables rules run inside the guest. */
  iptables_rules?: unknown[];
}

export interface LegacyHostFirewall {
  enabled?: boolean;
  default_input_policy?: string;
  default_output_policy?: string;
  global_firewall_rules?: LegacyRule[];
}

export interface LegacyTraefikService {
  name: string;
  port: number;
  scheme?: string;
}

export interface LegacyScriptRef {
  name: string;
  type: string;
  path: string;
}

export interface LegacyHypervisorConfig {
  version?: string;
  author?: string;
  domain_name?: string;
  timezone?: string;
  users?: { username: string; password_hash?: string; sudo_access?: boolean; ssh_public_key?: string };
  core_paths?: Record<string, string>;
  network?: {
    external_registry_url?: string;
    portainer_server_ip?: string;
    portainer_server_port?: number;
    portainer_agent_port?: number;
    interfaces?: { name: string; address?: string; gateway?: string; dns_nameservers?: string[] };
    default_subnet?: string;
    nfs_server?: string;
    fallback_dns?: string;
    hostname?: string;
    workgroup?: string;
    public_bridge?: string;
    macvlan_vlan_tag?: number;
    public_vlan_tag?: number;
    internal_bridge?: { name: string; subnet?: string };
  };
  docker?: { portainer_server_image?: string; portainer_agent_image?: string };
  nfs?: { exports?: { path: string; clients?: string[]; options?: string[] }[] };
  samba?: { user?: string; shares?: { name: string; path: string; options?: string; valid_users?: string[] }[] };
  zfs?: {
    arc_max_gb?: number;
    pools?: { name: string; raid_level: string; disks: string[] }[];
    datasets?: { name: string; pool: string; properties?: string; proxmox_storage_type?: string; proxmox_content_type?: string; storage_class?: string }[];
    settings?: Record<string, unknown>;
  };
  proxmox_storage_ids?: Record<string, string>;
  mount_point_base?: string;
  proxmox_defaults?: Record<string, unknown>;
  tests?: Record<string, LegacyScriptRef[]>;
  nvidia_driver?: Record<string, unknown>;
  behavior?: Record<string, unknown>;
  /** main nests the host firewall here, under the key `firewall`; every other key is a volume. */
  shared_volumes?: Record<string, { host_path: string; mounts?: Record<string, string> } | LegacyHostFirewall>;
  firewall?: LegacyHostFirewall;
  portainer_api?: { admin_user?: string; admin_password?: string; portainer_hostname?: string; api_key?: string | null };
  vm_defaults?: { ubuntu_release?: string };
  dns_server?: { enabled?: boolean; upstream_servers?: string[]; authoritative_zones?: unknown[] };
  step_ca?: Record<string, unknown>;
  shared_zfs_volumes?: Record<string, unknown>;
}

export interface LegacyLxcNetwork {
  name?: string;
  bridge?: string;
  ip?: string;
  gw?: string;
  /** Space- or comma-separated, as `pct --nameserver` takes it. */
  nameservers?: string;
  /** rootesting: one server that overrides `nameservers`. */
  nameserver?: string;
  /** rootesting */
  type?: 'bridge' | 'macvlan';
  parent?: string;
  hwaddr?: string;
}

export interface LegacyVolume {
  name?: string;
  pool: string;
  size_gb: number;
  mount_point: string;
}

export interface LegacyLxc {
  name: string;
  memory_mb?: number;
  cores?: number;
  swap_mb?: number;
  template?: string;
  template_file?: string;
  clone_from_ctid?: string;
  template_snapshot_name?: string;
  is_template?: boolean;
  storage_pool?: string;
  storage_size_gb?: number;
  network_config?: LegacyLxcNetwork;
  secondary_network_config?: LegacyLxcNetwork;
  mac_address?: string;
  unprivileged?: boolean;
  features?: string[];
  application_script?: string;
  gpu_assignment?: string;
  portainer_role?: string;
  apparmor_profile?: string;
  apparmor_manages_nesting?: boolean;
  pct_options?: string[];
  lxc_options?: string[];
  id_maps?: { type: string; host_id: number; container_id: number; size: number }[];
  mount_points?: { host_path: string; container_path: string; owner_uid?: number; owner_gid?: number }[];
  zfs_volumes?: LegacyVolume[];
  volumes?: LegacyVolume[];
  dependencies?: string[];
  start_at_boot?: boolean;
  boot_order?: number;
  boot_delay?: number;
  enable_lifecycle_snapshots?: boolean;
  firewall?: LegacyGuestFirewall;
  traefik_service?: LegacyTraefikService;
  ports?: string[];
  vllm_engine_config?: Record<string, unknown>;
  health_check?: { command: string; retries?: number; interval?: number };
  health_checks?: { name?: string; script: string; args?: string }[];
  tests?: Record<string, LegacyScriptRef[]>;
  trigger_sync_on_completion?: boolean;
  bootstrap_ca_url?: string;
  dns_records?: unknown[];
}

export interface LegacyLxcFile {
  $schema?: string;
  nvidia_driver_version?: string;
  nvidia_repo_url?: string;
  nvidia_runfile_url?: string;
  lxc_configs: Record<string, LegacyLxc>;
}

export interface LegacyVm {
  vmid: number;
  name: string;
  is_template?: boolean;
  template_image?: string;
  clone_from_vmid?: number;
  template_snapshot_name?: string;
  cores?: number;
  memory_mb?: number;
  disk_size_gb?: number;
  storage_pool?: string;
  network_bridge?: string;
  qm_options?: string[];
  count?: number;
  start_at_boot?: boolean;
  boot_order?: number;
  boot_delay?: number;
  features?: string[];
  network_config?: { ip: string; gw?: string; nameserver?: string };
  user_config?: { username: string };
  volumes?: { type: string; name?: string; path: string; mount_point: string; server: string }[];
  snapshots?: { 'pre-features'?: string; 'post-features'?: string };
  portainer_role?: string;
  portainer_environment_name?: string;
  portainer_agent_hostname?: string;
  docker_stacks?: string[];
  traefik_service?: LegacyTraefikService;
  firewall?: LegacyGuestFirewall;
  dns_records?: unknown[];
  dependencies?: string[];
  trigger_sync_on_completion?: boolean;
  /** rootesting */
  swarm_role?: string;
  node_labels?: string[];
}

export interface LegacyVmFile {
  vm_defaults?: { template?: string; cores?: number; memory_mb?: number; disk_size_gb?: number; storage_pool?: string; network_bridge?: string };
  vms: LegacyVm[];
}

export interface LegacyStackEnvironment {
  variables?: { name: string; value: string }[];
  files?: { source: string; destination_in_container: string }[];
  services?: Record<string, { traefik_labels?: string[] }>;
  firewall_rules?: LegacyRule[];
}

export interface LegacyStack {
  description?: string;
  compose_file_path?: string;
  environments?: Record<string, LegacyStackEnvironment>;
}

export interface LegacyStacksFile {
  $schema?: string;
  docker_stacks: Record<string, LegacyStack>;
}

export interface LegacyCertificate {
  common_name: string;
  sans?: string[];
  cert_path?: string;
  key_path?: string;
  owner?: string;
  permissions?: string;
  post_renewal_command?: string;
  guest_id?: number;
  guest_type?: string;
  include_ca?: boolean;
}

// The importer's schemas. `additionalProperties` is left open on purpose: unknown fields are
// reported, not refused.
const str: SchemaObject = { type: 'string' };
const int: SchemaObject = { type: 'integer' };
const bool: SchemaObject = { type: 'boolean' };
const strings: SchemaObject = { type: 'array', items: str };
const anyObject: SchemaObject = { type: 'object' };
const arr = (items: SchemaObject): SchemaObject => ({ type: 'array', items });
const obj = (properties: Record<string, SchemaObject>, required: string[] = []): SchemaObject => ({ type: 'object', properties, required });
const dict = (values: SchemaObject): SchemaObject => ({ type: 'object', additionalProperties: values });

const rule = obj({ type: { enum: ['in', 'out'] }, action: str, proto: str, source: str, dest: str, port: str, comment: str, iface: str, enabled: bool }, ['type', 'action']);
const hostFirewall = obj({ enabled: bool, default_input_policy: str, default_output_policy: str, global_firewall_rules: arr(rule) });
const guestFirewall = obj({ enabled: bool, rules: arr(rule), iptables_rules: { type: 'array' } }, ['enabled']);
const traefikService = obj({ name: str, port: int, scheme: str }, ['name', 'port']);
const scriptRefs = dict(arr(obj({ name: str, type: str, path: str }, ['path'])));

export const hypervisorShape: SchemaObject = obj({
  version: str,
  author: str,
  domain_name: str,
  timezone: str,
  users: obj({ username: str, password_hash: str, sudo_access: bool, ssh_public_key: str }, ['username']),
  core_paths: dict(str),
  network: obj({
    external_registry_url: str,
    portainer_server_ip: str,
    portainer_server_port: int,
    portainer_agent_port: int,
    interfaces: obj({ name: str, address: str, gateway: str, dns_nameservers: strings }, ['name']),
    default_subnet: str,
    nfs_server: str,
    fallback_dns: str,
    hostname: str,
    workgroup: str,
    public_bridge: str,
    macvlan_vlan_tag: int,
    public_vlan_tag: int,
    internal_bridge: obj({ name: str, subnet: str }, ['name']),
  }),
  docker: obj({ portainer_server_image: str, portainer_agent_image: str }),
  nfs: obj({ exports: arr(obj({ path: str, clients: strings, options: strings }, ['path'])) }),
  samba: obj({ user: str, shares: arr(obj({ name: str, path: str, options: str, valid_users: strings }, ['name', 'path'])) }),
  zfs: obj({
    arc_max_gb: { type: 'number' },
    pools: arr(obj({ name: str, raid_level: str, disks: strings }, ['name', 'raid_level', 'disks'])),
    datasets: arr(obj({ name: str, pool: str, properties: str, proxmox_storage_type: str, proxmox_content_type: str, storage_class: str }, ['name', 'pool'])),
    settings: anyObject,
  }),
  proxmox_storage_ids: dict(str),
  mount_point_base: str,
  proxmox_defaults: anyObject,
  tests: scriptRefs,
  nvidia_driver: anyObject,
  behavior: anyObject,
  shared_volumes: { type: 'object', properties: { firewall: hostFirewall }, additionalProperties: obj({ host_path: str, mounts: dict(str) }, ['host_path']) },
  firewall: hostFirewall,
  portainer_api: obj({ admin_user: str, admin_password: str, portainer_hostname: str, api_key: { type: ['string', 'null'] } }),
  vm_defaults: obj({ ubuntu_release: str }),
  dns_server: obj({ enabled: bool, upstream_servers: strings, authoritative_zones: { type: 'array' } }),
  step_ca: anyObject,
  shared_zfs_volumes: anyObject,
});

const lxcNetwork = obj({ name: str, bridge: str, ip: str, gw: str, nameservers: str, nameserver: str, type: { enum: ['bridge', 'macvlan'] }, parent: str, hwaddr: str });
const lxcVolume = obj({ name: str, pool: str, size_gb: int, mount_point: str }, ['pool', 'size_gb', 'mount_point']);

export const lxcShape: SchemaObject = obj(
  {
    $schema: str,
    nvidia_driver_version: str,
    nvidia_repo_url: str,
    nvidia_runfile_url: str,
    lxc_configs: {
      type: 'object',
      propertyNames: { pattern: '^[0-9]+$' },
      additionalProperties: obj(
        {
          name: str,
          memory_mb: int,
          cores: int,
          swap_mb: int,
          template: str,
          template_file: str,
          clone_from_ctid: { type: 'string', pattern: '^[0-9]+$' },
          template_snapshot_name: str,
          is_template: bool,
          storage_pool: str,
          storage_size_gb: int,
          network_config: lxcNetwork,
          secondary_network_config: lxcNetwork,
          mac_address: str,
          unprivileged: bool,
          features: strings,
          application_script: str,
          gpu_assignment: str,
          portainer_role: str,
          apparmor_profile: str,
          apparmor_manages_nesting: bool,
          pct_options: strings,
          lxc_options: strings,
          id_maps: arr(obj({ type: str, host_id: int, container_id: int, size: int })),
          mount_points: arr(obj({ host_path: str, container_path: str, owner_uid: int, owner_gid: int }, ['host_path', 'container_path'])),
          zfs_volumes: arr(lxcVolume),
          volumes: arr(lxcVolume),
          dependencies: strings,
          start_at_boot: bool,
          boot_order: int,
          boot_delay: int,
          enable_lifecycle_snapshots: bool,
          firewall: guestFirewall,
          traefik_service: traefikService,
          ports: strings,
          vllm_engine_config: anyObject,
          health_check: obj({ command: str, retries: int, interval: int }, ['command']),
          health_checks: arr(obj({ name: str, script: str, args: str }, ['script'])),
          tests: scriptRefs,
          trigger_sync_on_completion: bool,
          bootstrap_ca_url: str,
          dns_records: { type: 'array' },
        },
        ['name'],
      ),
    },
  },
  ['lxc_configs'],
);

export const vmShape: SchemaObject = obj(
  {
    vm_defaults: obj({ template: str, cores: int, memory_mb: int, disk_size_gb: int, storage_pool: str, network_bridge: str }),
    vms: arr(
      obj(
        {
          vmid: int,
          name: str,
          is_template: bool,
          template_image: str,
          clone_from_vmid: int,
          template_snapshot_name: str,
          cores: int,
          memory_mb: int,
          disk_size_gb: int,
          storage_pool: str,
          network_bridge: str,
          qm_options: strings,
          count: int,
          start_at_boot: bool,
          boot_order: int,
          boot_delay: int,
          features: strings,
          network_config: obj({ ip: str, gw: str, nameserver: str }, ['ip']),
          user_config: obj({ username: str }, ['username']),
          volumes: arr(obj({ type: str, name: str, path: str, mount_point: str, server: str }, ['type', 'path', 'mount_point', 'server'])),
          snapshots: obj({ 'pre-features': str, 'post-features': str }),
          portainer_role: str,
          portainer_environment_name: str,
          portainer_agent_hostname: str,
          docker_stacks: strings,
          traefik_service: traefikService,
          firewall: guestFirewall,
          dns_records: { type: 'array' },
          dependencies: strings,
          trigger_sync_on_completion: bool,
          swarm_role: str,
          node_labels: strings,
        },
        ['vmid', 'name'],
      ),
    ),
  },
  ['vms'],
);

const stackEnvironment = obj({
  variables: arr(obj({ name: str, value: str }, ['name', 'value'])),
  files: arr(obj({ source: str, destination_in_container: str }, ['source', 'destination_in_container'])),
  services: dict(obj({ traefik_labels: strings })),
  firewall_rules: arr(rule),
});
const stack = obj({ description: str, compose_file_path: str, environments: dict(stackEnvironment) });

export const stacksShape: SchemaObject = obj({ $schema: str, docker_stacks: dict(stack) }, ['docker_stacks']);

/** `stacks/<name>/phoenix.json`: one stack, without `compose_file_path` (the file sits beside it). */
export const stackManifestShape: SchemaObject = stack;

export const certificatesShape: SchemaObject = arr(
  obj(
    {
      common_name: str,
      sans: strings,
      cert_path: str,
      key_path: str,
      owner: str,
      permissions: str,
      post_renewal_command: str,
      guest_id: int,
      guest_type: str,
      include_ca: bool,
    },
    ['common_name'],
  ),
);
