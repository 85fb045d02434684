// Imported rather than read relative to this file, so that a bundle (scripts/build.ts) carries it.
import pkg from '../package.json' with { type: 'json' };

export const phoenixVersion: string = pkg.version;
