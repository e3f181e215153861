/* verinet console: The Tote page: many scans, one bulk request. */

import { $, api, app, fill, fmtNumber, h, MAX_TOTE, newId, notice, pill, problemView, REVERSIBLE, table } from './core.js';
import { addHistory, opLabel } from './history.js';
import { classify, codeDetails, describe, historyEntry, KIND_PILL } from './results.js';
import { locationOf, packFields } from './scan.js';
import { installScanner, normalizeScan, packOf, visibleScan } from './scanning.js';

export function setupTote() {
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

export function updateToteButton() {
  const n = app.tote.length;
  const op = $('tote-op').value;
  $('tote-state').closest('.field').hidden = op !== 'decommission';
  const verb = op === 'verify' ? 'Verify' : 'Decommission';
  $('tote-send').textContent = n ? `${verb} ${n} pack${n === 1 ? '' : 's'}` : 'Send the tote';
  $('tote-send').disabled = n === 0;
}

export function renderTote() {
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

export async function sendTote() {
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

export function renderToteSummary(op, target, items, answer) {
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
