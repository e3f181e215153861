/* verinet console: The History page: every scan of the session (this tab only). */

import { $, clockTime, fill, h, HISTORY_KEY, MAX_HISTORY, pill, STATE_LABELS, table } from './core.js';
import { codeDetails, KIND_PILL } from './results.js';
import { visibleScan } from './scanning.js';

export function loadHistory() {
  try { return JSON.parse(sessionStorage.getItem(HISTORY_KEY) || '[]'); } catch { return []; }
}
export function addHistory(entries) {
  const all = [...entries.slice().reverse(), ...loadHistory()].slice(0, MAX_HISTORY);
  sessionStorage.setItem(HISTORY_KEY, JSON.stringify(all));
}
export function packKey(gtin, serial) { return `${gtin}|${serial}`; }
/** The last successful state change this session made to a pack, if any. */
export function lastChangeHere(gtin, serial) {
  return loadHistory().find((e) => e.ok && e.gtin === gtin && e.serial === serial && (e.op === 'decommission' || e.op === 'reactivate')) || null;
}

export function renderHistory() {
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

export function opLabel(op, target) {
  if (op === 'verify') return 'Verify';
  if (op === 'reactivate') return 'Undo';
  if (op === 'decommission') return target === 'supplied' ? 'Dispense' : `Decommission (${STATE_LABELS[target] || target})`;
  return op;
}
