import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { kinds, kindByName } from './kinds.ts';
import type { JsonSchema, MinSize } from './schema.ts';
import { parseSize } from '../proxmox/size.ts';
import { firewallRuleProblems } from './firewall-checks.ts';

export interface FieldError {
  /** A Kubernetes-style field path, such as `spec.networks[0].mac`. */
  readonly field: string;
  readonly message: string;
}

/**
 * Validates specs with ajv against the same schemas the CRDs carry. The API server already
 * enforces them (plus the CEL rules, which ajv cannot evaluate); the controller re-checks so
 * objects stored before a CRD upgrade get a clear field-level error instead of a crash. Then
 * the checks the API server cannot afford: firewall address and port lists parsed in full.
 */
export class SpecValidator {
  private readonly validators = new Map<string, ValidateFunction>();
  private ajv: Ajv | undefined;

  validate(kind: string, spec: unknown): FieldError[] {
    const validate = this.validator(kindByName(kind).kind);
    if (!validate) return [];
    if (!validate(spec)) return (validate.errors ?? []).map(toFieldError);
    const rules = (spec as { firewall?: { rules?: Parameters<typeof firewallRuleProblems>[0] } } | undefined)?.firewall?.rules;
    return firewallRuleProblems(rules, 'spec.firewall.rules');
  }

  /** Compiled when a kind is first validated: a controller with no objects of a kind holds no code for it. */
  private validator(kind: string): ValidateFunction | undefined {
    let validate = this.validators.get(kind);
    const def = kinds.find((k) => k.kind === kind);
    if (!validate && def) {
      if (!this.ajv) {
        this.ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, verbose: true });
        this.ajv.addKeyword({ keyword: 'x-phoenix-min-size', schemaType: 'object', validate: atLeastSize });
      }
      validate = this.ajv.compile(def.spec.json);
      this.validators.set(kind, validate);
    }
    return validate;
  }
}

/** The `x-phoenix-min-size` keyword: a malformed size is the pattern's to report. */
function atLeastSize(this: unknown, minimum: MinSize, data: unknown): boolean {
  const size = typeof data === 'string' ? parseSize(data) : undefined;
  if (size === undefined || size >= parseSize(minimum.min)!) return true;
  atLeastSize.errors = [{ keyword: 'x-phoenix-min-size', message: `must be at least ${minimum.min}: ${minimum.why}`, params: {} }];
  return false;
}
atLeastSize.errors = [] as Partial<ErrorObject>[];

function toFieldError(error: ErrorObject): FieldError {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('');
  const missing = error.keyword === 'required' ? `.${String(error.params['missingProperty'])}` : '';
  const patternMessage = error.keyword === 'pattern' ? (error.parentSchema as JsonSchema | undefined)?.['x-phoenix-pattern-message'] : undefined;
  const message = error.keyword === 'required' ? 'Required value' : patternMessage ?? error.message ?? 'invalid';
  return { field: `spec${path}${missing}`, message };
}
