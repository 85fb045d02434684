// `npm run build`: the production JavaScript in dist/, as the container image runs it.
//
// Phoenix's own modules are bundled into a few files (one per command, plus shared chunks),
// whitespace and syntax minified. The npm packages the controller loads at start (winston, yaml,
// ajv, fast-json-patch) are bundled too: loaded from node_modules, each of their ~200 CommonJS
// files was resolved (stat, package.json) and wrapped at start-up, 1.8 MiB resident at idle, and
// the path functions that resolution runs hundreds of times got hot enough for TurboFan (issue 11,
// docs/runtime.md). The ones loaded lazily or only by other commands (ssh2, undici,
// @kubernetes/client-node, selfsigned, proxmox-api's types) stay external and lazy.
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
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/**
 * Node's built-in modules as CommonJS objects (`process.getBuiltinModule`), not ES module
 * namespaces. Node builds a built-in's ES namespace from every export, which runs the module's
 * lazy getters: `import … from 'node:fs'` loads fs/promises and with it readline, `node:util`
 * loads worker_threads, `node:crypto` WebCrypto. The CommonJS object runs a getter only when it is
 * read, and esbuild's interop reads each name at its use. It also serves the bundled packages'
 * `require('os')`, which ES module output cannot run as it is.
 */
const builtinsAsCommonJs: Plugin = {
  name: 'builtins-as-commonjs',
  setup(b) {
    const names = builtinModules.map((name) => name.replace(/[/]/g, '\\/')).join('|');
    b.onResolve({ filter: new RegExp(`^(node:)?(${names})$`) }, (args) => ({ path: args.path.replace(/^(node:)?/, 'node:'), namespace: 'builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

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
  external: ['@kubernetes/client-node', 'ssh2', 'undici', 'selfsigned', 'proxmox-api'],
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  logLevel: 'warning',
  plugins: [builtinsAsCommonJs],
});
