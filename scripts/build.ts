// `npm run build`: the production JavaScript in dist/, as the container image runs it.
//
// Phoenix's own modules are bundled into a few files (one per command, plus shared chunks),
// whitespace and syntax minified; npm packages stay external and are loaded from node_modules
// as before, so the lazily loaded ones (ssh2, undici, @kubernetes/client-node) stay lazy.
// Measured on `phoenix controller` at idle (issue 11, docs/runtime.md): 83-84 MiB resident as 200
// separate ES modules compiled by tsc; bundled, 82 MiB as is, 79 MiB with whitespace and syntax
// minified (less source for V8 to keep), 78 MiB with identifiers mangled too. Identifiers are
// kept, so stack traces still name functions; the source map maps lines back
// (node --enable-source-maps).
//
// Every chunk lands in dist/cli/, two levels below the package root like the sources under
// src/<dir>/, so a module that finds files relative to import.meta.url must sit at that depth
// (src/devcluster/paths.ts does; src/version.ts imports package.json instead).
// Types are not checked here: `npm run typecheck` (and the Dockerfile's build stage) do that.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = process.argv[2] ?? `${root}dist`;
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { 'cli/main': 'src/cli/main.ts' },
  outdir,
  chunkNames: 'cli/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  packages: 'external',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  logLevel: 'warning',
});
