const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * "15s" → 15000, "1h30m" → 5400000. A bare number is seconds, as in most Kubernetes flags.
 * Returns undefined for text that is not a duration.
 */
export function durationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(match[1]) * units[match[2] as keyof typeof units];
  return Math.round(total);
}
