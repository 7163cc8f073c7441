import { html } from '../../render/escape.js';
import { page } from './layout.js';

/** `/login`: sign in with the admin token `sextant serve` printed. */
export function loginPage(next: string, failed: boolean): string {
  const body = html`<h1>Sign in</h1>
    <p class="lead">
      Paste the admin token <code>sextant serve</code> printed when it started (also in
      <code>server-keys.json</code> beside the database, or <code>SEXTANT_ADMIN_TOKEN</code>).
    </p>
    ${failed ? html`<div class="error" role="alert">That is not the admin token.</div>` : html``}
    <form method="post" action="/login" class="panel">
      <input type="hidden" name="next" value="${next}" />
      <label for="token">Admin token</label>
      <div class="row">
        <div>
          <input id="token" name="token" type="password" autocomplete="current-password" required size="40" />
        </div>
        <div><button type="submit">Sign in</button></div>
      </div>
    </form>`;
  return page({ title: 'Sign in', body, section: 'none', signedIn: false });
}
