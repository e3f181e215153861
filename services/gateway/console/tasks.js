/* verinet console: The Recall tasks page (holders): units to confirm and acknowledge. */

import { $, announce, api, downloadBlob, fill, fmtTime, glnView, h, notice, pill, problemView, request } from './core.js';

export async function refreshTaskBadge() {
  try {
    const { tasks } = await api('GET', '/v1/recall-tasks');
    const badge = $('tasks-badge');
    fill(badge, String(tasks.length), h('span', { class: 'visually-hidden', text: ' open' }));
    badge.hidden = tasks.length === 0;
  } catch { /* the page shows the error when opened */ }
}

export async function loadTasks() {
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

export function taskCard(task) {
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
