import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';

export const ADMIN_COOKIE = 'sextant_admin';

/** Compares two secrets in constant time (their hashes, so lengths leak nothing either). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function bearer(c: Context): string | undefined {
  const h = c.req.header('authorization');
  const m = h ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m?.[1];
}

/**
 * The admin token guard of the JSON API and the web UI: `Authorization: Bearer <token>`, or the
 * HttpOnly SameSite=Strict cookie a browser gets by opening `/?token=<token>` once (the UI then
 * redirects to the same page without the token, so it stays out of history and referrers).
 */
export function requireAdmin(token: string, kind: 'api' | 'ui'): MiddlewareHandler {
  return async (c, next) => {
    const fromQuery = kind === 'ui' ? c.req.query('token') : undefined;
    if (fromQuery !== undefined) {
      if (!sameSecret(fromQuery, token)) return unauthorized(c, kind);
      setCookie(c, ADMIN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(url.pathname + url.search, 303);
    }
    const given = bearer(c) ?? getCookie(c, ADMIN_COOKIE);
    if (given === undefined || !sameSecret(given, token)) return unauthorized(c, kind);
    await next();
  };
}

function unauthorized(c: Context, kind: 'api' | 'ui'): Response {
  if (kind === 'api') {
    return c.json({ error: 'missing or wrong admin token (Authorization: Bearer <token>)' }, 401);
  }
  return c.html(
    '<!doctype html><meta charset="utf-8"><title>Sextant</title>' +
      '<p>Open this page with <code>?token=&lt;admin token&gt;</code> (printed by <code>sextant serve</code>).</p>',
    401,
  );
}
