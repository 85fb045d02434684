/**
 * The simulated cluster's state: plain data, so it can be seeded, dumped to JSON
 * (`--state file.json`) and inspected by tests.
 */
export type GuestType = 'qemu' | 'lxc';

export interface SimNodeState {
  name: string;
  online: boolean;
  cpus: number;
  memoryBytes: number;
  /** Management address reported by /cluster/status. */
  ip: string;
  dns: { search: string; dns1?: string; dns2?: string; dns3?: string };
  /** `/etc/timezone`; UTC when unset, as a fresh install. */
  timezone?: string;
  network: Record<string, NetworkInterface>;
  /** Staged `/etc/network/interfaces.new`; undefined when nothing is staged. */
  pendingNetwork?: Record<string, NetworkInterface>;
  /** Local disks (`/nodes/{node}/disks/list`); undefined means the default set of a fresh install. */
  disks?: SimDisk[];
  /** ZFS pools (`/nodes/{node}/disks/zfs`). */
  zfsPools?: SimZfsPool[];
  /** Volume groups, thin pools and directory mounts made through `/nodes/{node}/disks/…` (beside the installer's `pve`). */
  diskStorages?: SimDiskStorage[];
}

export interface SimDisk {
  devpath: string;
  /** The `/dev/disk/by-id/…` link Proxmox reports. */
  by_id_link?: string;
  wwn?: string;
  serial?: string;
  model?: string;
  size: number;
  gpt: boolean;
  /** What uses the disk (`LVM`, `ZFS`, `partitions`, `mounted`…); unset for an unused disk. */
  used?: string;
  mounted?: boolean;
}

export interface SimDiskStorage {
  kind: 'lvm' | 'lvmthin' | 'directory';
  name: string;
  /** The disk it was made on. */
  device: string;
  size: number;
  filesystem?: string;
}

export interface SimZfsPool {
  name: string;
  raidlevel: string;
  devices: string[];
  size: number;
  compression: string;
  ashift: number;
}

export type NetworkInterface = Record<string, string | number>;

export interface SimStorageState {
  id: string;
  type: 'dir' | 'lvmthin' | 'lvm' | 'zfspool' | 'nfs';
  content: string[];
  shared: boolean;
  /** Nodes the storage is available on; undefined means all. */
  nodes?: string[];
  /** Capacity per node (or once, when shared). */
  totalBytes: number;
  path?: string;
  vgname?: string;
  thinpool?: string;
  /** NFS server and export, ZFS pool. */
  server?: string;
  export?: string;
  pool?: string;
  disable?: boolean;
  /** The plugin's other options as written (`preallocation`, `prune-backups`, `bwlimit`, …). */
  options?: Record<string, string | number>;
}

export interface SimVolume {
  volid: string;
  storage: string;
  /** Node holding the volume; undefined on shared storage. */
  node?: string;
  content: 'images' | 'rootdir' | 'vztmpl' | 'iso' | 'import' | 'snippets' | 'backup';
  format: string;
  size: number;
  ctime: number;
  vmid?: number;
  /** Linked clones keep their base volume. */
  parent?: string;
  /** Volume attributes (`PUT …/content/{volume}`): backup notes and protection. */
  notes?: string;
  protected?: boolean;
  /** An OCI archive pulled by `oci-registry-pull`: the image config a container create applies. */
  oci?: { entrypoint?: string[]; cmd?: string[]; env?: string[]; ostype?: string };
}

export type GuestConfig = Record<string, string>;

export interface SnapshotState {
  name: string;
  description: string;
  snaptime: number;
  vmstate: boolean;
  parent?: string;
  config: GuestConfig;
}

export interface FirewallState {
  options: Record<string, string | number>;
  rules: FirewallRule[];
  /** `[ALIASES]`: name → address or network. */
  aliases?: Record<string, { cidr: string; comment?: string }>;
  /** `[IPSET name]` sections. */
  ipsets?: Record<string, { comment?: string; entries: Array<{ cidr: string; comment?: string; nomatch?: boolean }> }>;
  /** Security groups (`[group name]`), cluster level only. */
  groups?: Record<string, { comment?: string; rules: FirewallRule[] }>;
}

export type FirewallRule = Record<string, string | number>;

export interface SimGuestState {
  type: GuestType;
  vmid: number;
  node: string;
  /** Options as the `.conf` file holds them (strings, like the file). */
  config: GuestConfig;
  /** The `[PENDING]` section: changed values and deletions not yet applied. */
  pending: GuestConfig;
  pendingDelete: string[];
  snapshots: SnapshotState[];
  /** Name of the snapshot the current state descends from. */
  parentSnapshot?: string;
  status: 'running' | 'stopped';
  /** Simulated ms when the guest was started. */
  startedAt?: number;
  /** Paused (qemu `status/suspend` without todisk; a frozen container): still running, doing nothing. */
  paused?: boolean;
  /** Started with `freeze`: QEMU waits in `prelaunch` until resumed (qemu-server passes `-S`). */
  prelaunch?: boolean;
  /** Whether a configured guest agent answers. */
  agentRunning: boolean;
  pool?: string;
  firewall: FirewallState;
  /** Files written via agent file-write, and exec results, for tests to inspect. */
  agentFiles: Record<string, string>;
  /** The HA state when Proxmox HA manages the guest (`started`, `stopped`…), as `/cluster/resources` reports it. */
  hastate?: string;
}

export interface SimPoolState {
  poolid: string;
  comment?: string;
  /** `qemu/100`, `lxc/101`, `storage/local`. */
  members: string[];
}

export interface AclEntry {
  path: string;
  /** Privilege names or role names (Administrator, PVEVMAdmin, …). */
  roles: string[];
  propagate: boolean;
}

export interface SimUserState {
  userid: string;
  password?: string;
  acl: AclEntry[];
  /** `user.cfg` fields; an unset `enable` means enabled, as Proxmox defaults it. */
  enable?: boolean;
  /** Unix seconds; 0 or unset = never. */
  expire?: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  /** Group membership (Proxmox keeps it on the group; one list per user is equivalent). */
  groups?: string[];
}

export interface SimGroupState {
  groupid: string;
  comment?: string;
  acl: AclEntry[];
}

export interface SimTokenState {
  /** `user@realm!tokenid` */
  fullId: string;
  secret: string;
  privsep: boolean;
  acl: AclEntry[];
  /** Unix seconds; 0 = never. */
  expire: number;
  comment?: string;
}

export interface SimState {
  clusterName?: string;
  nodes: SimNodeState[];
  storages: SimStorageState[];
  volumes: SimVolume[];
  guests: SimGuestState[];
  pools: SimPoolState[];
  users: SimUserState[];
  /** Optional so state files written before groups existed still load. */
  groups?: SimGroupState[];
  tokens: SimTokenState[];
  clusterFirewall: FirewallState;
  /** Authentication realms (`domains.cfg`); unset means a fresh install's `pam` and `pve`. */
  domains?: Record<string, Record<string, string | number>>;
  /** datacenter.cfg options, HA sections and backup jobs (`/cluster/options`, `/cluster/ha`, `/cluster/backup`). */
  datacenter?: {
    options?: Record<string, string | number>;
    haResources?: Record<string, Record<string, string | number>>;
    haGroups?: Record<string, Record<string, string | number>>;
    haRules?: Record<string, Record<string, string | number>>;
    backupJobs?: Record<string, Record<string, string | number>>;
    /** Set while HA is disarmed (`freeze` or `ignore`). */
    haDisarmed?: string;
  };
  /** Roles defined through `/access/roles` (the built-in ones are not stored). */
  roles?: Record<string, string[]>;
}

export function emptyFirewall(): FirewallState {
  return { options: {}, rules: [] };
}
