// Small DOM helpers shared by the pages. Text is always set as text (never parsed as HTML),
// so data from the server cannot inject markup.

// h('a', {href: '#/x', class: 'b', onclick: fn}, 'text', child, [more]) → an element.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value' || k === 'checked' || k === 'indeterminate') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) { el.replaceChildren(); return el; }

const STATUS_LABELS = { opted_in: 'Opted in', opted_out: 'Opted out', not_specified: 'Not specified', pending_confirmation: 'Awaiting confirmation' };
// The statuses staff can set; pending_confirmation is reached only by an opt-in on a number with double opt-in.
export const STATUSES = ['opted_in', 'opted_out', 'not_specified'];
// Every status a contact can be in (filters).
export const ALL_STATUSES = [...STATUSES, 'pending_confirmation'];
export function statusLabel(s) { return STATUS_LABELS[s] || s; }
export function statusPill(s) { return h('span', { class: `pill ${s}` }, statusLabel(s)); }

export const LEGAL_BASES = [
  ['consent', 'Consent (GDPR Art. 6(1)(a))'],
  ['consent_with_notice', 'Consent given with a privacy notice'],
  ['contract', 'Performance of a contract'],
  ['legitimate_interest', 'Legitimate interest (GDPR Art. 6(1)(f))'],
  ['existing_customer', 'Existing customer, similar products (Markedsføringsloven §10(2))'],
  ['not_subject_to_gdpr', 'Not subject to GDPR'],
];
export function legalBasisLabel(v) {
  const found = LEGAL_BASES.find(([k]) => k === v);
  return found ? found[1] : v;
}

const KIND_LABELS = { long_code: 'Long code', toll_free: 'Toll-free', short_code: 'Short code' };
export function kindLabel(k) { return KIND_LABELS[k] || k; }

const SOURCE_LABELS = {
  keyword: 'Keyword from the contact', contact_request: 'The contact\'s request (recorded on their behalf)',
  carrier: 'STOP reported by the carrier',
  manual: 'Manual change', bulk: 'Bulk change', api: 'API', import: 'Import', system: 'System',
};
export function sourceLabel(s) { return SOURCE_LABELS[s] || s || '—'; }

// How a contact may ask to stop other than by a text keyword (an opt-out on their behalf).
export const CHANNELS = [
  ['phone', 'Phone call'], ['email', 'Email'], ['in_person', 'In person'], ['web', 'Web form'],
  ['mail', 'Letter'], ['other_sms', 'Another text message'],
];
export function channelLabel(c) {
  if (c === 'sms') return 'Text message';
  const found = CHANNELS.find(([k]) => k === c);
  return found ? found[1] : c || '—';
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {}, iso);
  return h('time', { datetime: iso, title: iso }, dateTime.format(d));
}

export function plural(n, one, many) { return `${n.toLocaleString()} ${n === 1 ? one : many}`; }

export function alertBox(kind, title, text) {
  return h('div', { class: `alert ${kind}`, role: kind === 'error' ? 'alert' : null },
           title ? h('strong', { class: 'alert-title' }, title) : null, text);
}

export function emptyState(title, text, action) {
  return h('div', { class: 'empty' }, h('strong', {}, title), text ? h('p', {}, text) : null, action || null);
}

export function toast(message, kind = '') {
  const box = document.getElementById('toasts');
  const t = h('div', { class: `toast ${kind}` }, message);
  box.append(t);
  setTimeout(() => t.remove(), 5000);
}

// A modal <dialog> with a title; returns {dialog, body, close}. Escape and the × close it;
// focus returns to the element that opened it.
export function openDialog(title, { onClose } = {}) {
  const opener = document.activeElement;
  const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
  const body = h('div', { class: 'dialog-body' });
  const dialog = h('dialog', { 'aria-labelledby': titleId },
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, title),
      h('button', { type: 'button', class: 'close', 'aria-label': 'Close', onclick: () => close() }, '×')),
    body);
  function close() { if (dialog.open) dialog.close(); }
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (onClose) onClose();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, body, close };
}

// <label> + control + optional hint, with ids wired for screen readers.
let fieldSeq = 0;
export function field(labelText, control, hint) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = hint instanceof Node ? hint : h('div', {}, hint);
    hintEl.classList.add('hint');
    hintEl.id = hintEl.id || `${id}-hint`;
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: id }, labelText), control, hintEl);
}

export function select(name, options, value) {
  return h('select', { name },
    options.map(([v, label, disabled]) => h('option', { value: v, selected: v === value, disabled }, label)));
}

// Debounces fn by `ms`.
export function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

// Triggers a download of text as a file.
export function download(name, text, type) {
  const a = h('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
