import * as s from './schema.ts';
import * as c from './common.ts';

/**
 * What runs inside a guest once it runs: ordered provisioning steps and health checks, shared
 * by PhoenixVM and PhoenixLXC. See docs/provisioning.md for the model (a change to step k
 * re-runs k and every later step, like a layer cache).
 */

const keyPattern = '^[-._a-zA-Z0-9]+$';

const keyRef = (what: string) =>
  s.object(
    { name: c.k8sName(`Name of the ${what}.`), key: s.string({ description: `Key within the ${what}.`, maxLength: 253, pattern: keyPattern }) },
    { description: `A key of a ${what} in this namespace.`, required: ['name', 'key'] },
  );

/** A text from exactly one place: inline, a ConfigMap key or a Secret key. */
export const textSource = (description: string, inlineMax: number) =>
  s.object(
    {
      inline: s.string({ description: 'The text itself.', maxLength: inlineMax }),
      configMapKeyRef: keyRef('ConfigMap'),
      secretKeyRef: keyRef('Secret'),
    },
    {
      description,
      rules: [{ rule: '[has(self.inline), has(self.configMapKeyRef), has(self.secretKeyRef)].filter(x, x).size() == 1', message: 'exactly one of inline, configMapKeyRef or secretKeyRef is required' }],
    },
  );

/** An absolute guest path without newlines, `..` or the characters the step manifest separates with. */
const guestPath = (description: string) =>
  s.string({ description, pattern: '^/[^\\n\\t\\r\\x00]*$', maxLength: 1024, rules: [{ rule: "!self.contains('/../') && !self.endsWith('/..') && !self.endsWith('/')", message: 'must be a file path without .. components' }] });

const stepName = s.string({ description: 'The step\'s name: unique in the list, and the name of its directory in the guest.', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 });

export const provisionStep = s.object(
  {
    name: stepName,
    script: textSource('The script, run by `interpreter`.', 262144),
    files: s.array(
      s.object(
        {
          path: guestPath('Where the file is placed in the guest (absolute). Its directory is created when missing.'),
          source: s.object(
            { configMapKeyRef: keyRef('ConfigMap'), secretKeyRef: keyRef('Secret') },
            { description: 'Where the content comes from.', rules: [{ rule: 'has(self.configMapKeyRef) != has(self.secretKeyRef)', message: 'exactly one of configMapKeyRef or secretKeyRef is required' }] },
          ),
          mode: s.string({ description: 'Octal permissions. Default `0644` (`0600` for a file from a Secret).', pattern: '^0?[0-7]{3}$', maxLength: 4 }),
          owner: s.string({ description: '`user` or `user:group`. Default `root:root`.', pattern: '^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$', maxLength: 65 }),
        },
        { description: 'A file placed before the script runs.', required: ['path', 'source'] },
      ),
      { description: 'Files placed in the guest before the script runs, keyed by path.', maxItems: 32, listType: 'map', mapKeys: ['path'] },
    ),
    env: s.array(
      s.object(
        {
          name: s.string({ description: 'Variable name.', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 128 }),
          value: s.string({ description: 'The value.', maxLength: 32768 }),
          secretKeyRef: keyRef('Secret'),
        },
        { description: 'An environment variable of the script.', required: ['name'], rules: [{ rule: 'has(self.value) != has(self.secretKeyRef)', message: 'exactly one of value or secretKeyRef is required' }] },
      ),
      { description: 'Environment of the script, keyed by name. Secret values are masked in the output Phoenix records.', maxItems: 64, listType: 'map', mapKeys: ['name'] },
    ),
    interpreter: s.string({ description: 'Program the script is given to, such as `/bin/bash` or `/usr/bin/python3`. Default `/bin/sh`.', pattern: '^/[-._/a-zA-Z0-9]+$', maxLength: 256 }),
    user: s.string({ description: 'Guest user the script runs as. Default `root`.', pattern: '^[a-z_][a-z0-9_-]*$', maxLength: 32 }),
    timeout: c.duration('How long the script may run before it is killed (and the step fails). Default `30m`. Not part of the step\'s hash.', '30m'),
  },
  { description: 'One provisioning step.', required: ['name', 'script'] },
);

export const healthCheck = s.object(
  {
    name: stepName,
    exec: s.object(
      { command: s.string({ description: 'A shell command (`/bin/sh -c`), healthy when it exits 0.', maxLength: 4096, minLength: 1 }) },
      { description: 'Runs a command in the guest.', required: ['command'] },
    ),
    http: s.object(
      {
        url: s.string({ description: 'The whole URL to get, such as `https://app.example.com/healthz`. Otherwise `port` and `path` on the guest\'s address.', pattern: '^https?://[^\\s]+$', maxLength: 2048 }),
        port: s.integer({ description: 'Port on the guest\'s address (the first IPv4 address in `status.ipAddresses`, else the first IPv6).', minimum: 1, maximum: 65535 }),
        path: s.string({ description: 'Path with the port. Default `/`.', pattern: '^/[^\\s]*$', maxLength: 2048 }),
        scheme: s.literal(['http', 'https'] as const, { description: 'With the port. Default `http`. An `https` certificate is not verified (the guest\'s address is rarely in it).' }),
        expectedStatus: s.string({ description: 'The HTTP statuses that pass: one (`204`) or a range (`200-299`). Default `200-399`.', pattern: '^[1-5][0-9]{2}(-[1-5][0-9]{2})?$', maxLength: 7 }),
      },
      {
        description: 'Gets a URL from the controller; healthy when the status is in `expectedStatus`.',
        rules: [{ rule: 'has(self.url) != has(self.port)', message: 'http takes exactly one of url, or port (with path and scheme)' }, { rule: 'has(self.port) || (!has(self.path) && !has(self.scheme))', message: 'path and scheme go with port', fieldPath: '.path' }],
      },
    ),
    tcp: s.object(
      { port: s.integer({ description: 'Port on the guest\'s address.', minimum: 1, maximum: 65535 }) },
      { description: 'Opens a TCP connection from the controller; healthy when it is accepted.', required: ['port'] },
    ),
    restartAfterFailures: s.integer({ description: 'Restart the guest once this many runs in a row have failed (once per failure streak: not again until the check has passed). Unset: never.', minimum: 1, maximum: 100 }),
    period: c.duration('How often the check runs. Default `30s`; at least 1s.', '30s'),
    timeout: c.duration('How long one run may take before it counts as a failure. Default `10s`.', '10s'),
    failureThreshold: s.integer({ description: 'Failures in a row after which the guest is unhealthy. Default 3.', minimum: 1, maximum: 100 }),
    successThreshold: s.integer({ description: 'Successes in a row after which an unhealthy guest is healthy again. Default 1.', minimum: 1, maximum: 100 }),
  },
  {
    description: 'A health check: whether the service in the guest works, not just whether the guest runs. Exactly one of `exec` (in the guest), `http` or `tcp` (from the controller).',
    required: ['name'],
    rules: [{ rule: '[has(self.exec), has(self.http), has(self.tcp)].filter(x, x).size() == 1', message: 'a health check takes exactly one of exec, http or tcp' }],
  },
);

export const provisionSpecFields = {
  provision: s.array(provisionStep, {
    description: 'Provisioning steps, run in order inside the guest once it runs. A step runs when its hash (script, files, environment, interpreter, user, and the resourceVersions of the Secrets it reads) differs from the one recorded; a change to a step re-runs it and every later step. A VM is reached through its QEMU guest agent, a container by `pct exec`/`pct push` over SSH to its node (the PhoenixHypervisor\'s `spec.ssh`). See docs/provisioning.md.',
    maxItems: 32,
    listType: 'map',
    mapKeys: ['name'],
  }),
  healthChecks: s.array(healthCheck, {
    description: 'Health checks run in the guest after provisioning. They feed the `Healthy` condition, and Ready is False while one fails.',
    maxItems: 16,
    listType: 'map',
    mapKeys: ['name'],
  }),
};

const stepStatus = s.object(
  {
    name: s.string({ description: 'The step.', maxLength: 63 }),
    hash: s.string({ description: 'The step\'s content hash this record is for.', maxLength: 64 }),
    phase: s.literal(['Starting', 'Running', 'Succeeded', 'Failed'] as const, { description: '`Starting` is recorded before anything is started in the guest, so a restarted controller never starts the same run twice.' }),
    runId: s.string({ description: 'The run\'s directory in the guest (`/var/lib/phoenix/steps/<name>/<runId>`).', maxLength: 64 }),
    attempts: s.integer({ description: 'Runs of this hash so far.', minimum: 1 }),
    pid: s.integer({ description: 'The guest agent\'s pid of the command that started the run (VMs; a container\'s transport has none).', minimum: 0 }),
    exitCode: s.integer({ description: 'The script\'s exit code.', minimum: -1 }),
    startTime: s.string({ description: 'When the run started.', format: 'date-time', maxLength: 64 }),
    endTime: s.string({ description: 'When it ended.', format: 'date-time', maxLength: 64 }),
    outputTail: s.string({ description: 'The last lines of its output, Secret values masked.', maxLength: 4096 }),
  },
  { description: 'A provisioning step\'s last run.', required: ['name', 'hash', 'phase', 'attempts'] },
);

const checkStatus = s.object(
  {
    name: s.string({ description: 'The check.', maxLength: 63 }),
    healthy: s.boolean({ description: 'Whether the check counts as passing.' }),
    consecutiveFailures: s.integer({ description: 'Failures in a row.', minimum: 0 }),
    consecutiveSuccesses: s.integer({ description: 'Successes in a row (counted up to the success threshold).', minimum: 0 }),
    lastExitCode: s.integer({ description: 'Exit code of the last failing run.', minimum: -1 }),
    lastOutput: s.string({ description: 'Output of the last failing run, Secret values masked.', maxLength: 1024 }),
    unreachable: s.string({ description: 'Set while the controller cannot reach the guest\'s network (or knows no address for it): why. Such a run counts neither way.', maxLength: 1024 }),
    restarted: s.boolean({ description: 'The guest was restarted for this failure streak (`restartAfterFailures`); not again until the check passes.' }),
  },
  { description: 'A health check\'s state.', required: ['name', 'healthy'] },
);

const inheritedStep = s.object(
  {
    name: s.string({ description: 'The step.', maxLength: 63 }),
    hash: s.string({ description: 'Its content hash when it ran in the source.', maxLength: 64 }),
    source: s.string({ description: 'Where it ran: `VMID <n>`, with `@<snapshot>` for a snapshot.', maxLength: 64 }),
  },
  { description: 'A provisioning step that ran in the clone source.', required: ['name', 'hash', 'source'] },
);

export const provisionStatusFields = {
  provision: s.array(stepStatus, { description: 'The provisioning steps as run, in order.', maxItems: 32 }),
  provisioned: s.string({ description: 'Progress at a glance: steps succeeded of steps declared, such as `2/3`.', maxLength: 16 }),
  healthChecks: s.array(checkStatus, { description: 'The health checks\' state.', maxItems: 16 }),
  inheritedSteps: s.array(inheritedStep, {
    description: 'The steps this clone inherited: those its source had run when the template was converted or the snapshot taken, read from the source\'s Proxmox description before the clone was sent. They are not run again in the clone; `provision` lists only its own steps, run on top.',
    maxItems: 64,
  }),
};

export type ProvisionStep = s.Infer<typeof provisionStep>;
export type HealthCheck = s.Infer<typeof healthCheck>;
export type StepStatus = s.Infer<typeof stepStatus>;
export type CheckStatus = s.Infer<typeof checkStatus>;
