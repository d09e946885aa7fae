// api.js: the REST API as the app calls it: JSON in and out, the CSRF
// header on every unsafe call, the chosen organization pinned with orgId.

export const SA = '/api/service-account/v1/service-account';
export const USERS = '/api/user/v1/user';
export const INVITATIONS = '/api/user/v1/me/invitation';
export const ORGS = '/api/org/v1/org';
export const WHOAMI = '/api/service-account/v1/whoami';
export const SESSION = '/api/session/v1';

/** A refused or failed call, with the problem+json body when there is one. */
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && (problem.detail || problem.title)) || `request failed (${status})`);
    this.status = status;
    this.field = problem && problem.field;
    this.retryAfter = retryAfter;
  }
}

let org = null;
let whenUnauthorized = null;

/** Every later call pins this organization. */
export function pinOrg(id) {
  org = id;
}

/** Called when the session is gone (expired or logged out elsewhere). */
export function onUnauthorized(handler) {
  whenUnauthorized = handler;
}

function csrfToken() {
  for (const pair of document.cookie.split(';')) {
    const [name, ...rest] = pair.trim().split('=');
    if (name === 'keyward_csrf' || name === '__Host-keyward_csrf') return rest.join('=');
  }
  return '';
}

/**
 * api('POST', SA, {name: 'x'}) → the parsed answer, or null for 204.
 * Options: pin (default true) adds orgId; public (default false) means a
 * 401 is the caller's business, not the end of the session.
 */
export async function api(method, path, body, { pin = true, isPublic = false, query = {} } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  if (pin && org) url.searchParams.set('orgId', org);
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { detail: 'keyward could not be reached. Check the connection and try again.' });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const retry = Number(response.headers.get('Retry-After')) || null;
    const error = new ApiError(response.status, data, retry);
    if (response.status === 401 && !isPublic && whenUnauthorized) whenUnauthorized();
    throw error;
  }
  return data;
}
