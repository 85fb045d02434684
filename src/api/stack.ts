import * as s from './schema.ts';
import * as c from './common.ts';

const envVar = s.object(
  {
    name: s.string({ description: 'Variable name.', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 256 }),
    value: s.string({ description: 'A literal value.', maxLength: 32768 }),
    valueFrom: s.object(
      {
        secretKeyRef: c.secretKeySelector('A key of a Secret in this namespace.'),
        configMapKeyRef: c.secretKeySelector('A key of a ConfigMap in this namespace.'),
      },
      { description: 'Take the value from a Secret or ConfigMap.', rules: [{ rule: 'has(self.secretKeyRef) != has(self.configMapKeyRef)', message: 'valueFrom takes exactly one of secretKeyRef or configMapKeyRef' }] },
    ),
  },
  { description: 'An environment variable for the stack.', required: ['name'], rules: [{ rule: 'has(self.value) != has(self.valueFrom)', message: 'an env entry takes exactly one of value or valueFrom' }] },
);

export const phoenixStackSpec = s.object(
  {
    vmRef: c.localObjectReference('The PhoenixVM (in this namespace) that runs Docker and the Portainer agent. An implicit dependency.'),
    environment: s.object(
      {
        id: s.integer({ description: 'Portainer environment (endpoint) id.', minimum: 1 }),
        name: s.string({ description: 'Portainer environment name.', maxLength: 128, pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$' }),
      },
      { description: 'The Portainer environment to deploy to. Default: the environment named after the VM.', rules: [{ rule: 'has(self.id) != has(self.name)', message: 'environment takes exactly one of id or name' }] },
    ),
    stackName: s.string({ description: 'Stack name in Portainer and Docker. Default: `metadata.name`. Immutable.', pattern: '^[a-z0-9][a-z0-9_-]*$', maxLength: 63, rules: [c.immutable('stackName')] }),
    compose: s.object(
      {
        inline: s.string({ description: 'The compose file itself.', maxLength: 262144 }),
        configMapRef: c.secretKeySelector('A ConfigMap key holding the compose file.', 'docker-compose.yml'),
        git: s.object(
          {
            url: s.string({ description: 'Repository URL.', maxLength: 2048, pattern: '^(https?|ssh)://|^git@' }),
            ref: s.string({ description: 'Branch, tag or commit, such as `refs/heads/main`.', maxLength: 256, default: 'refs/heads/main' }),
            path: s.string({ description: 'Compose file path in the repository.', maxLength: 1024, default: 'docker-compose.yml' }),
            credentialsSecretRef: c.localObjectReference('Secret with `password` (or `token`) and optionally `username` for the repository. Sent to Portainer only in request bodies, never shown.'),
            autoUpdateInterval: s.string({
              description: 'How often Portainer checks the ref for a new commit and redeploys it (Portainer\'s own auto-update; a Go duration such as `5m`). Phoenix records the commit Portainer deployed in `status.gitCommit`.',
              pattern: '^([0-9]+(s|m|h))+$', maxLength: 32, default: '5m',
            }),
          },
          { description: 'A compose file in a git repository (Portainer clones it).', required: ['url'] },
        ),
      },
      {
        description: 'Where the compose file comes from: exactly one of `inline`, `configMapRef` or `git`.',
        rules: [{ rule: '[has(self.inline), has(self.configMapRef), has(self.git)].filter(x, x).size() == 1', message: 'exactly one of inline, configMapRef or git is required' }],
      },
    ),
    adopt: s.object(
      {
        stackId: s.integer({ description: 'Id of the existing Portainer stack; its name must be the stack name. Default: the stack of that name on the environment.', minimum: 1 }),
      },
      { description: 'Take over a stack Phoenix did not create (`{}`: by name). Phoenix first reports every difference in status.drift and an AdoptionPlanned event without changing anything, then writes its marker and converges, keeping the stack id and env variables the spec does not name. Deleting the object then retains the stack unless deletionPolicy says Delete.' },
    ),
    env: s.array(envVar, { description: 'Environment variables, substituted in the compose file.', maxItems: 256, listType: 'map', mapKeys: ['name'] }),
    pullImage: s.boolean({ description: 'Pull images again on every update.', default: false }),
    prune: s.boolean({ description: 'Remove services no longer in the compose file.', default: true }),
    state: s.literal(['Running', 'Stopped'] as const, { description: 'Desired state of the stack.', default: 'Running' }),
    dependsOn: c.dependsOn,
    deletionPolicy: c.deletionPolicy,
    managementPolicy: c.managementPolicy,
  },
  { description: 'A Docker Compose stack deployed through Portainer onto a PhoenixVM.', required: ['vmRef', 'compose'] },
);

export const phoenixStackStatus = s.object(
  {
    ...c.commonStatus,
    stackId: s.integer({ description: 'Portainer stack id.', minimum: 0 }),
    environmentId: s.integer({ description: 'Portainer environment id.', minimum: 0 }),
    state: s.literal(['Running', 'Stopped', 'Unknown'] as const, { description: 'Observed stack state.' }),
    contentHash: s.string({ description: 'Hash of the compose file and environment last deployed.', maxLength: 128 }),
    gitCommit: s.string({ description: 'Commit last deployed (git stacks): Portainer\'s GitConfig.ConfigHash.', maxLength: 64 }),
    adopted: s.boolean({ description: 'Whether the stack was adopted rather than created by Phoenix.' }),
    services: s.array(
      s.object(
        {
          name: s.string({ description: 'Service name.', maxLength: 256 }),
          state: s.string({ description: 'Container state.', maxLength: 64 }),
          image: s.string({ description: 'Image.', maxLength: 1024 }),
        },
        { description: 'A service.', required: ['name'] },
      ),
      { description: 'Services and their containers\' state.', maxItems: 256 },
    ),
    drift: s.array(c.driftRecord, {
      description: 'Recent differences between Portainer and the spec (a short history): corrected ones, or in Observe mode the ones found. Env variables are named, never their values.',
      maxItems: 20,
    }),
  },
  { description: 'The observed state of the stack.' },
);

export type PhoenixStackSpec = s.Infer<typeof phoenixStackSpec>;
export type PhoenixStackStatus = s.Infer<typeof phoenixStackStatus>;
