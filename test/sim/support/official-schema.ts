/**
 * Loads the official Proxmox VE API schema (apidata.js) from the shared folder at test
 * time. It is test data only: nothing from it is copied into the project.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface OfficialParam {
  type?: string;
  optional?: number;
  format?: string | Record<string, OfficialParam & { default_key?: number; alias?: string; keyAlias?: string }>;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  requires?: string;
  default_key?: number;
  alias?: string;
  keyAlias?: string;
}

export interface OfficialMethod {
  parameters?: { properties?: Record<string, OfficialParam> };
  allowtoken?: number;
}

interface Node {
  path: string;
  info?: Record<string, OfficialMethod>;
  children?: Node[];
}

export const SCHEMA_FILES = { '9.1': 'pve-api/apidata.js', '8.4': 'pve-api/pve-8.4/apidata.js' } as const;

export function sharedDir(): string {
  const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
  return process.env['PHOENIX_SHARED_DIR'] ?? join(repo, '..', 'shared');
}

/** `METHOD path` → method info, or a reason why the schema is unavailable. */
export function loadOfficialSchema(version: keyof typeof SCHEMA_FILES): Map<string, OfficialMethod> | string {
  const file = join(sharedDir(), SCHEMA_FILES[version]);
  if (!existsSync(file)) return `official schema not found at ${file} (set PHOENIX_SHARED_DIR)`;
  const tree = JSON.parse(readFileSync(file, 'utf8').replace(/^const apiSchema = /, '').replace(/;\s*$/, '')) as Node[];
  const out = new Map<string, OfficialMethod>();
  const walk = (n: Node) => {
    for (const [method, info] of Object.entries(n.info ?? {})) out.set(`${method} ${n.path}`, info);
    for (const c of n.children ?? []) walk(c);
  };
  tree.forEach(walk);
  return out;
}

/**
 * Perl writes compiled regexes as `(?^:…)` or `(?^i:…)`. Both sides are normalised the
 * same way for comparison: Perl wrappers become `(?:` (`(?i:` when case-insensitive, which JavaScript
 * reads the same way), `{,n}` becomes `{0,n}`, and a group wrapping the whole
 * pattern is removed (it changes nothing for an anchored match).
 */
export function normalisePattern(p: string): string {
  // Perl 5.34+ reads a quantifier `{,n}` as `{0,n}`; JavaScript needs the 0 written.
  let s = p.replace(/\(\?\^i:/g, '(?i:').replace(/\(\?\^:/g, '(?:').replace(/\{,(\d+)\}/g, '{0,$1}');
  for (;;) {
    const inner = unwrapWholeGroup(s);
    if (inner === undefined) return s;
    s = inner;
  }
}

function unwrapWholeGroup(s: string): string | undefined {
  // A case-insensitive group keeps its meaning only with its flag.
  if (!s.startsWith('(') || !s.endsWith(')') || s.startsWith('(?i:')) return undefined;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      for (i++; i < s.length && s[i] !== ']'; i++) if (s[i] === '\\') i++;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')') {
      depth--;
      if (depth === 0 && i < s.length - 1) return undefined;
    }
  }
  return s.startsWith('(?:') ? s.slice(3, -1) : s.slice(1, -1);
}
