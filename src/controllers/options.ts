import { ConfigError, parseDuration } from '../runtime/config.ts';
import { loopbackOnly } from './phoenix.ts';

export interface PhoenixOptions {
  readonly observePeriodMs: number;
  readonly allowHost: (host: string) => boolean;
  readonly proxmoxTimeoutMs: number;
}

export const phoenixUsage = `Phoenix options:
  --observe-period DURATION         PHOENIX_OBSERVE_PERIOD; how often each guest is read to detect drift (default 5m)
  --allowed-proxmox-hosts LIST      PHOENIX_ALLOWED_PROXMOX_HOSTS; hosts Phoenix may contact, Proxmox and
                                    Portainer alike: "any" (default), "loopback", or host names and IPs,
                                    comma-separated
  --proxmox-timeout DURATION        PHOENIX_PROXMOX_TIMEOUT; how long a Proxmox request may go unanswered
                                    (default 30s). A create whose answer is later than this is treated as
                                    possibly done: Phoenix looks for its guest, for twice this long, before
                                    sending it again`;

const flags = ['--observe-period', '--allowed-proxmox-hosts', '--proxmox-timeout'] as const;

/** Splits Phoenix's own flags from the runtime's, so each parser stays strict about its own. */
export function splitPhoenixArgs(argv: readonly string[]): { phoenix: Record<string, string>; rest: string[] } {
  const phoenix: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const flag = flags.find((f) => arg === f || arg.startsWith(`${f}=`));
    if (!flag) {
      rest.push(arg);
      continue;
    }
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    phoenix[flag.slice(2)] = value;
  }
  return { phoenix, rest };
}

export function parsePhoenixOptions(values: Readonly<Record<string, string>>, env: Readonly<Record<string, string | undefined>>): PhoenixOptions {
  const period = values['observe-period'] ?? env['PHOENIX_OBSERVE_PERIOD'] ?? '5m';
  const hosts = (values['allowed-proxmox-hosts'] ?? env['PHOENIX_ALLOWED_PROXMOX_HOSTS'] ?? 'any').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  const allowHost = hosts.includes('any')
    ? () => true
    : (host: string) => hosts.includes(host.toLowerCase()) || (hosts.includes('loopback') && loopbackOnly(host));
  const timeout = values['proxmox-timeout'] ?? env['PHOENIX_PROXMOX_TIMEOUT'] ?? '30s';
  return { observePeriodMs: parseDuration(period), allowHost, proxmoxTimeoutMs: parseDuration(timeout) };
}
