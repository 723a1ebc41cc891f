// The contact record's "send a message" dialog: the sender number, the purpose and the body,
// with what will really be sent previewed by the server as the user types (POST
// /v1/messages/preview: the body with the number's opt-out notice when its policy adds it, its
// segments and encoding, a refusal or a deferral ahead of time), then POST /v1/messages with
// one Idempotency-Key per opening of the dialog, so that a double click or a retry after a
// network error queues the message once.
import { api, describe } from './api.js';
import { h, field, openDialog, alertBox, time, statusLabel, debounce } from './ui.js';
import { countSegments } from './segments.js';

// Quiet time after the last change before the server is asked; with at most one preview in
// flight, typing costs at most one request per pause and never a queue of them.
const PREVIEW_DELAY_MS = 300;

const FIELDS = ['from', 'purpose', 'body'];

// A refusal (the 409's code, or the preview's) as a sentence about this contact and number;
// a code the page does not know yet is told in the server's own words.
export function refusalSentence(code, message, who, number) {
  switch (code) {
    case 'opted_out':
      return `${who} opted out on ${number}: nothing may be sent to them from this number, marketing or transactional.`;
    case 'not_opted_in':
      return `${who} is not opted in on ${number}. Marketing needs their opt-in; a transactional message (an order, an appointment) may still be sent.`;
    case 'pending_confirmation':
      return `${who} was asked to confirm their opt-in on ${number} and has not replied yet: marketing waits for the confirmation.`;
    case 'frequency_capped':
      return `${who} has had as many messages from ${number} as its frequency cap allows for now. ${message || ''}`.trim();
    case 'number_not_permitted':
      return `${number} is a short code, and this account has no SMS short code add-on to send from it.`;
    case 'addon_missing':
      return 'This account has no Marketing SMS Access add-on, which sending SMS needs.';
    default:
      return message || code;
  }
}

// 128 random bits; crypto.getRandomValues works on plain http too, unlike randomUUID.
function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// The field a 400's message names ("'body' must not be empty"), or null.
function namedField(message) {
  const m = /'(to|from|body|purpose|send_at)'/.exec(message || '');
  return m && FIELDS.includes(m[1]) ? m[1] : null;
}

function segmentLine(s, pending) {
  return h('div', { class: `counter${s.segments > 1 ? ' multi' : ''}${pending ? ' pending' : ''}`, id: 'send-counter' },
    h('span', { class: 'seg' }, `${s.segments} ${s.segments === 1 ? 'segment' : 'segments'}`),
    h('span', { class: 'enc' }, s.encoding),
    h('span', { class: 'chars' }, `${s.characters} ${s.encoding === 'GSM-7' ? 'septets' : 'UTF-16 units'}`),
    h('span', { class: 'cap' }, `${s.per_segment} per segment`),
    pending ? h('span', { class: 'muted' }, 'checking…') : null);
}

// When a deferred message will arrive, in the recipient's time zone and the user's.
function deferredText(d) {
  const zone = (d.zones || [])[0];
  let there = '';
  if (zone) {
    try {
      there = ` (${new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: zone }).format(new Date(d.until))} in ${zone})`;
    } catch { there = ''; }
  }
  return [time(d.until), there];
}

// Opens the dialog. numbers: the account's sender numbers; statuses: Map number id → the
// contact's status on it; onSent(message) after a message was queued.
export function openSendDialog({ contact, numbers, statuses, onSent }) {
  const who = contact.name || contact.phone;
  const { body: host } = openDialog(`Send a message to ${who}`);
  let key = newIdempotencyKey();

  const statusOf = (n) => statuses.get(n.id) || 'not_specified';
  const preferred = numbers.find((n) => statusOf(n) === 'opted_in') || numbers[0];
  const from = h('select', { name: 'from' }, numbers.map((n) =>
    h('option', { value: String(n.id), selected: n.id === preferred.id }, `${n.number} · ${statusLabel(statusOf(n))}`)));
  const purposes = h('div', { class: 'radios', role: 'radiogroup', 'aria-labelledby': 'send-purpose-legend' },
    [['marketing', 'Marketing'], ['transactional', 'Transactional']].map(([v, label]) =>
      h('label', {}, h('input', { type: 'radio', name: 'purpose', value: v, checked: v === 'marketing' }), label)));
  const text = h('textarea', { name: 'body', rows: 5, placeholder: 'e.g. Spring service week: 20% off a full tune-up until Sunday.' });
  const errors = Object.fromEntries(FIELDS.map((f) => [f, h('div', { class: 'field-error', id: `send-${f}-error`, role: 'alert' })]));
  const counterHost = h('div', { 'aria-live': 'polite' });
  const noticeHost = h('div', { id: 'send-notice' });
  const checkHost = h('div', { id: 'send-check', 'aria-live': 'polite' });
  const error = h('div', { id: 'send-error' });
  const result = h('div', { id: 'send-result', 'aria-live': 'polite' });
  const sendButton = h('button', { type: 'submit', class: 'primary', id: 'send-button' }, 'Send');
  const cancelButton = h('button', { type: 'button', onclick: () => host.closest('dialog').close() }, 'Cancel');
  const anotherButton = h('button', { type: 'button', id: 'send-another', hidden: true, onclick: another }, 'Send another');
  const form = h('form', { novalidate: true, id: 'send-form' },
    error,
    field('Sender number', from, 'The contact\'s status on each number is shown beside it.'), errors.from,
    h('fieldset', {}, h('legend', { id: 'send-purpose-legend' }, 'Purpose'), purposes,
      h('div', { class: 'hint' }, 'Marketing needs the contact\'s opt-in on the number and may carry its opt-out notice; transactional (orders, appointments) goes to anyone who has not opted out.')),
    errors.purpose,
    field('Message', text, counterHost), errors.body,
    noticeHost,
    checkHost,
    result,
    h('div', { class: 'dialog-foot' }, cancelButton, anotherButton, sendButton));
  host.append(form);
  text.focus();

  const purpose = () => form.querySelector('input[name=purpose]:checked').value;
  const number = () => numbers.find((n) => String(n.id) === from.value);
  const request = () => ({ to: contact.phone, from: Number(from.value), body: text.value, purpose: purpose() });

  // The last answer of the server, and the request it answered.
  let last = null;
  let lastReq = null;
  let inFlight = false;
  let again = false;
  let changes = 0;

  // What the server added to the body (the notice), while the number and purpose stay.
  function addedSuffix(req) {
    if (!last || !lastReq || last.refusal || lastReq.from !== req.from || lastReq.purpose !== req.purpose) return '';
    return last.body.startsWith(lastReq.body) ? last.body.slice(lastReq.body.length) : '';
  }

  // Counts at once from the text, with the last known notice; the server's answer replaces it.
  function showLocal() {
    const req = request();
    if (!req.body.trim()) {
      counterHost.replaceChildren(segmentLine(countSegments(''), false));
      noticeHost.replaceChildren();
      checkHost.replaceChildren();
      return;
    }
    counterHost.replaceChildren(segmentLine(countSegments(req.body + addedSuffix(req)), true));
  }

  function showPreview(p) {
    counterHost.replaceChildren(segmentLine(p, false));
    noticeHost.replaceChildren(p.opt_out_notice
      ? alertBox('info', 'The opt-out notice is added', [
        `The policy of ${number().number} adds its opt-out notice to this marketing message to ${who}, on a line of its own and counted above: `,
        h('span', { class: 'quote' }, `“${p.body.slice(lastReq.body.length).trim()}”`)])
      : '');
    const checks = [];
    if (p.refusal) {
      checks.push(alertBox('warn', 'This message would be refused', refusalSentence(p.refusal.code, p.refusal.message, who, number().number)));
    } else if (p.deferred) {
      checks.push(alertBox('info', 'It would wait for the recipient\'s daytime', ['Quiet hours hold now where the recipient lives, so it would go out ', ...deferredText(p.deferred), '.']));
    }
    checkHost.replaceChildren(...checks);
  }

  function clearFieldErrors() {
    for (const f of FIELDS) errors[f].replaceChildren();
    text.removeAttribute('aria-invalid');
  }

  function showError(e, title) {
    const f = e.status === 400 ? namedField(e.message) : null;
    if (f) {
      errors[f].replaceChildren(alertBox('error', null, describe(e)));
      if (f === 'body') text.setAttribute('aria-invalid', 'true');
      return;
    }
    const message = e.status === 409 && e.code !== 'ALREADY_EXISTS' && e.code !== 'FAILED_PRECONDITION'
      ? refusalSentence(e.code, e.message, who, number().number) : describe(e);
    error.replaceChildren(alertBox('error', title, message));
  }

  async function preview() {
    if (inFlight) { again = true; return; }
    const req = request();
    if (!req.body.trim() || !sendButton.isConnected || form.dataset.sent) return;
    const seen = changes;
    inFlight = true;
    try {
      const p = await api('POST', '/v1/messages/preview', { body: req });
      if (seen === changes) {
        clearFieldErrors();
        error.replaceChildren();
        last = p;
        lastReq = req;
        showPreview(p);
      }
    } catch (e) {
      if (seen === changes) {
        clearFieldErrors();
        error.replaceChildren();
        counterHost.replaceChildren(segmentLine(countSegments(req.body), false));
        noticeHost.replaceChildren();
        checkHost.replaceChildren();
        showError(e, 'The message cannot be checked');
      }
    } finally {
      inFlight = false;
      if (again) { again = false; preview(); }
    }
  }
  const previewSoon = debounce(preview, PREVIEW_DELAY_MS);
  function changed() {
    changes += 1;
    showLocal();
    previewSoon();
  }
  for (const el of [from, purposes, text]) el.addEventListener(el === text ? 'input' : 'change', changed);
  showLocal();

  let sending = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (sending || form.dataset.sent) return;
    clearFieldErrors();
    error.replaceChildren();
    if (!text.value.trim()) {
      errors.body.replaceChildren(alertBox('error', null, 'Write the message.'));
      text.setAttribute('aria-invalid', 'true');
      text.focus();
      return;
    }
    sending = true;
    sendButton.disabled = true;
    sendButton.textContent = 'Sending…';
    try {
      const m = await api('POST', '/v1/messages', { body: request(), headers: { 'Idempotency-Key': key } });
      sent(m);
    } catch (e) {
      showError(e, e.status === 409 ? 'Not sent' : 'The message could not be sent');
      sendButton.disabled = false;
      sendButton.textContent = 'Send';
    } finally {
      sending = false;
    }
  });

  function sent(m) {
    form.dataset.sent = String(m.id);
    for (const el of form.querySelectorAll('select, textarea, input')) el.disabled = true;
    noticeHost.replaceChildren();
    checkHost.replaceChildren();
    counterHost.replaceChildren(segmentLine(countSegments(m.body), false));
    let what;
    if (m.deferred) {
      what = ['Scheduled: quiet hours hold where the recipient lives, so it goes out ', ...deferredText(m.deferred), '.'];
    } else if (m.state === 'scheduled') {
      what = ['Scheduled for ', time(m.send_at), '.'];
    } else if (m.state === 'queued') {
      what = ['Queued: it goes out in a moment.'];
    } else {
      what = [`This dialog sent it a moment ago; it is ${m.state} now.`];
    }
    result.replaceChildren(alertBox('ok', `Message ${m.id} ${m.state}`, [...what,
      ` ${m.segments} ${m.segments === 1 ? 'segment' : 'segments'}, ${m.encoding}${m.opt_out_notice ? ', with the opt-out notice' : ''}.`]));
    sendButton.hidden = true;
    sendButton.textContent = 'Send';
    anotherButton.hidden = false;
    cancelButton.textContent = 'Close';
    anotherButton.focus();
    if (onSent) onSent(m);
  }

  // A new message in the same dialog: a new key, since the last one is the queued message's.
  function another() {
    key = newIdempotencyKey();
    delete form.dataset.sent;
    for (const el of form.querySelectorAll('select, textarea, input')) el.disabled = false;
    result.replaceChildren();
    text.value = '';
    last = null;
    lastReq = null;
    sendButton.hidden = false;
    sendButton.disabled = false;
    anotherButton.hidden = true;
    cancelButton.textContent = 'Cancel';
    changed();
    text.focus();
  }
}
