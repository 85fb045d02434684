import { FlagReader, UsageError, type Command } from '../command.ts';
import { startProxmoxSimulator, type StartOptions } from '../../sim/proxmox/index.ts';
import { parseFault, type Fault } from '../../sim/proxmox/faults.ts';
import type { SimState } from '../../sim/proxmox/state.ts';
import { DEFAULT_ROOT_PASSWORD } from '../../sim/proxmox/default-state.ts';
import { portainerUsage, runPortainerSim } from '../../sim/portainer/cli.ts';
import { loadState, readServeFlag, runUntilSignal } from '../../sim/common/cli.ts';

const usage = `phoenix sim proxmox [options]

Runs a simulated Proxmox VE API on 127.0.0.1 (see docs/simulator.md) until interrupted.

  --port N              listen port (default 8006; 0 picks a free one)
  --https               serve HTTPS with a self-signed certificate
  --seed N              seed for MACs, UUIDs, durations and fault dice (default 1)
  --speed X             simulated seconds per real second (default 1)
  --pve-version V       9.1 (default) or 8.4
  --start ISO           simulated start time, e.g. 2026-01-01T00:00:00Z (default: now)
  --state FILE          load the state from FILE if it exists, save it there on exit
  --latency MS          hold every API request MS simulated milliseconds before it is applied
  --error-rate G=R      fail fraction R of requests to endpoint group G (qemu, lxc, tasks, storage, …)
  --resources-lag MS    how far /cluster/resources status lags, like pvestatd (default 10000; 0: live)
  --ssh-port N          the node's SSH port, for pct exec/push/pull into containers (default: a free one)
  --ssh-node NAME       the node the SSH server is (default: the first node)
  --no-ssh              serve no SSH
  --fault JSON          any fault object of the admin API, e.g. '{"kind":"storage-lock-timeout","storage":"local-lvm"}',
                        or apply-then-lose: '{"kind":"error","when":"after","rate":0.2,"status":596,"method":"POST"}'

Prints the API URL, the admin URL, a ready-to-use API token, and the SSH port and host key fingerprint
(the SSH client key for root: GET <admin URL>/ssh).`;

interface Parsed {
  options: StartOptions;
  stateFile?: string;
  faults: Fault[];
}

function parse(argv: string[]): Parsed {
  const [target, ...rest] = argv;
  if (target !== 'proxmox') throw new UsageError(target === undefined ? 'missing simulator name (proxmox or portainer)' : `unknown simulator '${target}'`);
  const options: StartOptions = { port: 8006 };
  const faults: Fault[] = [];
  let stateFile: string | undefined;
  const flags = new FlagReader(rest);
  for (const flag of flags) {
    switch (flag) {
      case '--pve-version': {
        const v = flags.value();
        if (v !== '9.1' && v !== '8.4') throw new UsageError('--pve-version must be 9.1 or 8.4');
        options.pveVersion = v;
        break;
      }
      case '--state': stateFile = flags.value(); break;
      case '--ssh-port': options.ssh = { ...(options.ssh || {}), port: flags.number() }; break;
      case '--ssh-node': options.ssh = { ...(options.ssh || {}), node: flags.value() }; break;
      case '--no-ssh': options.ssh = false; break;
      case '--start': {
        const ms = Date.parse(flags.value());
        if (Number.isNaN(ms)) throw new UsageError('--start needs an ISO 8601 time such as 2026-01-01T00:00:00Z');
        options.startMs = ms;
        break;
      }
      case '--latency': faults.push({ kind: 'latency', ms: flags.number() }); break;
      case '--error-rate': {
        const m = /^([a-z]+)=(0(\.\d+)?|1(\.0+)?)$/.exec(flags.value());
        if (!m) throw new UsageError('--error-rate needs GROUP=RATE with RATE between 0 and 1');
        faults.push({ kind: 'error', group: m[1]!, rate: Number(m[2]) });
        break;
      }
      case '--resources-lag': options.resourcesLagMs = flags.number(); break;
      case '--fault': {
        try {
          faults.push(parseFault(flags.json<unknown>()));
        } catch (err) {
          throw new UsageError(`--fault: ${(err as Error).message}`);
        }
        break;
      }
      default: if (!readServeFlag(flag, flags, options)) throw new UsageError(`unknown option '${flag}'`);
    }
  }
  const state = loadState<SimState>(stateFile);
  if (state !== undefined) options.state = state;
  return { options, faults, ...(stateFile !== undefined ? { stateFile } : {}) };
}

export const simCommand: Command = {
  name: 'sim',
  summary: 'Run a simulated Proxmox VE or Portainer API for trying Phoenix and testing manifests',
  usage: `phoenix sim proxmox|portainer [options]

Runs a simulated Proxmox VE or Portainer API on 127.0.0.1 until interrupted.
  phoenix sim proxmox --help     the Proxmox VE simulator's options (docs/simulator.md)
  phoenix sim portainer --help   the Portainer simulator's options (docs/portainer-simulator.md)`,
  usageFor(argv) {
    if (argv[0] === 'proxmox') return usage;
    if (argv[0] === 'portainer') return portainerUsage;
    return this.usage;
  },
  async run(argv) {
    if (argv[0] === 'portainer') return runPortainerSim(argv.slice(1));
    const { options, stateFile, faults } = parse(argv);
    const sim = await startProxmoxSimulator(options);
    for (const f of faults) sim.admin.injectFault(f);
    process.stdout.write(
      [
        `Proxmox VE ${sim.simulator.versionInfo.version} simulator listening on ${sim.url}/api2/json`,
        `admin API:  ${sim.adminUrl} (faults, clock, counters, seeding; see docs/simulator.md)`,
        `API token:  ${sim.token.fullId}=${sim.token.secret}`,
        `  header:   Authorization: ${sim.token.header}`,
        `  login:    root@pam / ${DEFAULT_ROOT_PASSWORD}`,
        ...(sim.ssh ? [`SSH:        ${sim.ssh.host}:${sim.ssh.port} (node ${sim.ssh.node}), host key ${sim.ssh.hostKeyFingerprint}; root's key: GET ${sim.adminUrl}/ssh`] : []),
        '',
      ].join('\n'),
    );
    await runUntilSignal(sim, stateFile);
    return 0;
  },
};
