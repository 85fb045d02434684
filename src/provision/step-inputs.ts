/**
 * A provisioning step with everything it reads resolved: the script, the files and the
 * environment as text, and which Secret (at which resourceVersion) each value came from. The
 * lookups are given, so this stays apart from caches and the API server.
 */

import type { ProvisionStep } from '../api/provision.ts';

/** A key of a ConfigMap or Secret as read now. */
export interface KeyValue {
  readonly value: string;
  readonly resourceVersion: string;
}

/** Reads `key` of a ConfigMap or Secret in the guest's namespace; throws when it is missing. */
export type KeyLookup = (kind: 'ConfigMap' | 'Secret', name: string, key: string) => KeyValue;

/** Where a text came from: literally from the spec or a ConfigMap, or from a Secret (hashed by resourceVersion only). */
export type Origin = { readonly kind: 'text' } | { readonly kind: 'secret'; readonly name: string; readonly key: string; readonly resourceVersion: string };

export interface ResolvedText {
  readonly value: string;
  readonly origin: Origin;
}

export interface ResolvedFile {
  readonly path: string;
  readonly mode: string;
  readonly owner: string;
  readonly content: ResolvedText;
}

export interface ResolvedStep {
  readonly name: string;
  readonly interpreter: string;
  readonly user: string;
  readonly timeoutSeconds: number;
  readonly script: ResolvedText;
  readonly files: readonly ResolvedFile[];
  readonly env: readonly { readonly name: string; readonly value: ResolvedText }[];
}

export const defaultInterpreter = '/bin/sh';
export const defaultUser = 'root';
export const defaultStepTimeoutSeconds = 30 * 60;

type Ref = { readonly name: string; readonly key: string };

function fromRef(lookup: KeyLookup, kind: 'ConfigMap' | 'Secret', ref: Ref): ResolvedText {
  const { value, resourceVersion } = lookup(kind, ref.name, ref.key);
  return { value, origin: kind === 'Secret' ? { kind: 'secret', name: ref.name, key: ref.key, resourceVersion } : { kind: 'text' } };
}

function fromSource(lookup: KeyLookup, source: { inline?: string; configMapKeyRef?: Ref; secretKeyRef?: Ref }): ResolvedText {
  if (source.secretKeyRef) return fromRef(lookup, 'Secret', source.secretKeyRef);
  if (source.configMapKeyRef) return fromRef(lookup, 'ConfigMap', source.configMapKeyRef);
  return { value: source.inline ?? '', origin: { kind: 'text' } };
}

/** `timeout` is a parsed duration in milliseconds (the caller owns duration parsing). */
export function resolveStep(step: ProvisionStep, lookup: KeyLookup, timeoutMs: number | undefined): ResolvedStep {
  return {
    name: step.name,
    interpreter: step.interpreter ?? defaultInterpreter,
    user: step.user ?? defaultUser,
    timeoutSeconds: Math.max(1, Math.ceil((timeoutMs ?? defaultStepTimeoutSeconds * 1000) / 1000)),
    script: fromSource(lookup, step.script),
    files: (step.files ?? []).map((f) => {
      const content = fromSource(lookup, f.source);
      // A file from a Secret is private unless the spec says otherwise.
      const mode = f.mode ?? (content.origin.kind === 'secret' ? '0600' : '0644');
      return { path: f.path, mode: mode.length === 3 ? `0${mode}` : mode, owner: f.owner ?? 'root:root', content };
    }),
    env: (step.env ?? []).map((e) => ({ name: e.name, value: e.secretKeyRef ? fromRef(lookup, 'Secret', e.secretKeyRef) : { value: e.value ?? '', origin: { kind: 'text' } as const } })),
  };
}

/** Every Secret value the step reads: what is masked in anything Phoenix records. */
export function secretValues(step: ResolvedStep): string[] {
  const texts = [step.script, ...step.files.map((f) => f.content), ...step.env.map((e) => e.value)];
  return texts.filter((t) => t.origin.kind === 'secret').map((t) => t.value);
}
