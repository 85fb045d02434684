/**
 * `phoenix sim portainer`: runs the simulator until interrupted. Kept here, not in
 * `src/cli/commands/sim.ts`, so the Proxmox command's parser stays untouched; that file
 * only needs to hand `portainer` argv to `runPortainerSim` (see docs/portainer-simulator.md).
 */
import { writeFileSync } from 'node:fs';
import { FlagReader, UsageError } from '../../cli/command.ts';
import { startPortainerSimulator, type StartOptions } from './index.ts';
import type { EnvironmentSeed } from './simulator.ts';
import type { PortainerFault } from './faults.ts';
import type { PortainerState } from './state.ts';
import { loadState, readServeFlag, runUntilSignal } from '../common/cli.ts';

export const portainerUsage = `phoenix sim portainer [options]

Runs a simulated Portainer CE API on 127.0.0.1 (see docs/portainer-simulator.md) until interrupted.

  --port N                 listen port (default 9000; 0 picks a free one)
  --https                  serve HTTPS with a self-signed certificate
  --seed N                 seed for ids, keys, durations and fault dice (default 1)
  --speed X                simulated seconds per real second (default 1)
  --version V              Portainer version to play (default 2.21.4; 2.17.1 hides /stacks/create/*)
  --admin-password P       password of the 'admin' user
  --environment NAME=URL   add an environment, e.g. vm-101=tcp://10.0.0.101:9001 (repeatable)
  --state FILE             load the state from FILE if it exists, save it there on exit
  --fault JSON             any fault of the admin API, e.g. '{"kind":"error","rate":0.1,"group":"stacks"}'
  --api-key-file FILE      write the admin API key to FILE (mode 600)
  --print-api-key          print the API key on stdout (it is masked otherwise)`;

interface Parsed {
  options: StartOptions;
  faults: PortainerFault[];
  stateFile?: string;
  keyFile?: string;
  printKey: boolean;
}

export function parsePortainerArgs(argv: string[]): Parsed {
  const options: StartOptions = { port: 9000 };
  const faults: PortainerFault[] = [];
  const environments: EnvironmentSeed[] = [];
  const parsed: Parsed = { options, faults, printKey: false };
  const flags = new FlagReader(argv);
  for (const flag of flags) {
    switch (flag) {
      case '--version': {
        const v = flags.value();
        if (!/^\d+\.\d+\.\d+$/.test(v)) throw new UsageError('--version needs MAJOR.MINOR.PATCH');
        options.version = v;
        break;
      }
      case '--admin-password': options.adminPassword = flags.value(); break;
      case '--environment': {
        const m = /^([^=]+)=(.+)$/.exec(flags.value());
        if (!m) throw new UsageError('--environment needs NAME=URL');
        environments.push({ name: m[1]!, url: m[2]! });
        break;
      }
      case '--state': parsed.stateFile = flags.value(); break;
      case '--api-key-file': parsed.keyFile = flags.value(); break;
      case '--print-api-key': parsed.printKey = true; break;
      case '--fault': faults.push(flags.json<PortainerFault>()); break;
      default: if (!readServeFlag(flag, flags, options)) throw new UsageError(`unknown option '${flag}'`);
    }
  }
  if (environments.length > 0) options.environments = [{ name: 'local', type: 1, url: 'unix:///var/run/docker.sock' }, ...environments];
  const state = loadState<PortainerState>(parsed.stateFile);
  if (state !== undefined) options.state = state;
  return parsed;
}

export async function runPortainerSim(argv: string[]): Promise<number> {
  const { options, faults, stateFile, keyFile, printKey } = parsePortainerArgs(argv);
  const sim = await startPortainerSimulator(options);
  for (const f of faults) sim.admin.injectFault(f);
  if (keyFile !== undefined) writeFileSync(keyFile, `${sim.apiKey}\n`, { mode: 0o600 });
  const shownKey = printKey ? sim.apiKey : `${sim.apiKey.slice(0, 8)}… (--print-api-key or --api-key-file to see it)`;
  process.stdout.write([
    `Portainer CE ${sim.simulator.version} simulator listening on ${sim.url}/api`,
    `admin API:  ${sim.adminUrl} (environments, faults, clock, drift; see docs/portainer-simulator.md)`,
    `API key:    ${shownKey}`,
    `  header:   X-API-Key: <key>`,
    `  login:    admin / ${options.adminPassword === undefined ? '(default, see docs)' : '(as given)'}`,
    '',
  ].join('\n'));
  await runUntilSignal(sim, stateFile);
  return 0;
}
