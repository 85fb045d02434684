import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workDir } from './paths.ts';

/** Background processes started for local use (the demo's simulator and controller). */
const file = () => join(workDir, 'processes.json');

function read(): Record<string, number> {
  return existsSync(file()) ? (JSON.parse(readFileSync(file(), 'utf8')) as Record<string, number>) : {};
}

export function rememberProcess(name: string, pid: number): void {
  mkdirSync(workDir, { recursive: true });
  writeFileSync(file(), JSON.stringify({ ...read(), [name]: pid }, null, 2));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops every remembered process (SIGTERM, then SIGKILL after 5 s) and forgets them. */
export async function stopRememberedProcesses(): Promise<string[]> {
  const stopped: string[] = [];
  for (const [name, pid] of Object.entries(read())) {
    if (!pid || !isAlive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    stopped.push(name);
  }
  rmSync(file(), { force: true });
  return stopped;
}
