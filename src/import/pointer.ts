/**
 * JSON Pointers (RFC 6901) name a place in a legacy file, in errors and in the import report:
 * `/lxc_configs/103/network_config/ip`. They are what ajv reports, and unambiguous for keys
 * that contain dots or digits.
 */

export function pointer(...segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** `/a/b` joined with segments. */
export function child(base: string, ...segments: readonly (string | number)[]): string {
  return base + pointer(...segments);
}

/** Whether `path` is `prefix` or lies below it. */
export function within(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

export function segmentsOf(path: string): string[] {
  return path === '' ? [] : path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The value at `path`, or undefined. */
export function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const segment of segmentsOf(path)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}
