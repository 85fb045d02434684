// The CRD installer and polling helper live in src/devcluster (the demo and benchmarks use them too).
export { installPhoenixCrds, eventually, apiErrorMessage } from '../../src/devcluster/crds.ts';
