/** What `phoenix sim` and `phoenix sim portainer` share: serving flags, state files, running until a signal. */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { FlagReader } from '../../cli/command.ts';

/** The flags both simulators take: `--port`, `--https`, `--seed`, `--speed`. False for any other flag. */
export function readServeFlag(flag: string, flags: FlagReader, options: { port?: number; https?: boolean; seed?: number; speed?: number }): boolean {
  switch (flag) {
    case '--port': options.port = flags.number(); return true;
    case '--https': options.https = true; return true;
    case '--seed': options.seed = flags.number(); return true;
    case '--speed': options.speed = flags.number(); return true;
    default: return false;
  }
}

/** The state `--state FILE` saved last time, if the file exists. */
export function loadState<T>(stateFile: string | undefined): T | undefined {
  return stateFile !== undefined && existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as T) : undefined;
}

/** What `phoenix sim` and `phoenix sim portainer` keep running. */
export interface StoppableSimulator {
  readonly admin: { snapshotState(): unknown };
  close(): Promise<void>;
}

/**
 * Serves until SIGINT or SIGTERM, then saves the simulator's state to `stateFile` (when given,
 * so the next run can `--state` it back) and closes it.
 */
export async function runUntilSignal(sim: StoppableSimulator, stateFile: string | undefined): Promise<void> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (stateFile !== undefined) {
    writeFileSync(stateFile, JSON.stringify(sim.admin.snapshotState(), null, 2));
    process.stdout.write(`state saved to ${stateFile}\n`);
  }
  await sim.close();
}
