// The page's only way to the server: the public HTTP API (the same routes a script uses),
// authenticated by the session cookie. Every request that changes something carries the
// session's CSRF token in X-CSRF-Token; the server refuses it otherwise.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const session = { csrf: '', onSignedOut: () => {} };

export function setCsrfToken(token) { session.csrf = token || ''; }
export function onSignedOut(fn) { session.onSignedOut = fn; }

// api('GET', '/v1/contacts', {query: {search: 'ann'}}) → parsed JSON (null for 204).
// opts.body: an object sent as JSON; opts.csv: text sent as text/csv.
export async function api(method, path, opts = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: 'application/json' };
  let body;
  if (opts.csv !== undefined) {
    headers['Content-Type'] = 'text/csv';
    body = opts.csv;
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = session.csrf;
  Object.assign(headers, opts.headers || {});
  let res;
  try {
    res = await fetch(url, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', 'The server could not be reached. Check your connection and try again.');
  }
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  const payload = type.includes('json') ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const err = payload && payload.error ? payload.error : {};
    const e = new ApiError(res.status, err.code || `HTTP_${res.status}`,
                           err.message || (typeof payload === 'string' && payload) || res.statusText);
    if (res.status === 401 && path !== '/v1/session') session.onSignedOut();
    throw e;
  }
  return payload;
}

// A message for people: the server's own message, which names the problem.
export function describe(err) {
  if (err instanceof ApiError) {
    if (err.status === 413) return 'The upload is larger than the server accepts (see --max-body-bytes).';
    if (err.status === 429) return err.message || 'Too many attempts. Wait a few minutes and try again.';
    return err.message;
  }
  return String(err && err.message ? err.message : err);
}
