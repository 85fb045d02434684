import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';

/**
 * Edits a legacy compose file the way portainer-manager did at deploy time, once, at import:
 * Traefik labels appended to each service's `labels`. Literal secrets in `environment` are
 * taken out (`KEY=${KEY}`, the value to come from a Secret) so no secret value lands in a
 * ConfigMap. Comments and layout are kept; a file that needs no change is returned as it is.
 */

const secretName = /(PASS(WORD)?|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)/i;

export function looksSecret(name: string): boolean {
  return secretName.test(name);
}

export interface ComposeEdit {
  readonly text: string;
  /** Services the labels were added to. */
  readonly labelled: readonly string[];
  /** Services labels were given for that the file does not have. */
  readonly missingServices: readonly string[];
  /** Literal secrets taken out: the variable that now stands in the file, per service and key. */
  readonly secrets: readonly { service: string; key: string; variable: string }[];
  /** Named volumes the file expects to exist (`external: true`). */
  readonly externalVolumes: readonly string[];
  /** Why the file could not be read as YAML; then it is returned unchanged. */
  readonly error?: string;
}

export function editCompose(text: string, labels: Readonly<Record<string, readonly string[]>>): ComposeEdit {
  const doc = parseDocument(text);
  if (doc.errors.length) return { text, labelled: [], missingServices: Object.keys(labels), secrets: [], externalVolumes: [], error: doc.errors[0]!.message.split('\n')[0]! };
  const services = doc.get('services');
  const serviceNames = isMap(services) ? services.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [];
  let changed = false;
  const labelled: string[] = [];
  const missingServices: string[] = [];
  for (const [service, list] of Object.entries(labels)) {
    if (!serviceNames.includes(service)) {
      missingServices.push(service);
      continue;
    }
    if (list.length === 0) continue;
    changed = addLabels(doc, service, list) || changed;
    labelled.push(service);
  }
  const found = literalSecrets(doc, serviceNames);
  const keyCount = new Map<string, number>();
  for (const f of found) keyCount.set(f.key, (keyCount.get(f.key) ?? 0) + 1);
  const secrets = found.map((f) => ({ service: f.service, key: f.key, variable: keyCount.get(f.key)! > 1 ? `${f.service}_${f.key}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_') : f.key }));
  for (const [i, f] of found.entries()) {
    f.replace(`\${${secrets[i]!.variable}}`);
    changed = true;
  }
  const volumes = doc.get('volumes');
  const externalVolumes = isMap(volumes)
    ? volumes.items.filter((p) => isMap(p.value) && p.value.get('external') === true).map((p) => String(isScalar(p.key) ? p.key.value : p.key))
    : [];
  return { text: changed ? doc.toString({ lineWidth: 0 }) : text, labelled, missingServices, secrets, externalVolumes };
}

/** Appends labels (a list), or sets them (a map of `key=value`), skipping ones already there. */
function addLabels(doc: Document, service: string, labels: readonly string[]): boolean {
  const path = ['services', service, 'labels'];
  const node = doc.getIn(path);
  if (node === undefined || node === null) {
    doc.setIn(path, doc.createNode([...labels]));
    return true;
  }
  let changed = false;
  if (isSeq(node)) {
    const have = new Set(node.items.map((i) => String(isScalar(i) ? i.value : i)));
    for (const label of labels) {
      if (have.has(label)) continue;
      node.add(doc.createNode(label));
      changed = true;
    }
  } else if (isMap(node)) {
    for (const label of labels) {
      const eq = label.indexOf('=');
      const key = eq < 0 ? label : label.slice(0, eq);
      const value = eq < 0 ? '' : label.slice(eq + 1);
      if (node.get(key) === value) continue;
      node.set(key, value);
      changed = true;
    }
  }
  return changed;
}

interface FoundSecret {
  service: string;
  key: string;
  replace(value: string): void;
}

/** `environment` entries with a secret-looking name and a literal value (not `${…}`). */
function literalSecrets(doc: Document, services: readonly string[]): FoundSecret[] {
  const found: FoundSecret[] = [];
  for (const service of services) {
    const env = doc.getIn(['services', service, 'environment']);
    if (isSeq(env)) {
      env.items.forEach((item, index) => {
        if (!isScalar(item) || typeof item.value !== 'string') return;
        const eq = item.value.indexOf('=');
        if (eq < 1) return;
        const key = item.value.slice(0, eq);
        const value = item.value.slice(eq + 1);
        if (!looksSecret(key) || value === '' || value.includes('${')) return;
        found.push({ service, key, replace: (v) => env.set(index, doc.createNode(`${key}=${v}`)) });
      });
    } else if (isMap(env)) {
      for (const pair of env.items) {
        const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
        const value = isScalar(pair.value) ? pair.value.value : undefined;
        if (!looksSecret(key) || value === null || value === undefined || value === '' || String(value).includes('${')) continue;
        found.push({ service, key, replace: (v) => env.set(key, v) });
      }
    }
  }
  return found;
}
