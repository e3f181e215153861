/* verinet console: The Alerts page: open and closed alerts, closed with a reason. */

import { $, ALERT_CLOSE_REASONS, api, CODE_MEANINGS, fill, fmtTime, glnView, h, notice, pill, problemView, table } from './core.js';

export async function loadAlerts() {
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

export function closeAlertControl(alert) {
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

export function setupAlerts() {
  $('alerts-filter').addEventListener('submit', (event) => { event.preventDefault(); fill($('alerts-status-text')); loadAlerts(); });
  $('alerts-status').addEventListener('change', () => { fill($('alerts-status-text')); loadAlerts(); });
}
