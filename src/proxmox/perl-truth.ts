/**
 * Perl's truth, which Proxmox's handlers test parameters and options with (`if ($param->{name})`):
 * no value, the empty string and `0` are false, anything else true.
 */
export function perlTrue(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '' && String(value) !== '0';
}
