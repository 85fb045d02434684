import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The real legacy Phoenix Hypervisor files (../shared/phoenix-legacy-examples) and what the
 * import tests need to judge the import by: the leaves of a JSON file, and the value an output
 * field path names in an object. Both are written here from the JSON and the path syntax, not
 * taken from the importer.
 */

export function legacyExamplesDir(): string {
  const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  return join(process.env['PHOENIX_SHARED_DIR'] ?? join(repo, '..', 'shared'), 'phoenix-legacy-examples');
}

/** Why the examples cannot be used, or undefined. */
export function legacyExamplesMissing(): string | undefined {
  const dir = legacyExamplesDir();
  return existsSync(join(dir, 'phoenix_hypervisor_config.json')) ? undefined : `legacy examples not found at ${dir} (set PHOENIX_SHARED_DIR)`;
}

const escape = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** JSON Pointers of every leaf; an empty object or array is a leaf. */
export function leafPaths(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object' || Object.keys(value).length === 0) return [path];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, `${path}/${escape(k)}`));
}

/** Whether `path` is `prefix` or below it. */
export function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * The value at an output field path such as `spec.networks[0].ipv4`,
 * `spec.storages[quickOS-vm-disks].pool` (a list entry by its id, name, userid or slot),
 * `spec.env[API_PORT]` or `metadata.annotations["a/b"]`; undefined when it is not there.
 */
export function resolveField(object: unknown, field: string): unknown {
  const tokens = field.match(/[^.[\]]+|\[[^\]]*\]/g) ?? [];
  let node: unknown = object;
  for (const token of tokens) {
    if (node === undefined || node === null) return undefined;
    if (token.startsWith('[')) {
      const inner = token.slice(1, -1);
      if (/^\d+$/.test(inner) && Array.isArray(node)) node = node[Number(inner)];
      else if (inner.startsWith('"')) node = (node as Record<string, unknown>)[JSON.parse(inner) as string];
      else if (Array.isArray(node)) node = node.find((e) => ['id', 'name', 'userid', 'slot', 'path'].some((k) => (e as Record<string, unknown>)[k] === inner));
      else return undefined;
    } else node = (node as Record<string, unknown>)[token];
  }
  return node;
}
