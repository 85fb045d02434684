import { writeFileSync } from 'node:fs';

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
