// What loading a module costs the process, in resident memory: imports each argument in turn
// (after the ones before it) and prints RSS and heap after a full GC. Not a benchmark with a
// target (npm run bench skips it); run it as the image runs Node:
//   bash scripts/with-node.sh node --expose-gc --max-semi-space-size=1 bench/module-rss.ts node:https winston ajv
const gc = (globalThis as { gc?: () => void }).gc;
const mib = (n: number): string => (n / 1048576).toFixed(1);
const line = (what: string): void => {
  gc?.();
  const u = process.memoryUsage();
  process.stdout.write(`${what.padEnd(40)} rss ${mib(u.rss)} MiB  heap ${mib(u.heapUsed)} of ${mib(u.heapTotal)} MiB  external ${mib(u.external)} MiB\n`);
};
line('(nothing loaded)');
for (const specifier of process.argv.slice(2)) {
  await import(specifier.startsWith('.') ? new URL(specifier, `file://${process.cwd()}/`).href : specifier);
  line(`+ ${specifier}`);
}
