import type { ResourceType } from '../../runtime/resource.ts';
import { phoenixLxcs, phoenixVms, type PhoenixLXC, type PhoenixVM } from '../../api/objects.ts';
import { createParams, type DesiredConfig } from '../../guests/desired.ts';
import { desiredLxcConfig, lxcCreateOnlyParams, ociImageVolume, type LxcRuntimeInputs } from '../../guests/lxc-config.ts';
import { desiredVmConfig, vmCreateOnlyParams, cloudInitDriveSlot } from '../../guests/vm-config.ts';
import { scalar, type GuestIdentity } from '../../guests/common-config.ts';
import { withoutRootOnly } from '../../guests/root-only.ts';
import type { GuestConfig, GuestType } from './guest-api.ts';

export type GuestObject = PhoenixLXC | PhoenixVM;

export interface SecretRef {
  readonly name: string;
  readonly key: string;
}

/** Secret values by `name/key`, read from the cache by the reconciler. */
export type SecretValues = ReadonlyMap<string, string>;

export type Creation =
  | { readonly action: 'create'; readonly params: Record<string, string> }
  | { readonly action: 'clone'; readonly source: number; readonly params: Record<string, string> };

/** What one source needs on a storage before the guest can be created from it. */
export interface SourceVolume {
  readonly storage: string;
  readonly volume: string;
  /** How to get it when missing: an appliance from the index, or a URL. */
  readonly fetch?: { readonly appliance: string } | { readonly url: string; readonly filename: string; readonly content: 'import' | 'iso' | 'vztmpl' } | { readonly ociReference: string };
}

/** Everything the shared lifecycle needs to know about one guest kind. */
export interface GuestAdapter<O extends GuestObject> {
  readonly kind: 'PhoenixLXC' | 'PhoenixVM';
  readonly resource: ResourceType;
  readonly type: GuestType;
  secretRefs(object: O): SecretRef[];
  /**
   * `rotated`: Secrets (by name) changed since Phoenix last wrote their values, so a value
   * Proxmox masks on read (the cloud-init password) is written again.
   */
  /** `userDataSnippet`: a VM's uploaded cloud-init user-data volume (cloud-init-snippets.ts). */
  desired(object: O, id: GuestIdentity, secrets: SecretValues, observed: GuestConfig, rotated?: ReadonlySet<string>, userDataSnippet?: string): DesiredConfig;
  creation(object: O, id: GuestIdentity, secrets: SecretValues, cloneSourceVmid: number | undefined): Creation;
  /** The template, image or ISO the create needs, if it may have to be downloaded first. */
  sourceVolume(object: O): SourceVolume | undefined;
  /** The storage a create allocates on, for the per-storage limit. */
  storage(object: O): string | undefined;
}

const secretValue = (secrets: SecretValues, ref: SecretRef | undefined) => (ref ? secrets.get(`${ref.name}/${ref.key}`) : undefined);

function cloneParams(object: GuestObject, id: GuestIdentity, nameKey: 'hostname' | 'name', description: string): Record<string, string> {
  const clone = object.spec.source?.clone ?? {};
  const params: Record<string, string> = { [nameKey]: object.spec.hostname ?? id.name ?? object.metadata.name, description, full: clone.full === false ? '0' : '1' };
  if (clone.snapshot) params['snapname'] = clone.snapshot;
  if (clone.storage && clone.full !== false) params['storage'] = clone.storage;
  if (object.spec.pool) params['pool'] = object.spec.pool;
  return params;
}

const lxcPasswordRef = (o: PhoenixLXC): SecretRef | undefined =>
  o.spec.rootPasswordSecretRef ? { name: o.spec.rootPasswordSecretRef.name, key: o.spec.rootPasswordSecretRef.key ?? 'password' } : undefined;

const lxcEnvRefs = (o: PhoenixLXC): SecretRef[] =>
  (o.spec.env ?? []).flatMap((v) => (v.secretKeyRef ? [{ name: v.secretKeyRef.name, key: v.secretKeyRef.key ?? '' }] : []));

/** The spec's env with its values resolved (Secret values from the cache), and what Proxmox holds. */
function lxcRuntime(o: PhoenixLXC, secrets: SecretValues, observed?: GuestConfig): LxcRuntimeInputs {
  const env = (o.spec.env ?? []).map((v) => [v.name, v.value ?? secretValue(secrets, v.secretKeyRef ? { name: v.secretKeyRef.name, key: v.secretKeyRef.key ?? '' } : undefined) ?? ''] as const);
  const observedEnv = observed?.['env'];
  return { env, ...(observedEnv !== undefined && observedEnv !== null ? { observedEnv: String(observedEnv) } : {}) };
}

export const lxcAdapter: GuestAdapter<PhoenixLXC> = {
  kind: 'PhoenixLXC',
  resource: phoenixLxcs,
  type: 'lxc',
  secretRefs: (o) => [lxcPasswordRef(o), ...lxcEnvRefs(o)].filter((r): r is SecretRef => r !== undefined),
  desired: (o, id, secrets, observed) => desiredLxcConfig(o.spec, id, lxcRuntime(o, secrets, observed)),
  creation(o, id, secrets, cloneSourceVmid) {
    const desired = desiredLxcConfig(o.spec, id, lxcRuntime(o, secrets));
    const all = createParams(desired);
    if (o.spec.source?.clone) {
      if (cloneSourceVmid === undefined) throw new Error('clone source VMID unknown');
      const params = cloneParams(o, id, 'hostname', all['description'] ?? '');
      if (o.spec.rootDisk?.storage && params['full'] === '1' && !params['storage']) params['storage'] = o.spec.rootDisk.storage;
      return { action: 'clone', source: cloneSourceVmid, params };
    }
    const password = secretValue(secrets, lxcPasswordRef(o));
    // Created without what only root@pam may set; the guest then stalls as RootOnly with the command.
    const params = withoutRootOnly('lxc', { ...all, ...lxcCreateOnlyParams(o.spec, password === undefined ? {} : { rootPassword: password }), ostemplate: lxcTemplateVolume(o) ?? '' }, o.spec.unprivileged !== false);
    if (!params['rootfs']) params['rootfs'] = 'local-lvm:8';
    return { action: 'create', params };
  },
  sourceVolume(o) {
    const oci = o.spec.source?.ociImage;
    if (oci) return { storage: oci.storage, volume: ociImageVolume(oci.reference, oci.storage), fetch: { ociReference: oci.reference } };
    const t = o.spec.source?.osTemplate;
    if (!t) return undefined;
    const [storage = '', path = ''] = t.volume.split(':');
    const appliance = path.replace(/^vztmpl\//, '');
    return { storage, volume: t.volume, ...(t.download ? { fetch: { appliance } } : {}) };
  },
  storage: (o) => o.spec.rootDisk?.storage ?? o.spec.source?.clone?.storage,
};

/** The template a container is created from: an OS template, or the archive an OCI image was pulled to. */
function lxcTemplateVolume(o: PhoenixLXC): string | undefined {
  const oci = o.spec.source?.ociImage;
  return oci ? ociImageVolume(oci.reference, oci.storage) : o.spec.source?.osTemplate?.volume;
}

const vmPasswordRef = (o: PhoenixVM): SecretRef | undefined =>
  o.spec.cloudInit?.passwordSecretRef ? { name: o.spec.cloudInit.passwordSecretRef.name, key: o.spec.cloudInit.passwordSecretRef.key ?? 'password' } : undefined;
const vmKeysRef = (o: PhoenixVM): SecretRef | undefined =>
  o.spec.cloudInit?.sshKeysSecretRef ? { name: o.spec.cloudInit.sshKeysSecretRef.name, key: o.spec.cloudInit.sshKeysSecretRef.key ?? 'authorized_keys' } : undefined;

function vmSecrets(o: PhoenixVM, secrets: SecretValues) {
  const password = secretValue(secrets, vmPasswordRef(o));
  const keys = secretValue(secrets, vmKeysRef(o));
  return { ...(password !== undefined ? { cloudInitPassword: password } : {}), ...(keys !== undefined ? { sshKeys: keys } : {}) };
}

function imageVolume(o: PhoenixVM): string | undefined {
  const image = o.spec.source?.cloudImage;
  if (!image) return undefined;
  if (image.volume) return image.volume;
  const file = new URL(image.url ?? 'http://invalid/image.qcow2').pathname.split('/').pop() ?? 'image.qcow2';
  return `${image.storage}:import/${file.replace(/\.img$/, '.qcow2')}`;
}

export const vmAdapter: GuestAdapter<PhoenixVM> = {
  kind: 'PhoenixVM',
  resource: phoenixVms,
  type: 'qemu',
  secretRefs: (o) => [vmPasswordRef(o), vmKeysRef(o)].filter((r): r is SecretRef => r !== undefined),
  desired(o, id, secrets, observed, rotated = new Set(), userDataSnippet) {
    const base = desiredVmConfig(o.spec, id, vmSecrets(o, secrets), userDataSnippet);
    const extra = [];
    if (o.spec.cloudInit !== undefined && !cloudInitDriveSlot(observed)) {
      const storage = o.spec.cloudInit.storage ?? o.spec.disks?.find((d) => d.storage)?.storage ?? o.spec.source?.cloudImage?.storage ?? o.spec.source?.clone?.storage ?? 'local-lvm';
      const slot = ['ide2', 'ide0', 'ide1', 'ide3'].find((s) => observed[s] === undefined) ?? 'ide3';
      extra.push(scalar(slot, `${storage}:cloudinit`));
    }
    // Proxmox masks the password on read, so it is written when none is set or its Secret changed.
    const password = vmSecrets(o, secrets).cloudInitPassword;
    const passwordSecret = vmPasswordRef(o)?.name;
    if (password !== undefined && (observed['cipassword'] === undefined || (passwordSecret !== undefined && rotated.has(passwordSecret)))) {
      extra.push(scalar('cipassword', password));
    }
    return { ...base, options: [...base.options, ...extra] };
  },
  creation(o, id, secrets, cloneSourceVmid) {
    const desired = desiredVmConfig(o.spec, id, vmSecrets(o, secrets));
    const all = createParams(desired);
    if (o.spec.source?.clone) {
      if (cloneSourceVmid === undefined) throw new Error('clone source VMID unknown');
      return { action: 'clone', source: cloneSourceVmid, params: cloneParams(o, id, 'name', all['description'] ?? '') };
    }
    const createOnly = vmCreateOnlyParams(o.spec, vmSecrets(o, secrets));
    const volume = imageVolume(o);
    if (volume) {
      const slot = o.spec.source?.cloudImage?.diskSlot ?? 'scsi0';
      createOnly[slot] = `${o.spec.source?.cloudImage?.storage}:0,import-from=${volume}`;
    }
    return { action: 'create', params: withoutRootOnly('qemu', { ...all, ...createOnly }, false) };
  },
  sourceVolume(o) {
    const image = o.spec.source?.cloudImage;
    if (image) {
      const volume = imageVolume(o) ?? '';
      const [storage = ''] = volume.split(':');
      return image.url ? { storage, volume, fetch: { url: image.url, filename: volume.split('/').pop() ?? '', content: 'import' } } : { storage, volume };
    }
    const iso = o.spec.source?.blank?.iso;
    return iso ? { storage: iso.split(':')[0] ?? '', volume: iso } : undefined;
  },
  storage: (o) => o.spec.source?.cloudImage?.storage ?? o.spec.source?.clone?.storage ?? o.spec.disks?.find((d) => d.storage)?.storage,
};
