/* verinet console: The Scan desk page: one pack at a time. */

import { $, announce, api, app, fill, GS_SETTING_KEY, h, newId, STATE_LABELS } from './core.js';
import { addHistory, lastChangeHere } from './history.js';
import { historyEntry, mayUndo, renderResult, viewFor } from './results.js';
import { gsSubstitute, installScanner, normalizeScan, packOf, visibleScan } from './scanning.js';
import { settableStates } from './signin.js';

export function scanMode() { return document.querySelector('input[name="scan-mode"]:checked').value; }

export function fillStateSelects() {
  const states = settableStates();
  for (const select of document.querySelectorAll('.state-select')) {
    fill(select, ...states.map((st) => h('option', { value: st, text: STATE_LABELS[st] || st })));
  }
}

export function fillLocationSelects() {
  const glns = (app.me && app.me.glns) || [];
  for (const select of document.querySelectorAll('.location-select')) {
    fill(select, ...glns.map((gln) => h('option', { value: gln, text: gln })));
    select.closest('.field').hidden = glns.length <= 1;
  }
}

export function locationOf(selectId) {
  const value = $(selectId).value;
  return value ? { location_gln: value } : {};
}

export function updateScanButton() {
  const mode = scanMode();
  const target = $('scan-state').value;
  $('scan-submit').textContent = mode === 'verify' ? 'Verify' : target === 'supplied' ? 'Dispense' : 'Decommission';
}

export function enterScan() { updateScanButton(); }

/** One pack operation from the scan desk: the request, the big answer, the history. */
export async function runSingle(op, pack, text, target) {
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

export function packFields(r) {
  const out = { gtin: r.gtin, serial: r.serial };
  if (r.lot) out.lot = r.lot;
  if (r.expiry) out.expiry = r.expiry;
  return out;
}

export function renderScanActions() {
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

export async function act(op, r, target) {
  for (const button of $('scan-actions').querySelectorAll('button')) button.disabled = true;
  await runSingle(op, packFields(r), '', target);
  $('scan-input').focus();
}

export function setupScan() {
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
