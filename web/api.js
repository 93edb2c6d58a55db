// The dashboard's only way to the server: fetch with the session cookie (same origin), the CSRF
// token on every request that changes something, JSON in and out, and one place that notices a
// lost session (401) and sends the user back to the sign-in.

let csrfToken = null;
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

export function setCsrfToken(value) {
  csrfToken = value || null;
}

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

// request('GET', '/api/v1/inquiries', {params: {q: 'x'}})
// Options: params (query, empty values dropped), body (sent as JSON), quiet401 (a 401 is
// only thrown, not treated as a lost session: the sign-in itself).
export async function request(method, path, { params, body, quiet401 = false } = {}) {
  const url = withQuery(path, params);
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, 'network', 'The server could not be reached. Is handoff running?');
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!response.ok) {
    const err = data && data.error ? data.error : {};
    const error = new ApiError(response.status, err.code, err.message || `${response.status} ${response.statusText}`);
    if (response.status === 401 && !quiet401) {
      csrfToken = null;
      onUnauthorized(error);
    }
    throw error;
  }
  return data;
}

export const get = (path, params) => request('GET', path, { params });
export const post = (path, body) => request('POST', path, { body: body ?? {} });
export const del = (path) => request('DELETE', path);

// path + "?a=1&b=2" with the empty parameters left out.
export function withQuery(path, params) {
  if (!params) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}
