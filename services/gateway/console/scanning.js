/* verinet console: Reading scans: GS separators, Digital Link URIs, normalisation. */

import { $, fill, GS, GS_SETTING_KEY, h } from './core.js';

export function gsSubstitute() { return localStorage.getItem(GS_SETTING_KEY) || ''; }

/** What the scanner sent, as the API should get it: GS as ASCII 29, edges without spaces. */
export function normalizeScan(text) {
  let out = String(text || '').replace(/\u241d/g, GS).replace(/[\r\n]+$/g, '');
  const sub = gsSubstitute();
  if (sub.length === 1) out = out.split(sub).join(GS);
  return out.replace(/^[ \t]+|[ \t]+$/g, '');
}

export function packOf(text) {
  return /^(https?:\/\/|\]d1|\]Q1)/i.test(text) ? { uri: text } : { scan: text };
}

/** The scan as text with each GS drawn as a visible marker. */
export function visibleScan(text, markAt) {
  const parts = [];
  const chars = Array.from(text);
  let run = '';
  const flush = () => { if (run) { parts.push(run); run = ''; } };
  chars.forEach((ch, i) => {
    if (i === markAt) { flush(); parts.push(h('mark', { text: ch === GS ? '‹GS›' : ch })); return; }
    if (ch === GS) { flush(); parts.push(h('span', { class: 'gs', 'aria-label': 'group separator', text: 'GS' })); return; }
    run += ch;
  });
  flush();
  if (markAt !== undefined && markAt >= chars.length) parts.push(h('mark', { text: '␣', 'aria-label': 'end of the scan' }));
  return parts;
}

export function insertAtCaret(input, text) {
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? input.value.length;
  input.setRangeText(text, start, end, 'end');
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

/** Keyboard-wedge scanners send GS as Ctrl+] (or a key set in the scanner setup). */
export function installScanner(input, echo) {
  input.addEventListener('keydown', (event) => {
    const sub = gsSubstitute();
    const isGs = (event.ctrlKey && !event.altKey && (event.key === ']' || event.code === 'BracketRight'))
      || event.key === GS || event.key === 'GroupSeparator'
      || (sub.length > 1 && event.key === sub);
    if (isGs) {
      event.preventDefault();
      insertAtCaret(input, GS);
    }
  });
  if (echo) {
    input.addEventListener('input', () => {
      const text = normalizeScan(input.value);
      fill(echo, ...(text ? ['Read as: ', ...visibleScan(text)] : []));
    });
  }
}
