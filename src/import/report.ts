import { child, segmentsOf, within } from './pointer.ts';

/**
 * The import report: where every legacy field went. A field either maps to an output field,
 * or is listed with the reason and what the user can do instead. After mapping, `account`
 * walks every input file and lists any field no mapping claimed as `unknown`, so nothing is
 * dropped silently even when the importer meets a field it was not written for.
 */

export type Outcome =
  /** Written to one or more output fields. */
  | 'mapped'
  /** A guest step (features, application scripts, health checks): needs provisioning (issue 13). */
  | 'provisioning'
  /** Host setup no Proxmox API offers (drivers, Samba, dnsmasq, kernel options): for a person. */
  | 'host-setup'
  /** Unused by the legacy tool, superseded by Phoenix's own behaviour, or with no Phoenix field. */
  | 'not-mapped'
  /** A field the importer does not know. */
  | 'unknown';

/** An output field: `spec.networks[0].ipv4` of a PhoenixLXC, or `data.docker-compose.yml` of a ConfigMap. */
export interface Target {
  readonly kind: string;
  readonly name: string;
  readonly field: string;
}

export interface ReportEntry {
  readonly file: string;
  /** JSON Pointer into the file; '' is the whole file. */
  readonly path: string;
  readonly outcome: Outcome;
  readonly targets?: readonly Target[];
  /** Why it is not mapped, or what changed in meaning when it was. */
  readonly reason?: string;
  /** What the user can do instead. */
  readonly action?: string;
  /** A plaintext secret was here. It is not in the output; rotate it. */
  readonly exposed?: boolean;
  /** Legacy scripts involved (provisioning), relative to the legacy root. */
  readonly scripts?: readonly string[];
}

/** A legacy value the shipped schema refuses, accepted because the legacy tool accepted it. */
export interface Deviation {
  readonly file: string;
  readonly path: string;
  readonly schemaSays: string;
  readonly accepted: string;
}

export interface SecretToCreate {
  readonly name: string;
  readonly namespace: string;
  readonly keys: readonly { readonly key: string; readonly purpose: string }[];
}

export interface ConfigMapToCreate {
  readonly name: string;
  readonly namespace: string;
  readonly key: string;
  readonly purpose: string;
}

export interface Assumption {
  readonly what: string;
  readonly value: string;
  readonly change: string;
}

export interface WrittenObject {
  readonly kind: string;
  readonly name: string;
  readonly file: string;
  /** Written but not listed in kustomization.yaml (an environment no VM runs). */
  readonly applied: boolean;
}

/** An option of a root@pam step: set to `value`, or deleted. */
export interface RootOnlyOption {
  readonly key: string;
  readonly value?: string;
  readonly delete?: true;
  /** What it is, for a person: "device passthrough". */
  readonly what: string;
}

/**
 * A guest Phoenix creates without the options only root@pam may set: it stalls with reason
 * RootOnly until a person has run `command` once as root on `node`.
 */
export interface RootOnlyStep {
  readonly kind: string;
  readonly name: string;
  readonly vmid: number;
  readonly node: string;
  /** In the order of the command. */
  readonly options: readonly RootOnlyOption[];
  /** `pct set <vmid> -key value … [-delete key,…]`, as the controller prints it. */
  readonly command: string;
  /** Why the guest may need less than the command (adopted, or cloned from outside the files). */
  readonly note?: string;
}

export interface Coverage {
  /** Leaves of the legacy JSON files. */
  readonly fields: number;
  readonly byOutcome: Readonly<Record<Outcome, number>>;
  /** Plaintext secrets found (report entries), to rotate. */
  readonly exposed: number;
}

export interface ImportReportData {
  readonly format: 1;
  readonly options: Readonly<Record<string, string | boolean>>;
  readonly inputs: readonly string[];
  readonly objects: readonly WrittenObject[];
  readonly coverage: Coverage;
  readonly secrets: readonly SecretToCreate[];
  readonly configMaps: readonly ConfigMapToCreate[];
  readonly actions: readonly string[];
  readonly assumptions: readonly Assumption[];
  readonly deviations: readonly Deviation[];
  readonly rootOnly: readonly RootOnlyStep[];
  readonly entries: readonly ReportEntry[];
}

const outcomes: readonly Outcome[] = ['mapped', 'provisioning', 'host-setup', 'not-mapped', 'unknown'];

export class ImportReport {
  readonly entries: ReportEntry[] = [];
  readonly deviations: Deviation[] = [];
  readonly secrets = new Map<string, SecretToCreate>();
  readonly configMaps: ConfigMapToCreate[] = [];
  readonly actions: string[] = [];
  readonly assumptions: Assumption[] = [];
  readonly rootOnly: RootOnlyStep[] = [];

  add(entry: ReportEntry): void {
    this.entries.push(entry);
  }

  /** Adds `note` to the reason of the entries `which` picks. */
  annotate(which: (entry: ReportEntry) => boolean, note: string): void {
    for (const [i, entry] of this.entries.entries()) {
      if (which(entry)) this.entries[i] = { ...entry, reason: entry.reason ? `${entry.reason}. ${note}` : note };
    }
  }

  mapped(file: string, path: string, targets: Target | readonly Target[], note?: string): void {
    this.add({ file, path, outcome: 'mapped', targets: Array.isArray(targets) ? targets : [targets as Target], ...(note ? { reason: note } : {}) });
  }

  notMapped(file: string, path: string, reason: string, action?: string): void {
    this.add({ file, path, outcome: 'not-mapped', reason, ...(action ? { action } : {}) });
  }

  hostSetup(file: string, path: string, reason: string, action: string): void {
    this.add({ file, path, outcome: 'host-setup', reason, action });
  }

  /** A Secret the user must create; keys are merged when several fields use one Secret. */
  needSecret(name: string, namespace: string, key: string, purpose: string): void {
    const existing = this.secrets.get(`${namespace}/${name}`);
    const keys = existing ? existing.keys.filter((k) => k.key !== key) : [];
    this.secrets.set(`${namespace}/${name}`, { name, namespace, keys: [...keys, { key, purpose }] });
  }

  action(text: string): void {
    if (!this.actions.includes(text)) this.actions.push(text);
  }

  /**
   * Accounts for every field of an input file: fields below or at an entry are covered;
   * a subtree no entry touches becomes one `unknown` entry. Returns the leaf counts.
   */
  account(file: string, root: unknown): Coverage {
    const mine = this.entries.filter((e) => e.file === file);
    const byOutcome = Object.fromEntries(outcomes.map((o) => [o, 0])) as Record<Outcome, number>;
    let fields = 0;
    const covering = (path: string) =>
      mine.filter((e) => within(path, e.path)).sort((a, b) => b.path.length - a.path.length)[0];
    const walk = (node: unknown, path: string) => {
      const container = node !== null && typeof node === 'object' && Object.keys(node).length > 0;
      const claimedBelow = mine.some((e) => e.path !== path && within(e.path, path));
      if (container && claimedBelow) {
        for (const [key, value] of Object.entries(node)) walk(value, child(path, key));
        return;
      }
      // The whole subtree belongs to the most specific entry above it, or nothing claimed it.
      let entry = covering(path);
      if (!entry) {
        const empty = node !== null && typeof node === 'object' && !container;
        entry = empty
          ? { file, path, outcome: 'not-mapped', reason: 'empty: nothing to import' }
          : { file, path, outcome: 'unknown', reason: 'the importer does not know this field', action: 'check whether it still matters, and configure its equivalent by hand' };
        this.add(entry);
      }
      const leaves = countLeaves(node);
      fields += leaves;
      byOutcome[entry.outcome] += leaves;
    };
    walk(root, '');
    return { fields, byOutcome, exposed: mine.filter((e) => e.exposed).length };
  }

  data(fields: {
    options: Record<string, string | boolean>;
    inputs: readonly string[];
    objects: readonly WrittenObject[];
    coverage: Coverage;
  }): ImportReportData {
    return {
      format: 1,
      options: fields.options,
      inputs: [...fields.inputs].sort(),
      objects: [...fields.objects].sort((a, b) => a.file.localeCompare(b.file)),
      // Secrets found outside the JSON files (compose files) count too.
      coverage: { ...fields.coverage, exposed: this.entries.filter((e) => e.exposed).length },
      secrets: [...this.secrets.values()].sort((a, b) => a.name.localeCompare(b.name)).map((s) => ({ ...s, keys: [...s.keys].sort((a, b) => a.key.localeCompare(b.key)) })),
      configMaps: [...this.configMaps].sort((a, b) => a.name.localeCompare(b.name)),
      actions: [...this.actions],
      assumptions: [...this.assumptions],
      deviations: [...this.deviations].sort(byPlace),
      rootOnly: [...this.rootOnly],
      entries: [...this.entries].sort(byPlace),
    };
  }
}

/** Leaves of a JSON value; an empty object or array counts as one (it says "none"). */
export function countLeaves(node: unknown): number {
  if (node === null || typeof node !== 'object') return 1;
  const values = Object.values(node);
  return values.length === 0 ? 1 : values.reduce((n: number, v) => n + countLeaves(v), 0);
}

export function sumCoverage(all: readonly Coverage[]): Coverage {
  const byOutcome = Object.fromEntries(outcomes.map((o) => [o, all.reduce((n, c) => n + c.byOutcome[o], 0)])) as Record<Outcome, number>;
  return { fields: all.reduce((n, c) => n + c.fields, 0), byOutcome, exposed: all.reduce((n, c) => n + c.exposed, 0) };
}

/** By file, then by path with numeric segments in numeric order. */
function byPlace(a: { file: string; path: string }, b: { file: string; path: string }): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  const x = segmentsOf(a.path);
  const y = segmentsOf(b.path);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === q) continue;
    if (/^\d+$/.test(p) && /^\d+$/.test(q)) return Number(p) - Number(q);
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}
