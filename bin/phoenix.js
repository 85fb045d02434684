#!/usr/bin/env node
// Installed entry point: runs the compiled CLI when present (container image, npm
// package), else the TypeScript source directly (Node >= 22.18 strips types).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
await import(existsSync(fileURLToPath(compiled)) ? compiled.href : source.href);
