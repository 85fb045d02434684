import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LegacyTree } from './legacy-validation.ts';

/**
 * Reads a legacy installation from disk (I/O only). `dir` is the legacy `etc/` directory; the
 * stacks and scripts sit beside it (`../stacks`, `../bin` in an installed tree) or inside it.
 */

const maxFileBytes = 4 * 1024 * 1024;

export interface LegacyDir {
  readonly tree: LegacyTree;
  /** Files skipped as too large, by path. */
  readonly skipped: readonly string[];
}

function readFiles(root: string, prefix: string, recursive: boolean, files: Map<string, string>, skipped: string[]): void {
  for (const entry of readdirSync(root, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(root, entry.name);
    const stat = statSync(path, { throwIfNoEntry: false });
    const key = `${prefix}/${entry.name}`;
    if (stat?.isDirectory() && recursive) readFiles(path, key, true, files, skipped);
    else if (stat?.isFile()) {
      if (stat.size > maxFileBytes) skipped.push(key);
      else files.set(key, readFileSync(path, 'utf8'));
    }
  }
}

const isDir = (path: string) => existsSync(path) && statSync(path).isDirectory();

/** The directories of the legacy tree the import reads, besides etc/: stacks, and the scripts it copies. */
const binDirs = ['lxc_setup', 'vm_features', 'health_checks', 'tests'];

export function readLegacyDir(dir: string): LegacyDir {
  if (!isDir(dir)) throw new Error(`${dir} is not a directory`);
  const etc = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.name.endsWith('.json') && statSync(path).isFile()) etc.set(entry.name, readFileSync(path, 'utf8'));
  }
  const files = new Map<string, string>();
  const skipped: string[] = [];
  // In an installed tree (usr/local/phoenix_hypervisor/etc) stacks/ and bin/ are etc's siblings.
  const roots = [dir, ...(basename(dir) === 'etc' ? [dirname(dir)] : [])];
  const stacks = roots.map((r) => join(r, 'stacks')).find(isDir);
  if (stacks) readFiles(stacks, 'stacks', true, files, skipped);
  const bin = roots.map((r) => join(r, 'bin')).find(isDir);
  if (bin) {
    readFiles(bin, 'bin', false, files, skipped);
    for (const sub of binDirs) if (isDir(join(bin, sub))) readFiles(join(bin, sub), `bin/${sub}`, true, files, skipped);
  }
  return { tree: { etc, files }, skipped };
}
