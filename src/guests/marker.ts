/**
 * The ownership marker: proof that Phoenix created (or was told to adopt) a guest. It sits in
 * the guest's Proxmox description, which is set atomically by the create and clone calls, and
 * names the UID of the owning object. An HTML comment keeps it out of the rendered notes in
 * the Proxmox UI. A guest whose marker names another UID, or no marker, is not ours: Phoenix
 * never changes or deletes it.
 */
export interface Owner {
  readonly uid: string;
  /** `Kind namespace/name`, for people reading the notes; the UID alone proves ownership. */
  readonly ref: string;
}

export const ownerMarkerPattern = /\n*<!-- phoenix:owner uid=([0-9a-fA-F-]{1,64}) ref=([^>\n]{1,300}) -->\s*$/;

export function markerFor(owner: Owner): string {
  return `<!-- phoenix:owner uid=${owner.uid} ref=${owner.ref.replace(/-->/g, '')} -->`;
}

/** The description Phoenix writes: the user's text, then the marker on its own line. */
export function describeWithMarker(description: string | undefined, owner: Owner): string {
  const text = stripMarker(description ?? '').trimEnd();
  return text ? `${text}\n\n${markerFor(owner)}` : markerFor(owner);
}

export function readMarker(description: string | undefined): Owner | undefined {
  const match = description?.match(ownerMarkerPattern);
  return match ? { uid: match[1] ?? '', ref: match[2] ?? '' } : undefined;
}

export function stripMarker(description: string): string {
  return description.replace(ownerMarkerPattern, '');
}

export type Ownership = 'ours' | 'unmarked' | 'foreign';

export function ownershipOf(description: string | undefined, uid: string): Ownership {
  const marker = readMarker(description);
  if (!marker) return 'unmarked';
  return marker.uid === uid ? 'ours' : 'foreign';
}
