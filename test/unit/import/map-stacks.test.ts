import { strict as assert } from 'node:assert';
import { parse } from 'yaml';
import { host, runImport, tree, withExamples, H, S, V } from './support.ts';

const template = { vmid: 9000, name: 'tmpl', is_template: true, template_image: 'noble.img', network_config: { ip: 'dhcp' } };
const dockerVm = (vmid: number, name: string, stacks: string[], extra: Record<string, unknown> = {}) => ({
  vmid, name, clone_from_vmid: 9000, portainer_role: 'agent', portainer_environment_name: name, docker_stacks: stacks,
  network_config: { ip: `10.1.0.${vmid % 200}/24`, gw: '10.1.0.1' }, firewall: { enabled: true, rules: [] }, ...extra,
});
const vms = (...list: unknown[]) => ({ vm_defaults: { storage_pool: 'tank-images', network_bridge: 'vmbr0' }, vms: [template, ...list] });

describe('import: stacks → PhoenixStack and ConfigMaps', () => {
  describe('the real files (main)', function () {
    const examples = withExamples();

    it('deploys qdrant_service from its per-stack manifest onto drphoenix, as main did, under its legacy Portainer stack name', () => {
      const stack = examples().object('PhoenixStack', 'qdrant-service-production');
      assert.deepEqual(stack.spec, {
        vmRef: { name: 'drphoenix' },
        compose: { configMapRef: { name: 'qdrant-service-production-compose', key: 'docker-compose.yml' } },
        stackName: 'qdrant_service-production',
        environment: { name: 'drphoenix' },
      });
      assert.equal(stack.metadata.annotations['hypervisor.phoenix.io/description'], 'Qdrant vector database for RAG.');
      assert.equal(examples().outcome(S, '/docker_stacks/qdrant_service/environments/production/services/qdrant/traefik_labels/0'), 'not-mapped', 'the central entry is superseded');
      // The compose file is not among the examples, so the report asks for the ConfigMap.
      assert.ok(examples().report.configMaps.some((m) => m.name === 'qdrant-service-production-compose'));
    });

    it('puts thinkheads_ai_app\'s password in a Secret reference and keeps the environments no VM ran out of kustomization.yaml', () => {
      assert.deepEqual(examples().object('PhoenixStack', 'thinkheads-ai-app-production').spec.env, [
        { name: 'DATABASE_USER', value: 'prod_user' },
        { name: 'DATABASE_PASS', valueFrom: { secretKeyRef: { name: 'thinkheads-ai-app-production-env', key: 'DATABASE_PASS' } } },
        { name: 'API_PORT', value: '8000' },
      ]);
      const objects = examples().report.objects.filter((o) => o.kind === 'PhoenixStack');
      assert.deepEqual(objects.map((o) => [o.name, o.applied, o.file]), [
        ['qdrant-service-production', true, 'stacks/qdrant-service-production.yaml'],
        ['thinkheads-ai-app-production', true, 'stacks/thinkheads-ai-app-production.yaml'],
        ['thinkheads-ai-app-development', false, 'unassigned/stacks/thinkheads-ai-app-development.yaml'],
        ['thinkheads-ai-app-testing', false, 'unassigned/stacks/thinkheads-ai-app-testing.yaml'],
      ]);
      const kustomization = parse(examples().files.get('kustomization.yaml')!);
      assert.ok(!kustomization.resources.some((r: string) => r.startsWith('unassigned/')));
    });

    it('does not deploy portainer_service through Portainer: it is Portainer itself, on the server VM', () => {
      assert.ok(!examples().report.objects.some((o) => o.name.startsWith('portainer-service')));
      assert.match(examples().entry(V, '/vms/1/docker_stacks/0').reason!, /Portainer itself/);
    });
  });

  it('adds each service\'s Traefik labels to the compose file, takes literal secrets out of it, and names its external volumes', () => {
    const compose = [
      '# the app',
      'services:',
      '  web:',
      '    image: app:1',
      '    labels:',
      '      - com.example.team=web',
      '    environment:',
      '      - DB_PASSWORD=literal-db-password',
      '      - PORT=${PORT}',
      '  worker:',
      '    image: app:1',
      '    labels:',
      '      role: worker',
      '    environment:',
      '      API_TOKEN: literal-api-token',
      'volumes:',
      '  data_nfs:',
      '    external: true',
      '',
    ].join('\n');
    const imported = runImport(tree({
      [H]: host(),
      [V]: vms(dockerVm(300, 'docker', ['app'])),
      [S]: { docker_stacks: { app: { compose_file_path: 'persistent-storage/app/docker-compose.yml', environments: { production: { services: { web: { traefik_labels: ['traefik.enable=true'] }, worker: { traefik_labels: ['traefik.http.services.w.loadbalancer.server.port=80'] }, ghost: { traefik_labels: ['x=1'] } } } } } } },
    }, { 'stacks/app/docker-compose.yml': compose }));
    const text = imported.object('ConfigMap', 'app-production-compose').data['docker-compose.yml'];
    assert.ok(text.startsWith('# the app\n'), 'the comment is lost');
    const parsed = parse(text);
    assert.deepEqual(parsed.services.web.labels, ['com.example.team=web', 'traefik.enable=true']);
    assert.deepEqual(parsed.services.worker.labels, { role: 'worker', 'traefik.http.services.w.loadbalancer.server.port': '80' });
    assert.deepEqual(parsed.services.web.environment, ['DB_PASSWORD=${DB_PASSWORD}', 'PORT=${PORT}']);
    assert.equal(parsed.services.worker.environment.API_TOKEN, '${API_TOKEN}');
    assert.ok(!text.includes('literal-'), 'a literal secret is in the ConfigMap');
    assert.deepEqual(imported.object('PhoenixStack', 'app-production').spec.env, [
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'app-production-env', key: 'DB_PASSWORD' } } },
      { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'app-production-env', key: 'API_TOKEN' } } },
    ]);
    assert.deepEqual(imported.report.secrets.find((s) => s.name === 'app-production-env')!.keys.map((k) => k.key), ['API_TOKEN', 'DB_PASSWORD']);
    assert.ok(imported.report.entries.some((e) => e.file === 'stacks/app/docker-compose.yml' && e.exposed), 'the compose file\'s secrets are not flagged');
    assert.ok(imported.report.actions.some((a) => a.includes('external Docker volumes data_nfs')));
    assert.match(imported.entry(S, '/docker_stacks/app/environments/production/services/ghost/traefik_labels').reason!, /has no service ghost/);
    assert.equal(imported.outcome(S, '/docker_stacks/app/compose_file_path'), 'not-mapped');
  });

  it('makes one stack per VM when several VMs run it, and lists names no stack has', () => {
    const imported = runImport(tree({
      [H]: host(),
      [V]: vms(dockerVm(300, 'docker-a', ['app', 'missing']), dockerVm(301, 'docker-b', ['app'])),
      [S]: { docker_stacks: { app: { compose_file_path: 'x', environments: { production: { variables: [{ name: 'PHOENIX_OWNER_UID', value: 'x' }, { name: 'LOG', value: 'debug' }] } } } } },
    }));
    for (const vm of ['docker-a', 'docker-b']) {
      const spec = imported.object('PhoenixStack', `app-production-${vm}`).spec;
      assert.deepEqual([spec.vmRef, spec.environment, spec.stackName, spec.env], [{ name: vm }, { name: vm }, 'app-production', [{ name: 'LOG', value: 'debug' }]]);
    }
    assert.match(imported.entry(V, '/vms/1/docker_stacks/1').reason!, /no stack missing/);
    assert.match(imported.entry(S, '/docker_stacks/app/environments/production/variables/0').reason!, /reserved/);
  });

  it('adds production firewall rules to the VMs that run the stack, and only when their firewall is on', () => {
    const rules = [{ type: 'in', action: 'ACCEPT', proto: 'tcp', port: '5432', comment: 'db' }];
    const imported = runImport(tree({
      [H]: host(),
      [V]: vms(dockerVm(300, 'on', ['db']), dockerVm(301, 'off', ['db'], { firewall: { enabled: false } })),
    }, { 'stacks/db/phoenix.json': JSON.stringify({ environments: { production: { firewall_rules: rules }, staging: { firewall_rules: rules } } }) }));
    assert.deepEqual(imported.object('PhoenixVM', 'on').spec.firewall.rules, [{ type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '5432', comment: 'db (stack db)' }]);
    assert.equal(imported.object('PhoenixVM', 'off').spec.firewall.rules, undefined);
    assert.deepEqual(imported.entry('stacks/db/phoenix.json', '/environments/production/firewall_rules/0').targets, [{ kind: 'PhoenixVM', name: 'on', field: 'spec.firewall.rules[0]' }]);
    assert.match(imported.entry('stacks/db/phoenix.json', '/environments/staging/firewall_rules/0').reason!, /production rules/);
  });

  it('with --adopt and --observe, takes over the legacy stacks and only reports', () => {
    const imported = runImport(tree({ [H]: host(), [V]: vms(dockerVm(300, 'docker', ['app'])) }, { 'stacks/app/phoenix.json': JSON.stringify({ environments: { production: {} } }) }), { adopt: true, observe: true });
    const spec = imported.object('PhoenixStack', 'app-production').spec;
    assert.deepEqual([spec.adopt, spec.managementPolicy], [{}, 'Observe']);
    assert.deepEqual(imported.object('PhoenixVM', 'docker').spec.adopt, { vmid: 300 });
  });
});
