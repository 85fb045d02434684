import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Runs kubectl against the test cluster. scripts/test.sh puts a kubectl of the server's
 * minor version first on PATH; PHOENIX_KUBECTL overrides.
 */
export async function kubectl(kubeconfig: string, args: string[]): Promise<string> {
  const binary = process.env['PHOENIX_KUBECTL'] ?? 'kubectl';
  const { stdout } = await run(binary, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}
