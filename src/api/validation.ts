import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { kinds, kindByName } from './kinds.ts';

export interface FieldError {
  /** A Kubernetes-style field path, such as `spec.networks[0].mac`. */
  readonly field: string;
  readonly message: string;
}

/**
 * Validates specs with ajv against the same schemas the CRDs carry. The API server already
 * enforces them (plus the CEL rules, which ajv cannot evaluate); the controller re-checks so
 * objects stored before a CRD upgrade get a clear field-level error instead of a crash.
 */
export class SpecValidator {
  private readonly validators = new Map<string, ValidateFunction>();
  private ajv: Ajv | undefined;

  validate(kind: string, spec: unknown): FieldError[] {
    const validate = this.validator(kindByName(kind).kind);
    if (!validate || validate(spec)) return [];
    return (validate.errors ?? []).map(toFieldError);
  }

  /** Compiled when a kind is first validated: a controller with no objects of a kind holds no code for it. */
  private validator(kind: string): ValidateFunction | undefined {
    let validate = this.validators.get(kind);
    const def = kinds.find((k) => k.kind === kind);
    if (!validate && def) {
      this.ajv ??= new Ajv({ allErrors: true, strict: false, validateFormats: false });
      validate = this.ajv.compile(def.spec.json);
      this.validators.set(kind, validate);
    }
    return validate;
  }
}

function toFieldError(error: ErrorObject): FieldError {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('');
  const missing = error.keyword === 'required' ? `.${String(error.params['missingProperty'])}` : '';
  const message = error.keyword === 'required' ? 'Required value' : error.message ?? 'invalid';
  return { field: `spec${path}${missing}`, message };
}
