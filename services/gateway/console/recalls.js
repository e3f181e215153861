/* verinet console: The Recalls page (manufacturer): the list, and the recall form with its scope preview. */

import { $, announce, api, app, fill, fmtNumber, glnView, h, notice, pill, problemView, RECALLS_KEY, s, table } from './core.js';
import { installScanner, normalizeScan, packOf } from './scanning.js';

export function knownRecalls() {
  try { return JSON.parse(sessionStorage.getItem(RECALLS_KEY) || '[]'); } catch { return []; }
}
export function rememberRecall(recall) {
  const entry = { id: recall.id, class: recall.class, reason: recall.reason, mock: Boolean(recall.mock), units: recall.units, published_at: recall.published_at || new Date().toISOString() };
  const all = [entry, ...knownRecalls().filter((r) => r.id !== recall.id)].slice(0, 200);
  sessionStorage.setItem(RECALLS_KEY, JSON.stringify(all));
}

export async function loadRecalls() {
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

export function lines(text) { return String(text || '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean); }

export function utcValue(localValue) {
  if (!localValue) return '';
  return `${localValue.length === 16 ? `${localValue}:00` : localValue}Z`;
}

/** The recall form as the API body; the same body goes to preview and publish. */
export function recallBody() {
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

export function hasScope(body) {
  return Boolean((body.units && body.units.length) || (body.gtins.length && (body.lots || body.line || body.window)));
}

export function schedulePreview() {
  window.clearTimeout(app.previewTimer);
  app.recallConfirm = false;
  updatePublishButton();
  app.previewTimer = window.setTimeout(runPreview, 350);
}

export async function runPreview() {
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

export function previewView(preview) {
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

export function updatePublishButton() {
  const button = $('recall-publish');
  const drill = $('recall-drill').checked;
  button.className = drill ? 'primary' : 'danger';
  button.textContent = drill ? 'Start the drill' : app.recallConfirm ? 'Confirm: publish this recall now' : 'Publish the recall';
}

export function setupRecallForm() {
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
