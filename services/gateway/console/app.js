/* verinet console: one page over the public API, signed in with a partner token.
 *
 * The token lives in sessionStorage only (this tab, until it closes). Every request goes to this
 * origin with `Authorization: Bearer <token>`. The page is built with DOM calls (never innerHTML
 * with data), so it runs under a Content-Security-Policy without inline script or style.
 */
(() => {
  'use strict';

  const TOKEN_KEY = 'verinet.console.token';
  const HISTORY_KEY = 'verinet.console.history';
  const RECALLS_KEY = 'verinet.console.recalls';
  const GS_SETTING_KEY = 'verinet.console.gs'; // a device setting, not a secret: localStorage
  const GS = '\u001d';
  const MAX_HISTORY = 500;
  const MAX_TOTE = 1000;
  const COMMISSION_CHUNK = 1000;
  const HOLDER_ROLES = ['dispenser', 'wholesaler'];

  /** Decommission states each role may set (the verifier enforces the same table). */
  const STATES_BY_ROLE = {
    dispenser: ['supplied', 'destroyed', 'sample'],
    wholesaler: ['supplied', 'destroyed', 'sample', 'stolen', 'free_sample', 'locked', 'exported', 'checked_out'],
  };
  const STATE_LABELS = {
    active: 'active', supplied: 'supplied (dispensed)', destroyed: 'destroyed', sample: 'sample',
    stolen: 'stolen', free_sample: 'free sample', locked: 'locked (quarantine)', exported: 'exported',
    checked_out: 'checked out', expired: 'expired', recalled: 'recalled', withdrawn: 'withdrawn',
    illegitimate: 'illegitimate',
  };
  const DECOMMISSIONED = new Set(['supplied', 'destroyed', 'stolen', 'sample', 'free_sample', 'exported', 'locked', 'checked_out', 'illegitimate']);
  /** States whose decommission its author may undo at the same location (never destroyed,
   * stolen, exported or illegitimate); locked has no deadline, the others 240 hours. */
  const REVERSIBLE = new Set(['supplied', 'sample', 'free_sample', 'checked_out', 'locked']);
  const UNDO_WINDOW_MS = 240 * 3600 * 1000;
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const CODE_MEANINGS = {
    OK: 'Done.',
    NMVS_NC_PC_02: 'Serial number not recognised for this product.',
    NMVS_FE_LOT_13: 'The batch does not match the serial number.',
    NMVS_FE_LOT_12: 'The expiry date does not match the batch.',
    NMVS_FE_LOT_08: 'The product is withdrawn.',
    NMVS_FE_LOT_01: 'The batch or unit is recalled.',
    NMVS_NC_PCK_02: 'The pack is past its expiry date.',
    NMVS_NC_PCK_22: 'Status change refused: the pack is already inactive.',
    NMVS_NC_PCK_30: 'The same decommission again, a moment after the first: nothing changed (no alert).',
    VERINET_PACK_INACTIVE: 'The pack is decommissioned; its state says how.',
    NMVS_NC_PCK_06: 'Undo refused: this state cannot be undone.',
    NMVS_NC_PCK_29: 'Nothing to undo: the pack is active.',
    NMVS_NC_PCK_20: 'Undo refused: more than 240 hours have passed.',
    NMVS_NC_PCK_21: 'Undo refused: another partner or location decommissioned it.',
    NMVS_NC_PCK_25: 'Undo refused: no record of who decommissioned it.',
    VERINET_ROLE_OPERATION: 'Your roles do not allow this operation.',
    VERINET_ROLE_STATE: 'Your roles do not allow this state.',
  };
  const ALERT_CLOSE_REASONS = [
    '06b End User - technical error',
    '06f End User process error - cannot be dispensed',
    'Scanner or keying error: the pack rescanned correctly',
    'Repository data error corrected by the manufacturer',
    'Suspected falsification reported to the competent authority',
  ];

  const app = {
    token: null,
    me: null,
    page: null,
    last: null, // the last single scan: {op, pack, result, kind}
    tote: [],
    toteTransaction: null,
    previewSeq: 0,
    previewTimer: null,
    recallConfirm: false,
    recallsListSupported: true,
  };

  // -- small DOM helpers ---------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  /** h('p', {class: 'x', text: 'y', onclick: fn}, child...) */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    appendAll(el, children);
    return el;
  }

  function s(tag, attrs, ...children) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setAttrs(el, attrs);
    appendAll(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'text') el.textContent = String(value);
      else if (key === 'class') el.setAttribute('class', value);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
  }

  function appendAll(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  /** Replaces an element's children; like h(), skips null and flattens arrays. */
  function fill(el, ...children) {
    el.replaceChildren();
    appendAll(el, children);
    return el;
  }

  function announce(text) {
    const region = $('announcer');
    region.textContent = '';
    window.setTimeout(() => { region.textContent = text; }, 30);
  }

  function fmtNumber(n) { return Number(n || 0).toLocaleString('en-GB'); }
  function pct(x) { return `${Math.round(Number(x || 0) * 1000) / 10}%`; }
  function fmtTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
  }
  function clockTime(iso) {
    const d = new Date(iso);
    return d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  function newId(prefix) {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  function pill(kind, text) { return h('span', { class: `pill pill-${kind}`, text }); }
  function table(caption, headers, rows, { numeric = [] } = {}) {
    return h('div', { class: 'table-wrap' },
      h('table', {},
        caption ? h('caption', { text: caption }) : null,
        h('thead', {}, h('tr', {}, headers.map((name, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : null, text: name })))),
        h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, i) => h('td', { class: numeric.includes(i) ? 'num' : null }, cell)))))));
  }
  function notice(kind, ...children) { return h('div', { class: `notice notice-${kind}` }, ...children); }

  /** First characters that make a spreadsheet run a cell, and the quote that neutralises them:
   * the rule of verinet.csv_cells (shared/csv_cells.py), kept equal by a test. */
  const CSV_FORMULA_STARTS = '=+-@\t\r\'\uff1d\uff0b\uff0d\uff20';
  /** One CSV cell: quoted, quotes doubled, and a single quote in front when a spreadsheet would
   * run it as a formula (OWASP CSV injection). */
  function csvCell(value) {
    let text = String(value ?? '');
    if (text && CSV_FORMULA_STARTS.includes(text[0])) text = `'${text}`;
    return `"${text.replace(/"/g, '""')}"`;
  }

  function downloadBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // -- the API ---------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title || problem.message)) || `The request failed (HTTP ${status}).`);
      this.status = status;
      this.problem = problem || {};
    }
  }

  async function readBody(response) {
    const text = await response.text();
    if (!text) return null;
    try { return JSON.parse(text); } catch { return { detail: text.trim() }; }
  }

  /** One request; answers {status, data}, throws ApiError for 4xx/5xx and network failures. */
  async function request(method, path, body, { token = app.token, raw = false, contentType = null } = {}) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      headers['Content-Type'] = contentType || 'application/json';
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new ApiError(0, { code: 'network', detail: `The gateway could not be reached (${error.message}). Check the connection and try again.` });
    }
    if (!response.ok) {
      const problem = await readBody(response);
      if (response.status === 401 && app.token && token === app.token) {
        signOut('Your token was refused (revoked or expired?). Sign in again.');
      }
      throw new ApiError(response.status, problem);
    }
    if (raw) return { status: response.status, response };
    return { status: response.status, data: await readBody(response) };
  }

  async function api(method, path, body, options) {
    return (await request(method, path, body, options)).data;
  }

  function problemView(error) {
    const p = error.problem || {};
    return notice('error',
      h('strong', { text: error.message }),
      p.code ? h('span', {}, ' ', h('code', { text: p.code })) : null,
      p.field ? h('span', { text: ` (field ${p.field})` }) : null,
      p.hint ? h('p', { class: 'hint', text: p.hint }) : null);
  }

  function showPageError(error) {
    const box = $('page-error');
    fill(box, h('strong', { text: error.message || String(error) }));
    box.hidden = false;
  }

  // -- sign-in ---------------------------------------------------------------------------------

  function roles() { return (app.me && app.me.roles) || []; }
  function hasRole(...wanted) { return roles().some((r) => wanted.includes(r)); }
  function settableStates() {
    const out = [];
    for (const role of roles()) for (const st of STATES_BY_ROLE[role] || []) if (!out.includes(st)) out.push(st);
    return out;
  }

  async function signIn(token) {
    const me = await api('GET', '/v1/partners/me', undefined, { token });
    app.token = token;
    app.me = me;
    sessionStorage.setItem(TOKEN_KEY, token);
    afterSignIn();
  }

  function afterSignIn() {
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

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(HISTORY_KEY);
    sessionStorage.removeItem(RECALLS_KEY);
    app.token = null;
    app.me = null;
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

  function setupSignIn() {
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

  // -- pages and routing -----------------------------------------------------------------------

  const PAGES = {
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

  function defaultPage() {
    if (hasRole(...HOLDER_ROLES)) return 'scan';
    if (hasRole('manufacturer')) return 'recalls';
    if (hasRole('admin')) return 'alerts';
    return null;
  }

  function route() {
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

  function show(name, param) {
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

  // -- scanning: GS separators, Digital Link, normalisation -------------------------------------

  function gsSubstitute() { return localStorage.getItem(GS_SETTING_KEY) || ''; }

  /** What the scanner sent, as the API should get it: GS as ASCII 29, edges without spaces. */
  function normalizeScan(text) {
    let out = String(text || '').replace(/\u241d/g, GS).replace(/[\r\n]+$/g, '');
    const sub = gsSubstitute();
    if (sub.length === 1) out = out.split(sub).join(GS);
    return out.replace(/^[ \t]+|[ \t]+$/g, '');
  }

  function packOf(text) {
    return /^(https?:\/\/|\]d1|\]Q1)/i.test(text) ? { uri: text } : { scan: text };
  }

  /** The scan as text with each GS drawn as a visible marker. */
  function visibleScan(text, markAt) {
    const parts = [];
    const chars = Array.from(text);
    let run = '';
    const flush = () => { if (run) { parts.push(run); run = ''; } };
    chars.forEach((ch, i) => {
      if (i === markAt) { flush(); parts.push(h('mark', { text: ch === GS ? '‹GS›' : ch })); return; }
      if (ch === GS) { flush(); parts.push(h('span', { class: 'gs', 'aria-label': 'group separator', text: 'GS' })); return; }
      run += ch;
    });
    flush();
    if (markAt !== undefined && markAt >= chars.length) parts.push(h('mark', { text: '␣', 'aria-label': 'end of the scan' }));
    return parts;
  }

  function insertAtCaret(input, text) {
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? input.value.length;
    input.setRangeText(text, start, end, 'end');
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }

  /** Keyboard-wedge scanners send GS as Ctrl+] (or a key set in the scanner setup). */
  function installScanner(input, echo) {
    input.addEventListener('keydown', (event) => {
      const sub = gsSubstitute();
      const isGs = (event.ctrlKey && !event.altKey && (event.key === ']' || event.code === 'BracketRight'))
        || event.key === GS || event.key === 'GroupSeparator'
        || (sub.length > 1 && event.key === sub);
      if (isGs) {
        event.preventDefault();
        insertAtCaret(input, GS);
      }
    });
    if (echo) {
      input.addEventListener('input', () => {
        const text = normalizeScan(input.value);
        fill(echo, ...(text ? ['Read as: ', ...visibleScan(text)] : []));
      });
    }
  }

  // -- history ---------------------------------------------------------------------------------

  function loadHistory() {
    try { return JSON.parse(sessionStorage.getItem(HISTORY_KEY) || '[]'); } catch { return []; }
  }
  function addHistory(entries) {
    const all = [...entries.slice().reverse(), ...loadHistory()].slice(0, MAX_HISTORY);
    sessionStorage.setItem(HISTORY_KEY, JSON.stringify(all));
  }
  function packKey(gtin, serial) { return `${gtin}|${serial}`; }
  /** The last successful state change this session made to a pack, if any. */
  function lastChangeHere(gtin, serial) {
    return loadHistory().find((e) => e.ok && e.gtin === gtin && e.serial === serial && (e.op === 'decommission' || e.op === 'reactivate')) || null;
  }

  function renderHistory() {
    const entries = loadHistory();
    const box = $('history-table');
    if (!entries.length) {
      fill(box, h('p', { class: 'empty', text: 'No scans yet in this session.' }));
      return;
    }
    fill(box, table('Scans, newest first', ['Time', 'Action', 'Pack', 'Result', 'Alert', 'Details'], entries.map((e) => [
      h('time', { datetime: e.at, text: clockTime(e.at) }),
      opLabel(e.op, e.target),
      e.gtin ? h('span', { class: 'mono' }, e.gtin, h('br'), e.serial) : h('span', { class: 'mono' }, visibleScan(e.text || '')),
      pill(KIND_PILL[e.kind] || 'info', e.title),
      e.alert_id ? h('code', { text: e.alert_id }) : '',
      codeDetails(e.code),
    ])));
  }

  function opLabel(op, target) {
    if (op === 'verify') return 'Verify';
    if (op === 'reactivate') return 'Undo';
    if (op === 'decommission') return target === 'supplied' ? 'Dispense' : `Decommission (${STATE_LABELS[target] || target})`;
    return op;
  }

  // -- understanding one pack result -----------------------------------------------------------

  /** An expiry as people read it: "31 Dec 2028"; day 00 stands for the end of the month. */
  function expiryText(yymmdd) {
    const m = /^(\d\d)(\d\d)(\d\d)$/.exec(yymmdd || '');
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) return yymmdd || '';
    // GS1 century rule: a year 51 or more ahead of this one is in the last century, 50 or
    // more behind it in the next.
    const now = new Date().getUTCFullYear();
    const yy = Number(m[1]);
    let year = now - (now % 100) + yy;
    if (yy - (now % 100) >= 51) year -= 100;
    else if (yy - (now % 100) <= -50) year += 100;
    const month = MONTHS[Number(m[2]) - 1];
    return m[3] === '00' ? `end of ${month} ${year}` : `${Number(m[3])} ${month} ${year}`;
  }

  /** The machine code of an answer, folded away under "Details" with what it means. */
  function codeDetails(code) {
    if (!code) return '';
    return h('details', { class: 'code-details' },
      h('summary', { text: 'Details' }),
      h('code', { text: code }), CODE_MEANINGS[code] ? ` ${CODE_MEANINGS[code]}` : '');
  }

  function dateTime(iso) {
    const at = new Date(iso);
    return `${at.getDate()} ${MONTHS[at.getMonth()]} ${at.getFullYear()} at ${clockTime(iso)}`;
  }

  /** Whether this partner, at the chosen location, may still undo the decommission ``here``
   * ({at, gln}) of a pack now in ``state``. */
  function mayUndo(state, here) {
    if (!here || !REVERSIBLE.has(state)) return false;
    const location = $('scan-location').value || ((app.me && app.me.glns) || [])[0];
    if (here.gln && location && here.gln !== location) return false;
    return state === 'locked' || Date.now() - new Date(here.at).getTime() <= UNDO_WINDOW_MS;
  }

  /** The pack's last state change, from its history, when this partner made it: {at, gln}.
   * The session's own record covers this desk; the history covers other desks and days. */
  async function decommissionedByMe(r) {
    if (!r.gtin || !r.serial || !app.me) return null;
    try {
      const history = await api('GET', `/v1/packs/${encodeURIComponent(r.gtin)}/${encodeURIComponent(r.serial)}/history`);
      const changes = (history.events || []).filter((e) => (e.event === 'decommission' || e.event === 'reactivate') && e.detail === 'OK');
      const last = changes[changes.length - 1];
      return last && last.event === 'decommission' && last.partner === app.me.id ? { at: last.at, gln: last.gln } : null;
    } catch {
      return null;
    }
  }

  const KIND_PILL = {
    genuine: 'ok', decommissioned: 'ok', reactivated: 'ok',
    recalled: 'bad', withdrawn: 'bad', alert: 'bad', inactive: 'bad',
    expired: 'warn', repeat: 'warn', inactiveHere: 'warn', nothingToUndo: 'warn', refused: 'warn',
    badscan: 'scan', error: 'bad',
  };
  const KIND_PANEL = { ok: 'result-ok', bad: 'result-bad', warn: 'result-warn', scan: 'result-scan', info: 'result-warn' };
  const KIND_ICON = {
    genuine: '✓', decommissioned: '✓', reactivated: '↺', recalled: '✕', withdrawn: '✕', alert: '!',
    inactive: '✕', expired: '⌛', repeat: '!', inactiveHere: '!', nothingToUndo: 'i', refused: '!',
    badscan: '?', error: '!',
  };

  function classify(op, r) {
    if (!r.gtin && r.code !== 'OK') return 'badscan';
    if (r.warning) return 'repeat';
    if (r.alert_id) return 'alert';
    if (r.state === 'recalled' || r.code === 'NMVS_FE_LOT_01') return 'recalled';
    if (r.state === 'withdrawn' || r.code === 'NMVS_FE_LOT_08') return 'withdrawn';
    if (r.state === 'expired' || r.code === 'NMVS_NC_PCK_02') return 'expired';
    if (r.ok) return op === 'verify' ? 'genuine' : op === 'decommission' ? 'decommissioned' : 'reactivated';
    if (op === 'verify' && DECOMMISSIONED.has(r.state)) {
      const change = lastChangeHere(r.gtin, r.serial);
      return change && change.op === 'decommission' ? 'inactiveHere' : 'inactive';
    }
    if (op === 'reactivate' && r.code === 'NMVS_NC_PCK_29') return 'nothingToUndo';
    return 'refused';
  }

  function describe(op, r, kind, target, here) {
    const dispenser = hasRole('dispenser');
    const stateLabel = STATE_LABELS[r.state] || r.state;
    switch (kind) {
      case 'genuine':
        return { title: 'Genuine and active', next: dispenser ? 'You may dispense this pack.' : 'You may supply this pack or return it to saleable stock.' };
      case 'decommissioned':
        if (r.state === 'supplied') return { title: 'Dispensed', next: 'Hand the pack over. You can undo this here within 240 hours if it was a mistake.' };
        return {
          title: `Decommissioned as ${stateLabel}`,
          next: REVERSIBLE.has(r.state) ? 'The pack is out of the supply chain now. You can undo this here if it was a mistake.' : 'The pack is out of the supply chain for good: this cannot be undone.',
        };
      case 'reactivated':
        return { title: 'Undone: the pack is active again', next: 'Put the pack back into saleable stock.' };
      case 'repeat':
        return { title: `Already ${stateLabel} here`, next: 'You scanned this pack a moment ago; nothing changed. If this is a second physical pack with the same serial number, do not supply it and report it.' };
      case 'inactiveHere': {
        const change = here || lastChangeHere(r.gtin, r.serial);
        const who = hasRole('dispenser') ? 'This pharmacy' : 'You';
        const when = change ? ` on ${dateTime(change.at)}` : '';
        const where = change && change.gln ? ` (location ${change.gln})` : '';
        const undo = mayUndo(r.state, change) ? ' If that was a mistake, undo it.' : '';
        return {
          title: r.state === 'supplied' ? 'Already dispensed here' : `Already ${stateLabel} here`,
          next: `${who} ${r.state === 'supplied' ? 'dispensed' : `set it to ${stateLabel}`}${when}${where}. Do not supply it again.${undo}`,
        };
      }
      case 'inactive':
        return { title: r.state === 'supplied' ? 'Already dispensed' : `Inactive: ${stateLabel}`, next: 'Do not supply this pack. Set it aside and check where it came from.' };
      case 'recalled':
        return { title: 'Recalled', next: 'Do not supply this pack. Quarantine it and follow the recall notice.' };
      case 'withdrawn':
        return { title: 'Product withdrawn', next: 'Do not supply this pack. Return or destroy it as the manufacturer instructs.' };
      case 'expired':
        return { title: 'Expired', next: 'Do not supply this pack. Dispose of it as expired stock.' };
      case 'alert':
        return { title: 'Alert raised', next: 'Do not supply this pack. Keep it in quarantine while the alert is investigated.' };
      case 'nothingToUndo':
        return { title: 'Nothing to undo', next: 'The pack is already active.' };
      case 'badscan':
        return { title: 'Bad scan: the code could not be read', next: 'Scan the pack again. If it fails again, check the scanner setup, or report the pack.' };
      default:
        return { title: op === 'reactivate' ? 'Undo refused' : 'Refused', next: r.message || CODE_MEANINGS[r.code] || 'The request was refused.' };
    }
  }

  /** For bad scans and scanning-related alerts: ask the parser what it sees, for its hint. */
  async function diagnose(text) {
    try {
      return { parsed: await api('POST', '/v1/identifiers/parse', { data: text }) };
    } catch (error) {
      if (error.status === 400) return { problem: error.problem };
      return {};
    }
  }

  function resultMeta(r, opTarget) {
    const rows = [];
    const add = (name, value) => { if (value) rows.push(h('dt', { text: name }), h('dd', {}, value)); };
    add('GTIN', r.gtin);
    add('Serial', r.serial);
    add('Batch', r.lot);
    add('Expiry', expiryText(r.expiry));
    add('Pack state', r.state ? STATE_LABELS[r.state] || r.state : '');
    add('Batch status', r.batch_status && r.batch_status !== 'active' ? STATE_LABELS[r.batch_status] || r.batch_status : '');
    add('Alert', r.alert_id ? h('code', { class: 'alert-id', text: r.alert_id }) : '');
    add('Asked', opTarget ? `decommission as ${STATE_LABELS[opTarget] || opTarget}` : '');
    return [rows.length ? h('dl', { class: 'result-meta' }, rows) : null, codeDetails(r.code)];
  }

  function renderResult(panel, view) {
    const pillKind = KIND_PILL[view.kind] || 'info';
    panel.className = `result ${KIND_PANEL[pillKind]}`;
    panel.dataset.kind = view.kind;
    panel.setAttribute('data-icon', KIND_ICON[view.kind] || '!');
    fill(panel,
      h('p', { class: 'result-title', text: view.title }),
      view.subtitle ? h('p', { class: 'result-subtitle', text: view.subtitle }) : null,
      h('p', { class: 'result-next', text: view.next }),
      view.message ? h('p', { class: 'result-message', text: view.message }) : null,
      view.marked ? h('p', { class: 'scan-marked' }, 'Scanned: ', view.marked) : null,
      (view.hints || []).map((hint) => h('p', { class: 'hint' }, h('strong', { text: 'Hint: ' }), hint)),
      view.meta || null);
  }

  async function viewFor(op, r, text, target) {
    let kind = classify(op, r);
    let here = null;
    if (kind === 'inactive') {
      here = await decommissionedByMe(r);
      if (here) kind = 'inactiveHere';
    }
    const { title, next } = describe(op, r, kind, target, here);
    // The verdict's own message where it adds to the title; not where it only repeats it.
    const message = ['genuine', 'recalled', 'withdrawn', 'expired'].includes(kind) ? '' : r.message;
    const view = { kind, title, next, message, hints: [], here, meta: resultMeta(r, op === 'decommission' ? target : '') };
    if (kind === 'alert') view.subtitle = `Alert ${r.alert_id}`;
    if (r.hint) view.hints.push(r.hint);
    if (text && (kind === 'badscan' || (kind === 'alert' && ['NMVS_NC_PC_02', 'NMVS_FE_LOT_13', 'NMVS_FE_LOT_12'].includes(r.code)))) {
      const { parsed, problem } = await diagnose(text);
      if (problem) {
        view.message = problem.detail || view.message;
        if (problem.hint && !view.hints.includes(problem.hint)) view.hints.push(problem.hint);
        if (typeof problem.position === 'number') view.marked = visibleScan(text, problem.position);
      }
      if (parsed && parsed.hints) for (const hint of parsed.hints) if (!view.hints.includes(hint)) view.hints.push(hint);
      if (kind === 'badscan' && !view.marked) view.marked = visibleScan(text);
    }
    // A hint the message already carries (the API appends the parser's) is shown once, as a hint.
    for (const hint of view.hints) if (view.message && view.message.includes(hint)) view.message = view.message.replace(hint, '').trim();
    // Point at a hint only when there is one to read.
    if (kind === 'badscan' && view.hints.length) view.next = 'Scan the pack again. If it fails again, check the scanner setup with the hint below, or report the pack.';
    return view;
  }

  function historyEntry(op, r, text, target, view) {
    return {
      at: new Date().toISOString(), op, target: op === 'decommission' ? target : '', text,
      gtin: r.gtin || '', serial: r.serial || '', ok: Boolean(r.ok), state: r.state || '',
      code: r.code || '', alert_id: r.alert_id || '', kind: view.kind, title: view.title,
    };
  }

  // -- scan desk -------------------------------------------------------------------------------

  function scanMode() { return document.querySelector('input[name="scan-mode"]:checked').value; }

  function fillStateSelects() {
    const states = settableStates();
    for (const select of document.querySelectorAll('.state-select')) {
      fill(select, ...states.map((st) => h('option', { value: st, text: STATE_LABELS[st] || st })));
    }
  }

  function fillLocationSelects() {
    const glns = (app.me && app.me.glns) || [];
    for (const select of document.querySelectorAll('.location-select')) {
      fill(select, ...glns.map((gln) => h('option', { value: gln, text: gln })));
      select.closest('.field').hidden = glns.length <= 1;
    }
  }

  function locationOf(selectId) {
    const value = $(selectId).value;
    return value ? { location_gln: value } : {};
  }

  function updateScanButton() {
    const mode = scanMode();
    const target = $('scan-state').value;
    $('scan-submit').textContent = mode === 'verify' ? 'Verify' : target === 'supplied' ? 'Dispense' : 'Decommission';
  }

  function enterScan() { updateScanButton(); }

  /** One pack operation from the scan desk: the request, the big answer, the history. */
  async function runSingle(op, pack, text, target) {
    const panel = $('scan-result');
    panel.classList.add('result-busy');
    panel.setAttribute('aria-busy', 'true');
    const body = { packs: [pack], ...locationOf('scan-location') };
    if (op === 'decommission') body.state = target;
    if (op !== 'verify') body.transaction_id = newId('console-');
    try {
      const answer = await api('POST', `/v1/packs/${op}`, body);
      const r = answer.results[0];
      const view = await viewFor(op, r, text, target);
      renderResult(panel, view);
      panel.scrollIntoView({ block: 'nearest' });
      addHistory([historyEntry(op, r, text, target, view)]);
      app.last = { op, result: r, kind: view.kind, target, here: view.here };
    } catch (error) {
      renderResult(panel, { kind: 'error', title: 'The request failed', next: 'Nothing was recorded for this pack. Try again.', message: error.message });
      app.last = null;
    } finally {
      panel.classList.remove('result-busy');
      panel.removeAttribute('aria-busy');
      renderScanActions();
    }
  }

  function packFields(r) {
    const out = { gtin: r.gtin, serial: r.serial };
    if (r.lot) out.lot = r.lot;
    if (r.expiry) out.expiry = r.expiry;
    return out;
  }

  function renderScanActions() {
    const box = $('scan-actions');
    const last = app.last;
    const buttons = [];
    if (last && last.result.gtin) {
      const r = last.result;
      const target = $('scan-state').value;
      if (last.op === 'verify' && last.kind === 'genuine' && target) {
        buttons.push(h('button', {
          type: 'button', class: 'primary big', id: 'action-decommission',
          text: target === 'supplied' ? 'Dispense this pack' : `Decommission as ${STATE_LABELS[target] || target}`,
          onclick: () => act('decommission', r, target),
        }));
      }
      const here = last.here || (last.kind === 'inactiveHere' ? lastChangeHere(r.gtin, r.serial) : { at: new Date().toISOString(), gln: '' });
      if (['decommissioned', 'repeat', 'inactiveHere'].includes(last.kind) && mayUndo(r.state, here)) {
        buttons.push(h('button', {
          type: 'button', class: 'secondary big', id: 'action-undo', text: 'Undo (reactivate the pack)',
          onclick: () => act('reactivate', r, ''),
        }));
      }
    }
    fill(box, ...buttons);
  }

  async function act(op, r, target) {
    for (const button of $('scan-actions').querySelectorAll('button')) button.disabled = true;
    await runSingle(op, packFields(r), '', target);
    $('scan-input').focus();
  }

  function setupScan() {
    installScanner($('scan-input'), $('scan-echo'));
    $('scan-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const input = $('scan-input');
      const text = normalizeScan(input.value);
      if (!text) {
        renderResult($('scan-result'), { kind: 'badscan', title: 'Nothing scanned', next: 'Scan a pack, or paste its code, then press Enter.' });
        input.focus();
        return;
      }
      input.value = '';
      fill($('scan-echo'), 'Last scan read as: ', visibleScan(text));
      const op = scanMode();
      await runSingle(op, packOf(text), text, $('scan-state').value);
      input.focus();
    });
    for (const radio of document.querySelectorAll('input[name="scan-mode"]')) radio.addEventListener('change', updateScanButton);
    $('scan-state').addEventListener('change', () => { updateScanButton(); renderScanActions(); });
    const gs = $('gs-substitute');
    gs.value = gsSubstitute();
    gs.addEventListener('change', () => {
      if (gs.value) localStorage.setItem(GS_SETTING_KEY, gs.value);
      else localStorage.removeItem(GS_SETTING_KEY);
      announce(gs.value ? `The console now reads ${gs.options[gs.selectedIndex].text} as the group separator.` : 'The console reads ASCII 29 and Ctrl+] as the group separator.');
    });
  }

  // -- tote ------------------------------------------------------------------------------------

  function setupTote() {
    installScanner($('tote-input'), null);
    $('tote-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('tote-input');
      const text = normalizeScan(input.value);
      input.value = '';
      input.focus();
      if (!text) return;
      if (app.tote.some((item) => item.text === text)) {
        $('tote-count').textContent = `That pack is already in the tote (${app.tote.length} packs).`;
        return;
      }
      if (app.tote.length >= MAX_TOTE) {
        $('tote-count').textContent = `A tote holds at most ${MAX_TOTE} packs: send it first.`;
        return;
      }
      app.tote.push({ text });
      app.toteTransaction = null;
      renderTote();
    });
    $('tote-send').addEventListener('click', sendTote);
    $('tote-clear').addEventListener('click', () => {
      app.tote = [];
      app.toteTransaction = null;
      fill($('tote-summary'));
      renderTote();
      $('tote-input').focus();
    });
    for (const id of ['tote-op', 'tote-state', 'tote-location']) $(id).addEventListener('change', () => { app.toteTransaction = null; updateToteButton(); });
  }

  function updateToteButton() {
    const n = app.tote.length;
    const op = $('tote-op').value;
    $('tote-state').closest('.field').hidden = op !== 'decommission';
    const verb = op === 'verify' ? 'Verify' : 'Decommission';
    $('tote-send').textContent = n ? `${verb} ${n} pack${n === 1 ? '' : 's'}` : 'Send the tote';
    $('tote-send').disabled = n === 0;
  }

  function renderTote() {
    const list = $('tote-list');
    fill(list, ...app.tote.map((item, index) => h('li', {},
      h('div', {},
        h('span', { class: 'mono' }, visibleScan(item.text)),
        h('button', {
          type: 'button', class: 'secondary small', text: 'Remove', 'aria-label': `Remove pack ${index + 1} from the tote`,
          onclick: () => { app.tote.splice(index, 1); app.toteTransaction = null; renderTote(); $('tote-input').focus(); },
        })))));
    const n = app.tote.length;
    $('tote-count').textContent = n ? `${n} pack${n === 1 ? '' : 's'} in the tote.` : 'The tote is empty.';
    updateToteButton();
  }

  async function sendTote() {
    const op = $('tote-op').value;
    const target = $('tote-state').value;
    const items = app.tote.slice();
    if (!items.length) return;
    const body = { packs: items.map((item) => packOf(item.text)), ...locationOf('tote-location') };
    // Packs scanned into a tote are in hand: verifying them attests possession (recall holder).
    if (op === 'verify') body.possession_attested = true;
    if (op === 'decommission') {
      body.state = target;
      // A retry after a lost answer gets the first answer instead of decommissioning twice.
      app.toteTransaction = app.toteTransaction || newId('console-tote-');
      body.transaction_id = app.toteTransaction;
    }
    const summary = $('tote-summary');
    const button = $('tote-send');
    button.disabled = true;
    fill(summary, h('p', { text: `Sending ${items.length} packs…` }));
    try {
      const answer = await api('POST', `/v1/packs/${op}`, body);
      renderToteSummary(op, target, items, answer);
    } catch (error) {
      fill(summary, problemView(error), h('p', { text: 'Nothing is lost: the tote is still here. Send it again; a decommission is not applied twice.' }));
    } finally {
      updateToteButton();
    }
  }

  function renderToteSummary(op, target, items, answer) {
    const rows = answer.results.map((r) => {
      const kind = classify(op, r);
      const { title } = describe(op, r, kind, target);
      return { r, kind, title, text: items[r.index] ? items[r.index].text : '' };
    });
    addHistory(rows.map(({ r, kind, title, text }) => historyEntry(op, r, text, target, { kind, title })));
    const groups = [
      ['ok', op === 'verify' ? 'Genuine and active' : op === 'decommission' ? 'Decommissioned' : 'Done', (k) => ['genuine', 'decommissioned', 'reactivated'].includes(k)],
      ['bad', 'Recalled or withdrawn', (k) => k === 'recalled' || k === 'withdrawn'],
      ['warn', 'Expired', (k) => k === 'expired'],
      ['bad', 'Alerts raised', (k) => k === 'alert'],
      ['warn', 'Already inactive', (k) => ['inactive', 'inactiveHere', 'repeat'].includes(k)],
      ['scan', 'Bad scans', (k) => k === 'badscan'],
      ['warn', 'Refused', (k) => ['refused', 'nothingToUndo'].includes(k)],
    ];
    const tiles = groups
      .map(([kind, label, test]) => [kind, label, rows.filter((row) => test(row.kind)).length])
      .filter(([, , count], i) => count > 0 || i === 0)
      .map(([kind, label, count]) => h('li', { class: `tile-${kind}` }, h('strong', { text: fmtNumber(count) }), label));
    const undoable = rows.filter((row) => row.kind === 'decommissioned' && REVERSIBLE.has(row.r.state));
    const summary = $('tote-summary');
    fill(summary,
      h('h2', { id: 'tote-summary-title', tabindex: '-1', text: `${opLabel(op, target)}: ${answer.ok} of ${answer.count} packs OK` }),
      h('ul', { class: 'summary-tiles', 'aria-label': 'Summary' }, tiles),
      table('Every pack of the tote', ['#', 'Pack', 'Result', 'What it means', 'Details'], rows.map(({ r, kind, title, text }) => [
        String(r.index + 1),
        r.gtin ? h('span', { class: 'mono' }, r.gtin, h('br'), r.serial) : h('span', { class: 'mono' }, visibleScan(text)),
        h('span', {}, pill(KIND_PILL[kind] || 'info', title), r.alert_id ? h('span', {}, ' ', h('code', { text: r.alert_id })) : null),
        r.message || '',
        codeDetails(r.code),
      ]), { numeric: [0] }),
      undoable.length ? h('button', {
        type: 'button', class: 'secondary', id: 'tote-undo', text: `Undo the ${undoable.length} decommissioned pack${undoable.length === 1 ? '' : 's'}`,
        onclick: async (event) => {
          event.target.disabled = true;
          try {
            const undo = await api('POST', '/v1/packs/reactivate', { packs: undoable.map(({ r }) => packFields(r)), ...locationOf('tote-location'), transaction_id: newId('console-undo-') });
            const undoRows = undo.results.map((ur) => ({ r: ur, kind: classify('reactivate', ur) }));
            addHistory(undoRows.map(({ r, kind }) => historyEntry('reactivate', r, '', '', { kind, title: describe('reactivate', r, kind, '').title })));
            summary.append(notice(undo.ok === undo.count ? 'ok' : 'warn', `Undone: ${undo.ok} of ${undo.count} packs are active again.`));
          } catch (error) {
            summary.append(problemView(error));
            event.target.disabled = false;
          }
        },
      }) : null);
    $('tote-summary-title').focus();
  }

  // -- recall tasks (holders) -------------------------------------------------------------------

  async function refreshTaskBadge() {
    try {
      const { tasks } = await api('GET', '/v1/recall-tasks');
      const badge = $('tasks-badge');
      fill(badge, String(tasks.length), h('span', { class: 'visually-hidden', text: ' open' }));
      badge.hidden = tasks.length === 0;
    } catch { /* the page shows the error when opened */ }
  }

  async function loadTasks() {
    const list = $('tasks-list');
    const status = $('tasks-status');
    fill(list, h('p', { class: 'help', text: 'Loading your recall tasks…' }));
    try {
      const { tasks } = await api('GET', '/v1/recall-tasks');
      refreshTaskBadge();
      if (!tasks.length) {
        fill(list, notice('ok', 'No open recall tasks: nothing you hold is under an open recall.'));
        return;
      }
      fill(list, ...tasks.map(taskCard));
    } catch (error) {
      fill(list, problemView(error));
    }
    status.textContent = '';
  }

  function taskCard(task) {
    const recall = task.recall;
    const id = `task-${recall.id}`;
    const checkboxes = task.units_open.map((u, i) => h('input', {
      type: 'checkbox', id: `${id}-u${i}`, checked: true, 'data-gtin': u.gtin, 'data-serial': u.serial,
    }));
    const all = h('input', {
      type: 'checkbox', id: `${id}-all`, checked: true,
      onchange: (event) => { for (const box of checkboxes) box.checked = event.target.checked; },
    });
    const action = h('select', { id: `${id}-action` },
      h('option', { value: 'quarantined', text: 'Quarantined (set aside)' }),
      h('option', { value: 'returned', text: 'Returned to the supplier' }),
      h('option', { value: 'destroyed', text: 'Destroyed' }));
    const result = h('div', { role: 'status', 'aria-live': 'polite' });
    // the letter is a page with its own strict policy: downloaded, as the status report is
    const downloadLetter = async (event) => {
      const letterButton = event.target;
      letterButton.disabled = true;
      try {
        const { response } = await request('GET', `/v1/recalls/${encodeURIComponent(recall.id)}/notice?format=html`, undefined, { raw: true });
        downloadBlob(await response.blob(), `${recall.id}-letter.html`);
        announce('The recall letter is downloading.');
      } catch (error) {
        fill(result, problemView(error));
      } finally {
        letterButton.disabled = false;
      }
    };
    const button = h('button', {
      type: 'button', class: 'primary', text: 'Acknowledge the selected units',
      onclick: async () => {
        const units = checkboxes.filter((box) => box.checked).map((box) => ({ gtin: box.dataset.gtin, serial: box.dataset.serial }));
        if (!units.length) { fill(result, notice('warn', 'Select at least one unit.')); return; }
        button.disabled = true;
        try {
          const answer = await api('POST', `/v1/recalls/${encodeURIComponent(recall.id)}/acknowledgements`, { units, action: action.value });
          const failed = answer.results.filter((r) => !r.ok);
          const done = notice(failed.length ? 'warn' : 'ok',
            h('strong', { text: `Acknowledged ${answer.acknowledged} of ${units.length} units as ${action.value}.` }),
            failed.map((r) => h('p', {}, h('code', { text: r.code }), ` ${r.message}`)));
          await loadTasks();
          fill($('tasks-status'), done);
          announce(`Acknowledged ${answer.acknowledged} units of recall ${recall.id}.`);
          $('tasks-status').focus();
        } catch (error) {
          fill(result, problemView(error));
          button.disabled = false;
        }
      },
    });
    return h('article', { class: `card task${recall.mock ? ' task-drill' : ''}`, 'aria-labelledby': `${id}-title` },
      h('h2', { id: `${id}-title` }, recall.mock ? 'Recall drill ' : 'Recall ', h('code', { text: recall.id })),
      h('p', { class: 'recall-head' },
        pill(recall.class === 'I' ? 'bad' : 'warn', `Class ${recall.class}`),
        pill('info', `Depth: ${recall.depth}`),
        recall.mock ? pill('info', 'DRILL: no pack changes') : null,
        h('span', { text: `Published ${fmtTime(recall.published_at)}` })),
      task.notice ? h('p', { class: 'task-heading' }, h('strong', { text: task.notice.heading })) : null,
      h('p', {}, h('strong', { text: 'Reason: ' }), recall.reason),
      task.notice ? h('p', {}, h('strong', { text: 'What to do: ' }), task.notice.what_to_do) : null,
      task.notice && task.notice.contact ? h('p', {}, h('strong', { text: 'Questions: ' }), task.notice.contact) : null,
      h('p', { text: `${task.units_open.length} unit${task.units_open.length === 1 ? '' : 's'} to confirm; ${task.units_acknowledged} already confirmed.` }),
      h('div', { class: 'table-wrap task-units' },
        h('table', {},
          h('caption', { text: 'Units last seen with you' }),
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, h('label', { for: `${id}-all`, class: 'checkbox' }, all, 'All')),
            h('th', { scope: 'col', text: 'GTIN' }), h('th', { scope: 'col', text: 'Serial' }),
            h('th', { scope: 'col', text: 'Batch' }), h('th', { scope: 'col', text: 'Location' }))),
          h('tbody', {}, task.units_open.map((u, i) => h('tr', {},
            h('td', {}, h('label', { for: `${id}-u${i}`, class: 'checkbox' }, checkboxes[i], h('span', { class: 'visually-hidden', text: `Unit ${u.serial}` }))),
            h('td', { class: 'mono', text: u.gtin }), h('td', { class: 'mono', text: u.serial }),
            h('td', { class: 'mono', text: u.lot }), h('td', {}, glnView(u.gln, (task.locations || {})[u.gln]))))))),
      h('div', { class: 'field-row' },
        h('div', { class: 'field' }, h('label', { for: `${id}-action`, text: 'What you did with them' }), action),
        button),
      h('p', {}, h('a', { href: `#/recall/${encodeURIComponent(recall.id)}`, text: 'See the recall' }), ' ',
        h('button', { type: 'button', class: 'secondary', id: `${id}-letter`, text: 'Print the recall letter', onclick: downloadLetter })),
      result);
  }

  // -- products and directory (manufacturer) ---------------------------------------------------

  function setupProducts() {
    $('product-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const status = $('product-status');
      const gtin = $('product-gtin').value.trim();
      if (!/^\d{14}$/.test(gtin)) {
        fill(status, notice('error', 'Enter the GTIN as 14 digits (pad shorter GTINs with leading zeros).'));
        $('product-gtin').focus();
        return;
      }
      try {
        const answer = await request('PUT', `/v1/products/${gtin}`, { name: $('product-name').value.trim() });
        fill(status, notice('ok', h('strong', { text: answer.status === 201 ? 'Product registered. ' : 'Product updated. ' }),
          `${answer.data.gtin} “${answer.data.name || 'no name'}” is hosted here: verifications of its packs are answered by verinet.`));
      } catch (error) {
        fill(status, problemView(error));
      }
    });
    $('directory-lookup').addEventListener('submit', async (event) => {
      event.preventDefault();
      const status = $('directory-status');
      const kind = $('directory-kind').value;
      const key = $('directory-key').value.trim();
      if (!key) { $('directory-key').focus(); return; }
      try {
        const entry = await api('GET', `/v1/directory/${kind}/${encodeURIComponent(key)}`);
        $('directory-route').value = entry.route || 'hosted';
        $('directory-url').value = entry.url || '';
        $('directory-gln').value = entry.responder_gln || '';
        fill(status, entryView(entry, 'Found'));
      } catch (error) {
        fill(status, error.status === 404
          ? notice('info', `No directory entry for ${key} yet. Fill in the form above to create one.`)
          : problemView(error));
      }
    });
    $('directory-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const status = $('directory-status');
      const kind = $('directory-kind').value;
      const key = $('directory-key').value.trim();
      if (!key) { fill(status, notice('error', 'Enter the GTIN or prefix first.')); $('directory-key').focus(); return; }
      const body = { route: $('directory-route').value };
      if ($('directory-url').value.trim()) body.url = $('directory-url').value.trim();
      if ($('directory-gln').value.trim()) body.responder_gln = $('directory-gln').value.trim();
      try {
        const answer = await request('PUT', `/v1/directory/${kind}/${encodeURIComponent(key)}`, body);
        fill(status, entryView(answer.data, answer.status === 201 ? 'Created' : 'Saved'));
      } catch (error) {
        fill(status, problemView(error));
      }
    });
  }

  function entryView(entry, verb) {
    return notice('ok', h('strong', { text: `${verb}: ${entry.kind} ${entry.key}` }),
      h('dl', { class: 'result-meta' },
        h('dt', { text: 'Route' }), h('dd', { text: entry.route }),
        entry.url ? [h('dt', { text: 'URL' }), h('dd', { text: entry.url })] : null,
        h('dt', { text: 'Responder GLN' }), h('dd', { text: entry.responder_gln || '—' }),
        h('dt', { text: 'Owner' }), h('dd', { text: entry.owner || '—' }),
        h('dt', { text: 'Updated' }), h('dd', { text: fmtTime(entry.updated_at) || '—' })));
  }

  // -- commission upload (manufacturer) --------------------------------------------------------

  /** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. Yields [lineNumber, fields]. */
  function* csvRecords(text) {
    let i = 0;
    let line = 1;
    while (i < text.length) {
      const startLine = line;
      const fields = [];
      let field = '';
      let quoted = false;
      for (; i < text.length; i++) {
        const ch = text[i];
        if (quoted) {
          if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
          else if (ch === '"') quoted = false;
          else { if (ch === '\n') line++; field += ch; }
        } else if (ch === '"' && field === '') quoted = true;
        else if (ch === ',') { fields.push(field); field = ''; }
        else if (ch === '\n' || ch === '\r') {
          if (ch === '\r' && text[i + 1] === '\n') i++;
          i++;
          line++;
          break;
        } else field += ch;
      }
      fields.push(field);
      if (fields.length > 1 || fields[0].trim() !== '') yield [startLine, fields];
    }
  }

  const PACK_COLUMNS = ['gtin', 'serial', 'lot', 'expiry', 'line', 'commissioned_at', 'scan', 'uri'];

  /** The file as rows to send ({line, pack}) and rows refused before sending ({line, message}). */
  function readPacksFile(text) {
    const rows = [];
    const errors = [];
    const body = text.replace(/^\ufeff/, '');
    const first = body.trimStart()[0];
    if (first === '[' || (first === '{' && /^\s*\{\s*"packs"\s*:/.test(body))) {
      let items;
      try {
        const parsed = JSON.parse(body);
        items = Array.isArray(parsed) ? parsed : parsed.packs;
      } catch (error) {
        errors.push({ line: 1, code: 'file.json', message: `The file is not valid JSON: ${error.message}` });
        return { rows, errors };
      }
      (items || []).forEach((pack, i) => rows.push({ line: i + 1, pack }));
      return { rows, errors, format: 'JSON' };
    }
    if (first === '{') {
      body.split(/\r?\n/).forEach((lineText, i) => {
        if (!lineText.trim()) return;
        try { rows.push({ line: i + 1, pack: JSON.parse(lineText) }); } catch (error) {
          errors.push({ line: i + 1, code: 'line.json', message: `Line ${i + 1} is not a JSON object: ${error.message}` });
        }
      });
      return { rows, errors, format: 'JSON lines' };
    }
    const records = csvRecords(body);
    const head = records.next();
    if (head.done) return { rows, errors, format: 'CSV' };
    const header = head.value[1].map((name) => name.trim().toLowerCase());
    const unknown = header.filter((name) => name && !PACK_COLUMNS.includes(name));
    if (!(header.includes('gtin') && header.includes('serial')) && !header.includes('scan') && !header.includes('uri')) {
      errors.push({ line: 1, code: 'file.header', message: `The first line must name the columns (gtin,serial,lot,expiry or scan); got ${head.value[1].join(',')}.` });
      return { rows, errors, format: 'CSV' };
    }
    if (unknown.length) errors.push({ line: 1, code: 'file.columns', message: `Ignored unknown columns: ${unknown.join(', ')}.` });
    for (const [lineNumber, fields] of records) {
      if (fields.length !== header.length) {
        errors.push({ line: lineNumber, code: 'line.columns', message: `Line ${lineNumber} has ${fields.length} fields; the header has ${header.length}.` });
        continue;
      }
      const pack = {};
      header.forEach((name, i) => { const value = fields[i].trim(); if (PACK_COLUMNS.includes(name) && value !== '') pack[name] = value; });
      if (pack.scan) pack.scan = normalizeScan(pack.scan);
      rows.push({ line: lineNumber, pack });
    }
    return { rows, errors, format: 'CSV' };
  }

  function setupCommission() {
    $('commission-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const file = $('commission-file').files[0];
      const report = $('commission-report');
      if (!file) {
        fill(report, notice('error', 'Choose a CSV or JSON lines file first.'));
        $('commission-file').focus();
        return;
      }
      const submit = event.target.querySelector('button[type="submit"]');
      submit.disabled = true;
      try {
        await uploadPacks(file);
      } finally {
        submit.disabled = false;
      }
    });
  }

  async function uploadPacks(file) {
    const report = $('commission-report');
    const progress = $('commission-progress');
    const status = $('commission-status');
    $('commission-progress-card').hidden = false;
    fill(report);
    const { rows, errors, format } = readPacksFile(await file.text());
    const totals = { read: rows.length, stored: 0, unchanged: 0, refused: 0 };
    progress.max = Math.max(rows.length, 1);
    progress.value = 0;
    status.textContent = `Read ${fmtNumber(rows.length)} packs from ${file.name} (${format}). Uploading…`;
    let stopped = null;
    for (let start = 0; start < rows.length && !stopped; start += COMMISSION_CHUNK) {
      let chunk = rows.slice(start, start + COMMISSION_CHUNK);
      // A refusal of the whole request that names one pack (a GTIN not under your prefixes):
      // report that row and send the rest of the chunk again.
      for (let attempt = 0; chunk.length && attempt <= COMMISSION_CHUNK; attempt++) {
        try {
          const answer = await api('POST', '/v1/packs/commission', { packs: chunk.map((row) => row.pack) });
          totals.stored += answer.stored;
          totals.unchanged += answer.unchanged;
          for (const e of answer.errors) {
            const row = chunk[e.index];
            errors.push({ line: row.line, gtin: e.gtin || row.pack.gtin || '', serial: e.serial || row.pack.serial || '', code: e.code, message: e.message });
          }
          break;
        } catch (error) {
          const match = /^packs\[(\d+)\]/.exec((error.problem && error.problem.field) || '');
          if ((error.status === 400 || error.status === 403) && match && chunk[Number(match[1])]) {
            const row = chunk[Number(match[1])];
            errors.push({ line: row.line, gtin: row.pack.gtin || '', serial: row.pack.serial || '', code: error.problem.code, message: error.message });
            chunk = chunk.filter((_, i) => i !== Number(match[1]));
            continue;
          }
          stopped = { error, line: chunk[0].line };
          break;
        }
      }
      progress.value = Math.min(start + COMMISSION_CHUNK, rows.length);
      status.textContent = `Uploaded ${fmtNumber(progress.value)} of ${fmtNumber(rows.length)} packs…`;
    }
    totals.refused = errors.filter((e) => e.code !== 'file.columns').length;
    errors.sort((a, b) => a.line - b.line);
    status.textContent = stopped
      ? `Stopped at line ${stopped.line}: ${stopped.error.message}`
      : `Done: ${fmtNumber(rows.length)} packs read, ${fmtNumber(totals.stored)} stored, ${fmtNumber(totals.unchanged)} already there, ${fmtNumber(totals.refused)} refused.`;
    renderCommissionReport(totals, errors, stopped, file.name);
  }

  function renderCommissionReport(totals, errors, stopped, filename) {
    const report = $('commission-report');
    const shown = errors.slice(0, 500);
    fill(report,
      h('h2', { text: 'Upload report' }),
      stopped ? notice('error', h('strong', { text: `The upload stopped at line ${stopped.line}: ${stopped.error.message}` }),
        h('p', { text: 'Packs before that line are stored. Uploading the same file again is safe: stored packs count as already there.' })) : null,
      h('ul', { class: 'summary-tiles', 'aria-label': 'Upload totals' },
        h('li', {}, h('strong', { text: fmtNumber(totals.read) }), 'rows read'),
        h('li', { class: 'tile-ok' }, h('strong', { text: fmtNumber(totals.stored) }), 'stored'),
        h('li', {}, h('strong', { text: fmtNumber(totals.unchanged) }), 'already there'),
        h('li', { class: totals.refused ? 'tile-bad' : '' }, h('strong', { text: fmtNumber(totals.refused) }), 'refused')),
      errors.length ? [
        table(`Rows that need attention${errors.length > shown.length ? ` (first ${shown.length} of ${errors.length})` : ''}`,
          ['Line', 'GTIN', 'Serial', 'Code', 'Problem'],
          shown.map((e) => [String(e.line), h('span', { class: 'mono', text: e.gtin || '' }), h('span', { class: 'mono', text: e.serial || '' }), h('code', { text: e.code || '' }), e.message]),
          { numeric: [0] }),
        h('button', {
          type: 'button', class: 'secondary', text: 'Download the error report (CSV)',
          onclick: () => {
            const lines = ['line,gtin,serial,code,message', ...errors.map((e) => [e.line, e.gtin, e.serial, e.code, e.message].map(csvCell).join(','))];
            downloadBlob(new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }), `${filename.replace(/\.[^.]+$/, '')}-errors.csv`);
          },
        }),
      ] : notice('ok', 'Every row was stored or already there.'));
  }

  // -- recalls (manufacturer) ------------------------------------------------------------------

  function knownRecalls() {
    try { return JSON.parse(sessionStorage.getItem(RECALLS_KEY) || '[]'); } catch { return []; }
  }
  function rememberRecall(recall) {
    const entry = { id: recall.id, class: recall.class, reason: recall.reason, mock: Boolean(recall.mock), units: recall.units, published_at: recall.published_at || new Date().toISOString() };
    const all = [entry, ...knownRecalls().filter((r) => r.id !== recall.id)].slice(0, 200);
    sessionStorage.setItem(RECALLS_KEY, JSON.stringify(all));
  }

  async function loadRecalls() {
    const box = $('recalls-list');
    let recalls = knownRecalls();
    if (app.recallsListSupported) {
      try {
        const answer = await api('GET', '/v1/recalls?limit=100');
        if (answer && Array.isArray(answer.recalls)) {
          const seen = new Set(answer.recalls.map((r) => r.id));
          recalls = [...answer.recalls, ...recalls.filter((r) => !seen.has(r.id))];
        }
      } catch (error) {
        if (error.status === 404 || error.status === 405) app.recallsListSupported = false;
      }
    }
    if (!recalls.length) {
      fill(box, h('p', { class: 'empty', text: 'No recalls published from this console yet. Open an earlier one by its id below.' }));
      return;
    }
    fill(box, table(app.recallsListSupported ? 'Recent recalls' : 'Recalls opened in this session', ['Recall', 'Class', 'Units', 'Reason'], recalls.map((r) => [
      h('span', {}, h('a', { href: `#/recall/${encodeURIComponent(r.id)}` }, h('code', { text: r.id })), r.mock ? [' ', pill('info', 'drill')] : null, r.status === 'closed' ? [' ', pill('ok', 'closed')] : null),
      r.class || '', fmtNumber(r.units), r.reason || '',
    ]), { numeric: [2] }));
  }

  function lines(text) { return String(text || '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean); }

  function utcValue(localValue) {
    if (!localValue) return '';
    return `${localValue.length === 16 ? `${localValue}:00` : localValue}Z`;
  }

  /** The recall form as the API body; the same body goes to preview and publish. */
  function recallBody() {
    const body = {
      gtins: String($('recall-gtins').value).split(/[\s,;]+/).map((g) => g.trim()).filter(Boolean),
      class: $('recall-class').value,
      depth: $('recall-depth').value,
      reason: $('recall-reason').value.trim(),
      mock: $('recall-drill').checked,
    };
    const lots = lines($('recall-lots').value);
    if (lots.length) body.lots = lots;
    const line = $('recall-line').value.trim();
    if (line) body.line = line;
    const start = utcValue($('recall-start').value);
    const end = utcValue($('recall-end').value);
    if (start || end) body.window = { ...(start ? { start } : {}), ...(end ? { end } : {}) };
    const units = lines($('recall-units').value).map((text) => {
      const fields = /^(\d{14})\s*[,;\t ]\s*(\S+)$/.exec(text);
      return fields ? { gtin: fields[1], serial: fields[2] } : packOf(normalizeScan(text));
    });
    if (units.length) body.units = units;
    return body;
  }

  function hasScope(body) {
    return Boolean((body.units && body.units.length) || (body.gtins.length && (body.lots || body.line || body.window)));
  }

  function schedulePreview() {
    window.clearTimeout(app.previewTimer);
    app.recallConfirm = false;
    updatePublishButton();
    app.previewTimer = window.setTimeout(runPreview, 350);
  }

  async function runPreview() {
    const body = recallBody();
    const out = $('recall-preview-body');
    if (!hasScope(body)) {
      fill(out, h('p', { class: 'help', text: 'Fill in GTINs and at least one filter (lots, line or window), or list units, to see the scope.' }));
      return;
    }
    const seq = ++app.previewSeq;
    out.setAttribute('aria-busy', 'true');
    try {
      const preview = await api('POST', '/v1/recalls/preview', body);
      if (seq !== app.previewSeq) return;
      fill(out, ...previewView(preview));
    } catch (error) {
      if (seq !== app.previewSeq) return;
      fill(out, error.status === 404 || error.status === 405
        ? notice('warn', 'This network cannot preview a recall yet; publish a drill to see its scope.')
        : problemView(error));
    } finally {
      if (seq === app.previewSeq) out.removeAttribute('aria-busy');
    }
  }

  /** A GLN as people read it: the name its partner gave it (EPCIS Location master data, in an
   * answer's `location`) before the GLN, the address as its title; else the GLN alone. */
  function glnView(gln, location) {
    if (!location || !location.name) return h('span', { class: 'mono', text: gln });
    return h('span', { class: 'gln-named', title: location.address || '' }, location.name, ' ', h('span', { class: 'mono', text: `(${gln})` }));
  }

  function previewView(preview) {
    const located = preview.units - (preview.units_not_yet_shipped || 0);
    return [
      h('p', { class: 'preview-total', id: 'preview-units' }, `${fmtNumber(preview.units)} unit${preview.units === 1 ? '' : 's'} in scope`),
      h('p', { text: `${fmtNumber(located)} located at ${fmtNumber((preview.units_by_location || []).length)} location${(preview.units_by_location || []).length === 1 ? '' : 's'}; ${fmtNumber(preview.units_not_yet_shipped || 0)} not yet shipped (still with you).` }),
      (preview.units_by_location || []).length
        ? table('Where the units are', ['Location (GLN)', 'Partner', 'Units'], preview.units_by_location.map((l) => [glnView(l.gln, l.location), h('span', { class: 'mono', text: l.partner }), fmtNumber(l.units)]), { numeric: [2] })
        : null,
      (preview.unknown_units || []).length ? notice('warn', `Unknown units (not commissioned): ${preview.unknown_units.slice(0, 10).join(', ')}${preview.unknown_units.length > 10 ? '…' : ''}`) : null,
    ];
  }

  function updatePublishButton() {
    const button = $('recall-publish');
    const drill = $('recall-drill').checked;
    button.className = drill ? 'primary' : 'danger';
    button.textContent = drill ? 'Start the drill' : app.recallConfirm ? 'Confirm: publish this recall now' : 'Publish the recall';
  }

  function setupRecallForm() {
    const form = $('recall-form');
    form.addEventListener('input', schedulePreview);
    form.addEventListener('change', (event) => { if (event.target.id === 'recall-drill') { app.recallConfirm = false; updatePublishButton(); } });
    installScanner($('recall-units'), null);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const err = $('recall-form-error');
      err.hidden = true;
      const body = recallBody();
      const problems = [];
      if (!hasScope(body)) problems.push(['recall-gtins', 'Give the scope: GTINs with lots, a line or a time window, or single units.']);
      if (!body.reason) problems.push(['recall-reason', 'Give the reason: partners see it with the recall.']);
      for (const id of ['recall-gtins', 'recall-reason']) $(id).removeAttribute('aria-invalid');
      if (problems.length) {
        fill(err, ...problems.map(([, text]) => h('p', { text })));
        err.hidden = false;
        for (const [id] of problems) $(id).setAttribute('aria-invalid', 'true');
        $(problems[0][0]).focus();
        return;
      }
      if (!body.mock && !app.recallConfirm) {
        // A real recall changes every unit in scope at once: ask for a second, explicit click.
        app.recallConfirm = true;
        updatePublishButton();
        announce('Check the scope preview, then press the button again to publish the recall.');
        return;
      }
      const button = $('recall-publish');
      button.disabled = true;
      try {
        const recall = await api('POST', '/v1/recalls', body);
        rememberRecall({ ...recall, class: body.class, reason: body.reason });
        app.recallConfirm = false;
        updatePublishButton();
        location.hash = `#/recall/${encodeURIComponent(recall.id)}`;
      } catch (error) {
        fill(err, problemView(error));
        err.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
    $('recall-open').addEventListener('submit', (event) => {
      event.preventDefault();
      const id = $('recall-open-id').value.trim();
      if (id) location.hash = `#/recall/${encodeURIComponent(id)}`;
    });
  }

  // -- one recall ------------------------------------------------------------------------------

  async function loadRecall(id) {
    const bodyBox = $('recall-body');
    fill($('recall-title'), 'Recall ', h('code', { text: id }));
    $('recall-back').parentElement.hidden = !hasRole('manufacturer');
    fill(bodyBox, h('p', { class: 'help', text: 'Loading the recall…' }));
    let recall;
    try {
      recall = await api('GET', `/v1/recalls/${encodeURIComponent(id)}`);
    } catch (error) {
      fill(bodyBox, error.status === 404 ? notice('error', `No recall ${id} that you may see.`) : problemView(error));
      return;
    }
    if (recall.owner === app.me.id) rememberRecall(recall);
    fill($('recall-title'), recall.mock ? 'Recall drill ' : 'Recall ', h('code', { text: recall.id }));
    const total = recall.units || 0;
    const share = (n) => (total ? ` (${pct(n / total)})` : '');
    const deliveries = h('div', { id: 'recall-deliveries' }, h('p', { class: 'help', text: 'Loading deliveries…' }));
    const owner = recall.owner === app.me.id || hasRole('admin');
    fill(bodyBox,
      h('div', { class: 'recall-head' },
        pill(recall.class === 'I' ? 'bad' : 'warn', `Class ${recall.class}`),
        pill('info', `Depth: ${recall.depth}`),
        pill(recall.status === 'open' ? 'warn' : 'ok', recall.status === 'open' ? 'Open' : 'Closed'),
        recall.mock ? pill('info', 'DRILL: no pack was changed') : null),
      h('p', {}, h('strong', { text: 'Reason: ' }), recall.reason),
      h('p', { class: 'help' }, `Published ${fmtTime(recall.published_at)}`, recall.closed_at ? ` · closed ${fmtTime(recall.closed_at)}: ${recall.close_reason}` : ''),
      h('ul', { class: 'stats', 'aria-label': 'Recall totals' },
        h('li', {}, h('strong', { id: 'stat-units', text: fmtNumber(total) }), h('span', { text: owner ? 'units in scope' : 'of your units in scope' })),
        h('li', {}, h('strong', { text: fmtNumber(recall.located) }), h('span', { text: `located${share(recall.located)}` })),
        h('li', {}, h('strong', { text: fmtNumber(recall.units_not_yet_shipped) }), h('span', { text: 'not yet shipped' })),
        h('li', {}, h('strong', { text: fmtNumber(recall.notified) }), h('span', { text: `partners' units notified${share(recall.notified)}` })),
        h('li', {}, h('strong', { id: 'stat-acknowledged', text: fmtNumber(recall.acknowledged) }), h('span', { text: `acknowledged${share(recall.acknowledged)}` }))),
      h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'secondary', text: 'Refresh', onclick: () => loadRecall(recall.id) }),
        h('button', { type: 'button', class: 'secondary', id: 'recall-csv', text: 'Download the report (CSV)', onclick: (event) => downloadReport(recall.id, event.target) })),
      h('section', { class: 'card', 'aria-labelledby': 'chart-title' },
        h('h2', { id: 'chart-title', text: 'Effectiveness over time' }),
        effectivenessChart(recall.effectiveness || []),
        h('ul', { class: 'legend', 'aria-hidden': 'true' },
          h('li', {}, h('span', { class: 'swatch swatch-notified' }), 'Units whose holder was notified'),
          h('li', {}, h('span', { class: 'swatch swatch-acknowledged' }), 'Units acknowledged')),
        h('details', {},
          h('summary', { text: 'The chart as a table' }),
          table('Share of units by hours since publication', ['Hours', 'Notified', 'Acknowledged'],
            (recall.effectiveness || []).map((p) => [String(p.hours), pct(p.notified), pct(p.acknowledged)]), { numeric: [0, 1, 2] }))),
      recall.drill ? h('section', { class: 'card', 'aria-labelledby': 'drill-title' },
        h('h2', { id: 'drill-title', text: 'Drill timings' }),
        h('dl', { class: 'result-meta' }, [
          ['Scope found after', recall.drill.seconds_to_scope],
          ['First notification after', recall.drill.seconds_to_first_notification],
          ['First acknowledgement after', recall.drill.seconds_to_first_acknowledgement],
          ['90 % acknowledged after', recall.drill.seconds_to_90_percent_acknowledged],
        ].map(([name, value]) => [h('dt', { text: name }), h('dd', { text: value === null || value === undefined ? 'not yet' : `${value} s` })]))) : null,
      h('section', { class: 'card', 'aria-labelledby': 'locations-title' },
        h('h2', { id: 'locations-title', text: 'Where the units are' }),
        (recall.units_by_location || []).length
          ? table('', ['Location (GLN)', 'Partner', 'Units'], recall.units_by_location.map((l) => [glnView(l.gln, l.location), h('span', { class: 'mono', text: l.partner }), fmtNumber(l.units)]), { numeric: [2] })
          : h('p', { class: 'empty', text: 'No unit has been seen outside your site.' })),
      h('section', { class: 'card', 'aria-labelledby': 'deliveries-title' },
        h('h2', { id: 'deliveries-title', text: 'Notifications delivered' }), deliveries),
      owner ? statusReportCard(recall.id) : null,
      owner && recall.status === 'open' && hasRole('manufacturer') ? closeRecallForm(recall) : null);
    loadDeliveries(recall.id, deliveries);
  }

  // The 21 CFR 7.53 status report (manufacturer and admin): figures, consignees, and the
  // printable page or CSV as downloads (the page carries its own strict policy).
  function statusReportCard(id) {
    const box = h('div', { id: 'status-report' }, h('p', { class: 'help', text: 'Loading the status report…' }));
    const download = (format, name) => async (event) => {
      const button = event.target;
      button.disabled = true;
      try {
        const { response } = await request('GET', `/v1/recalls/${encodeURIComponent(id)}/status-report?format=${format}`, undefined, { raw: true });
        downloadBlob(await response.blob(), name);
        announce('The status report is downloading.');
      } catch (error) {
        button.after(problemView(error));
      } finally {
        button.disabled = false;
      }
    };
    (async () => {
      try {
        const r = await api('GET', `/v1/recalls/${encodeURIComponent(id)}/status-report`);
        const checks = r.effectiveness_checks;
        const estimate = r.estimated_completion;
        const place = (row) => row.locations.map((l) => (l.name ? `${l.name} (${l.gln})` : l.gln)).join('; ');
        fill(box,
          h('ul', { class: 'stats', 'aria-label': 'Status report figures' },
            h('li', {}, h('strong', { id: 'stat-consignees', text: fmtNumber(r.consignees) }), h('span', { text: 'consignees' })),
            h('li', {}, h('strong', { text: fmtNumber(r.consignees_notified) }), h('span', { text: 'notified' })),
            h('li', {}, h('strong', { id: 'stat-responding', text: fmtNumber(r.consignees_responding) }), h('span', { text: 'responding' })),
            h('li', {}, h('strong', { text: fmtNumber(r.consignees_not_responding) }), h('span', { text: 'not responding' })),
            h('li', {}, h('strong', { text: fmtNumber(r.consignees_overdue) }), h('span', { text: 'overdue' })),
            h('li', {}, h('strong', { text: `${checks.done} / ${checks.due}` }), h('span', { text: `effectiveness checks (level ${checks.level})` }))),
          h('p', { class: 'help' }, `As of ${fmtTime(r.as_of)}. Estimated completion: ${estimate.at ? fmtTime(estimate.at) : 'no estimate'} (${estimate.basis}).`),
          table('Consignees', ['Consignee', 'Location', 'Units', 'Notified', 'By', 'Responded', 'Acknowledged', 'Status'],
            r.consignee_rows.map((c) => [c.name || h('span', { class: 'mono', text: c.partner }), place(c), fmtNumber(c.units_held),
              c.notified_at ? fmtTime(c.notified_at) : '', c.notified_by, c.responded_at ? fmtTime(c.responded_at) : '', fmtNumber(c.units_acknowledged),
              pill(c.status === 'responded' ? 'ok' : c.overdue ? 'bad' : 'warn', c.status === 'responded' ? 'responded' : c.overdue ? 'overdue' : 'waiting')]),
            { numeric: [2, 6] }));
      } catch (error) {
        fill(box, problemView(error));
      }
    })();
    return h('section', { class: 'card', 'aria-labelledby': 'status-report-title' },
      h('h2', { id: 'status-report-title', text: 'Status report (21 CFR 7.53)' }),
      box,
      h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'secondary', id: 'status-report-html', text: 'Download the printable status report', onclick: download('html', `${id}-status.html`) }),
        h('button', { type: 'button', class: 'secondary', id: 'status-report-csv', text: 'Status report (CSV)', onclick: download('csv', `${id}-status.csv`) })));
  }

  async function loadDeliveries(id, box) {
    try {
      const answer = await api('GET', `/v1/recalls/${encodeURIComponent(id)}/deliveries`);
      const list = (answer && answer.deliveries) || [];
      if (!list.length) {
        fill(box, h('p', { class: 'empty', text: 'No webhook deliveries (yet). Partners without a webhook see the recall as a task in their console.' }));
        return;
      }
      fill(box, table('', ['When', 'Partner', 'Attempt', 'Outcome', 'HTTP', 'Error'], list.map((d) => [
        fmtTime(d.at), h('span', { class: 'mono', text: d.partner }), String(d.attempt),
        pill(d.outcome === 'delivered' ? 'ok' : d.outcome === 'dead' ? 'bad' : 'warn', d.outcome), d.http_status ? String(d.http_status) : '', d.error || '',
      ]), { numeric: [2] }));
    } catch (error) {
      fill(box, error.status === 404 || error.status === 405
        ? h('p', { class: 'empty', text: 'The delivery log is not available on this network.' })
        : problemView(error));
    }
  }

  async function downloadReport(id, button) {
    button.disabled = true;
    try {
      const { response } = await request('GET', `/v1/recalls/${encodeURIComponent(id)}/report?format=csv`, undefined, { raw: true });
      downloadBlob(await response.blob(), `${id}.csv`);
      announce('The report is downloading.');
    } catch (error) {
      button.after(problemView(error));
    } finally {
      button.disabled = false;
    }
  }

  function closeRecallForm(recall) {
    const reason = h('input', { id: 'recall-close-reason', autocomplete: 'off', required: true });
    const out = h('div', { role: 'status', 'aria-live': 'polite' });
    return h('form', {
      class: 'card', novalidate: true, 'aria-labelledby': 'close-title',
      onsubmit: async (event) => {
        event.preventDefault();
        if (!reason.value.trim()) { fill(out, notice('error', 'Give the reason for closing.')); reason.focus(); return; }
        try {
          await api('POST', `/v1/recalls/${encodeURIComponent(recall.id)}/close`, { reason: reason.value.trim() });
          await loadRecall(recall.id);
          announce(`Recall ${recall.id} closed.`);
        } catch (error) {
          fill(out, problemView(error));
        }
      },
    },
    h('h2', { id: 'close-title', text: 'Close the recall' }),
    h('p', { class: 'help', text: 'Closing ends the tasks of the partners. Recalled units stay recalled.' }),
    h('label', { for: 'recall-close-reason', text: 'Reason for closing' }), reason,
    h('button', { type: 'submit', class: 'secondary', text: 'Close the recall' }), out);
  }

  /** Notified and acknowledged shares over hours since publication, as an SVG line chart. */
  function effectivenessChart(points) {
    const W = 640;
    const H = 300;
    const m = { l: 56, r: 20, t: 16, b: 48 };
    const maxH = Math.max(1, ...points.map((p) => p.hours));
    const x = (hours) => m.l + ((W - m.l - m.r) * hours) / maxH;
    const y = (share) => H - m.b - (H - m.t - m.b) * share;
    const steps = [1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720];
    const step = steps.find((st) => maxH / st <= 8) || Math.ceil(maxH / 8);
    const last = points[points.length - 1] || { hours: 0, notified: 0, acknowledged: 0 };
    const desc = `After ${last.hours} hour${last.hours === 1 ? '' : 's'}: ${pct(last.notified)} of units notified, ${pct(last.acknowledged)} acknowledged.`;
    const children = [
      s('title', { id: 'chart-svg-title', text: 'Recall effectiveness over time' }),
      s('desc', { id: 'chart-svg-desc', text: desc }),
    ];
    for (const share of [0, 0.25, 0.5, 0.75, 1]) {
      children.push(s('line', { class: 'grid', x1: m.l, x2: W - m.r, y1: y(share), y2: y(share) }));
      children.push(s('text', { class: 'tick', x: m.l - 8, y: y(share) + 4, 'text-anchor': 'end', text: `${share * 100}%` }));
    }
    for (let hr = 0; hr <= maxH; hr += step) {
      children.push(s('line', { class: 'axis', x1: x(hr), x2: x(hr), y1: H - m.b, y2: H - m.b + 5 }));
      children.push(s('text', { class: 'tick', x: x(hr), y: H - m.b + 19, 'text-anchor': 'middle', text: String(hr) }));
    }
    children.push(s('line', { class: 'axis', x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }));
    children.push(s('line', { class: 'axis', x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }));
    children.push(s('text', { class: 'label', x: (m.l + W - m.r) / 2, y: H - 8, 'text-anchor': 'middle', text: 'Hours since publication' }));
    children.push(s('text', { class: 'label', x: 14, y: (m.t + H - m.b) / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${(m.t + H - m.b) / 2})`, text: 'Share of units' }));
    for (const series of ['notified', 'acknowledged']) {
      const coords = points.map((p) => `${x(p.hours).toFixed(1)},${y(p[series]).toFixed(1)}`).join(' ');
      children.push(s('polyline', { class: `series-${series}`, points: coords, 'data-series': series }));
      for (const p of points) children.push(s('circle', { class: `dot-${series}`, cx: x(p.hours).toFixed(1), cy: y(p[series]).toFixed(1), r: series === 'acknowledged' ? 4.5 : 3.5 }));
    }
    return s('svg', { class: 'chart', id: 'effectiveness-chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-svg-title chart-svg-desc', preserveAspectRatio: 'xMidYMid meet' }, children);
  }

  // -- alerts ----------------------------------------------------------------------------------

  async function loadAlerts() {
    const list = $('alerts-list');
    const status = $('alerts-status').value;
    fill(list, h('p', { class: 'help', text: 'Loading alerts…' }));
    try {
      const query = new URLSearchParams({ limit: '200' });
      if (status) query.set('status', status);
      const { alerts } = await api('GET', `/v1/alerts?${query}`);
      if (!alerts.length) {
        fill(list, notice('ok', status === 'open' ? 'No open alerts.' : 'No alerts.'));
        return;
      }
      fill(list, table(`${alerts.length} alert${alerts.length === 1 ? '' : 's'}`, ['Raised', 'Alert', 'Pack', 'Where', 'Status'], alerts.map((a) => [
        fmtTime(a.raised_at),
        h('span', {}, h('code', { text: a.id }), h('br'), h('code', { text: a.code }), ` ${CODE_MEANINGS[a.code] || ''}`, h('br'), h('span', { class: 'help', text: a.message })),
        h('span', { class: 'mono' }, a.gtin, h('br'), a.serial, a.lot ? [h('br'), `batch ${a.lot}`] : null),
        h('span', {}, `${a.operation} at `, glnView(a.location_gln, a.location_name ? { name: a.location_name } : null), h('br'), h('span', { class: 'mono help', text: a.partner })),
        a.status === 'closed'
          ? h('span', {}, pill('ok', 'closed'), h('br'), a.close_reason || '')
          : closeAlertControl(a),
      ])));
    } catch (error) {
      fill(list, problemView(error));
    }
  }

  function closeAlertControl(alert) {
    const id = `close-${alert.id}`;
    const select = h('select', { id: `${id}-reason` }, ALERT_CLOSE_REASONS.map((r) => h('option', { value: r, text: r })), h('option', { value: '', text: 'Other: write it below' }));
    const note = h('input', { id: `${id}-note`, autocomplete: 'off' });
    const form = h('form', {
      class: 'close-alert', hidden: true, novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const reason = [select.value, note.value.trim()].filter(Boolean).join(' - ');
        if (!reason) { note.focus(); return; }
        try {
          await api('POST', `/v1/alerts/${encodeURIComponent(alert.id)}/close`, { reason });
          fill($('alerts-status-text'), notice('ok', `Alert ${alert.id} closed: ${reason}.`));
          await loadAlerts();
          $('alerts-title').focus();
        } catch (error) {
          form.append(problemView(error));
        }
      },
    },
    h('label', { for: `${id}-reason`, text: 'Reason' }), select,
    h('label', { for: `${id}-note`, text: 'Details (optional)' }), note,
    h('button', { type: 'submit', class: 'primary small', text: 'Close the alert' }));
    const open = h('button', {
      type: 'button', class: 'secondary small', text: 'Close…', 'aria-label': `Close alert ${alert.id}`, 'aria-expanded': 'false',
      onclick: () => { form.hidden = !form.hidden; open.setAttribute('aria-expanded', String(!form.hidden)); if (!form.hidden) select.focus(); },
    });
    return h('span', {}, pill('bad', 'open'), ' ', open, form);
  }

  function setupAlerts() {
    $('alerts-filter').addEventListener('submit', (event) => { event.preventDefault(); fill($('alerts-status-text')); loadAlerts(); });
    $('alerts-status').addEventListener('change', () => { fill($('alerts-status-text')); loadAlerts(); });
  }

  // -- start -----------------------------------------------------------------------------------

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
})();
