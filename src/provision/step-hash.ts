/**
 * A step's content hash: what decides whether it runs again. It covers the script, the
 * interpreter and user, the files (path, mode, owner, content) and the environment. A value read
 * from a Secret enters it as the Secret's name, key and resourceVersion, never as the value, so
 * the hash (which is recorded in status) says nothing about the Secret; a rotated Secret still
 * changes it. The timeout is left out: allowing a step more time is no reason to run it again.
 */

import { createHash } from 'node:crypto';
import type { ResolvedStep, ResolvedText } from './step-inputs.ts';

function part(text: ResolvedText): unknown {
  return text.origin.kind === 'secret' ? { secret: `${text.origin.name}/${text.origin.key}`, resourceVersion: text.origin.resourceVersion } : { text: text.value };
}

/** Hex SHA-256 of the step's canonical JSON (field order fixed here, lists in spec order). */
export function stepHash(step: ResolvedStep): string {
  const canonical = JSON.stringify([
    'phoenix-step-v1',
    step.name,
    step.interpreter,
    step.user,
    part(step.script),
    step.files.map((f) => [f.path, f.mode, f.owner, part(f.content)]),
    step.env.map((e) => [e.name, part(e.value)]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
