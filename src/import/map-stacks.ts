import type { PhoenixStackSpec } from '../api/stack.ts';
import type { ImportContext } from './context.ts';
import { editCompose, looksSecret } from './compose.ts';
import { firewallRuleOf, objectName } from './convert.ts';
import { legacyFiles, type LegacyStack, type LegacyStackEnvironment } from './legacy-model.ts';
import type { MappedVm } from './map-vm.ts';
import { child, pointer } from './pointer.ts';
import type { Target } from './report.ts';

/**
 * Stacks → one PhoenixStack per stack, environment and VM, with the compose file in a ConfigMap.
 * main's portainer-manager read `stacks/<name>/phoenix.json` and deployed the production
 * environment of each stack a VM lists in docker_stacks; rootesting read the central
 * phoenix_stacks_config.json. A per-stack file wins, as in main. Environments no VM runs are
 * written to unassigned/, outside kustomization.yaml.
 */

interface Definition {
  readonly name: string;
  readonly file: string;
  readonly base: string;
  readonly stack: LegacyStack;
}

interface Assignment {
  readonly vm: MappedVm;
  readonly path: string;
}

export const descriptionAnnotation = 'hypervisor.phoenix.io/description';
const deployed = 'production';

export function mapStacks(ctx: ImportContext, vms: readonly MappedVm[]): void {
  const r = ctx.report;
  const central = ctx.estate.stacks?.docker_stacks ?? {};
  if (ctx.estate.stacks?.$schema !== undefined) r.notMapped(legacyFiles.stacks, '/$schema', 'names the legacy schema; the file was checked against it');
  const names = [...new Set([...Object.keys(central), ...ctx.estate.stackManifests.keys()])].sort();
  const definitions = new Map<string, Definition>();
  for (const name of names) {
    const manifest = ctx.estate.stackManifests.get(name);
    if (manifest !== undefined) {
      definitions.set(name, { name, file: `stacks/${name}/phoenix.json`, base: '', stack: manifest });
      if (central[name] !== undefined) r.notMapped(legacyFiles.stacks, pointer('docker_stacks', name), `superseded by stacks/${name}/phoenix.json, which main's portainer-manager reads`);
    } else definitions.set(name, { name, file: legacyFiles.stacks, base: pointer('docker_stacks', name), stack: central[name]! });
  }
  const assignments = new Map<string, Assignment[]>();
  for (const vm of vms) {
    for (const [i, name] of (vm.vm.docker_stacks ?? []).entries()) {
      const path = child(vm.base, 'docker_stacks', i);
      if (!definitions.has(name)) {
        r.notMapped(vm.file, path, `no stack ${name} in stacks/ or phoenix_stacks_config.json`);
        continue;
      }
      assignments.set(name, [...(assignments.get(name) ?? []), { vm, path }]);
    }
  }
  const environmentTargets = new Map<MappedVm, Target[]>();
  for (const def of definitions.values()) mapStack(ctx, def, assignments.get(def.name) ?? [], vms, environmentTargets);
  for (const vm of vms) {
    if (vm.vm.portainer_environment_name === undefined) continue;
    const targets = environmentTargets.get(vm) ?? [];
    const path = child(vm.base, 'portainer_environment_name');
    if (targets.length) r.mapped(vm.file, path, targets);
    else r.notMapped(vm.file, path, 'no PhoenixStack deploys to this VM');
  }
}

function mapStack(ctx: ImportContext, def: Definition, assigned: readonly Assignment[], vms: readonly MappedVm[], environmentTargets: Map<MappedVm, Target[]>): void {
  const r = ctx.report;
  const at = (...s: string[]) => child(def.base, ...s);
  const environments = Object.keys(def.stack.environments ?? {}).sort();
  // A stack on the Portainer server's own VM was started with docker compose, not through Portainer.
  const onServer = assigned.filter((a) => a.vm.vm.portainer_role === 'primary');
  const throughPortainer = assigned.filter((a) => a.vm.vm.portainer_role !== 'primary');
  const compose = findCompose(ctx, def);
  for (const a of onServer) {
    r.notMapped(a.vm.file, a.path, `${def.name} runs on the Portainer server VM, where the legacy tool started it with docker compose (it is Portainer itself): Phoenix deploys stacks through Portainer, which cannot deploy itself`, compose ? `keep running it with docker compose; its compose file is kept in ConfigMap legacy-${objectName(def.name, 'stack')}-compose` : 'keep running it with docker compose');
  }
  if (onServer.length && compose) {
    ctx.add(ctx.configMap(`legacy-${objectName(def.name, 'stack')}-compose`, compose.path, { 'docker-compose.yml': compose.text }), 'configmaps', compose.path);
  }
  const stackObjects: string[] = [];
  for (const env of environments) {
    const e = def.stack.environments![env]!;
    const envBase = at('environments', env);
    const runs = env === deployed ? throughPortainer : [];
    const placements: { vm: MappedVm | undefined; applied: boolean; path?: string }[] = runs.length
      ? runs.map((a) => ({ vm: a.vm, applied: true, path: a.path }))
      : onServer.length && env === deployed ? [] : [{ vm: throughPortainer[0]?.vm ?? vms.find((v) => v.vm.portainer_role === 'agent') ?? vms.find((v) => !v.spec.template), applied: false }];
    const objects: { name: string; spec: PhoenixStackSpec & Record<string, unknown>; vm: MappedVm | undefined; applied: boolean }[] = [];
    for (const p of placements) {
      const baseName = objectName(`${def.name}-${env}`, 'stack');
      const name = runs.length > 1 && p.vm ? `${baseName}-${p.vm.ref.name}`.slice(0, 63).replace(/-+$/, '') : baseName;
      const stackName = `${def.name}-${env}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
      const spec: PhoenixStackSpec & Record<string, unknown> = {
        vmRef: { name: p.vm?.ref.name ?? 'docker-vm' },
        compose: { configMapRef: { name: `${name}-compose`, key: 'docker-compose.yml' } },
        stackName,
      };
      const envName = p.vm?.vm.portainer_environment_name;
      if (envName !== undefined && /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(envName) && envName.length <= 128) {
        spec.environment = { name: envName };
        if (p.vm && p.applied) environmentTargets.set(p.vm, [...(environmentTargets.get(p.vm) ?? []), ctx.target('PhoenixStack', name, 'spec.environment.name')]);
      } else if (p.vm && p.applied) {
        r.action(`Register the Portainer environment "${p.vm.ref.name}" (the VM's object name) if it is not there: PhoenixStack ${name} deploys to the environment named after its VM.`);
      }
      if (ctx.options.adopt) spec.adopt = {};
      if (ctx.options.observe) spec.managementPolicy = 'Observe';
      objects.push({ name, spec, vm: p.vm, applied: p.applied });
      if (p.applied && p.path) r.mapped(p.vm!.file, p.path, ctx.target('PhoenixStack', name, 'spec.vmRef'));
    }
    mapVariables(ctx, def, envBase, e, objects);
    for (const [i, f] of (e.files ?? []).entries()) {
      r.notMapped(def.file, child(envBase, 'files', i), `a Portainer config (${f.source} → ${f.destination_in_container}); PhoenixStack has no config files, and the source lives on the VM's share`, 'mount the file from the VM in the compose file (a bind mount), or build it into the image');
    }
    const labels = Object.fromEntries(Object.entries(e.services ?? {}).map(([svc, s]) => [svc, s.traefik_labels ?? []]));
    const edit = compose ? editCompose(compose.text, labels) : undefined;
    for (const [svc, s] of Object.entries(e.services ?? {})) {
      const path = child(envBase, 'services', svc, 'traefik_labels');
      if (s.traefik_labels === undefined) continue;
      if (objects.length && edit?.labelled.includes(svc)) r.mapped(def.file, path, objects.map((o) => ctx.target('ConfigMap', `${o.name}-compose`, 'data["docker-compose.yml"]')), 'appended to the service\'s labels in the compose file, as portainer-manager did at deploy time');
      else if (s.traefik_labels.length === 0) r.notMapped(def.file, path, 'empty: nothing to import');
      else r.notMapped(def.file, path, !objects.length ? 'no PhoenixStack for this environment' : !compose ? 'the compose file is not next to the legacy files, so the labels could not be added to it' : `the compose file has no service ${svc}${edit?.error ? ` (it does not parse: ${edit.error})` : ''}`, 'add the labels to the service in the compose file');
    }
    mapStackFirewall(ctx, def, envBase, e, env === deployed ? assigned : []);
    for (const o of objects) {
      const cm = `${o.name}-compose`;
      if (compose && edit) {
        ctx.add(ctx.configMap(cm, compose.path, { 'docker-compose.yml': edit.text }), 'configmaps', compose.path, o.applied);
        for (const s of edit.secrets) {
          const secret = `${o.name}-env`;
          (o.spec.env ??= []).push({ name: s.variable, valueFrom: { secretKeyRef: { name: secret, key: s.variable } } });
          if (o.applied) r.needSecret(secret, ctx.options.namespace, s.variable, `${s.key} of service ${s.service} in ${compose.path}`);
          r.add({ file: compose.path, path: pointer('services', s.service, 'environment', s.key), outcome: 'mapped', exposed: true, targets: [ctx.target('PhoenixStack', o.name, `spec.env[${s.variable}]`)], reason: `a literal secret in the compose file: replaced by \${${s.variable}}, its value to come from Secret ${secret}`, action: 'rotate it, and remove it from the legacy compose file and its git history' });
        }
        if (o.applied && edit.externalVolumes.length) {
          r.action(`Stack ${o.name} uses external Docker volumes ${edit.externalVolumes.join(', ')}, which portainer-manager created on the VM (NFS-backed: docker volume create --driver local --opt type=nfs …): they must exist on ${o.vm?.ref.name ?? 'the VM'} before the stack deploys.`);
        }
      } else if (o.applied) {
        r.configMaps.push({ name: cm, namespace: ctx.options.namespace, key: 'docker-compose.yml', purpose: `the compose file of stack ${def.name} (stacks/${def.name}/docker-compose.yml was not next to the legacy files)` });
      }
      const from = `${def.file}#${envBase}`;
      const object = ctx.phoenix('PhoenixStack', o.name, from, o.spec);
      if (def.stack.description !== undefined) object.metadata.annotations![descriptionAnnotation] = def.stack.description;
      ctx.add(object, 'stacks', from, o.applied);
      stackObjects.push(o.name);
      if (!o.applied) {
        r.action(`PhoenixStack ${o.name} is written to unassigned/ and not applied: ${env === deployed ? `no VM lists ${def.name} in docker_stacks` : `the legacy tool deployed only the ${deployed} environment`}. Set its vmRef (and environment) and add it to kustomization.yaml to deploy it.`);
      }
    }
  }
  if (def.stack.description !== undefined) {
    if (stackObjects.length) r.mapped(def.file, at('description'), stackObjects.map((n) => ctx.target('PhoenixStack', n, `metadata.annotations["${descriptionAnnotation}"]`)));
    else r.notMapped(def.file, at('description'), 'no PhoenixStack was made for this stack');
  }
  if (def.stack.compose_file_path !== undefined) {
    if (compose?.path === def.stack.compose_file_path) r.mapped(def.file, at('compose_file_path'), stackObjects.map((n) => ctx.target('ConfigMap', `${n}-compose`, 'data["docker-compose.yml"]')), 'the compose file found there');
    else r.notMapped(def.file, at('compose_file_path'), `a path on the VM's share; the importer looks for stacks/${def.name}/docker-compose.yml`);
  }
}

function mapVariables(ctx: ImportContext, def: Definition, envBase: string, e: LegacyStackEnvironment, objects: readonly { name: string; spec: PhoenixStackSpec & Record<string, unknown>; applied: boolean }[]): void {
  const r = ctx.report;
  for (const [i, v] of (e.variables ?? []).entries()) {
    const path = child(envBase, 'variables', i);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v.name) || v.name === 'PHOENIX_OWNER_UID' || v.name.length > 256) {
      r.notMapped(def.file, path, v.name === 'PHOENIX_OWNER_UID' ? 'the name is reserved for Phoenix\'s ownership marker' : 'not a variable name', 'rename it in the compose file and the stack');
      continue;
    }
    const secret = looksSecret(v.name);
    for (const o of objects) {
      const list = (o.spec.env ??= []);
      if (list.some((x) => x.name === v.name)) continue;
      if (secret) {
        list.push({ name: v.name, valueFrom: { secretKeyRef: { name: `${o.name}-env`, key: v.name } } });
        if (o.applied) r.needSecret(`${o.name}-env`, ctx.options.namespace, v.name, `variable ${v.name} of stack ${def.name}`);
      } else list.push({ name: v.name, value: v.value });
    }
    const targets = objects.map((o) => ctx.target('PhoenixStack', o.name, `spec.env[${v.name}]`));
    if (!objects.length) r.notMapped(def.file, path, 'no PhoenixStack for this environment');
    else if (secret) r.add({ file: def.file, path, outcome: 'mapped', exposed: true, targets, reason: 'a plaintext secret in a file kept in git: replaced by a Secret reference, its value not copied', action: 'rotate it, put the new value in the Secret, and remove it from the legacy file and its git history' });
    else r.mapped(def.file, path, targets);
  }
}

/** vm-manager added each assigned stack's production firewall_rules to the VM's own. */
function mapStackFirewall(ctx: ImportContext, def: Definition, envBase: string, e: LegacyStackEnvironment, assigned: readonly Assignment[]): void {
  const r = ctx.report;
  for (const [i, rule] of (e.firewall_rules ?? []).entries()) {
    const path = child(envBase, 'firewall_rules', i);
    const mapped = firewallRuleOf(rule);
    const onto = assigned.filter((a) => a.vm.spec.firewall?.enabled === true);
    if ('problem' in mapped) {
      r.notMapped(def.file, path, mapped.problem, 'fix the rule and add it to the VM\'s spec.firewall.rules');
      continue;
    }
    if (!onto.length) {
      r.notMapped(def.file, path, assigned.length ? 'the VM\'s firewall is not enabled in the legacy files, so vm-manager did not write these rules' : 'vm-manager wrote the production rules of stacks assigned to a VM only', 'add the rule to the firewall of the VM that runs the stack');
      continue;
    }
    const targets: Target[] = [];
    for (const a of onto) {
      const rules = (a.vm.spec.firewall!.rules ??= []);
      rules.push({ ...mapped.rule, comment: `${mapped.rule.comment ?? ''}${mapped.rule.comment ? ' ' : ''}(stack ${def.name})`.slice(0, 512) });
      targets.push(ctx.target('PhoenixVM', a.vm.ref.name, `spec.firewall.rules[${rules.length - 1}]`));
    }
    r.mapped(def.file, path, targets, 'added to the VM\'s own rules, as vm-manager did');
  }
}

/** The compose file: the central file's compose_file_path when it lies in the legacy tree, else stacks/<name>/. */
function findCompose(ctx: ImportContext, def: Definition): { path: string; text: string } | undefined {
  const candidates = [def.stack.compose_file_path, `stacks/${def.name}/docker-compose.yml`, `stacks/${def.name}/docker-compose.yaml`, `stacks/${def.name}/compose.yml`];
  for (const path of candidates) {
    if (path === undefined) continue;
    const text = ctx.tree.files.get(path);
    if (text !== undefined) return { path, text };
  }
  return undefined;
}
