/**
 * Injectable faults of the Portainer simulator. Request faults match a method, a route
 * template (`/stacks/{id}`) or a group (`stacks`, `endpoints`, `docker`, `auth`,
 * `system`); deploy faults match what compose would do on an environment.
 */
export { FaultTable, requestMatches, type RequestFacts } from '../common/faults.ts';

export type PortainerFault =
  /** Delays matching responses by `ms` of simulated time. */
  | { kind: 'latency'; ms: number; group?: string; method?: string; path?: string; count?: number }
  /** Fails a fraction of matching requests (500 `{message, details}` unless `status`). */
  | { kind: 'error'; rate: number; group?: string; method?: string; path?: string; status?: number; message?: string; count?: number }
  /** Destroys the socket without a response, before or after the handler acted. */
  | { kind: 'drop'; when: 'before' | 'after'; group?: string; method?: string; path?: string; count?: number }
  /** Pulls of matching images fail as the registry would refuse them. */
  | { kind: 'pull-failure'; image: string; endpointId?: number; message?: string; count?: number };

export type PortainerFaultKind = PortainerFault['kind'];
