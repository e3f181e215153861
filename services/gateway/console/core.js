/* verinet console: Shared by every page: constants, the session state (`app`), DOM helpers, formatting, and the API client. */

export const TOKEN_KEY = 'verinet.console.token';
export const HISTORY_KEY = 'verinet.console.history';
export const RECALLS_KEY = 'verinet.console.recalls';
export const GS_SETTING_KEY = 'verinet.console.gs'; // a device setting, not a secret: localStorage
export const GS = '\u001d';
export const MAX_HISTORY = 500;
export const MAX_TOTE = 1000;
export const COMMISSION_CHUNK = 1000;
export const HOLDER_ROLES = ['dispenser', 'wholesaler'];

export const STATE_LABELS = {
  active: 'active', supplied: 'supplied (dispensed)', destroyed: 'destroyed', sample: 'sample',
  stolen: 'stolen', free_sample: 'free sample', locked: 'locked (quarantine)', exported: 'exported',
  checked_out: 'checked out', expired: 'expired', recalled: 'recalled', withdrawn: 'withdrawn',
  illegitimate: 'illegitimate',
};
export const DECOMMISSIONED = new Set(['supplied', 'destroyed', 'stolen', 'sample', 'free_sample', 'exported', 'locked', 'checked_out', 'illegitimate']);
/** States whose decommission its author may undo at the same location (never destroyed,
 * stolen, exported or illegitimate); locked has no deadline, the others 240 hours. */
export const REVERSIBLE = new Set(['supplied', 'sample', 'free_sample', 'checked_out', 'locked']);
export const UNDO_WINDOW_MS = 240 * 3600 * 1000;
export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
export const CODE_MEANINGS = {
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
export const ALERT_CLOSE_REASONS = [
  '06b End User - technical error',
  '06f End User process error - cannot be dispensed',
  'Scanner or keying error: the pack rescanned correctly',
  'Repository data error corrected by the manufacturer',
  'Suspected falsification reported to the competent authority',
];

export const app = {
  token: null,
  me: null,
  packRoles: {}, // role -> {operations, states}: the verifier's table, from GET /v1/packs/roles
  onTokenRefused: () => {}, // signs out (set by signin.js): the API client knows no pages
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

export const $ = (id) => document.getElementById(id);

/** h('p', {class: 'x', text: 'y', onclick: fn}, child...) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

export function s(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

export function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'text') el.textContent = String(value);
    else if (key === 'class') el.setAttribute('class', value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
}

export function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children; like h(), skips null and flattens arrays. */
export function fill(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
  return el;
}

export function announce(text) {
  const region = $('announcer');
  region.textContent = '';
  window.setTimeout(() => { region.textContent = text; }, 30);
}

export function fmtNumber(n) { return Number(n || 0).toLocaleString('en-GB'); }
export function pct(x) { return `${Math.round(Number(x || 0) * 1000) / 10}%`; }
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}
export function clockTime(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
export function newId(prefix) {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
export function pill(kind, text) { return h('span', { class: `pill pill-${kind}`, text }); }
export function table(caption, headers, rows, { numeric = [] } = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      caption ? h('caption', { text: caption }) : null,
      h('thead', {}, h('tr', {}, headers.map((name, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : null, text: name })))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, i) => h('td', { class: numeric.includes(i) ? 'num' : null }, cell)))))));
}
/** A GLN as people read it: the name its partner gave it (EPCIS Location master data, in an
 * answer's `location`) before the GLN, the address as its title; else the GLN alone. */
export function glnView(gln, location) {
  if (!location || !location.name) return h('span', { class: 'mono', text: gln });
  return h('span', { class: 'gln-named', title: location.address || '' }, location.name, ' ', h('span', { class: 'mono', text: `(${gln})` }));
}
export function notice(kind, ...children) { return h('div', { class: `notice notice-${kind}` }, ...children); }

/** First characters that make a spreadsheet run a cell, and the quote that neutralises them:
 * the rule of verinet.csv_cells (shared/csv_cells.py), kept equal by a test. */
export const CSV_FORMULA_STARTS = '=+-@\t\r\'\uff1d\uff0b\uff0d\uff20';
/** One CSV cell: quoted, quotes doubled, and a single quote in front when a spreadsheet would
 * run it as a formula (OWASP CSV injection). */
export function csvCell(value) {
  let text = String(value ?? '');
  if (text && CSV_FORMULA_STARTS.includes(text[0])) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// -- the API ---------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title || problem.message)) || `The request failed (HTTP ${status}).`);
    this.status = status;
    this.problem = problem || {};
  }
}

export async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return { detail: text.trim() }; }
}

/** One request; answers {status, data}, throws ApiError for 4xx/5xx and network failures. */
export async function request(method, path, body, { token = app.token, raw = false, contentType = null } = {}) {
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
      app.onTokenRefused('Your token was refused (revoked or expired?). Sign in again.');
    }
    throw new ApiError(response.status, problem);
  }
  if (raw) return { status: response.status, response };
  return { status: response.status, data: await readBody(response) };
}

export async function api(method, path, body, options) {
  return (await request(method, path, body, options)).data;
}

export function problemView(error) {
  const p = error.problem || {};
  return notice('error',
    h('strong', { text: error.message }),
    p.code ? h('span', {}, ' ', h('code', { text: p.code })) : null,
    p.field ? h('span', { text: ` (field ${p.field})` }) : null,
    p.hint ? h('p', { class: 'hint', text: p.hint }) : null);
}

export function showPageError(error) {
  const box = $('page-error');
  fill(box, h('strong', { text: error.message || String(error) }));
  box.hidden = false;
}
