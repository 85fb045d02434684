/**
 * Removes secrets from anything about to be logged, recorded as an Event or written into a
 * condition message. Three nets, because any one alone leaks: fields whose name says "secret",
 * text that looks like a credential wherever it appears, and the exact values of secrets the
 * process has loaded (registered with addSecret), which may look like anything.
 */
export const redacted = '[REDACTED]';

const sensitiveKey = /pass(word|wd|phrase)?$|secret|token|api[-_]?key|authorization|cookie|credential|private[-_]?key|jwt|^auth$|bearer/i;

/** A word that makes the value next to it a credential: "password", "apiKey", "x-api-key", "tokenid"… */
const sensitiveKeyText = '[\\w-]*(?:password|passwd|secret|token|api[-_]?key|authorization|credential|ticket)';

const sensitiveText: ReadonlyArray<[RegExp, string]> = [
  // PEM blocks (private keys, certificates with keys).
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, redacted],
  // HTTP authorization schemes; Proxmox's is "PVEAPIToken=user@realm!id=uuid".
  [/\b(Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${redacted}`],
  [/PVEAPIToken[=\s]+\S+/gi, `PVEAPIToken=${redacted}`],
  [/PVEAuthCookie=[^;\s]+/gi, `PVEAuthCookie=${redacted}`],
  // JWTs (Portainer sessions, service-account tokens).
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, redacted],
  // Portainer access tokens.
  [/\bptr_[A-Za-z0-9+/=_-]{8,}/g, redacted],
  // user:password@ in URLs.
  [/(\/\/[^/\s:@]+):[^@\s/]+@/g, `$1:${redacted}@`],
  // Pairs with a sensitive key. Only the value goes: it ends at a quote, space, separator or
  // closing bracket, so the text around it stays as written ("(user@realm!tokenid=uuid) under key").
  // key=value, in query strings, env files and prose:
  [new RegExp(`\\b(${sensitiveKeyText}[\\w-]*)(\\s*=\\s*)(?!\\[REDACTED\\])([^"'&\\s,;)\\]}]+)`, 'gi'), `$1$2${redacted}`],
  // "key": "value", in JSON text:
  [new RegExp(`(["'])(${sensitiveKeyText}[\\w-]*)\\1(\\s*:\\s*)(["']?)(?!\\[REDACTED\\])([^"'&\\s,;)\\]}]+)`, 'gi'), `$1$2$1$3$4${redacted}`],
  // Key: value, as in HTTP headers, for the exact header-like names only: "the token: check that…"
  // or "Secret ns/pve-token: check…" is prose, not a credential.
  [/(?<![\w\-/.])(authorization|x-api-key|api[-_]?key|password|passwd|secret|token|cookie|ticket)(:\s*)(?!\[REDACTED\])([^"'&\s,;)\]}]+)/gi, `$1$2${redacted}`],
];

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Registers a secret value (from a Secret, a flag, a file) to be hidden wherever it appears. */
  addSecret(value: string | undefined): void {
    // Very short values would blank out ordinary words; they are not worth protecting this way.
    if (value && value.length >= 6) this.secrets.add(value);
  }

  text(input: string): string {
    let out = input;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(redacted);
    }
    for (const [pattern, replacement] of sensitiveText) out = out.replace(pattern, replacement);
    return out;
  }

  /** A redacted deep copy; Errors become {name, message, stack} so nothing hides in them. */
  value(input: unknown, depth = 0): unknown {
    if (typeof input === 'string') return this.text(input);
    if (input === null || typeof input !== 'object') return input;
    if (depth > 8) return '[too deep]';
    if (input instanceof Error) {
      const copy: Record<string, unknown> = { name: input.name, message: this.text(input.message) };
      if (input.stack) copy['stack'] = this.text(input.stack);
      for (const [k, v] of Object.entries(input)) copy[k] = sensitiveKey.test(k) ? redacted : this.value(v, depth + 1);
      return copy;
    }
    if (Array.isArray(input)) return input.map((item) => this.value(item, depth + 1));
    if (input instanceof Date) return input.toISOString();
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) {
      copy[k] = sensitiveKey.test(k) && v !== undefined && v !== null && v !== '' ? redacted : this.value(v, depth + 1);
    }
    return copy;
  }
}

/** The process-wide redactor: clients that load credentials register them here. */
export const defaultRedactor = new Redactor();
