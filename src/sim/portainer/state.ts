/**
 * Everything a simulated Portainer knows: its database (users, API keys, environments,
 * stacks, resource controls) and, per environment, what the Docker engine behind it
 * holds (containers, pulled images). Plain data, so it can be snapshotted and reloaded.
 */
import type { Pair } from './compose.ts';
import type { SimContainer } from './docker.ts';

export interface SimUser {
  id: number;
  username: string;
  password: string;
  /** 1 administrator, 2 standard user. */
  role: 1 | 2;
}

export interface SimApiKey {
  id: number;
  userId: number;
  description: string;
  /** sha256 of the raw key; the raw key is never stored, as in Portainer. */
  digest: string;
  prefix: string;
  dateCreated: number;
  lastUsed: number;
}

/** 1 Docker API/socket, 2 Portainer agent on Docker (the kinds Phoenix uses). */
export type EndpointType = 1 | 2;

export interface SimEndpoint {
  id: number;
  name: string;
  type: EndpointType;
  url: string;
  publicUrl: string;
  groupId: number;
  tagIds: number[];
  /** Whether the Docker engine / agent answers; unreachable environments go Status 2. */
  reachable: boolean;
  dockerVersion: string;
  totalCpu: number;
  totalMemory: number;
  createdMs: number;
}

export interface SimStack {
  id: number;
  name: string;
  endpointId: number;
  env: Pair[] | null;
  /** 1 active, 2 inactive. */
  status: 1 | 2;
  fileContent: string;
  creationDate: number;
  createdBy: string;
  updateDate: number;
  updatedBy: string;
  resourceControlId: number;
  fromAppTemplate: boolean;
  prune: boolean | null;
  /** Set for stacks created from a repository (`portainer.Stack.GitConfig`). */
  git?: SimGitConfig | null;
  /** Portainer's git auto-update (polling) settings; null when off. */
  autoUpdate?: SimAutoUpdate | null;
  /** Simulated ms of the last auto-update poll of this stack. */
  lastAutoUpdateMs?: number;
  /** The compose file's path in the repository (`EntryPoint`); default docker-compose.yml. */
  entryPoint?: string;
}

export interface SimGitConfig {
  url: string;
  referenceName: string;
  configFilePath: string;
  /** The commit deployed last. */
  configHash: string;
  /** Kept with the stack like Portainer does; the password is blanked in every response. */
  auth: { username: string; password: string } | null;
  tlsSkipVerify: boolean;
}

export interface SimAutoUpdate {
  interval: string;
  webhook: string;
  forceUpdate: boolean;
  forcePullImage: boolean;
  jobId: string;
}

/** A repository the simulator can "clone" (it cannot reach the internet): refs and commits. */
export interface SimRepository {
  /** `refs/heads/main` → commit hash. */
  refs: Record<string, string>;
  /** commit hash → path → file content. */
  commits: Record<string, Record<string, string>>;
  /** Basic-auth credentials the repository demands; none: public. */
  auth?: { username: string; password: string };
}

export interface SimResourceControl {
  id: number;
  resourceId: string;
  /** 6 = stack. */
  type: number;
}

export interface PortainerState {
  instanceId: string;
  users: SimUser[];
  apiKeys: SimApiKey[];
  endpoints: SimEndpoint[];
  stacks: SimStack[];
  resourceControls: SimResourceControl[];
  containers: SimContainer[];
  /** Images present on each environment's engine (`endpointId` → references). */
  pulledImages: Record<string, string[]>;
  /** The registry's current digest per image reference; changing it makes `pullImage` recreate. */
  registryDigests: Record<string, string>;
  /** Git repositories by URL, seeded through the admin (absent in older snapshots). */
  repositories?: Record<string, SimRepository>;
  nextId: { endpoint: number; stack: number; resourceControl: number; apiKey: number };
}
