import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';

/**
 * Hono's CSRF check for requests a browser session authenticates: a form-like POST must come
 * from this server's own pages (`Origin` or `Sec-Fetch-Site: same-origin`), else 403. Bearer
 * requests carry no ambient credential and skip it.
 */
export const sameOriginForms = csrf();

export const ADMIN_COOKIE = 'sextant_admin';

/** How long a browser session lasts after signing in. */
export const SESSION_SECONDS = 30 * 24 * 3600;

/** The hashes of the expected secrets (the server's few keys), made once: one hash per check, not two. */
const expectedHashes = new Map<string, Buffer>();

/** Compares two secrets in constant time (their hashes, so lengths leak nothing either). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  let b = expectedHashes.get(expected);
  if (!b) {
    b = createHash('sha256').update(expected).digest();
    // Bounded: tests make many servers with their own keys in one process.
    if (expectedHashes.size >= 64) expectedHashes.clear();
    expectedHashes.set(expected, b);
  }
  return timingSafeEqual(a, b);
}

/**
 * The key sessions are signed with, derived from the admin token: the cookie never holds the token
 * itself, and a new admin token ends every session.
 */
function sessionKey(token: string): string {
  return createHash('sha256').update('sextant session\0').update(token).digest('hex');
}

/** Signs the browser in: a signed, HttpOnly, SameSite=Strict cookie saying when. */
export async function startSession(c: Context, token: string, now: Date): Promise<void> {
  const value = `${now.getTime()}.${randomBytes(9).toString('base64url')}`;
  await setSignedCookie(c, ADMIN_COOKIE, value, sessionKey(token), {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    maxAge: SESSION_SECONDS,
    secure: new URL(c.req.url).protocol === 'https:',
  });
}

export function endSession(c: Context): void {
  deleteCookie(c, ADMIN_COOKIE, { path: '/' });
}

/** Whether the request carries a valid, unexpired session cookie. */
export async function hasSession(c: Context, token: string, now: Date): Promise<boolean> {
  const value = await getSignedCookie(c, sessionKey(token), ADMIN_COOKIE);
  if (typeof value !== 'string') return false;
  const issued = Number(value.split('.')[0]);
  const age = now.getTime() - issued;
  return Number.isFinite(issued) && age >= 0 && age < SESSION_SECONDS * 1000;
}

function bearer(c: Context): string | undefined {
  const h = c.req.header('authorization');
  const m = h ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m?.[1];
}

/** A local path to come back to after signing in (never another site: `//x` and `/\x` are refused). */
export function localPath(next: string | undefined): string {
  return next && /^\/(?![/\\])/.test(next) ? next : '/';
}

/**
 * The admin token guard of the JSON API and the web UI. The API takes `Authorization: Bearer
 * <token>` or a browser session. The UI takes the same bearer token, or a session — signed in at `/login`, or by opening
 * any page once with `?token=<token>` (it then redirects to the same page without the token, so
 * it stays out of history and referrers); without one, a page redirects to `/login`.
 */
export function requireAdmin(token: string, kind: 'api' | 'ui', now: () => Date): MiddlewareHandler {
  return async (c, next) => {
    if (kind === 'api') {
      const given = bearer(c);
      if (given !== undefined && sameSecret(given, token)) return next();
      if (given === undefined && (await hasSession(c, token, now()))) return sameOriginForms(c, next);
      return c.json({ error: 'missing or wrong admin token (Authorization: Bearer <token>)' }, 401);
    }
    const given = bearer(c);
    if (given !== undefined && sameSecret(given, token)) return next();
    const fromQuery = c.req.query('token');
    if (fromQuery !== undefined) {
      if (!sameSecret(fromQuery, token)) return c.redirect('/login?failed=1', 303);
      await startSession(c, token, now());
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(url.pathname + url.search, 303);
    }
    if (await hasSession(c, token, now())) return sameOriginForms(c, next);
    if (c.req.method !== 'GET') return c.text('sign in first (/login)', 401);
    const here = new URL(c.req.url);
    return c.redirect(`/login?next=${encodeURIComponent(here.pathname + here.search)}`, 303);
  };
}
