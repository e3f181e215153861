/* verinet console: The Commission page (manufacturer): pack uploads in chunks, with a per-row report. */

import { $, api, COMMISSION_CHUNK, csvCell, downloadBlob, fill, fmtNumber, h, notice, s, table } from './core.js';
import { normalizeScan } from './scanning.js';

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. Yields [lineNumber, fields]. */
export function* csvRecords(text) {
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

export const PACK_COLUMNS = ['gtin', 'serial', 'lot', 'expiry', 'line', 'commissioned_at', 'scan', 'uri'];

/** The file as rows to send ({line, pack}) and rows refused before sending ({line, message}). */
export function readPacksFile(text) {
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

export function setupCommission() {
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

export async function uploadPacks(file) {
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

export function renderCommissionReport(totals, errors, stopped, filename) {
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
