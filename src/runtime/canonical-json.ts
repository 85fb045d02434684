import { byCodeUnits } from './order.ts';

/**
 * JSON with every object's keys in code-unit order: two values equal as data give one string,
 * whatever order their keys were written in (a manifest, the API server's answer).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => byCodeUnits(a, b))) : v));
}
