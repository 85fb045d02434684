import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository's git-ignored working folder for local clusters and simulators. */
export const workDir = process.env['PHOENIX_WORK_DIR'] ?? fileURLToPath(new URL('../../.phoenix', import.meta.url));
export const localClusterDir = join(workDir, 'cluster');
/** Where `phoenix cluster up` writes the kubeconfig (documented in the README). */
export const localKubeconfig = join(workDir, 'kubeconfig');
