/**
 * The HTTP face of the simulator, shaped like pve-http-server: `/api2/json`, form or
 * JSON bodies with query parameters overriding body ones, exact response headers,
 * the first error line as reason phrase, empty-bodied auth 401s, 501 for unknown
 * methods, and fault injection around the handler. `/_sim/` is the admin API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { validateParams, type Params } from '../../proxmox/validate.ts';
import { ApiError, paramError, permissionDenied } from './errors.ts';
import { endpointGroup, Reply, servedIn, type Endpoint, type Router } from './endpoint.ts';
import { defsForVersion, type ParamDefs } from '../../proxmox/schema.ts';
import { findToken, hasPrivilege, parseTokenHeader, subjectName, type Subject } from './auth.ts';
import { injectedAnswer, requestMatches, type Fault, type RequestFacts } from './faults.ts';
import type { Simulator } from './simulator.ts';
import { spoolUpload } from './api/storage.ts';

const API_PREFIX = '/api2/json';
const CONTENT_TYPE = 'application/json;charset=UTF-8';

/** pve-http-server splits form pairs on `&` and `;`; repeated keys become arrays. */
export function parseForm(text: string): Params {
  const out: Params = {};
  for (const pair of text.split(/[&;]/)) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
    const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A `multipart/form-data` body as pve-http-server takes it (storage uploads): plain fields
 * become parameters; a file part is spooled to `/var/tmp/pveupload-…`, its field carries the
 * client's file name and `tmpfilename` the spool file.
 */
function parseMultipart(body: Buffer, contentType: string, spool: (size: number) => string): Params {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!boundary) throw new ApiError(400, 'Bad Request\n');
  const text = body.toString('latin1');
  const out: Params = {};
  for (const part of text.split(`--${boundary[1] ?? boundary[2]!.trim()}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split);
    const value = part.slice(split + 4).replace(/\r\n$/, '');
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined) continue;
    const file = /filename="([^"]*)"/i.exec(head)?.[1];
    if (file === undefined) {
      out[name] = Buffer.from(value, 'latin1').toString('utf8');
      continue;
    }
    out[name] = file;
    out['tmpfilename'] = spool(Buffer.byteLength(value, 'latin1'));
  }
  return out;
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

function reasonOf(message: string): string {
  return message.split('\n')[0]!;
}

/** pve-http-server compresses bodies over 1 KiB when the client accepts gzip. */
const COMPRESS_ABOVE = 1024;

export function sendJson(res: ServerResponse, status: number, reason: string, body: unknown, acceptEncoding = ''): void {
  const text = JSON.stringify(body);
  const gzip = text.length > COMPRESS_ABOVE && /\bgzip\b/.test(acceptEncoding);
  const payload = gzip ? gzipSync(text) : Buffer.from(text);
  res.statusCode = status;
  // A reason phrase that still holds a CR is refused by the real server too.
  res.statusMessage = /[\r\u0000-\u001f\u007f-\uffff]/.test(reason) ? 'Bad Request' : reason;
  res.setHeader('Content-Type', CONTENT_TYPE);
  res.setHeader('Server', 'pve-api-daemon/3.0');
  res.setHeader('Cache-Control', 'max-age=0');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Expires', new Date().toUTCString());
  res.setHeader('Connection', status >= 400 ? 'close' : 'Keep-Alive');
  if (gzip) res.setHeader('Content-Encoding', 'gzip');
  res.setHeader('Content-Length', payload.length);
  res.end(payload);
}

function sendEmpty(res: ServerResponse, status: number, reason: string): void {
  res.statusCode = status;
  res.statusMessage = reason;
  res.setHeader('Server', 'pve-api-daemon/3.0');
  res.setHeader('Connection', 'close');
  res.setHeader('Content-Length', 0);
  res.end();
}

function sendError(res: ServerResponse, err: ApiError): void {
  if (err.emptyBody) return sendEmpty(res, err.status, reasonOf(err.message));
  const body: Record<string, unknown> = { data: null };
  if (err.errors) body['errors'] = err.errors;
  body['message'] = err.message;
  sendJson(res, err.status, reasonOf(err.message), body);
}

/** Resolves the caller from a ticket cookie/header or an API token header. */
function authenticate(sim: Simulator, req: IncomingMessage, method: string): Subject {
  const authFailed = () => new ApiError(401, sim.versionInfo.authFailure, { emptyBody: true });
  const authorization = req.headers.authorization ?? '';
  const token = parseTokenHeader(authorization);
  if (token) {
    const t = findToken(sim.state, token.fullId);
    const now = sim.clock.nowSeconds();
    if (!t || t.secret !== token.secret || (t.expire !== 0 && t.expire < now)) throw authFailed();
    const bang = token.fullId.indexOf('!');
    return { userid: token.fullId.slice(0, bang), tokenid: token.fullId.slice(bang + 1), via: 'token' };
  }
  const ticket = cookie(req, 'PVEAuthCookie') ?? /(?:^|\s)PVEAuthCookie=([^;\s]+)/.exec(authorization)?.[1];
  if (ticket === undefined) throw new ApiError(401, 'No ticket', { emptyBody: true });
  const userid = sim.signer.verifyTicket(decodeURIComponent(ticket), sim.clock.nowSeconds(), sim.ticketsNotBefore);
  if (userid === undefined) throw authFailed();
  if (method !== 'GET') {
    const csrf = req.headers['csrfpreventiontoken'];
    if (typeof csrf !== 'string' || !sim.signer.verifyCsrf(csrf, userid, sim.clock.nowSeconds())) {
      throw new ApiError(401, 'Permission denied - invalid csrf token', { emptyBody: true });
    }
  }
  return { userid, via: 'ticket' };
}

const versionedParams = new WeakMap<Endpoint, Map<string, ParamDefs>>();

/** The endpoint's parameters as the simulated Proxmox VE release defines them. */
export function paramsFor(sim: Simulator, endpoint: Endpoint): ParamDefs {
  let byVersion = versionedParams.get(endpoint);
  if (!byVersion) versionedParams.set(endpoint, (byVersion = new Map()));
  let defs = byVersion.get(sim.pveVersion);
  if (!defs) byVersion.set(sim.pveVersion, (defs = defsForVersion(endpoint.params, sim.pveVersion)));
  return defs;
}

export interface ApiRequestHandler {
  (req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function apiHandler(sim: Simulator, router: Router, admin: ApiRequestHandler): ApiRequestHandler {
  const serve = apiRequest(sim, router);
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    if (url.pathname.startsWith('/_sim/')) return admin(req, res);
    sim.requestStarted();
    try {
      await serve(req, res, url);
    } finally {
      sim.requestEnded();
    }
  };
}

function injectedError(f: Extract<Fault, { kind: 'error' }>): ApiError {
  const answer = injectedAnswer(f);
  return new ApiError(answer.status, `${answer.message}\n`, { emptyBody: answer.emptyBody });
}

function apiRequest(sim: Simulator, router: Router) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const bodyText = /multipart\/form-data/i.test(req.headers['content-type'] ?? '') ? '' : body.toString('utf8');
    sim.settle();
    if (!url.pathname.startsWith(`${API_PREFIX}/`)) return sendEmpty(res, 404, 'Not Found');
    const path = url.pathname.slice(API_PREFIX.length).replace(/\/+$/, '') || '/';
    const match = router.match(method, path);
    sim.count(method, match?.endpoint.path ?? path, path);
    try {
      if ((method === 'GET' || method === 'DELETE') && body.length > 0) throw new ApiError(501, `Unexpected content for method '${method}'\n`);
      if (!match || !servedIn(match.endpoint, sim.pveVersion)) throw new ApiError(501, `Method '${method} ${API_PREFIX}${path}' not implemented\n`);
      const { endpoint, pathParams } = match;
      const facts: RequestFacts = { method, path: endpoint.path, group: endpointGroup(endpoint.path) };

      let subject: Subject = { userid: '', via: 'none' };
      if (!endpoint.public) {
        try {
          subject = authenticate(sim, req, method);
        } catch (err) {
          if (sim.authFailureDelayMs > 0) await sim.clock.sleep(sim.authFailureDelayMs);
          throw err;
        }
        if (subject.via === 'token' && endpoint.allowToken === false) {
          throw new ApiError(403, `Permission check failed (URI '${path}' not available with API token, need proper ticket.)\n`);
        }
      }

      const params = /multipart\/form-data/i.test(req.headers['content-type'] ?? '')
        ? mergeParams(req, '', url, pathParams, parseMultipart(body, String(req.headers['content-type']), (size) => spoolUpload(sim, size)))
        : mergeParams(req, bodyText, url, pathParams);
      const before = (f: { when?: string }) => (f.when ?? 'before') === 'before';
      const dice = (f: { rate?: number }) => f.rate === undefined || sim.random.next() < f.rate;
      const held = sim.faults.take('latency', (f) => before(f) && requestMatches(f, facts) && dice(f));
      if (held) await sim.hold(held);
      if (sim.faults.take('drop', (f) => f.when === 'before' && requestMatches(f, facts) && dice(f))) {
        req.socket.destroy();
        return;
      }
      if (pathParams['node'] !== undefined && endpoint.path.startsWith('/nodes/{node}')) sim.node(pathParams['node']);

      for (const check of endpoint.permissions?.(params) ?? []) {
        const okAt = (path: string) =>
          check.any ? check.privs.some((p) => hasPrivilege(sim.state, subject, path, p)) : check.privs.every((p) => hasPrivilege(sim.state, subject, path, p));
        if (okAt(check.path) || (check.orPath !== undefined && okAt(check.orPath))) continue;
        throw permissionDenied(check.path, check.any ? check.privs.join('|') : check.privs.find((p) => !hasPrivilege(sim.state, subject, check.path, p))!);
      }

      const validated = validateParams(paramsFor(sim, endpoint), params);
      if (!validated.ok) throw paramError({ ...validated.errors });
      // qemu-server and pve-container compare the authenticated user, so even a root token is refused.
      if (validated.params['skiplock'] === 1 && subjectName(subject) !== 'root@pam') throw paramError({ skiplock: 'Only root may use this option.' });

      const injected = sim.faults.take('error', (f) => before(f) && requestMatches(f, facts) && sim.random.next() < f.rate);
      if (injected) throw injectedError(injected);

      const result = await endpoint.handler({ sim, params: validated.params, subject });
      // The request was applied; what follows is what the client gets to see of it.
      const late = sim.faults.take('latency', (f) => f.when === 'after' && requestMatches(f, facts) && dice(f));
      if (late) await sim.hold(late);
      if (sim.faults.take('drop', (f) => f.when === 'after' && requestMatches(f, facts) && dice(f))) {
        req.socket.destroy();
        return;
      }
      const lost = sim.faults.take('error', (f) => f.when === 'after' && requestMatches(f, facts) && sim.random.next() < f.rate);
      if (lost) throw injectedError(lost);
      const accept = String(req.headers['accept-encoding'] ?? '');
      if (result instanceof Reply) sendJson(res, 200, 'OK', { data: result.data ?? null, ...result.extras }, accept);
      else sendJson(res, 200, 'OK', { data: result ?? null }, accept);
    } catch (err) {
      if (err instanceof ApiError) return sendError(res, err);
      const message = err instanceof Error ? err.message : String(err);
      sendError(res, new ApiError(500, message.endsWith('\n') ? message : `${message}\n`));
    }
  };
}

function mergeParams(req: IncomingMessage, bodyText: string, url: URL, pathParams: Record<string, string>, form: Params = {}): Params {
  let body: Params = form;
  if (bodyText.length > 0) {
    const type = req.headers['content-type'] ?? '';
    if (type.includes('application/json')) {
      try {
        const parsed: unknown = JSON.parse(bodyText);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Params;
      } catch {
        throw new ApiError(400, 'Bad Request\n');
      }
    } else {
      body = parseForm(bodyText);
    }
  }
  const query = parseForm(url.search.slice(1));
  const merged: Params = { ...body, ...query };
  const conflicts: Record<string, string> = {};
  for (const [k, v] of Object.entries(pathParams)) {
    if (merged[k] !== undefined && String(merged[k]) !== v) conflicts[k] = 'duplicate parameter (already defined in URI) with conflicting values!';
    merged[k] = v;
  }
  if (Object.keys(conflicts).length > 0) throw paramError(conflicts);
  return merged;
}
