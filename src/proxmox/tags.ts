/**
 * Guest tags (format `pve-tag-list`). Proxmox stores them normalised
 * (`GuestHelpers::get_unique_tags` with the default datacenter tag-style): lower-cased,
 * de-duplicated, sorted, and joined with ';' — so `Prod,web` reads back as `prod;web`.
 */
export const TAG_RE = /^[a-z0-9_][a-z0-9_\-+.]*$/i;

/** pve-common `split_list`: NUL-separated if a NUL is present, else on `[,;\s]+`. */
export function splitList(text: string): string[] {
  const parts = text.includes('\0') ? text.split('\0') : text.split(/[,;\s]+/);
  return parts.filter((p) => p !== '');
}

export function invalidTag(tag: string): boolean {
  return !TAG_RE.test(tag);
}

export function normaliseTags(text: string): string {
  const unique = new Set(splitList(text).map((t) => t.toLowerCase()));
  return [...unique].sort().join(';');
}
