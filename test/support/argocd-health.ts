import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sandbox = join(root, 'test/support/argocd-sandbox.lua');
export const healthScript = join(root, 'src/deploy/argocd-health.lua');

/** A Lua string literal for any text: byte escapes for everything but plain printable ASCII (Lua 5.1 has no \u). */
function luaString(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c ? String.fromCharCode(byte) : `\\${byte}`;
  }
  return `${out}"`;
}

/** The object as Argo CD hands it to Lua: maps become tables with string keys, arrays sequences, null nothing. */
export function luaValue(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return luaString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{ ${value.map(luaValue).join(', ')} }`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined);
  return `{ ${entries.map(([k, v]) => `[${luaString(k)}] = ${luaValue(v)}`).join(', ')} }`;
}

/** Runs the shipped health script on `object` in Lua 5.1 (Debian's lua5.1, scripts/test-setup.d/lua.sh). */
export function argoCdHealth(object: unknown, script = healthScript): { status: string; message: string } {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-argocd-'));
  try {
    const file = join(dir, 'obj.lua');
    writeFileSync(file, `return ${luaValue(object)}\n`);
    const out = execFileSync('lua5.1', [sandbox, script, file], { encoding: 'utf8' });
    const newline = out.indexOf('\n');
    return { status: out.slice(0, newline), message: out.slice(newline + 1) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
