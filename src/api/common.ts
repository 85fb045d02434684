import * as s from './schema.ts';

// Formats follow Proxmox's own (pve-common JSONSchema.pm) so that a manifest the API server
// accepts is one Proxmox accepts too.
export const patterns = {
  k8sName: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  /** `dns-name`, with labels of at most 63 characters (RFC 1123), which Proxmox itself does not check. */
  dnsName: '^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$',
  pveNode: '^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$',
  pveStorageId: '^[a-zA-Z][a-zA-Z0-9._-]*[a-zA-Z0-9]$',
  /** `pve-poolid` (pve-access-control): letters, digits, `.`, `-` and `_`. */
  pvePoolId: '^[A-Za-z0-9._-]+$',
  /** `pve-iface` (pve-common): a network interface name, optionally with a `.vlan` or `:alias` suffix. */
  pveIface: '^[a-zA-Z][a-zA-Z0-9_]{1,20}([:.][0-9]+)?$',
  /** `pve-userid`: `name@realm`. */
  pveUserId: '^[^\\s:/@]+@[A-Za-z][A-Za-z0-9._-]+$',
  /** `pve-tokenid`: `name@realm!token`. */
  pveTokenId: '^[^\\s:/@]+@[A-Za-z][A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]+$',
  /** `pve-storage-path` (pve-storage's verify_path, which anchors only the start): an absolute path. */
  pveStoragePath: '^/[^;()]+',
  /** `pve-storage-vgname` (pve-storage's parse_lvm_name): an LVM volume group or thin pool. */
  pveVgName: '^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$',
  /** `pve-groupid` and `pve-roleid`. */
  pveGroupId: '^[A-Za-z0-9._-]+$',
  pveConfigId: '^[a-zA-Z][a-zA-Z0-9_-]+$',
  pveTag: '^[a-zA-Z0-9_][a-zA-Z0-9_+.-]*$',
  bridge: '^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$',
  /** A Proxmox size: K, M, G and T are binary units (KiB, MiB, GiB, TiB), as in `pct resize`. */
  size: '^[0-9]+(\\.[0-9]+)?[KMGT]$',
  volumeId: '^[a-zA-Z][a-zA-Z0-9._-]*[a-zA-Z0-9]:.+$',
  /** A unicast MAC address (the low bit of the first octet clear). */
  mac: '^[0-9A-Fa-f][02468ACEace](:[0-9A-Fa-f]{2}){5}$',
  duration: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$',
} as const;

/** What each pattern means, for refusals (see `x-phoenix-pattern-message` in schema.ts). */
const patternMessages: Partial<Record<keyof typeof patterns, string>> = {
  dnsName: 'must be a DNS name: dot-separated labels of letters, digits and hyphens, each at most 63 characters, neither starting nor ending with a hyphen',
  pveNode: 'must be a Proxmox node name: letters, digits and hyphens, at most 63 characters, neither starting nor ending with a hyphen',
  pveStorageId: 'must be a Proxmox storage id (pve-storage-id): a letter, then letters, digits, -, _ or ., ending with a letter or digit',
  pvePoolId: 'must be a Proxmox pool id (pve-poolid): letters, digits, ., - and _',
  pveIface: 'must be a network interface name (pve-iface): a letter, then 1 to 20 letters, digits or _, optionally .<vlan> or :<n>',
  pveTag: 'must be a Proxmox tag: letters, digits, _, +, . and -, not starting with + . or -',
  bridge: 'must be a bridge name such as vmbr0: a letter, then up to 14 letters, digits, _, . or -',
  size: 'must be a Proxmox size: a number and a binary unit K, M, G or T, such as 512M or 8G',
  mac: 'must be a unicast MAC address such as BC:24:11:2A:3B:4C (the first octet even: Proxmox refuses multicast addresses)',
};

/** A pattern with the message a refusal gives, to spread into `s.string` options. */
export const matching = (key: keyof typeof patternMessages) => ({ pattern: patterns[key], patternMessage: patternMessages[key] });

export const k8sName = (description: string) =>
  s.string({ description, pattern: patterns.k8sName, maxLength: 253, minLength: 1 });

/** A CEL guard: `field` is a Proxmox size, so it may be read as a quantity without a runtime error. */
export const isSize = (field: string) => `${field}.matches(r'${patterns.size}')`;

/** The smallest volume: Proxmox allocates in whole MiB, so a smaller size makes a 0-byte volume. */
export const minimumVolume: s.MinSize = { min: '1M', why: 'Proxmox allocates volumes in whole MiB' };

/**
 * A Proxmox size (`disk-size`): a number and a binary unit. `minimum`, when given, is the
 * smallest size Proxmox takes; without one, `0` is allowed (swap, the balloon target).
 */
export const size = (description: string, example = '8G', minimum?: s.MinSize) =>
  s.string({
    description: `${description} A Proxmox size: a number and a binary unit K, M, G or T (for example \`${example}\`).`,
    ...matching('size'),
    maxLength: 16,
    example,
    ...(minimum ? { minSize: minimum } : {}),
  });

export const storageId = (description: string) =>
  s.string({ description, ...matching('pveStorageId'), minLength: 2, maxLength: 64 });

export const nodeName = (description: string) =>
  s.string({ description, ...matching('pveNode'), maxLength: 63 });

export const volumeId = (description: string, example: string) =>
  s.string({ description: `${description} A Proxmox volume id, \`<storage>:<path>\`.`, pattern: patterns.volumeId, maxLength: 512, example });

export const duration = (description: string, example: string) =>
  s.string({ description: `${description} A duration such as \`${example}\`.`, pattern: patterns.duration, maxLength: 32, example });

export const growOnly = (field: string): s.CelRule => ({
  rule: `!${isSize(`self${field}`)} || !${isSize(`oldSelf${field}`)} || quantity(self${field} + 'i').compareTo(quantity(oldSelf${field} + 'i')) >= 0`,
  message: 'disks can only grow: Proxmox cannot shrink a volume, and Phoenix never re-creates a guest to do it',
});

/** pve-container's verify_lxc_mp_string and verify_lxc_dev_string: no `.` or `..` path segment. */
export const noDotSegments: s.CelRule = { rule: "!self.matches(r'/\\.\\.?(/|$)')", message: 'must not contain a . or .. path segment (Proxmox refuses it as an illegal character sequence)' };

export const immutable = (what: string): s.CelRule => ({ rule: 'self == oldSelf', message: `${what} is immutable once set` });

const ipFamilies = { any: { maxLength: 45, rule: 'isIP(self)', message: 'must be an IP address' }, 4: { maxLength: 15, rule: 'isIP(self) && ip(self).family() == 4', message: 'must be an IPv4 address' }, 6: { maxLength: 45, rule: 'isIP(self) && ip(self).family() == 6', message: 'must be an IPv6 address' } } as const;

/** An IP address (of one family, or either), checked by the API server's CEL ip library. */
export const ipAddress = (description: string, family: 'any' | 4 | 6 = 'any') =>
  s.string({ description, maxLength: ipFamilies[family].maxLength, rules: [{ rule: ipFamilies[family].rule, message: ipFamilies[family].message }] });

export const localObjectReference = (description: string) =>
  s.object({ name: k8sName('Name of the referenced object.') }, { description, required: ['name'] });

export const secretKeySelector = (description: string, defaultKey?: string) =>
  s.object(
    {
      name: k8sName('Name of the Secret.'),
      key: s.string({ description: `Key within the Secret${defaultKey ? ` (default \`${defaultKey}\`)` : ''}.`, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' }),
    },
    { description, required: defaultKey ? ['name'] : ['name', 'key'] },
  );

/** For cluster-scoped objects, which must say where the Secret lives. */
export const namespacedSecretKeySelector = (description: string, defaultKey: string) =>
  s.object(
    {
      name: k8sName('Name of the Secret.'),
      namespace: k8sName('Namespace of the Secret.'),
      key: s.string({ description: `Key within the Secret (default \`${defaultKey}\`).`, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' }),
    },
    { description, required: ['name', 'namespace'] },
  );

export const tags = s.array(s.string({ description: 'A Proxmox tag.', ...matching('pveTag'), maxLength: 64 }), {
  description: 'Proxmox tags. Proxmox stores them lower-cased and sorted; Phoenix compares them the same way, so order and case never cause a diff.',
  maxItems: 32,
  listType: 'set',
});

/** A Kubernetes label selector (metav1.LabelSelector). */
export const labelSelector = (description: string) =>
  s.object(
    {
      matchLabels: s.map(s.string({ description: 'A label value.', maxLength: 63 }), { description: 'Labels that must all match.', maxProperties: 64 }),
      matchExpressions: s.array(
        s.object(
          {
            key: s.string({ description: 'The label key.', maxLength: 317 }),
            operator: s.literal(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const, { description: 'How the key relates to the values.' }),
            values: s.array(s.string({ description: 'A label value.', maxLength: 63 }), { description: 'Values for In and NotIn; empty for Exists and DoesNotExist.', maxItems: 64, listType: 'atomic' }),
          },
          {
            description: 'A label requirement.',
            required: ['key', 'operator'],
            rules: [{ rule: "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)", message: 'In and NotIn need values; Exists and DoesNotExist take none', fieldPath: '.values' }],
          },
        ),
        { description: 'Requirements that must all hold.', maxItems: 32, listType: 'atomic' },
      ),
    },
    { description },
  );

export const startup = s.object(
  {
    order: s.integer({ description: 'Start order: lower starts first, and stops last.', minimum: 0, maximum: 999999 }),
    upDelay: s.integer({ description: 'Seconds to wait after this guest starts before the next one.', minimum: 0, maximum: 86400 }),
    downDelay: s.integer({ description: 'Seconds to wait for this guest to shut down before the next one.', minimum: 0, maximum: 86400 }),
  },
  { description: 'Proxmox boot-time start order (`startup: order=,up=,down=`), as the legacy `boot_order`/`boot_delay`.' },
);

export const dns = s.object(
  {
    nameservers: s.array(ipAddress('An IP address.'), {
      description: 'DNS servers.',
      maxItems: 3,
      listType: 'atomic',
    }),
    searchDomain: s.string({ description: 'DNS search domain.', ...matching('dnsName'), maxLength: 253 }),
  },
  { description: 'Guest DNS settings. Unset fields are taken from the host.' },
);

export const dependency = s.object(
  {
    kind: s.literal(['PhoenixLXC', 'PhoenixVM', 'PhoenixStack', 'PhoenixHypervisor'] as const, { description: 'Kind of the object depended on.' }),
    name: k8sName('Name of the object depended on (in this namespace; PhoenixHypervisor is cluster-scoped).'),
  },
  { description: 'An object that must be Ready before this one is created or started.', required: ['kind', 'name'] },
);

export const dependsOn = s.array(dependency, {
  description: 'Objects that must be Ready first. Clone sources and a stack\'s VM are implicit dependencies and need not be listed.',
  maxItems: 32,
  listType: 'atomic',
});

export const managementPolicy = s.literal(['Manage', 'Observe'] as const, {
  description: '`Manage` converges Proxmox to the spec. `Observe` only reads and reports (status, drift, events) and never writes to Proxmox, not even on delete.',
  default: 'Manage',
});

export const deletionPolicy = s.literal(['Delete', 'Retain'] as const, {
  description: 'What deleting this object does to the guest. `Delete` stops and destroys it (with its disks). `Retain` leaves it running and removes Phoenix\'s marker. Default: `Delete`, or `Retain` for an adopted guest.',
});

export const condition = s.object(
  {
    type: s.string({ description: 'Condition type: `Ready`, `Reconciling`, `Stalled`, or a kind-specific one.', maxLength: 316 }),
    status: s.literal(['True', 'False', 'Unknown'] as const, { description: 'Status of the condition.' }),
    reason: s.string({ description: 'One CamelCase word for machines.', maxLength: 1024 }),
    message: s.string({ description: 'What a person needs to know, and what to do about it.', maxLength: 32768 }),
    lastTransitionTime: s.string({ description: 'When `status` last changed.', format: 'date-time', maxLength: 64 }),
    observedGeneration: s.integer({ description: 'The generation this condition was computed for.', minimum: 0 }),
  },
  { description: 'A standard Kubernetes condition.', required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
);

/** The status contract every Phoenix kind shares (kstatus, Argo CD, Flux and `kubectl wait`). */
export const commonStatus = {
  observedGeneration: s.integer({ description: 'The `metadata.generation` the status describes.', minimum: 0 }),
  conditions: s.array(condition, {
    description: '`Ready` (converged), `Reconciling` (work in progress) and `Stalled` (cannot progress without a change), plus kind-specific conditions.',
    maxItems: 16,
    listType: 'map',
    mapKeys: ['type'],
  }),
};

export const taskRecord = s.object(
  {
    upid: s.string({ description: 'The Proxmox task id (UPID). Persisted before waiting, so a restarted controller resumes the wait instead of submitting again.', maxLength: 512 }),
    operation: s.string({ description: 'What Phoenix asked for: `create`, `clone`, `start`, `resize`…', maxLength: 64 }),
    node: s.string({ description: 'Node the task runs on.', maxLength: 63 }),
    status: s.literal(['running', 'stopped'] as const, { description: 'Task state as Proxmox reports it.' }),
    exitStatus: s.string({ description: '`OK`, `WARNINGS: n`, or the error text.', maxLength: 4096 }),
    startTime: s.string({ description: 'When the task started.', format: 'date-time', maxLength: 64 }),
    endTime: s.string({ description: 'When the task ended.', format: 'date-time', maxLength: 64 }),
  },
  { description: 'A Proxmox task.', required: ['upid', 'operation'] },
);

export const driftRecord = s.object(
  {
    field: s.string({ description: 'The spec field that drifted.', maxLength: 256 }),
    observed: s.string({ description: 'The value found in Proxmox (secrets masked).', maxLength: 4096 }),
    desired: s.string({ description: 'The value in the spec (secrets masked).', maxLength: 4096 }),
    time: s.string({ description: 'When it was detected.', format: 'date-time', maxLength: 64 }),
    corrected: s.boolean({ description: 'Whether Phoenix wrote the desired value back.' }),
  },
  { description: 'One detected difference between Proxmox and the spec.', required: ['field', 'time'] },
);
