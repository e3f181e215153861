/* verinet console: The Products page (manufacturer): products and directory entries. */

import { $, api, fill, fmtTime, h, notice, problemView, request } from './core.js';
import { route } from './router.js';

export function setupProducts() {
  $('product-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const status = $('product-status');
    const gtin = $('product-gtin').value.trim();
    if (!/^\d{14}$/.test(gtin)) {
      fill(status, notice('error', 'Enter the GTIN as 14 digits (pad shorter GTINs with leading zeros).'));
      $('product-gtin').focus();
      return;
    }
    try {
      const answer = await request('PUT', `/v1/products/${gtin}`, { name: $('product-name').value.trim() });
      fill(status, notice('ok', h('strong', { text: answer.status === 201 ? 'Product registered. ' : 'Product updated. ' }),
        `${answer.data.gtin} “${answer.data.name || 'no name'}” is hosted here: verifications of its packs are answered by verinet.`));
    } catch (error) {
      fill(status, problemView(error));
    }
  });
  $('directory-lookup').addEventListener('submit', async (event) => {
    event.preventDefault();
    const status = $('directory-status');
    const kind = $('directory-kind').value;
    const key = $('directory-key').value.trim();
    if (!key) { $('directory-key').focus(); return; }
    try {
      const entry = await api('GET', `/v1/directory/${kind}/${encodeURIComponent(key)}`);
      $('directory-route').value = entry.route || 'hosted';
      $('directory-url').value = entry.url || '';
      $('directory-gln').value = entry.responder_gln || '';
      fill(status, entryView(entry, 'Found'));
    } catch (error) {
      fill(status, error.status === 404
        ? notice('info', `No directory entry for ${key} yet. Fill in the form above to create one.`)
        : problemView(error));
    }
  });
  $('directory-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const status = $('directory-status');
    const kind = $('directory-kind').value;
    const key = $('directory-key').value.trim();
    if (!key) { fill(status, notice('error', 'Enter the GTIN or prefix first.')); $('directory-key').focus(); return; }
    const body = { route: $('directory-route').value };
    if ($('directory-url').value.trim()) body.url = $('directory-url').value.trim();
    if ($('directory-gln').value.trim()) body.responder_gln = $('directory-gln').value.trim();
    try {
      const answer = await request('PUT', `/v1/directory/${kind}/${encodeURIComponent(key)}`, body);
      fill(status, entryView(answer.data, answer.status === 201 ? 'Created' : 'Saved'));
    } catch (error) {
      fill(status, problemView(error));
    }
  });
}

export function entryView(entry, verb) {
  return notice('ok', h('strong', { text: `${verb}: ${entry.kind} ${entry.key}` }),
    h('dl', { class: 'result-meta' },
      h('dt', { text: 'Route' }), h('dd', { text: entry.route }),
      entry.url ? [h('dt', { text: 'URL' }), h('dd', { text: entry.url })] : null,
      h('dt', { text: 'Responder GLN' }), h('dd', { text: entry.responder_gln || '—' }),
      h('dt', { text: 'Owner' }), h('dd', { text: entry.owner || '—' }),
      h('dt', { text: 'Updated' }), h('dd', { text: fmtTime(entry.updated_at) || '—' })));
}
