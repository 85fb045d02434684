/**
 * The API's two time formats. metav1.Time is whole seconds (conditions); MicroTime has six
 * fractional digits (Lease renewTime, Event eventTime) and the server rejects the others there.
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function secondsTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
