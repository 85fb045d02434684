/**
 * Node power and shells (`POST /nodes/{node}/status`, `termproxy`, `vncshell`), as pve-manager's
 * API2/Nodes.pm answers them. A simulated node reboots by stopping its guests and starting
 * those marked `onboot`; a shutdown leaves it offline (595 from then on, as a dead node).
 */
import { bool, int, oneOf, str } from '../../../proxmox/schema.ts';
import type { Endpoint } from '../endpoint.ts';
import { nodeOnly, nodePerm } from './common.ts';
import { consoleTask, consoleTicket } from './guest-extras.ts';

const o = { optional: true } as const;
const shellCmd = oneOf(['ceph_install', 'login', 'upgrade'], o);

export const nodePowerEndpoints: Endpoint[] = [
  {
    method: 'POST', path: '/nodes/{node}/status', params: { command: oneOf(['reboot', 'shutdown']), ...nodeOnly }, permissions: nodePerm(['Sys.PowerMgmt']),
    handler: ({ sim, params }) => {
      const node = sim.node(String(params['node']));
      for (const g of sim.state.guests.filter((x) => x.node === node.name && x.status === 'running')) {
        g.status = 'stopped';
        g.startedAt = undefined;
        g.paused = false;
        g.agentRunning = false;
      }
      if (params['command'] === 'shutdown') {
        node.online = false;
        return null;
      }
      for (const g of sim.state.guests.filter((x) => x.node === node.name && x.config['onboot'] === '1' && x.config['template'] !== '1')) {
        g.status = 'running';
        g.startedAt = sim.clock.now();
        g.agentRunning = g.type === 'qemu' && /^(enabled=)?1/.test(g.config['agent'] ?? '0');
      }
      return null;
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/termproxy', params: { cmd: shellCmd, 'cmd-opts': str({ ...o, requires: 'cmd' }), ...nodeOnly }, permissions: nodePerm(['Sys.Console']),
    handler: ({ sim, params, subject }) => {
      const node = String(params['node']);
      return { user: subject.userid, ticket: consoleTicket(sim, subject, `/nodes/${node}`), port: 5900 + Math.floor(sim.random.next() * 100), upid: consoleTask(sim, node, 'vncshell', '', subject) };
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/vncshell',
    params: { cmd: shellCmd, 'cmd-opts': str({ ...o, requires: 'cmd' }), height: int({ ...o, minimum: 16, maximum: 2160 }), ...nodeOnly, websocket: bool(o), width: int({ ...o, minimum: 16, maximum: 4096 }) },
    permissions: nodePerm(['Sys.Console']),
    handler: ({ sim, params, subject }) => {
      const node = String(params['node']);
      return {
        user: subject.userid, ticket: consoleTicket(sim, subject, `/nodes/${node}`), port: String(5900 + Math.floor(sim.random.next() * 100)),
        cert: '-----BEGIN CERTIFICATE-----\n(simulated pve-ssl.pem)\n-----END CERTIFICATE-----\n', upid: consoleTask(sim, node, 'vncshell', '', subject),
      };
    },
  },
];
