/**
 * Reaching kube-apiserver: the in-cluster service account, or a kubeconfig file's current
 * context with a token, token file, client certificate or basic auth. This is all a controller
 * needs, and loading it costs next to nothing, where @kubernetes/client-node's KubeConfig brings
 * the whole generated API with it (about 55 MiB of resident memory). A kubeconfig that needs a
 * credential plugin (exec, auth-provider) is left to client-node (see `needsPlugin`).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { parse } from 'yaml';

/** What the runtime reads from a kubeconfig; @kubernetes/client-node's KubeConfig has the same shape. */
export interface KubeAccess {
  getCurrentCluster(): { readonly server: string } | null;
  getCurrentUser(): { readonly token?: string; readonly password?: string } | null;
  /** Adds the CA, client certificate and credentials to request options (re-reading token files). */
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

interface Cluster {
  server: string;
  ca?: string | Buffer;
  insecure?: boolean;
  servername?: string;
}

interface User {
  token?: string;
  tokenFile?: string;
  cert?: string | Buffer;
  key?: string | Buffer;
  username?: string;
  password?: string;
}

/** The kubeconfig names a credential plugin this loader does not run. */
export class NeedsPluginError extends Error {
  override readonly name = 'NeedsPluginError';
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

export class Kubeconfig implements KubeAccess {
  readonly #cluster: Cluster;
  readonly #user: User;

  private constructor(cluster: Cluster, user: User) {
    this.#cluster = cluster;
    this.#user = user;
  }

  /** The pod's service account, as client-go's rest.InClusterConfig. */
  static inCluster(env: NodeJS.ProcessEnv = process.env): Kubeconfig {
    const host = env['KUBERNETES_SERVICE_HOST'];
    const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
    if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: not running in a pod');
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return new Kubeconfig({ server, ca: readFileSync(join(serviceAccountDir, 'ca.crt')) }, { tokenFile: join(serviceAccountDir, 'token') });
  }

  /** A kubeconfig file's current context: `path`, else the first of $KUBECONFIG, else ~/.kube/config. */
  static fromFile(path?: string, env: NodeJS.ProcessEnv = process.env): Kubeconfig {
    const file = path ?? env['KUBECONFIG']?.split(':').find(Boolean) ?? join(homedir(), '.kube', 'config');
    const doc = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, any>;
    const base = dirname(file);
    const named = (list: unknown, name: string | undefined, what: string): Record<string, any> => {
      const entry = (Array.isArray(list) ? list : []).find((e: { name?: string }) => e?.name === name);
      if (!entry) throw new Error(`${file}: no ${what} named ${JSON.stringify(name ?? '')}`);
      return entry;
    };
    const context = named(doc['contexts'], doc['current-context'], 'context')['context'] ?? {};
    const c = named(doc['clusters'], context.cluster, 'cluster')['cluster'] ?? {};
    const u = context.user === undefined ? {} : (named(doc['users'], context.user, 'user')['user'] ?? {});
    if (u.exec || u['auth-provider']) throw new NeedsPluginError(`${file}: user ${context.user} needs a credential plugin`);
    const fileOrData = (data: unknown, path: unknown): Buffer | undefined =>
      typeof data === 'string' ? Buffer.from(data, 'base64') : typeof path === 'string' ? readFileSync(isAbsolute(path) ? path : join(base, path)) : undefined;
    if (typeof c.server !== 'string') throw new Error(`${file}: cluster ${context.cluster} has no server`);
    const cluster: Cluster = { server: c.server };
    const ca = fileOrData(c['certificate-authority-data'], c['certificate-authority']);
    if (ca) cluster.ca = ca;
    if (c['insecure-skip-tls-verify'] === true) cluster.insecure = true;
    if (typeof c['tls-server-name'] === 'string') cluster.servername = c['tls-server-name'];
    const user: User = {};
    const cert = fileOrData(u['client-certificate-data'], u['client-certificate']);
    const key = fileOrData(u['client-key-data'], u['client-key']);
    if (cert) user.cert = cert;
    if (key) user.key = key;
    if (typeof u.token === 'string') user.token = u.token;
    if (typeof u.tokenFile === 'string') user.tokenFile = isAbsolute(u.tokenFile) ? u.tokenFile : join(base, u.tokenFile);
    if (typeof u.username === 'string') user.username = u.username;
    if (typeof u.password === 'string') user.password = u.password;
    return new Kubeconfig(cluster, user);
  }

  getCurrentCluster(): { server: string } {
    return { server: this.#cluster.server };
  }

  getCurrentUser(): { token?: string; password?: string } {
    return { ...(this.#user.token ? { token: this.#user.token } : {}), ...(this.#user.password ? { password: this.#user.password } : {}) };
  }

  async applyToHTTPSOptions(options: RequestOptions): Promise<void> {
    const { ca, insecure, servername } = this.#cluster;
    // Credentials never go over plain HTTP unless TLS checks were waived on purpose (client-node's rule and wording).
    if (this.#cluster.server.startsWith('http:') && !insecure) throw new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false');
    if (ca) options.ca = ca;
    if (insecure) options.rejectUnauthorized = false;
    if (servername) options.servername = servername;
    const { cert, key, username, password, tokenFile } = this.#user;
    if (cert) options.cert = cert;
    if (key) options.key = key;
    // A token file is re-read every time: a projected service-account token is rotated.
    const token = tokenFile ? readFileSync(tokenFile, 'utf8').trim() : this.#user.token;
    if (token) options.headers = { ...options.headers, Authorization: `Bearer ${token}` };
    else if (username !== undefined && password !== undefined) options.auth = `${username}:${password}`;
  }
}
