/**
 * Which transport reaches inside a guest (transport.ts): a VM's guest agent, or for a container
 * SSH to its node as the PhoenixHypervisor's spec.ssh says, with the credentials of its Secret.
 */

import { TerminalError } from '../../runtime/errors.ts';
import { parseDuration } from '../../runtime/config.ts';
import { secretKeys } from '../secrets.ts';
import type { Connection } from '../hypervisor/connections.ts';
import type { GuestObject } from './adapter.ts';
import type { GuestApi } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import { agentTransport } from './guest-agent.ts';
import { pctTransport } from './pct-transport.ts';
import type { GuestTransport } from './transport.ts';
import type { SshTarget } from '../../clients/ssh/sessions.ts';

export function guestTransport<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi): GuestTransport {
  if (api.type === 'qemu') return agentTransport(api);
  const { target, sudo } = nodeSshTarget(ctx, connection, api.node, 'spec.provision and spec.healthChecks of a container run over SSH to its node (pct exec, pct push)', '. Everything else about the container is converged');
  return pctTransport(ctx.deps.ssh, {
    ssh: target,
    node: api.node,
    vmid: api.vmid,
    sudo,
    hypervisor: connection.hypervisor,
    stop: ctx.signals.stopping,
  });
}

/**
 * How to reach `node` over SSH as the PhoenixHypervisor's spec.ssh says, with the credentials of
 * its Secret (registered with the redactor). `why` (and `consequence`) say what needs SSH, for
 * the Stalled reason when the hypervisor has no spec.ssh.
 */
export function nodeSshTarget<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, node: string, why: string, consequence = ''): { target: SshTarget; sudo: boolean } {
  const { ssh, sshHost } = connection.settings;
  const recheck = { recheckAfterMs: 60_000 };
  if (!ssh) {
    throw new TerminalError('SSHNotConfigured', `${why}, and PhoenixHypervisor ${connection.hypervisor} has no spec.ssh${consequence}`, recheck);
  }
  const ref = ssh.credentialsSecretRef;
  const secret = ctx.shared.secretCache.get(`${ref.namespace}/${ref.name}`);
  if (!secret) throw new TerminalError('SSHCredentialsMissing', `Secret ${ref.namespace}/${ref.name} with the SSH credentials of PhoenixHypervisor ${connection.hypervisor} does not exist`, recheck);
  const value = secretKeys(ctx.shared.secretCache, ref.namespace, ref.name);
  const privateKey = value('ssh-privatekey');
  if (!privateKey?.trim()) throw new TerminalError('SSHCredentialsMissing', `Secret ${ref.namespace}/${ref.name} has no key "ssh-privatekey" (the SSH private key of PhoenixHypervisor ${connection.hypervisor})`, recheck);
  const passphrase = value('passphrase');
  // Never in a log line or event, whatever error carries them.
  ctx.setup.redactor.addSecret(privateKey);
  ctx.setup.redactor.addSecret(passphrase);
  const override = ssh.nodes?.find((n) => n.name === node);
  const host = override?.address ?? sshHost;
  ctx.deps.connections.assertAllowed(`ssh://${host.includes(':') ? `[${host}]` : host}`, 'SSH at ');
  return {
    target: {
      host,
      port: override?.port ?? ssh.port ?? 22,
      username: value('username')?.trim() || 'root',
      privateKey,
      ...(passphrase ? { passphrase } : {}),
      pins: { ...(ssh.knownHosts ? { knownHosts: ssh.knownHosts } : {}), ...(ssh.hostKeyFingerprints ? { fingerprints: ssh.hostKeyFingerprints } : {}) },
      connectTimeoutMs: parseDuration(ssh.connectTimeout ?? '10s'),
    },
    sudo: ssh.sudo ?? false,
  };
}
