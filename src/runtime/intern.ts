/**
 * One copy of each equal string, shared by every object that holds it.
 *
 * JSON.parse gives each object its own copy of every string value, so 10,000 cached objects hold
 * 10,000 copies of their apiVersion, finalizer, template volume and condition reasons and
 * messages: about 40% of the strings of a cache that size. V8 keeps one copy of each
 * internalized string in its string table, and drops an entry once nothing else holds its string,
 * so interning through it needs no pool of ours that could only grow. A string is internalized
 * when it becomes an object's property name; the name read back is the table's copy.
 */
function intern(value: string): string {
  if (value.length > maxInternedLength) return value;
  const holder = { [value]: 0 };
  for (const name in holder) return name;
  return value;
}

/**
 * Long values (compose files, scripts, certificates) are rarely shared between objects, and
 * hashing them into the table on every watch event would cost more than it saves.
 */
const maxInternedLength = 1024;

/** Interns every string value of a parsed JSON document in place (property names already are), and returns it. */
export function internStrings<T>(document: T): T {
  if (Array.isArray(document)) {
    for (let i = 0; i < document.length; i++) document[i] = internValue(document[i]);
  } else if (document !== null && typeof document === 'object') {
    const record = document as Record<string, unknown>;
    for (const name of Object.keys(record)) record[name] = internValue(record[name]);
  }
  return document;
}

function internValue(value: unknown): unknown {
  if (typeof value === 'string') return intern(value);
  if (value !== null && typeof value === 'object') return internStrings(value);
  return value;
}
