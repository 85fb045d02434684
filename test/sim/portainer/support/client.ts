/** A plain-fetch caller for the Portainer simulator, and a driver for its manual clock. */
import { startPortainerSimulator, type RunningPortainerSimulator, type StartOptions } from '../../../../src/sim/portainer/index.ts';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON, or undefined when empty. */
  body: any;
  text: string;
}

export interface CallOptions {
  body?: unknown;
  /** Raw body text (sent as is). */
  raw?: string;
  headers?: Record<string, string>;
  /** Default: the simulator's API key. `none` sends no credentials. */
  auth?: 'key' | 'none' | { jwt: string } | { key: string };
}

export async function call(sim: RunningPortainerSimulator, method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const auth = options.auth ?? 'key';
  if (auth === 'key') headers['X-API-Key'] = sim.apiKey;
  else if (typeof auth === 'object' && 'jwt' in auth) headers['Authorization'] = `Bearer ${auth.jwt}`;
  else if (typeof auth === 'object' && 'key' in auth) headers['X-API-Key'] = auth.key;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${sim.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Lets a request that waits on simulated time (image pulls, compose down, latency)
 * finish: whenever the simulator is sleeping, moves the manual clock on by `stepMs`.
 * Returns the result and how much simulated time it took.
 */
export async function drive<T>(sim: RunningPortainerSimulator, work: Promise<T>, stepMs = 250): Promise<T> {
  let done = false;
  const watched = work.finally(() => (done = true));
  // Rejections are the caller's to assert on; keep Node from flagging them as late-handled.
  watched.catch(() => undefined);
  for (let i = 0; i < 100_000 && !done; i++) {
    await tick();
    if (!done && sim.clock.pendingSleeps() > 0) sim.admin.advance(stepMs);
  }
  return watched;
}

/** Waits (without moving time) until `n` sleeps are pending: the request reached its wait. */
export async function untilSleeping(sim: RunningPortainerSimulator, n = 1): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    if (sim.clock.pendingSleeps() >= n) return;
    await tick();
  }
  throw new Error('the simulator never started waiting');
}

export async function startSim(options: StartOptions = {}): Promise<RunningPortainerSimulator> {
  return startPortainerSimulator({ clock: 'manual', seed: 3, ...options });
}

export const WEB_COMPOSE = `services:
  web:
    image: nginx:1.27-alpine
    ports:
      - "8080:80"
    environment:
      GREETING: \${GREETING:-hello}
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost"]
      interval: 10s
      retries: 3
    restart: unless-stopped
  cache:
    image: redis:7
`;
