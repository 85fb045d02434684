/**
 * The typed path proxy Phoenix calls Proxmox through: `api.nodes.$(node).lxc.$(vmid).config.$get()`
 * becomes `doRequest('get', '/api2/json/nodes/pve/lxc/100/config', '/api2/json/nodes/*\/lxc/*\/config')`.
 * The types are proxmox-api's (`Proxmox.Api`, erased at run time); the proxy is Phoenix's own,
 * because importing proxmox-api's loads its HTTP engine (undici with its WebAssembly parser,
 * about 15 MiB resident) which Phoenix never uses: its own transport does the requests.
 */
import type { ApiRequestable, Proxmox } from 'proxmox-api';

const root = '/api2/json';

export function apiProxy(engine: ApiRequestable): Proxmox.Api {
  return level(engine, root, root) as Proxmox.Api;
}

function level(engine: ApiRequestable, path: string, template: string): unknown {
  return new Proxy(Object.create(null) as object, {
    get(_target, key) {
      if (typeof key === 'symbol') return undefined;
      // A path parameter: `/` inside it is escaped, so a UPID or volume id stays one segment.
      if (key === '$') return (id: string | number) => level(engine, `${path}/${String(id).replace(/\//g, '%2F')}`, `${template}/*`);
      if (key.startsWith('$')) return (params?: Record<string, unknown>) => engine.doRequest(key.slice(1), path, template, params);
      // A leading `_` lets a path segment be a reserved word (proxmox-api's convention).
      const name = key.startsWith('_') ? key.slice(1) : key;
      return level(engine, `${path}/${name}`, `${template}/${name}`);
    },
  });
}
