/* verinet console: Signing in and out: who you are (GET /v1/partners/me) and what your roles may do (GET /v1/packs/roles). */

import { $, api, app, HISTORY_KEY, HOLDER_ROLES, RECALLS_KEY, TOKEN_KEY } from './core.js';
import { route } from './router.js';
import { fillLocationSelects, fillStateSelects } from './scan.js';
import { refreshTaskBadge } from './tasks.js';

export function roles() { return (app.me && app.me.roles) || []; }
export function hasRole(...wanted) { return roles().some((r) => wanted.includes(r)); }
export function settableStates() {
  const out = [];
  for (const role of roles()) {
    for (const st of (app.packRoles[role] && app.packRoles[role].states) || []) if (!out.includes(st)) out.push(st);
  }
  return out;
}

export async function signIn(token) {
  const [me, rules] = await Promise.all([
    api('GET', '/v1/partners/me', undefined, { token }),
    api('GET', '/v1/packs/roles', undefined, { token }),
  ]);
  app.token = token;
  app.me = me;
  app.packRoles = rules.roles;
  sessionStorage.setItem(TOKEN_KEY, token);
  afterSignIn();
}

export function afterSignIn() {
  $('whoami-name').textContent = app.me.name;
  $('whoami-roles').textContent = roles().join(', ');
  $('whoami').hidden = false;
  $('nav').hidden = false;
  for (const li of document.querySelectorAll('#nav li[data-roles]')) {
    li.hidden = !hasRole(...li.dataset.roles.split(' '));
  }
  fillStateSelects();
  fillLocationSelects();
  $('products-prefixes').textContent = app.me.company_prefixes && app.me.company_prefixes.length
    ? `Your GS1 company prefixes: ${app.me.company_prefixes.join(', ')}. Products and directory entries must be under them.`
    : 'You have no GS1 company prefix yet: ask your administrator to add one.';
  if (hasRole(...HOLDER_ROLES)) refreshTaskBadge();
  route();
}

export function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(HISTORY_KEY);
  sessionStorage.removeItem(RECALLS_KEY);
  app.token = null;
  app.me = null;
  app.packRoles = {};
  app.tote = [];
  app.last = null;
  $('whoami').hidden = true;
  $('nav').hidden = true;
  if (location.hash !== '#/signin') history.replaceState(null, '', '#/signin');
  route();
  if (message) {
    const err = $('signin-error');
    err.textContent = message;
    err.hidden = false;
  }
}

export function setupSignIn() {
  app.onTokenRefused = signOut;
  $('signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('signin-token');
    const err = $('signin-error');
    const token = input.value.trim();
    err.hidden = true;
    input.removeAttribute('aria-invalid');
    if (!token) {
      err.textContent = 'Enter your partner token.';
      err.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    try {
      await signIn(token);
      input.value = '';
    } catch (error) {
      err.textContent = error.status === 401
        ? 'This token was not accepted. Check that you copied all of it, or ask your administrator for a new one.'
        : error.message;
      err.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  });
  $('sign-out').addEventListener('click', () => signOut(''));
}
