/**
 * A PhoenixVM's `cloudInit.userDataSnippet` on its storage: the content read from the spec (or a
 * ConfigMap or Secret key), written over SFTP to the node, with the SSH settings the container
 * transport uses (guest-transport.ts), as `<path>/snippets/<file>` of a storage with `snippets`
 * content. The volume then goes into the desired config as `cicustom user=`, written before the
 * VM starts (qemu-server refuses to start a VM whose cicustom volume is missing: Cloudinit.pm).
 * The content shows nowhere: the file name carries only a digest of it.
 */

import type { PhoenixVM } from '../../api/objects.ts';
import { TerminalError } from '../../runtime/errors.ts';
import { cicustomUser, snippetFor, snippetPath, snippetStorage } from '../../guests/cloud-init-snippet.ts';
import type { Connection } from '../hypervisor/connections.ts';
import type { GuestObject } from './adapter.ts';
import type { GuestApi, GuestConfig } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import { nodeSshTarget } from './guest-transport.ts';
import { keyLookup } from './provisioning.ts';

/**
 * The volume the VM's cicustom names for its user-data, placed on the storage when it is not
 * there yet; undefined when the spec has no userDataSnippet. The storage is listed only when the
 * config does not name this very volume yet, or the guest is not converged at this config: in
 * steady state a snippet costs no call at all.
 */
export async function ensureUserDataSnippet<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi, config: GuestConfig): Promise<string | undefined> {
  if (api.type !== 'qemu') return undefined;
  const spec = (ctx.current as unknown as PhoenixVM).spec.cloudInit?.userDataSnippet;
  if (!spec) return undefined;
  const source = spec.source;
  const lookup = keyLookup(ctx);
  const content = source.inline ?? (source.configMapKeyRef
    ? lookup('ConfigMap', source.configMapKeyRef.name, source.configMapKeyRef.key).value
    : lookup('Secret', source.secretKeyRef!.name, source.secretKeyRef!.key).value);
  if (source.secretKeyRef) ctx.setup.redactor.addSecret(content);
  const snippet = snippetFor(ctx.current.metadata.namespace ?? '', ctx.current.metadata.name ?? '', spec.storage, content);
  const steady = ctx.convergedAtThisGeneration() && config.digest !== undefined && config.digest === ctx.status.configDigest;
  if (steady && cicustomUser(config['cicustom']) === snippet.volume) return snippet.volume;

  const pve = ctx.pve(connection);
  const listed = await pve.storageContent(api.node, snippet.storage);
  if (listed.some((v) => v.volid === snippet.volume)) return snippet.volume;
  const storage = snippetStorage(snippet.storage, await pve.storageConfig(snippet.storage));
  if (!storage.ok) throw new TerminalError('SnippetStorageUnusable', storage.reason, { recheckAfterMs: 60_000 });
  const { target } = nodeSshTarget(ctx, connection, api.node, `cloudInit.userDataSnippet is written over SSH to the node (SFTP into ${snippet.storage}'s snippets directory)`, '. The VM is not started until its user-data is in place');
  const path = snippetPath(storage.path, snippet);
  await ctx.deps.ssh.writeFile(target, path, Buffer.from(content, 'utf8'), source.secretKeyRef ? 0o600 : 0o644);
  await ctx.setup.events.normal(ctx.current, 'SnippetUploaded', 'Upload', `wrote the cloud-init user-data snippet ${snippet.volume}`);
  return snippet.volume;
}
