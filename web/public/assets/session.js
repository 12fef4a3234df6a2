// Sign-in against the Cognito user pool from the browser, and every call to the API.
// The access token lives only in this module's memory. The refresh token is kept in
// sessionStorage (this tab only, gone when it closes) so a reload does not sign you out; no
// token is ever put in a URL or in localStorage.

let cfg = null;
let session = null; // { accessToken, expiresAt, username }
let refreshTimer = 0;
let refreshing = null;
const listeners = new Set();
const KEY = 'veloconnect.session';

export function configure(config) { cfg = config; }
export function config() { return cfg; }
/** The root an identity provider is given for directory sync (SCIM): shown, never called here. */
export function scimBaseUrl() { return `${cfg.apiUrl.replace(/\/$/, '')}/scim/v2`; }
export function signedIn() { return session !== null; }
export function onSignOut(fn) { listeners.add(fn); return () => listeners.delete(fn); }

/** An error from Cognito or the API, with the problem document when there is one. */
export class Problem extends Error {
  constructor(status, body, fallback) {
    super((body && (body.detail || body.message || body.title)) || fallback || 'error');
    this.status = status;
    this.body = body || {};
    this.type = (body && body.type) ? body.type.split('/').pop() : '';
    this.code = (body && body.__type) ? String(body.__type).split('#').pop() : '';
  }
  field(name) { return (this.body.errors || []).filter((e) => e.field === name).map((e) => e.message); }
}

async function cognito(target, body) {
  let res;
  try {
    res = await fetch(cfg.cognitoEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityProviderService.${target}` },
      body: JSON.stringify(body),
      credentials: 'omit',
    });
  } catch {
    throw new Problem(0, null, 'unreachable');
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Problem(res.status, data);
  return data;
}

function keep(result, username) {
  session = { accessToken: result.AccessToken, expiresAt: Date.now() + result.ExpiresIn * 1000, username };
  if (result.RefreshToken) sessionStorage.setItem(KEY, JSON.stringify({ refreshToken: result.RefreshToken, username }));
  clearTimeout(refreshTimer);
  // Refresh a minute before the access token runs out (or halfway, for very short tokens).
  const lead = Math.min(60_000, (result.ExpiresIn * 1000) / 2);
  refreshTimer = setTimeout(() => { refresh().catch(() => {}); }, Math.max(5_000, result.ExpiresIn * 1000 - lead));
}

/**
 * The password step. Signed in: null. With two-step verification on, Cognito asks for a code
 * first: the challenge to hand to `answerCode` (its session lasts a few minutes).
 */
export async function signIn(username, password) {
  const name = username.trim();
  const data = await cognito('InitiateAuth', {
    AuthFlow: 'USER_PASSWORD_AUTH', ClientId: cfg.userPoolClientId,
    AuthParameters: { USERNAME: name, PASSWORD: password },
  });
  if (data.ChallengeName === 'SOFTWARE_TOKEN_MFA') return { session: data.Session, username: name };
  if (!data.AuthenticationResult) throw new Problem(400, { __type: data.ChallengeName || 'Challenge' });
  keep(data.AuthenticationResult, name);
  return null;
}

/** The code step: the 6 digits from the authenticator app, for `signIn`'s challenge. */
export async function answerCode(challenge, code) {
  const data = await cognito('RespondToAuthChallenge', {
    ChallengeName: 'SOFTWARE_TOKEN_MFA', ClientId: cfg.userPoolClientId, Session: challenge.session,
    ChallengeResponses: { USERNAME: challenge.username, SOFTWARE_TOKEN_MFA_CODE: code.replace(/\s/g, '') },
  });
  if (!data.AuthenticationResult) throw new Problem(400, { __type: data.ChallengeName || 'Challenge' });
  keep(data.AuthenticationResult, challenge.username);
}

/** A new access token from the refresh token; false when there is none or it was refused. */
export function refresh() {
  if (refreshing) return refreshing;
  const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
  if (!saved) return Promise.resolve(false);
  refreshing = cognito('InitiateAuth', {
    AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: cfg.userPoolClientId,
    AuthParameters: { REFRESH_TOKEN: saved.refreshToken },
  }).then((data) => { keep(data.AuthenticationResult, saved.username); return true; },
    (e) => { if (e.status !== 0) forget(); return false; })
    .finally(() => { refreshing = null; });
  return refreshing;
}

function forget() {
  session = null;
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(KEY);
}

/** Ends the session here; revokes the refresh token where the pool supports it. */
export async function signOut(reason = 'signedOut') {
  const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
  forget();
  if (saved && reason === 'signedOut') {
    // A pool without token revocation answers an error; the tokens are dropped here either way.
    await cognito('RevokeToken', { Token: saved.refreshToken, ClientId: cfg.userPoolClientId }).catch(() => {});
  }
  listeners.forEach((fn) => fn(reason));
}

// A refused credential is a 401 on every gateway (docs/rules.md, rule 12): the session is
// refreshed once, then over. A 403 is a refusal of the role, never of the session.
function refused(res) {
  return res.status === 401;
}

// A write whose answer says it may go through when sent again (rule 11 of docs/rules.md):
// nothing changed, the outcome is unknown, or an attempt with the same key is still running.
function retriable(res) {
  return res.status === 503 || res.status === 0;
}
const WRITE_RETRIES = 2;

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

/**
 * Calls the API. `auth: false` for the public invite routes. Throws `Problem` on failure.
 * Every write carries an `Idempotency-Key`: a new one per call (one user action) unless the
 * caller passes `idempotencyKey`, and the same one when this call sends it again after a 503,
 * a lost connection or a 409 `idempotency-in-progress`, so a retry gets the first attempt's
 * answer instead of doing the change twice.
 */
export async function api(method, path, { body, query, auth = true, idempotencyKey } = {}) {
  let url = cfg.apiUrl.replace(/\/$/, '') + path;
  if (query) {
    const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ''));
    if ([...q].length) url += `?${q}`;
  }
  const key = method === 'GET' ? null : (idempotencyKey || crypto.randomUUID());
  const send = () => {
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth && session) headers.authorization = `Bearer ${session.accessToken}`;
    if (key) headers['idempotency-key'] = key;
    return fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit' })
      .catch(() => ({ status: 0, ok: false, headers: new Headers() }));
  };
  let res;
  let unknown = null; // a 503 that couldn't confirm: what a later lost connection must not hide
  try {
    for (let attempt = 0; ; attempt++) {
      if (auth && !session) await refresh();
      res = await send();
      if (auth && refused(res)) {
        // One refresh and one retry; then the session is over.
        if (await refresh()) res = await send();
        if (refused(res)) {
          // The API says when the session ended because its user was signed out everywhere.
          const b = await res.json().catch(() => null);
          const why = { 'signed-out-by-admin': 'signedOutByAdmin', 'signed-out': 'signedOutEverywhere' }[b?.reason] || 'expired';
          await signOut(why);
          throw new Problem(401, b, why);
        }
      }
      const inProgress = res.status === 409 && (res.headers.get('content-type') || '').includes('problem')
        && (await res.clone().json().catch(() => ({}))).type?.endsWith('/idempotency-in-progress');
      if (res.status === 503) {
        const b = await res.clone().json().catch(() => null);
        if (b && String(b.type).endsWith('/outcome-unknown')) unknown = b;
      }
      if (!key || attempt >= WRITE_RETRIES || !(retriable(res) || inProgress)) break;
      await sleep(Math.min(Number(res.headers.get('retry-after')) || 1, 5) * 1000);
    }
  } catch (e) {
    if (e instanceof Problem) throw e;
    throw new Problem(0, null, 'unreachable');
  }
  if (res.status === 0) throw unknown ? new Problem(503, unknown) : new Problem(0, null, 'unreachable');
  const type = res.headers.get('content-type') || '';
  if (res.ok && type.includes('text/csv')) return { blob: await res.blob(), next: res.headers.get('next-cursor') };
  const data = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) throw new Problem(res.status, data);
  return data;
}
