/* verinet console: The Recall page: one recall, its effectiveness chart, report, deliveries and closing. */

import { $, announce, api, app, downloadBlob, fill, fmtNumber, fmtTime, glnView, h, notice, pct, pill, problemView, request, s, table } from './core.js';
import { rememberRecall } from './recalls.js';
import { hasRole } from './signin.js';

export async function loadRecall(id) {
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
export function statusReportCard(id) {
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

export async function loadDeliveries(id, box) {
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

export async function downloadReport(id, button) {
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

export function closeRecallForm(recall) {
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
export function effectivenessChart(points) {
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
