/* verinet console: one page over the public API, signed in with a partner token.
 *
 * The token lives in sessionStorage only (this tab, until it closes). Every request goes to this
 * origin with `Authorization: Bearer <token>`. The page is built with DOM calls (never innerHTML
 * with data), so it runs under a Content-Security-Policy without inline script or style.
 *
 * An ES module per page (console/*.js), loaded from this entry point; the gateway serves them
 * at one version, so a page load never mixes old and new modules.
 */

import { setupAlerts } from './alerts.js';
import { setupCommission } from './commission.js';
import { $, announce, HISTORY_KEY, TOKEN_KEY } from './core.js';
import { renderHistory } from './history.js';
import { setupProducts } from './products.js';
import { setupRecallForm } from './recalls.js';
import { route } from './router.js';
import { setupScan } from './scan.js';
import { setupSignIn, signIn } from './signin.js';
import { loadTasks } from './tasks.js';
import { setupTote } from './tote.js';

async function start() {
  setupSignIn();
  setupScan();
  setupTote();
  setupProducts();
  setupCommission();
  setupRecallForm();
  setupAlerts();
  // The pages live in the URL fragment, so the skip link moves the focus itself.
  document.querySelector('.skip-link').addEventListener('click', (event) => { event.preventDefault(); $('main').focus(); });
  $('history-clear').addEventListener('click', () => { sessionStorage.removeItem(HISTORY_KEY); renderHistory(); announce('History cleared.'); });
  $('tasks-refresh').addEventListener('click', loadTasks);
  window.addEventListener('hashchange', route);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    try {
      await signIn(token);
      return;
    } catch {
      sessionStorage.removeItem(TOKEN_KEY);
    }
  }
  route();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
