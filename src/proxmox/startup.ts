/**
 * The `startup` option (format `pve-startup-order`): `order=<n>,up=<s>,down=<s>`, where
 * each part is optional. Proxmox starts lower orders first and waits `up` seconds.
 */
export interface StartupOrder {
  order?: number;
  up?: number;
  down?: number;
}

export function parseStartup(value: string): StartupOrder | undefined {
  const out: StartupOrder = {};
  for (const part of value.split(',').filter(Boolean)) {
    const m = /^(order|up|down)=(\d+)$/.exec(part);
    if (!m) return undefined;
    out[m[1] as keyof StartupOrder] = Number(m[2]);
  }
  return out;
}

export function formatStartup(s: StartupOrder): string {
  return (['order', 'up', 'down'] as const).filter((k) => s[k] !== undefined).map((k) => `${k}=${s[k]}`).join(',');
}
