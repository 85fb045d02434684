#!/usr/bin/env node
// Installed entry point: runs the compiled CLI when present (container image, npm
// package), else the TypeScript source directly (Node >= 22.18 strips types).
//
// The Node.js version is checked before anything else is imported: the Kubernetes client
// needs a newer Node than some distributions ship, and on an older one it dies with an
// unrelated-looking TypeError from inside undici instead of saying what is wrong.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const engines = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines?.node ?? '';
const wanted = /(\d+)\.(\d+)\.(\d+)/.exec(engines)?.slice(1).map(Number) ?? [0, 0, 0];
const running = process.versions.node.split('.').map(Number);
/** Compares major, minor, patch in turn; the first that differs decides. */
const differs = wanted.findIndex((part, i) => (running[i] ?? 0) !== part);
const older = differs >= 0 && (running[differs] ?? 0) < wanted[differs];
if (older) {
  process.stderr.write(`phoenix: needs Node.js ${wanted.join('.')} or newer; this is Node.js ${process.versions.node} (${process.execPath})\n`);
  process.exit(1);
}

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
await import(existsSync(fileURLToPath(compiled)) ? compiled.href : source.href);
