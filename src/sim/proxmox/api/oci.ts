/**
 * OCI application containers (Proxmox VE 9.1): `POST …/storage/{storage}/oci-registry-pull`
 * and what a container create does with the archive it pulls. Modelled on pve-storage
 * API2/Storage/Status.pm (`oci_registry_pull`: skopeo copies the image into an `oci-archive`
 * under the storage's template cache) and pve-container LXC/Create.pm (`restore_oci_archive`:
 * the image's Entrypoint/Cmd, Env and network defaults become the container's config).
 *
 * There is no registry here: the images a pull can find are a small catalog (tests add their
 * own through the admin API), and a pull of anything else fails as skopeo does.
 */
import { str } from '../../../proxmox/schema.ts';
import { formatPropertyString, parsePropertyString } from '../../../proxmox/property-string.ts';
import { lxcNetFormat } from '../../../proxmox/guest-formats.ts';
import { fail, TaskFailure } from '../errors.ts';
import type { Endpoint } from '../endpoint.ts';
import type { Simulator } from '../simulator.ts';
import type { SimVolume } from '../state.ts';
import { nodeOnly } from './common.ts';
import { volumePath } from './storage.ts';

/** The part of an image's config a container create reads (the OCI image config's `config`). */
export interface OciImage {
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  /** What OS detection finds in the unpacked image (`ostype`). */
  readonly ostype?: string;
  readonly sizeBytes: number;
  /** How long the pull takes (simulated ms); default from the size. */
  readonly pullMs?: number;
}

const path = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A few public images, as their registries describe them. */
const CATALOG: Readonly<Record<string, OciImage>> = {
  'docker.io/library/nginx': {
    entrypoint: ['/docker-entrypoint.sh'], cmd: ['nginx', '-g', 'daemon off;'],
    env: [path, 'NGINX_VERSION=1.27.5', 'NJS_VERSION=0.8.10', 'NJS_RELEASE=1~bookworm', 'PKG_RELEASE=1~bookworm'], ostype: 'debian', sizeBytes: 72_000_000,
  },
  'docker.io/library/alpine': { cmd: ['/bin/sh'], env: [path], ostype: 'alpine', sizeBytes: 3_600_000 },
  'docker.io/library/redis': {
    entrypoint: ['docker-entrypoint.sh'], cmd: ['redis-server'], env: [path, 'REDIS_VERSION=7.4.2'], ostype: 'debian', sizeBytes: 45_000_000,
  },
  'docker.io/library/busybox': { cmd: ['sh'], env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], sizeBytes: 2_200_000 },
};

const added = new WeakMap<Simulator, Map<string, OciImage>>();

/** Adds an image (any tag of `repository`) the simulated registries serve. */
export function addOciImage(sim: Simulator, repository: string, image: OciImage): void {
  const map = added.get(sim) ?? new Map<string, OciImage>();
  added.set(sim, map);
  map.set(canonicalRepository(repository), image);
}

/** skopeo's `docker://` transport: a name without a registry is Docker Hub's, `library/` for one path component. */
function canonicalRepository(reference: string): string {
  const withoutTag = reference.replace(/:[\w][\w.-]*$/, '');
  const first = withoutTag.split('/')[0]!;
  const hasRegistry = withoutTag.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return withoutTag;
  return `docker.io/${withoutTag.includes('/') ? withoutTag : `library/${withoutTag}`}`;
}

function lookup(sim: Simulator, reference: string): OciImage | undefined {
  const repository = canonicalRepository(reference);
  return added.get(sim)?.get(repository) ?? CATALOG[repository];
}

/** `PVE::Storage::normalize_content_filename` of the reference, plus `.tar`. */
function archiveName(reference: string): string {
  return `${reference.replace(/^.*[/\\]/, '').replace(/[^a-zA-Z0-9_.-]/g, '_')}.tar`;
}

const digest = (sim: Simulator) => Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(sim.random.next() * 16)]).join('');

function pull(sim: Simulator, params: Record<string, unknown>, subject: Parameters<Simulator['startTask']>[0]['subject']): string {
  const node = String(params['node']);
  const storage = String(params['storage']);
  const reference = String(params['reference']);
  const s = sim.storageOn(storage, node);
  // The checks oci_registry_pull makes before it forks its worker, in its order and words.
  if (s.type !== 'dir' && s.type !== 'nfs') throw fail(`can't upload to storage type '${s.type}', not a file based storage!`);
  if (!s.content.includes('vztmpl')) throw fail(`storage '${storage}' is not configured for content-type 'vztmpl'`);
  const filename = archiveName(params['filename'] === undefined ? reference : String(params['filename']));
  const volid = `${storage}:vztmpl/${filename}`;
  if (sim.volume(volid) && (s.shared || sim.volume(volid)?.node === node)) throw fail(`refusing to override existing file '${filename}'`);
  const image = lookup(sim, reference);
  const vol: SimVolume = { volid, storage, content: 'vztmpl', format: 'tar', size: image?.sizeBytes ?? 0, ctime: sim.clock.nowSeconds() };
  const target = volumePath(s, vol);
  const tmp = `${target}.tmp.${1000 + Math.floor(sim.random.next() * 60000)}`;
  const command = `skopeo copy docker://${reference} oci-archive:${tmp}`;
  const durationMs = image?.pullMs ?? (image ? 3_000 + Math.round(image.sizeBytes / 20_000) : 1_500);
  return sim.startTask({
    node, type: 'ociregistrypull', id: filename, subject, durationMs,
    finish: () => {
      if (!image) {
        // skopeo's own words for a repository the registry does not have (or may not show).
        const repository = canonicalRepository(reference);
        const tag = /:([\w][\w.-]*)$/.exec(reference)?.[1] ?? 'latest';
        // run_command prints the command's stderr into the task log and dies with its exit code.
        throw new TaskFailure(`command '${command}' failed: exit code 1`, [
          `time="${new Date(sim.clock.now()).toISOString()}" level=fatal msg="initializing source docker://${reference}: reading manifest ${tag} in ${repository}: requested access to the resource is denied"`,
        ]);
      }
      if (sim.storageUsed(s, node) + image.sizeBytes > s.totalBytes) {
        throw new TaskFailure(`command '${command}' failed: exit code 1`, [`time="${new Date(sim.clock.now()).toISOString()}" level=fatal msg="writing blob: write ${tmp}: no space left on device"`]);
      }
      sim.removeVolume(volid);
      vol.ctime = sim.clock.nowSeconds();
      vol.oci = { ...(image.entrypoint ? { entrypoint: [...image.entrypoint] } : {}), ...(image.cmd ? { cmd: [...image.cmd] } : {}), ...(image.env ? { env: [...image.env] } : {}), ...(image.ostype ? { ostype: image.ostype } : {}) };
      if (!s.shared) vol.node = node;
      sim.state.volumes.push(vol);
      const layers = Math.max(1, Math.min(7, Math.round(image.sizeBytes / 12_000_000)));
      return {
        log: [
          'Getting image source signatures',
          ...Array.from({ length: layers }, () => `Copying blob sha256:${digest(sim)}`),
          `Copying config sha256:${digest(sim)}`,
          'Writing manifest to image destination',
        ],
      };
    },
  }).upid;
}

/** `PVE::Tools::shellquote`, as `cmd2string` joins the init command: plain words bare, others single-quoted. */
function shellQuote(word: string): string {
  if (word !== '' && /^[-\w.,:/+=@%]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

/**
 * What `restore_oci_archive` writes into a new container's config: an init command other
 * than /sbin/init becomes `entrypoint` with `cmode: console` and host-managed networking, and
 * the image's Env becomes `env`, replacing whatever the create call gave for either.
 */
export function applyOciImageConfig(config: Record<string, string>, volume: SimVolume): string[] {
  const image = volume.oci;
  if (!image) return [];
  const log = ['Detected OCI archive'];
  const init = [...(image.entrypoint ?? []), ...(image.cmd ?? [])];
  if (init.length && init[0] !== '/sbin/init') {
    config['entrypoint'] = init.map(shellQuote).join(' ');
    config['cmode'] = 'console';
    for (const key of Object.keys(config).filter((k) => /^net\d+$/.test(k))) {
      const net = parsePropertyString(config[key]!, lxcNetFormat).values;
      if (net['host-managed'] === undefined) {
        log.push(`Auto-Enabling host-managed network for network device ${key}.`);
        config[key] = formatPropertyString({ ...net, 'host-managed': '1' }, lxcNetFormat);
      }
    }
  }
  if (image.env?.length) config['env'] = image.env.join('\0');
  if (image.ostype) config['ostype'] = image.ostype;
  return log;
}

export const ociEndpoints: Endpoint[] = [
  {
    method: 'POST', path: '/nodes/{node}/storage/{storage}/oci-registry-pull', since: '9.1',
    params: {
      ...nodeOnly,
      storage: str({ format: 'pve-storage-id' }),
      // The schema's own pattern (conformance checks it verbatim); Phoenix validates references first.
      reference: str({ pattern: '^(?:(?:[a-zA-Z\\d]|[a-zA-Z\\d][a-zA-Z\\d-]*[a-zA-Z\\d])(?:\\.(?:[a-zA-Z\\d]|[a-zA-Z\\d][a-zA-Z\\d-]*[a-zA-Z\\d]))*(?::\\d+)?/)?[a-z\\d]+(?:(?:[._]|__|[-]*)[a-z\\d]+)*(?:/[a-z\\d]+(?:(?:[._]|__|[-]*)[a-z\\d]+)*)*:\\w[\\w.-]{0,127}$' }),
      filename: str({ optional: true, minLength: 1, maxLength: 255 }),
    },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.AllocateTemplate'] }, { path: `/nodes/${String(p['node'])}`, privs: ['Sys.AccessNetwork'] }],
    handler: ({ sim, params, subject }) => pull(sim, params, subject),
  },
];
