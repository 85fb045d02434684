import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Issue 11 (footprint): importing node:http as an ES module loads Node's bundled undici, about
// 11 MiB resident that the controller never uses. The controller's modules must not do it.
describe('the controller does not load what it never uses', () => {
  it('loads the controllers, the runtime and the Proxmox client without Node\'s bundled undici', () => {
    const registry = fileURLToPath(new URL('../../../src/controllers/registry.ts', import.meta.url));
    const manager = fileURLToPath(new URL('../../../src/runtime/manager.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', `
      await import(${JSON.stringify(manager)});
      await import(${JSON.stringify(registry)});
      process.stdout.write(String(process.moduleLoadList.filter((m) => m.includes('deps/undici')).length));
    `], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '0', 'node:internal/deps/undici was loaded');
  });

  // ssh2 costs about 10 MiB resident (16 MiB of external memory for its poly1305 WebAssembly);
  // only a controller that provisions over SSH needs it, and loads it on its first connection.
  it('loads the controllers and the runtime without ssh2', () => {
    const registry = fileURLToPath(new URL('../../../src/controllers/registry.ts', import.meta.url));
    const manager = fileURLToPath(new URL('../../../src/runtime/manager.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', `
      const { createRequire } = await import('node:module');
      await import(${JSON.stringify(manager)});
      await import(${JSON.stringify(registry)});
      const loaded = Object.keys(createRequire(${JSON.stringify(registry)}).cache).filter((f) => f.includes('/node_modules/ssh2/'));
      process.stdout.write(String(loaded.length));
    `], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '0', 'ssh2 was loaded');
  });
});
