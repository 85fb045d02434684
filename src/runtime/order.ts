/**
 * Orders strings by UTF-16 code units: the same order on every machine and in every locale.
 * Not `localeCompare`: its first call builds an ICU collator, about 3 MiB of resident memory
 * the controller would carry for sorting node names and config keys (issue 11).
 */
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
