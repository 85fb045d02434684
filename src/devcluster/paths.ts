import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/**
 * The repository (or installed package) root. Found from this file, which sits two levels below
 * it both as a source (src/devcluster/) and in the bundle (dist/cli/, scripts/build.ts).
 */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The repository's git-ignored working folder for local clusters and simulators. */
export const workDir = process.env['PHOENIX_WORK_DIR'] ?? fileURLToPath(new URL('../../.phoenix', import.meta.url));
export const localClusterDir = join(workDir, 'cluster');
/** Where `phoenix cluster up` writes the kubeconfig (documented in the README). */
export const localKubeconfig = join(workDir, 'kubeconfig');
