import * as s from './schema.ts';
import * as c from './common.ts';
import * as fw from './firewall.ts';
import { provisionSpecFields, provisionStatusFields } from './provision.ts';

/**
 * Fields every guest kind (PhoenixLXC, PhoenixVM) shares, with the rules that tie them
 * together. Kind-specific fields are added by lxc.ts and vm.ts.
 */
export const guestSpecFields = {
  hypervisorRef: c.localObjectReference('The PhoenixHypervisor (cluster-scoped) whose Proxmox endpoint runs this guest.'),
  node: c.nodeName('Proxmox node to run the guest on. Changing it migrates the guest.'),
  vmid: s.integer({
    description: 'Proxmox VMID. Leave it unset to have Phoenix allocate one (from the hypervisor\'s `vmidRange`, or `/cluster/nextid`). Immutable once set.',
    minimum: 100,
    maximum: 999999999,
  }),
  hostname: s.string({ description: 'Guest name in Proxmox (LXC hostname, VM name). Default: `metadata.name`.', ...c.matching('dnsName'), maxLength: 253 }),
  description: s.string({ description: 'Notes shown in the Proxmox UI. Phoenix appends its ownership marker below them.', maxLength: 8192 }),
  tags: c.tags,
  pool: s.string({ description: 'Proxmox resource pool the guest belongs to.', ...c.matching('pvePoolId'), maxLength: 64 }),
  cores: s.integer({ description: 'CPU cores.', minimum: 1, maximum: 8192 }),
  cpuLimit: s.integer({ description: 'CPU usage limit in cores (0: no limit).', minimum: 0, maximum: 8192 }),
  cpuUnits: s.integer({ description: 'CPU weight relative to other guests.', minimum: 1, maximum: 262144 }),
  memory: c.size('Memory.', '2G', { min: '16M', why: 'Proxmox\'s smallest memory is 16 MiB' }),
  dns: c.dns,
  onBoot: s.boolean({ description: 'Start the guest when the host boots.' }),
  startup: c.startup,
  powerState: s.literal(['Running', 'Stopped'] as const, {
    description: 'Desired power state. `Stopped` shuts the guest down gracefully, then stops it after `shutdownTimeout`. Default `Running` (`Stopped` for templates). A guest kept `Stopped` with `provision` or `healthChecks` is started for them, and shut down cleanly once they are done (again when a step changes).',
  }),
  shutdownTimeout: c.duration('How long a graceful shutdown may take before Phoenix stops the guest hard. Default `3m`.', '3m'),
  restartPolicy: s.literal(['Never', 'IfRequired'] as const, {
    description: 'Changes that Proxmox can only apply at the next start are shown as the `RestartRequired` condition. `IfRequired` lets Phoenix restart the guest to apply them; `Never` leaves that to you.',
    default: 'Never',
  }),
  protection: s.boolean({ description: 'Sets Proxmox `protection`, which blocks removal of the guest and its disks (also by Phoenix).' }),
  template: s.boolean({ description: 'Convert the guest to a template (a golden image for clones). A template cannot be turned back into a guest.' }),
  firewall: fw.guestFirewall,
  dependsOn: c.dependsOn,
  deletionPolicy: c.deletionPolicy,
  managementPolicy: c.managementPolicy,
  missingPolicy: s.literal(['Recreate', 'Report'] as const, {
    description: 'What to do when the guest disappears from Proxmox outside Phoenix: `Report` (a `Stalled` condition) or `Recreate` it from `source`.',
    default: 'Report',
  }),
  observePeriod: c.duration('How often Phoenix reads the guest to detect drift. Observations fall on the multiples of the period, so guests sharing a period share one `/cluster/resources` read per cycle and a change outside Phoenix is seen within one period. Periods under 100ms count as 100ms. Default: the controller\'s `--observe-period` (5m).', '5m'),
  snapshots: s.array(
    s.object(
      {
        name: s.string({
          description: 'Snapshot name. Proxmox reserves `current`, and `pending` (VMs) and `vzdump` (containers).',
          pattern: c.patterns.pveConfigId,
          maxLength: 40,
          // qemu-server's and pve-container's snapshot APIs refuse these names; one rule serves both kinds.
          rules: [{ rule: "self != 'current' && self != 'vzdump' && self.lowerAscii() != 'pending'", message: 'current, pending and vzdump are snapshot names Proxmox reserves' }],
        }),
        description: s.string({ description: 'Snapshot description.', maxLength: 1024 }),
        when: s.literal(['BeforeProvisioning', 'AfterProvisioning'] as const, {
          description: 'When the snapshot is taken on a guest with `provision` steps: `AfterProvisioning` (the default) once every step succeeded and the health checks pass, so it holds the finished guest (the golden-chain `final-form` that clones start from); `BeforeProvisioning` once the guest first runs and before its first step, so the steps can be rolled back. Either is taken once: a snapshot that exists is never taken again when steps change later. Without steps both are taken as soon as the guest is configured.',
          default: 'AfterProvisioning',
        }),
      },
      { description: 'A snapshot to keep.', required: ['name'] },
    ),
    {
      description: 'Named snapshots to keep: created when missing; removed when dropped from this list, but only if Phoenix created them.',
      maxItems: 64,
      listType: 'map',
      mapKeys: ['name'],
    },
  ),
  snapshotBeforeRestart: s.object(
    {
      keep: s.integer({ description: 'How many automatic snapshots to keep.', minimum: 1, maximum: 32, default: 3 }),
    },
    { description: 'Take a snapshot before every restart that applies pending changes, and keep the last few.' },
  ),
  adopt: s.object(
    {
      vmid: s.integer({ description: 'VMID of the existing guest.', minimum: 100, maximum: 999999999 }),
      name: s.string({ description: 'Name of the existing guest; it must match exactly one guest.', ...c.matching('dnsName'), maxLength: 253 }),
      takeOver: s.boolean({
        description: 'Adopt a guest whose Phoenix marker names another object, but only if that object no longer exists (Phoenix checks). Without it, such a guest is never taken: `OwnedByAnother`.',
      }),
    },
    {
      description: 'Take over an existing guest instead of creating one. Phoenix imports its configuration into status and reports every difference before it changes anything.',
      rules: [{ rule: 'has(self.vmid) != has(self.name)', message: 'adopt takes exactly one of vmid or name' }],
    },
  ),
  ...provisionSpecFields,
};

/** Rules over the whole guest spec (both kinds). `source` is the kind's own field. */
export const guestSpecRules: s.CelRule[] = [
  { rule: 'has(self.source) != has(self.adopt)', message: 'exactly one of source or adopt is required' },
  { rule: '!has(oldSelf.vmid) || (has(self.vmid) && self.vmid == oldSelf.vmid)', message: 'vmid is immutable once set', fieldPath: '.vmid' },
  { rule: '!has(oldSelf.source) || (has(self.source) && self.source == oldSelf.source)', message: 'source is immutable: a guest is created once', fieldPath: '.source' },
  { rule: 'self.hypervisorRef == oldSelf.hypervisorRef', message: 'hypervisorRef is immutable: a guest cannot move between Proxmox endpoints', fieldPath: '.hypervisorRef' },
  { rule: '!has(oldSelf.template) || !oldSelf.template || (has(self.template) && self.template)', message: 'a template cannot be turned back into a guest', fieldPath: '.template' },
  { rule: "!(has(self.template) && self.template && has(self.powerState) && self.powerState == 'Running')", message: 'a template cannot run: remove powerState or set it to Stopped', fieldPath: '.powerState' },
  // qemu-server's and pve-container's template calls refuse a guest with snapshots ("unable to create template, because VM contains snapshots").
  { rule: '!(has(self.template) && self.template && has(self.snapshots) && size(self.snapshots) > 0)', message: 'Proxmox cannot turn a guest with snapshots into a template: take snapshots on the guest, clone it, and make the clone the template', fieldPath: '.snapshots' },
  { rule: '!has(self.adopt) || !has(self.adopt.vmid) || !has(self.vmid) || self.vmid == self.adopt.vmid', message: 'vmid and adopt.vmid must agree', fieldPath: '.adopt.vmid' },
];

/** Fields of a clone source; each kind adds its own reference to another Phoenix object. */
export function cloneSourceFields(fullDefault: string) {
  return {
    vmid: s.integer({ description: 'VMID of the guest or template to clone.', minimum: 100, maximum: 999999999 }),
    snapshot: s.string({ description: 'Clone from this snapshot of the source (the legacy `template_snapshot_name`).', pattern: c.patterns.pveConfigId, maxLength: 40 }),
    full: s.boolean({ description: `Full clone (an independent copy) or linked clone (shares the base volume; only from a template). Default: ${fullDefault}.` }),
    storage: c.storageId('Target storage for a full clone.'),
  };
}

export function cloneSourceRules(refField: string): s.CelRule[] {
  return [
    { rule: `has(self.vmid) != has(self.${refField})`, message: `clone takes exactly one of vmid or ${refField}` },
    { rule: '!has(self.storage) || !has(self.full) || self.full', message: 'storage applies to full clones only', fieldPath: '.storage' },
  ];
}

export const guestStatusFields = {
  ...c.commonStatus,
  vmid: s.integer({ description: 'The guest\'s VMID. Recorded before the create is submitted, so a restart never allocates a second one.', minimum: 100 }),
  node: s.string({ description: 'Node the guest runs on.', maxLength: 63 }),
  powerState: s.literal(['Running', 'Stopped', 'Paused', 'Unknown'] as const, { description: 'Observed power state.' }),
  ipAddresses: s.array(s.string({ description: 'An IP address.', maxLength: 64 }), { description: 'Observed IP addresses.', maxItems: 64 }),
  task: c.taskRecord,
  lastTask: c.taskRecord,
  creation: s.object(
    {
      vmid: s.integer({ description: 'The VMID the create or clone was sent for.', minimum: 100 }),
      node: s.string({ description: 'The node it was sent to.', maxLength: 63 }),
      submittedTime: s.string({ description: 'When it was sent.', format: 'date-time', maxLength: 64 }),
      outcome: s.literal(['Submitted', 'Unknown'] as const, { description: '`Unknown` once the answer was lost (no response, a timeout, a 5xx): Proxmox may have created the guest, so Phoenix looks for it before anything else.' }),
    },
    {
      description: 'A create or clone sent to Proxmox whose guest has not been seen yet. Recorded before the request leaves, so a lost answer or a restart never leads to a second guest: the guest is looked for first, and the request is sent again only for the same VMID.',
      required: ['vmid', 'node', 'submittedTime', 'outcome'],
    },
  ),
  retry: s.object(
    {
      operation: s.string({ description: 'What failed: `create`, `clone`, `start`…', maxLength: 64 }),
      reason: s.string({ description: 'The condition reason it is reported under: `TaskFailed`, `StorageLockTimeout`, `CreateOutcomeUnknown`.', maxLength: 64 }),
      attempts: s.integer({ description: 'Failures in a row.', minimum: 1 }),
      lastError: s.string({ description: 'Proxmox\'s error text.', maxLength: 4096 }),
      nextAttemptTime: s.string({ description: 'Not tried again before this time (5 s doubling to 5 minutes), across restarts.', format: 'date-time', maxLength: 64 }),
    },
    { description: 'A failing operation being retried with backoff. Cleared when it succeeds.', required: ['operation', 'attempts', 'nextAttemptTime'] },
  ),
  targetNode: s.string({
    description: 'The `spec.node` Phoenix last placed the guest on. A guest found elsewhere was moved outside Phoenix (HA, a person) and is followed, not moved back; Phoenix migrates only when `spec.node` changes from this value.',
    maxLength: 63,
  }),
  adopted: s.boolean({ description: 'Whether the guest was adopted rather than created by Phoenix.' }),
  pendingChanges: s.array(s.string({ description: 'A config key.', maxLength: 64 }), { description: 'Config keys Proxmox holds until the next restart.', maxItems: 128 }),
  drift: s.array(c.driftRecord, { description: 'The most recent drift detected (a short history).', maxItems: 20 }),
  snapshots: s.array(s.string({ description: 'A snapshot name.', maxLength: 40 }), { description: 'Snapshots Phoenix created and manages.', maxItems: 128 }),
  importedConfig: s.map(s.string({ description: 'An option\'s value as Proxmox returned it.', maxLength: 8192 }), {
    description: 'The guest\'s Proxmox config as Phoenix found it when adopting it (kept as it was then) or observing it (kept current): every option, secrets masked, without the digest and Phoenix\'s marker. A starting point for writing the spec.',
    maxProperties: 512,
  }),
  secretVersions: s.map(s.string({ description: 'A Secret\'s resourceVersion.', maxLength: 64 }), {
    description: 'The resourceVersion of each referenced Secret whose values are applied. Proxmox masks the cloud-init password on read, so a Secret with a newer version has its password written again.',
    maxProperties: 8,
  }),
  configDigest: s.string({ description: 'Digest of the last Proxmox config Phoenix read.', maxLength: 64 }),
  lastObservedTime: s.string({ description: 'When Phoenix last read the guest from Proxmox.', format: 'date-time', maxLength: 64 }),
  ...provisionStatusFields,
};
