/**
 * `node:http`, loaded with `require`. Importing it as an ES module makes Node build the module's
 * namespace from every export, and reading them runs node:http's lazy getters, which load Node's
 * bundled undici (about 750 kB of JavaScript) that Phoenix never uses. Alone, a process is at
 * 59.8 MiB after `import('node:http')` and 48.3 MiB after `require` (most of it heap growth the
 * controller has anyway: its idle RSS went from 86 to 84 MiB).
 * Types still come from `import type … from 'node:http'`, which leaves nothing behind at run time.
 */
import { createRequire } from 'node:module';

const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export const { Agent, createServer, request } = http;
