/* verinet console: Understanding one pack result: what it means in plain words, and whether it may be undone. */

import { $, api, app, clockTime, CODE_MEANINGS, DECOMMISSIONED, fill, h, MONTHS, REVERSIBLE, STATE_LABELS, UNDO_WINDOW_MS } from './core.js';
import { lastChangeHere } from './history.js';
import { visibleScan } from './scanning.js';
import { hasRole } from './signin.js';

/** An expiry as people read it: "31 Dec 2028"; day 00 stands for the end of the month. */
export function expiryText(yymmdd) {
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
export function codeDetails(code) {
  if (!code) return '';
  return h('details', { class: 'code-details' },
    h('summary', { text: 'Details' }),
    h('code', { text: code }), CODE_MEANINGS[code] ? ` ${CODE_MEANINGS[code]}` : '');
}

export function dateTime(iso) {
  const at = new Date(iso);
  return `${at.getDate()} ${MONTHS[at.getMonth()]} ${at.getFullYear()} at ${clockTime(iso)}`;
}

/** Whether this partner, at the chosen location, may still undo the decommission ``here``
 * ({at, gln}) of a pack now in ``state``. */
export function mayUndo(state, here) {
  if (!here || !REVERSIBLE.has(state)) return false;
  const location = $('scan-location').value || ((app.me && app.me.glns) || [])[0];
  if (here.gln && location && here.gln !== location) return false;
  return state === 'locked' || Date.now() - new Date(here.at).getTime() <= UNDO_WINDOW_MS;
}

/** The pack's last state change, from its history, when this partner made it: {at, gln}.
 * The session's own record covers this desk; the history covers other desks and days. */
export async function decommissionedByMe(r) {
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

export const KIND_PILL = {
  genuine: 'ok', decommissioned: 'ok', reactivated: 'ok',
  recalled: 'bad', withdrawn: 'bad', alert: 'bad', inactive: 'bad',
  expired: 'warn', repeat: 'warn', inactiveHere: 'warn', nothingToUndo: 'warn', refused: 'warn',
  badscan: 'scan', error: 'bad',
};
export const KIND_PANEL = { ok: 'result-ok', bad: 'result-bad', warn: 'result-warn', scan: 'result-scan', info: 'result-warn' };
export const KIND_ICON = {
  genuine: '✓', decommissioned: '✓', reactivated: '↺', recalled: '✕', withdrawn: '✕', alert: '!',
  inactive: '✕', expired: '⌛', repeat: '!', inactiveHere: '!', nothingToUndo: 'i', refused: '!',
  badscan: '?', error: '!',
};

export function classify(op, r) {
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

/** What a result means and what to do next, for the kinds whose advice never varies. */
const FIXED_ADVICE = new Map(Object.entries({
  reactivated: { title: 'Undone: the pack is active again', next: 'Put the pack back into saleable stock.' },
  recalled: { title: 'Recalled', next: 'Do not supply this pack. Quarantine it and follow the recall notice.' },
  withdrawn: { title: 'Product withdrawn', next: 'Do not supply this pack. Return or destroy it as the manufacturer instructs.' },
  expired: { title: 'Expired', next: 'Do not supply this pack. Dispose of it as expired stock.' },
  alert: { title: 'Alert raised', next: 'Do not supply this pack. Keep it in quarantine while the alert is investigated.' },
  nothingToUndo: { title: 'Nothing to undo', next: 'The pack is already active.' },
  badscan: { title: 'Bad scan: the code could not be read', next: 'Scan the pack again. If it fails again, check the scanner setup, or report the pack.' },
}));

export function describe(op, r, kind, target, here) {
  if (FIXED_ADVICE.has(kind)) return { ...FIXED_ADVICE.get(kind) };
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
    default:
      return { title: op === 'reactivate' ? 'Undo refused' : 'Refused', next: r.message || CODE_MEANINGS[r.code] || 'The request was refused.' };
  }
}

/** For bad scans and scanning-related alerts: ask the parser what it sees, for its hint. */
export async function diagnose(text) {
  try {
    return { parsed: await api('POST', '/v1/identifiers/parse', { data: text }) };
  } catch (error) {
    if (error.status === 400) return { problem: error.problem };
    return {};
  }
}

export function resultMeta(r, opTarget) {
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

export function renderResult(panel, view) {
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

export async function viewFor(op, r, text, target) {
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

export function historyEntry(op, r, text, target, view) {
  return {
    at: new Date().toISOString(), op, target: op === 'decommission' ? target : '', text,
    gtin: r.gtin || '', serial: r.serial || '', ok: Boolean(r.ok), state: r.state || '',
    code: r.code || '', alert_id: r.alert_id || '', kind: view.kind, title: view.title,
  };
}
