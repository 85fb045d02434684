/** A minimal raw HTTP client for simulator tests: returns status, reason phrase and parsed body. */
export interface RawResponse {
  status: number;
  reason: string;
  contentType: string | null;
  body: { data?: unknown; errors?: Record<string, string>; message?: string; total?: number } | undefined;
}

export async function rawCall(baseUrl: string, auth: Record<string, string>, method: string, path: string, params: Record<string, string | number | readonly string[]> = {}): Promise<RawResponse> {
  // An array is repeated keys, as Phoenix's client sends it.
  const qs = new URLSearchParams(Object.entries(params).flatMap(([k, v]): [string, string][] => (Array.isArray(v) ? v.map((item): [string, string] => [k, String(item)]) : [[k, String(v)]]))).toString();
  const hasBody = method === 'POST' || method === 'PUT';
  const url = `${baseUrl}/api2/json${path}${!hasBody && qs ? `?${qs}` : ''}`;
  const res = await fetch(url, {
    method,
    headers: { ...auth, ...(hasBody ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(hasBody ? { body: qs } : {}),
  });
  const text = await res.text();
  return { status: res.status, reason: res.statusText, contentType: res.headers.get('content-type'), body: text === '' ? undefined : JSON.parse(text) };
}

export function encodePath(path: string): string {
  return path.split('/').map((s) => encodeURIComponent(s)).join('/');
}
