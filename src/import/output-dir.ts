import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generatedMarker } from './render.ts';
import { reportMarker } from './report-markdown.ts';
import { reportFiles } from './import-estate.ts';
import { unifiedDiff } from './text-diff.ts';

/**
 * The output directory (I/O only). The import owns the files it wrote, recognised by their
 * first line; it overwrites or removes only those, and refuses to write over anything else.
 */

export function isGenerated(path: string, text: string): boolean {
  if (path.endsWith('.yaml')) return text.startsWith(generatedMarker);
  if (path === reportFiles.markdown) return text.startsWith(reportMarker);
  if (path === reportFiles.json) return /^\{\s*"generatedBy": "phoenix import"/.test(text);
  return false;
}

/** Files under `dir` (relative paths), with their text. */
export function readOutputDir(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  const walk = (sub: string) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile() && (rel.endsWith('.yaml') || rel.endsWith('.md') || rel.endsWith('.json'))) out.set(rel, readFileSync(join(dir, rel), 'utf8'));
    }
  };
  walk('');
  return out;
}

export interface Changes {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  /** Files the import would write that exist and are not the import's. */
  readonly foreign: readonly string[];
}

export function compare(existing: ReadonlyMap<string, string>, planned: ReadonlyMap<string, string>): Changes {
  const added: string[] = [];
  const changed: string[] = [];
  const foreign: string[] = [];
  for (const [path, text] of planned) {
    const have = existing.get(path);
    if (have === undefined) added.push(path);
    else if (!isGenerated(path, have)) foreign.push(path);
    else if (have !== text) changed.push(path);
  }
  const removed = [...existing].filter(([path, text]) => !planned.has(path) && isGenerated(path, text)).map(([path]) => path);
  return { added, changed, removed: removed.sort(), foreign };
}

/** `--diff`: the unified diff of every file the import would add, change or remove. */
export function diffText(existing: ReadonlyMap<string, string>, planned: ReadonlyMap<string, string>, changes: Changes): string {
  return [...changes.added, ...changes.changed, ...changes.removed]
    .sort()
    .map((path) => unifiedDiff(path, existing.get(path), planned.get(path)))
    .join('');
}

/** Writes the planned files that differ and removes the import's files it no longer makes. */
export function applyToDir(dir: string, planned: ReadonlyMap<string, string>, changes: Changes): void {
  for (const path of [...changes.added, ...changes.changed]) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, planned.get(path)!);
  }
  for (const path of changes.removed) {
    unlinkSync(join(dir, path));
    // Drop directories the removal left empty, up to the output directory.
    for (let sub = dirname(path); sub !== '.'; sub = dirname(sub)) {
      const full = join(dir, sub);
      if (!statSync(full).isDirectory() || readdirSync(full).length) break;
      rmdirSync(full);
    }
  }
}
