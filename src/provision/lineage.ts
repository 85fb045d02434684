/**
 * What a clone inherits: the provisioning steps (name and hash) that had run in its source when
 * the source was converted to a template or the snapshot was taken. The source writes them into
 * Proxmox itself, as an HTML comment like the ownership marker (guests/marker.ts): into the
 * description of each snapshot Phoenix takes, and into the guest's description before it is
 * converted to a template. The clone reads that marker from the very snapshot or template it is
 * cloned from, before the clone is sent.
 *
 * Proxmox rather than the source object's status, because: the marker describes exactly the
 * disk that is cloned (a source's status moves on when its steps run again after a snapshot;
 * the snapshot does not); it survives the source object's deletion (and a guest kept by
 * `deletionPolicy: Retain`); and it also serves a source cloned by VMID, with no object at all.
 * Proxmox does not copy a guest's description into its snapshots (pve-guest-common's
 * PVE/AbstractConfig.pm, __snapshot_copy_config, skips `description`), so each snapshot carries
 * its own copy in the snapshot's description. A template cannot take a snapshot ("you can't take
 * a snapshot if it's a template", __snapshot_prepare), so its own description is the place.
 */

export interface StepRef {
  readonly name: string;
  readonly hash: string;
}

const tag = 'phoenix:provisioned';
const markerRe = /<!-- phoenix:provisioned((?: [a-z0-9-]{1,63}=[0-9a-f]{1,64})*) -->/;

export function provisionedMarker(steps: readonly StepRef[]): string {
  return `<!-- ${tag}${steps.map((s) => ` ${s.name}=${s.hash}`).join('')} -->`;
}

/** The steps a description's marker names; undefined when it has none (no Phoenix-provisioned source). */
export function readProvisioned(text: string | undefined): StepRef[] | undefined {
  const match = text?.match(markerRe);
  if (!match) return undefined;
  return (match[1] ?? '').trim().split(' ').filter(Boolean).map((pair) => {
    const [name = '', hash = ''] = pair.split('=');
    return { name, hash };
  });
}

/** The text without the provisioned marker: what the notes and the ownership marker compare as. */
export function stripProvisioned(text: string): string {
  return text.replace(/\n*<!-- phoenix:provisioned[^>]*-->\n*/, (_, offset: number) => (offset === 0 ? '' : '\n\n')).trimEnd();
}

export function sameSteps(a: readonly StepRef[] | undefined, b: readonly StepRef[]): boolean {
  return a !== undefined && a.length === b.length && a.every((s, i) => s.name === b[i]!.name && s.hash === b[i]!.hash);
}

/**
 * The text with the marker for `steps` (replacing any), on the line before the ownership marker
 * when there is one (that marker stays last: guests/marker.ts reads it at the end), else last.
 * Stripping it gives back the text as guests/marker.ts writes it.
 */
export function withProvisioned(text: string, steps: readonly StepRef[] | undefined, ownerMarkerRe: RegExp): string {
  const base = stripProvisioned(text);
  if (!steps) return base;
  const marker = provisionedMarker(steps);
  const owner = base.match(ownerMarkerRe);
  if (!owner || owner.index === undefined) return base ? `${base}\n\n${marker}` : marker;
  const before = base.slice(0, owner.index);
  const ownerText = owner[0].replace(/^\n+/, '');
  return before ? `${before}\n\n${marker}\n${ownerText}` : `${marker}\n${ownerText}`;
}

/** What a guest passes on to its clones: what it inherited, then its own steps that succeeded. */
export function lineage(inherited: readonly StepRef[], own: readonly StepRef[]): StepRef[] {
  return [...inherited.map(({ name, hash }) => ({ name, hash })), ...own.map(({ name, hash }) => ({ name, hash }))];
}
