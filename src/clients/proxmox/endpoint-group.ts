/**
 * A low-cardinality metrics label for a Proxmox endpoint: the path template without ids,
 * e.g. `/api2/json/nodes/{node}/qemu/{vmid}/status/start` → `qemu.status.start`.
 */
export function endpointGroup(pathTemplate: string): string {
  const parts = pathTemplate
    .replace(/^\/api2\/json\/?/, '')
    .split('/')
    .filter((p) => p && p !== '*' && !p.startsWith('{') && !p.startsWith('$'));
  if (parts[0] === 'nodes') parts.shift();
  return parts.join('.') || 'root';
}
