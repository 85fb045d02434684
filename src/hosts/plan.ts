/**
 * Host configuration as Phoenix plans it: pure functions compare a PhoenixHypervisor's spec
 * with what Proxmox reports and return the steps that would converge them. The I/O layer
 * (src/controllers/hypervisor/host/) reads, carries out one step at a time and reads again,
 * so every planner is a function of the observation alone and a re-plan after any step, a
 * crash or a change made by a person is always correct.
 */

import { splitList as splitProxmoxList } from '../proxmox/tags.ts';

export type ParamValue = string | number;

/** Kinds of items whose creation Phoenix records, so it only ever removes what it made. */
export type CreatedKind = 'pools' | 'storages' | 'users' | 'acls';

export type CreatedItems = Partial<Record<CreatedKind, string[]>>;

export interface Difference {
  /** The spec field, such as `pools[prod].comment` or `nodes[pve].dns.servers`. */
  readonly field: string;
  /** As found in Proxmox; `(missing)` for an item that does not exist, `(unset)` for an option. */
  readonly observed: string;
  readonly desired: string;
}

export interface HostCall {
  readonly method: 'POST' | 'PUT' | 'DELETE';
  /** API path below /api2/json; a `{…}` segment is an id (`/storage/{nfs-iso}`). */
  readonly path: string;
  readonly params?: Readonly<Record<string, ParamValue>>;
}

export interface HostStep {
  /** The item the step concerns, for messages and conditions: `pool prod`, `node pve DNS`. */
  readonly item: string;
  /** Why the step is needed, in words a person reads in an event. */
  readonly why: string;
  /** What to call; none for bookkeeping only (forgetting an item removed outside Phoenix). */
  readonly call?: HostCall;
  /**
   * False when carrying the step out could lose data or Proxmox cannot do it (an immutable
   * storage type, a pool that still has members): the I/O layer never runs it and reports
   * `refusal` as a stalled item instead.
   */
  readonly safe: boolean;
  readonly refusal?: string;
  /** The differences the step removes; empty for a removal nobody sees as drift. */
  readonly differences: readonly Difference[];
  /** Proxmox answers with a UPID: the step is a task, tracked in status until it ends. */
  readonly task?: boolean;
  /** Records an item as created by Phoenix once the call succeeded. */
  readonly records?: { readonly kind: CreatedKind; readonly id: string };
  /** Forgets an item Phoenix created, once it is removed. */
  readonly forgets?: { readonly kind: CreatedKind; readonly id: string };
  /**
   * Names of params that hold a secret (a password). They are sent, never shown: the step's
   * text and differences must not contain them.
   */
  readonly secretParams?: readonly string[];
  /**
   * A download: guests may be waiting for its file, and it can take long, so the condition
   * says `Downloading` while it runs.
   */
  readonly download?: boolean;
  /** Stages a change of this interface (`/etc/network/interfaces.new`): recorded once the call succeeded, until reloaded. */
  readonly stages?: { readonly node: string; readonly iface: string };
  /** Reloads (or forgets) what Phoenix staged on this node: its record is dropped once the step succeeded. */
  readonly unstages?: string;
  /** A password written from a Secret: the Secret's resourceVersion is recorded once the call succeeded. */
  readonly password?: { readonly userid: string; readonly resourceVersion: string };
}

/** A spec problem Proxmox would reject, found before any call, with the field that causes it. */
export interface SpecProblem {
  readonly field: string;
  readonly message: string;
}

/** `METHOD /path` with ids filled in, for messages; never includes params (they may hold secrets). */
export function describeCall(call: HostCall): string {
  return `${call.method} ${call.path.replace(/\{([^}]*)\}/g, '$1')}`;
}

export const bool01 = (v: boolean): string => (v ? '1' : '0');

/** A boolean as Proxmox lists it (`1`, `'1'` or true); `absent` is what a missing value means. */
export const flag = (v: unknown, absent = false): boolean => (v === undefined ? absent : v === 1 || v === '1' || v === true);

/** Lists compared as sets (Proxmox keeps its own order for content types and node lists). */
export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** A Proxmox list (`a,b c;d`), or none when the value is not text. */
export function splitList(text: unknown): string[] {
  return typeof text === 'string' ? splitProxmoxList(text) : [];
}

/** Items Phoenix created that the spec no longer wants: the only ones it may remove. */
export function createdButNotWanted(wanted: readonly { readonly id: string }[] | undefined, created: readonly string[]): string[] {
  const ids = new Set((wanted ?? []).map((w) => w.id));
  return created.filter((id) => !ids.has(id));
}

export function text(value: unknown): string {
  return value === undefined || value === null || value === '' ? '(unset)' : String(value);
}

/**
 * Adds an id to a created list (sorted, no duplicates), or removes it. An emptied list stays
 * as `[]`: status is written as a merge patch, where a missing key would keep the old list.
 */
export function withCreated(created: CreatedItems, change: { kind: CreatedKind; id: string }, add: boolean): CreatedItems {
  const list = new Set(created[change.kind] ?? []);
  if (add) list.add(change.id);
  else list.delete(change.id);
  return { ...created, [change.kind]: [...list].sort() };
}

/** Per node, the interfaces whose changes Phoenix staged and has not reloaded (`status.stagedNetwork`). */
export type StagedNetwork = Readonly<Record<string, readonly string[]>>;

/** The record after a step: an interface added, or a node's entry dropped. */
export function withStaged(staged: StagedNetwork, step: { stages?: { node: string; iface: string }; unstages?: string }): StagedNetwork {
  const next: Record<string, readonly string[]> = { ...staged };
  if (step.stages) next[step.stages.node] = [...new Set([...(next[step.stages.node] ?? []), step.stages.iface])].sort();
  if (step.unstages !== undefined) delete next[step.unstages];
  return next;
}
