/** Resource pools (the PVE ≥ 8.1 `/pools` API with `poolid` parameters, plus the legacy `/pools/{poolid}`). */
import { bool, oneOf, str } from '../../../proxmox/schema.ts';
import { splitList } from '../../../proxmox/tags.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { fail, underConfigLock } from '../errors.ts';
import type { Endpoint } from '../endpoint.ts';
import type { Simulator } from '../simulator.ts';
import type { SimPoolState } from '../state.ts';

const o = { optional: true } as const;
const poolid = str({ format: 'pve-poolid' });
const poolPerm = (privs: string[]) => (p: Params) => [{ path: `/pool/${String(p['poolid'])}`, privs }];

function pool(sim: Simulator, id: string): SimPoolState {
  const p = sim.state.pools.find((x) => x.poolid === id);
  if (!p) throw fail(`pool '${id}' does not exist`);
  return p;
}

function describe(sim: Simulator, p: SimPoolState, type: unknown): Record<string, unknown> {
  const members = p.members
    .map((m) => {
      const [kind, id] = m.split('/') as [string, string];
      if (kind === 'storage') return { id: `storage/${sim.state.nodes[0]?.name ?? 'pve'}/${id}`, type: 'storage', storage: id, node: sim.state.nodes[0]?.name };
      const g = sim.findGuest(Number(id));
      return { id: m, type: kind, vmid: Number(id), node: g?.node, status: g?.status, name: g?.config[kind === 'qemu' ? 'name' : 'hostname'] };
    })
    .filter((m) => type === undefined || m.type === type);
  return { poolid: p.poolid, ...(p.comment !== undefined ? { comment: p.comment } : {}), members };
}

/**
 * `PUT /pools`: pve-manager PVE/API2/Pool.pm runs the update under `lock_user_config(…,
 * "update pools failed")`, so every refusal is a 500 with that prefix.
 */
function update(sim: Simulator, params: Params): null {
  return underConfigLock('update pools failed', () => {
    const p = pool(sim, String(params['poolid']));
    if (params['comment'] !== undefined) p.comment = String(params['comment']);
    const remove = params['delete'] === 1;
    for (const vmid of splitList(String(params['vms'] ?? ''))) {
      const g = sim.findGuest(Number(vmid));
      if (!g) throw fail(`no such VM ${vmid}`);
      const key = `${g.type}/${g.vmid}`;
      if (remove) {
        if (!p.members.includes(key)) throw fail(`VM ${vmid} is not a pool member`);
        p.members = p.members.filter((m) => m !== key);
        continue;
      }
      if (p.members.includes(key)) throw fail(`VM ${vmid} is already a pool member`);
      const other = sim.state.pools.find((x) => x !== p && x.members.includes(key));
      if (other && params['allow-move'] !== 1) throw fail(`VM ${vmid} belongs already to pool '${other.poolid}' and 'allow-move' is not set`);
      if (other) other.members = other.members.filter((m) => m !== key);
      p.members.push(key);
    }
    for (const storage of splitList(String(params['storage'] ?? ''))) {
      const key = `storage/${storage}`;
      if (remove) {
        if (!p.members.includes(key)) throw fail(`Storage '${storage}' is not a pool member`);
        p.members = p.members.filter((m) => m !== key);
      } else {
        if (p.members.includes(key)) throw fail(`Storage '${storage}' is already a pool member`);
        p.members.push(key);
      }
    }
    return null;
  });
}


function remove(sim: Simulator, id: string): null {
  return underConfigLock('delete pool failed', () => {
    const p = pool(sim, id);
    const vm = p.members.map((m) => /^(?:qemu|lxc)\/(\d+)$/.exec(m)?.[1]).find((x) => x !== undefined);
    if (vm !== undefined) throw fail(`pool '${id}' is not empty (contains VM ${vm})`);
    const storage = p.members.find((m) => m.startsWith('storage/'));
    if (storage !== undefined) throw fail(`pool '${id}' is not empty (contains storage '${storage.slice(8)}')`);
    sim.state.pools = sim.state.pools.filter((x) => x !== p);
    return null;
  });
}

const updateParams = { 'allow-move': bool(o), comment: str(o), delete: bool(o), poolid, storage: str({ ...o, format: 'pve-storage-id-list' }), vms: str({ ...o, format: 'pve-vmid-list' }) };

export const poolEndpoints: Endpoint[] = [
  {
    method: 'GET', path: '/pools', params: { poolid: { ...poolid, optional: true }, type: oneOf(['qemu', 'lxc', 'storage'], { ...o, requires: 'poolid' }) },
    handler: ({ sim, params }) =>
      params['poolid'] !== undefined
        ? [describe(sim, pool(sim, String(params['poolid'])), params['type'])]
        : sim.state.pools.map((p) => ({ poolid: p.poolid, ...(p.comment !== undefined ? { comment: p.comment } : {}) })),
  },
  {
    method: 'POST', path: '/pools', params: { comment: str(o), poolid }, permissions: poolPerm(['Pool.Allocate']),
    handler: ({ sim, params }) => {
      const id = String(params['poolid']);
      if (sim.state.pools.some((p) => p.poolid === id)) throw fail(`create pool failed: pool '${id}' already exists`);
      if (!/^[A-Za-z]/.test(id.replace(/^.*\//, ''))) throw fail('create pool failed: pool name must start with a letter');
      sim.state.pools.push({ poolid: id, members: [], ...(params['comment'] !== undefined ? { comment: String(params['comment']) } : {}) });
      return null;
    },
  },
  { method: 'PUT', path: '/pools', params: updateParams, permissions: poolPerm(['Pool.Allocate']), handler: ({ sim, params }) => update(sim, params) },
  { method: 'DELETE', path: '/pools', params: { poolid }, permissions: poolPerm(['Pool.Allocate']), handler: ({ sim, params }) => remove(sim, String(params['poolid'])) },
  {
    method: 'GET', path: '/pools/{poolid}', params: { poolid, type: oneOf(['qemu', 'lxc', 'storage'], o) }, permissions: poolPerm(['Pool.Audit']),
    handler: ({ sim, params }) => describe(sim, pool(sim, String(params['poolid'])), params['type']),
  },
  { method: 'PUT', path: '/pools/{poolid}', params: updateParams, permissions: poolPerm(['Pool.Allocate']), handler: ({ sim, params }) => update(sim, params) },
  { method: 'DELETE', path: '/pools/{poolid}', params: { poolid }, permissions: poolPerm(['Pool.Allocate']), handler: ({ sim, params }) => remove(sim, String(params['poolid'])) },
];
