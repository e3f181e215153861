/* verinet console: The pages, their roles, and the URL fragment that names the page shown. */

import { loadAlerts } from './alerts.js';
import { $, app, HOLDER_ROLES, showPageError } from './core.js';
import { renderHistory } from './history.js';
import { loadRecall } from './recall.js';
import { loadRecalls } from './recalls.js';
import { enterScan } from './scan.js';
import { hasRole, roles } from './signin.js';
import { loadTasks } from './tasks.js';
import { renderTote } from './tote.js';

export const PAGES = {
  signin: { title: 'Sign in', roles: null },
  scan: { title: 'Scan desk', roles: HOLDER_ROLES, enter: enterScan, focus: 'scan-input' },
  tote: { title: 'Tote', roles: HOLDER_ROLES, enter: renderTote, focus: 'tote-input' },
  history: { title: 'History', roles: HOLDER_ROLES, enter: renderHistory },
  tasks: { title: 'Recall tasks', roles: HOLDER_ROLES, enter: loadTasks },
  products: { title: 'Products', roles: ['manufacturer'] },
  commission: { title: 'Commission', roles: ['manufacturer'] },
  recalls: { title: 'Recalls', roles: ['manufacturer'], enter: loadRecalls },
  recall: { title: 'Recall', roles: ['manufacturer', 'wholesaler', 'dispenser', 'admin'], enter: loadRecall, nav: 'recalls' },
  alerts: { title: 'Alerts', roles: ['manufacturer', 'wholesaler', 'dispenser', 'admin'], enter: loadAlerts },
};

export function defaultPage() {
  if (hasRole(...HOLDER_ROLES)) return 'scan';
  if (hasRole('manufacturer')) return 'recalls';
  if (hasRole('admin')) return 'alerts';
  return null;
}

export function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, ...rest] = hash.split('/');
  if (!app.me) { show('signin'); return; }
  const spec = PAGES[name];
  if (!spec || name === 'signin' || !hasRole(...spec.roles)) {
    const fallback = defaultPage();
    if (!fallback) {
      show('signin');
      showPageError(new Error(`Your roles (${roles().join(', ')}) have no pages in this console; use the API.`));
      return;
    }
    history.replaceState(null, '', `#/${fallback}`);
    show(fallback);
    return;
  }
  show(name, decodeURIComponent(rest.join('/')));
}

export function show(name, param) {
  const spec = PAGES[name];
  app.page = name;
  $('page-error').hidden = true;
  for (const section of document.querySelectorAll('main > section.page')) {
    section.hidden = section.id !== `page-${name}`;
  }
  const navName = spec.nav || name;
  for (const link of document.querySelectorAll('#nav a[data-page]')) {
    if (link.dataset.page === navName) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${spec.title} · verinet console`;
  if (spec.enter) spec.enter(param);
  const target = spec.focus ? $(spec.focus) : document.querySelector(`#page-${name} h1`);
  if (name === 'signin') $('signin-token').focus();
  else if (target) target.focus();
}
