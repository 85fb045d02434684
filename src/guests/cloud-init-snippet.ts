/**
 * A PhoenixVM's `cloudInit.userDataSnippet`: the user-data file Phoenix places in a storage's
 * `snippets/` directory and names in `cicustom user=`. The name is content-addressed, so a new
 * content is a new file (and a cicustom change, pending until the next reboot as Proxmox keeps
 * cloud-init changes), while the same content is the same file: nothing to upload again.
 */

import { createHash } from 'node:crypto';

export interface Snippet {
  readonly storage: string;
  readonly file: string;
  /** `<storage>:snippets/<file>`, the volume cicustom names. */
  readonly volume: string;
}

/** Proxmox volume names allow these characters only (pve-storage's parse_volname for snippets). */
const unsafe = /[^A-Za-z0-9._-]/g;

const filePrefix = (namespace: string, name: string) => `phoenix-${namespace.replace(unsafe, '_')}-${name.replace(unsafe, '_')}-`;

export function snippetFor(namespace: string, name: string, storage: string, content: string): Snippet {
  const digest = createHash('sha256').update(content, 'utf8').digest('hex').slice(0, 16);
  const file = `${filePrefix(namespace, name)}${digest}.yaml`;
  return { storage, file, volume: `${storage}:snippets/${file}` };
}

/**
 * Whether cicustom names an earlier snippet of this object (other content, or another storage):
 * a change of cicustom to the new one is then new content, not drift made outside Phoenix.
 */
export function isEarlierSnippet(namespace: string, name: string, cicustom: unknown, current: string): boolean {
  const user = cicustomUser(cicustom);
  return user !== undefined && user !== current && /^[^:]+:snippets\/(.*)$/.exec(user)?.[1]?.startsWith(filePrefix(namespace, name)) === true;
}

/** Where the file lives on the node: `<path>/snippets/<file>` of a directory-based storage. */
export function snippetPath(storagePath: string, snippet: Snippet): string {
  return `${storagePath.replace(/\/+$/, '')}/snippets/${snippet.file}`;
}

export type SnippetStorageVerdict = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/** Whether a storage's config (`GET /storage/{storage}`) can hold snippets. */
export function snippetStorage(storage: string, config: { path?: string; content?: string; type?: string }): SnippetStorageVerdict {
  const content = (config.content ?? '').split(',').map((c) => c.trim());
  if (!content.includes('snippets')) {
    return { ok: false, reason: `storage ${storage} does not allow snippets content (content: ${config.content || 'none'}); add snippets to its content, or choose another storage for cloudInit.userDataSnippet` };
  }
  if (!config.path) return { ok: false, reason: `storage ${storage} (type ${config.type ?? 'unknown'}) has no directory path to write a snippet into` };
  return { ok: true, path: config.path };
}

/** The volume in `cicustom` for user-data (`user=<volume>`), if any. */
export function cicustomUser(cicustom: unknown): string | undefined {
  return String(cicustom ?? '').split(',').map((p) => p.split('=')).find(([k]) => k === 'user')?.[1];
}
