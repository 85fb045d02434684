/**
 * Errors as Portainer's libhttp writes them: a status and a JSON body
 * `{"message": …, "details": …}`. Handlers throw these; the HTTP layer serialises them.
 */
export class PortainerError extends Error {
  override readonly name = 'PortainerError';
  readonly status: number;
  readonly details: string;
  /** Docker proxy errors use the engine's `{message}` body, not Portainer's pair. */
  readonly docker: boolean;
  /** Go's reverse proxy answers 502 with an empty body when the agent is unreachable. */
  readonly emptyBody: boolean;

  constructor(status: number, message: string, details: string, options: { docker?: boolean; emptyBody?: boolean } = {}) {
    super(message);
    this.status = status;
    this.details = details;
    this.docker = options.docker ?? false;
    this.emptyBody = options.emptyBody ?? false;
  }

  body(): Record<string, string> | undefined {
    if (this.emptyBody) return undefined;
    if (this.docker) return { message: this.message };
    return { message: this.message, details: capitalise(this.details) };
  }
}

/** libhttp capitalises `details` since about 2.20 (older releases sent Go's lowercase error text). */
export function capitalise(text: string): string {
  return text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1);
}

/** The error bolt/boltdb returns for a missing key, seen in every 404 `details`. */
export const OBJECT_NOT_FOUND = 'Object not found inside the database';

export const badRequest = (message: string, details: string) => new PortainerError(400, message, details);
export const notFound = (message: string, details = OBJECT_NOT_FOUND) => new PortainerError(404, message, details);
export const conflict = (message: string, details: string) => new PortainerError(409, message, details);
export const serverError = (message: string, details: string = message) => new PortainerError(500, message, details);
export const unauthorized = (message: string) => new PortainerError(401, message, 'Unauthorized');

/** A Docker Engine API error as the proxy passes it through (`{"message": …}`). */
export const dockerError = (status: number, message: string) => new PortainerError(status, message, message, { docker: true });
