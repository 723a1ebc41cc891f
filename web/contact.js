// The contact record: details, the status on each number (GET /v1/contacts/ID/subscriptions)
// with the edit dialog (PUT /v1/contacts/ID/subscriptions/NUMBER_ID, with attestation, legal
// basis and explanation, or an opt-out recorded on the contact's behalf with how and when they
// asked; the server's refusal shown as it is), the history timeline with its
// evidence (GET /v1/contacts/ID/history), the consent proof (GET /v1/contacts/ID/proof), and
// the messages sent to the contact (GET /v1/messages?direction=outbound&contact=ID) with the
// "send a message" dialog (send.js).
import { api, describe } from './api.js';
import { openSendDialog } from './send.js';
import {
  h, clear, statusPill, statusLabel, STATUSES, time, alertBox, emptyState, field, select, openDialog,
  LEGAL_BASES, legalBasisLabel, kindLabel, sourceLabel, toast, CHANNELS, channelLabel,
} from './ui.js';

// A datetime-local input's value for a time, in the browser's time zone ("2026-12-07T09:30").
function localInputValue(d) {
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 16);
}

export async function renderContact(page, ctx, id) {
  const [contact, numbers] = await Promise.all([api('GET', `/v1/contacts/${id}`), ctx.getNumbers()]);
  const subsHost = h('div', {});
  const historyHost = h('div', {});
  const sentHost = h('div', {});
  // The contact's status on each number id, as last loaded (for the send dialog).
  let statuses = new Map();
  // Sending changes the outbox only, so it is for those who may change things.
  const maySend = ctx.canEdit && ctx.hasSms && numbers.length > 0;

  const props = Object.entries(contact.properties || {});
  page.append(
    h('a', { class: 'back', href: '#/contacts' }, '← Contacts'),
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', { id: 'contact-name' }, contact.name || contact.phone),
        h('p', { class: 'sub mono' }, contact.phone)),
      h('div', { class: 'actions' },
        maySend ? h('button', { type: 'button', class: 'primary', id: 'send-message', onclick: send }, 'Send a message') : null,
        ctx.canEdit ? h('button', { type: 'button', id: 'edit-details', onclick: editDetails }, 'Edit details') : null,
        ctx.hasSms ? [
          h('a', { class: 'button', href: `/v1/contacts/${id}/proof?format=html`, target: '_blank', rel: 'noopener', id: 'proof-html' }, 'Consent proof'),
          h('a', { class: 'button', href: `/v1/contacts/${id}/proof?format=json`, download: `consent-proof-${id}.json`, id: 'proof-json' }, 'Download proof (JSON)'),
        ] : null)),
    h('div', { class: 'grid-2' },
      h('section', { class: 'panel', 'aria-labelledby': 'details-h' },
        h('h2', { id: 'details-h' }, 'Details'),
        h('dl', { class: 'kv' },
          h('dt', {}, 'Name'), h('dd', {}, contact.name || '—'),
          h('dt', {}, 'Phone'), h('dd', { class: 'mono' }, contact.phone),
          h('dt', {}, 'Email'), h('dd', {}, contact.email || '—'),
          h('dt', {}, 'Created'), h('dd', {}, time(contact.created_at)),
          props.map(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'string' ? v : JSON.stringify(v))]))),
      h('div', {},
        ctx.hasSms ? h('section', { class: 'panel flush', 'aria-labelledby': 'subs-h' },
          h('div', { class: 'panel-head' }, h('h2', { id: 'subs-h' }, 'SMS subscriptions')), subsHost)
          : alertBox('warn', 'SMS features are not available on this account', 'Subscription statuses need the Marketing SMS Access add-on.'),
        ctx.hasSms ? h('section', { class: 'panel flush', 'aria-labelledby': 'sent-h' },
          h('div', { class: 'panel-head' }, h('h2', { id: 'sent-h' }, 'Messages sent')), sentHost) : null,
        ctx.hasSms ? h('section', { class: 'panel', 'aria-labelledby': 'history-h' },
          h('h2', { id: 'history-h' }, 'History'), historyHost) : null)));

  function send() {
    openSendDialog({ contact, numbers, statuses, onSent: () => loadSent() });
  }

  // Name and email (PATCH /v1/contacts/ID); the phone is the contact's identity and stays.
  function editDetails() {
    const { body, close } = openDialog('Edit details');
    const name = h('input', { type: 'text', name: 'name', value: contact.name });
    const email = h('input', { type: 'email', name: 'email', value: contact.email });
    const error = h('div', {});
    const form = h('form', { novalidate: true }, error, field('Name', name), field('Email', email),
      h('p', { class: 'muted' }, 'The phone number cannot change: consent belongs to a number, so a new number is a new contact.'),
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: close }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Save')));
    body.append(form);
    name.focus();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api('PATCH', `/v1/contacts/${id}`, { body: { name: name.value.trim(), email: email.value.trim() } });
        close();
        toast('Saved.');
        ctx.go(`#/contacts/${id}`);
      } catch (e) {
        error.replaceChildren(alertBox('error', 'Not saved', describe(e)));
      }
    });
  }

  if (!ctx.hasSms) return;

  async function loadSubscriptions() {
    const subs = (await api('GET', `/v1/contacts/${id}/subscriptions`)).items;
    const byNumber = new Map(subs.map((s) => [s.number_id, s]));
    statuses = new Map(subs.map((s) => [s.number_id, s.status]));
    clear(subsHost);
    if (!numbers.length) {
      subsHost.append(emptyState('No sender numbers', 'Add a sender number to record consent for it.', h('a', { href: '#/numbers' }, 'Sender numbers')));
      return;
    }
    const rows = numbers.map((n) => {
      const s = byNumber.get(n.id) || { status: 'not_specified', self_opted_out: false };
      return h('tr', { dataset: { number: n.id } },
        h('td', {}, h('span', { class: 'mono' }, n.number), h('div', { class: 'sub' }, `${kindLabel(n.kind)}${n.business_name ? ` · ${n.business_name}` : ''}`)),
        h('td', {}, statusPill(s.status),
          s.self_opted_out ? h('div', { class: 'sub' }, s.source === 'contact_request' ? 'Opted out by the contact (their request, recorded on their behalf)' : 'Opted out by the contact') : null),
        h('td', { class: 'hide-narrow' }, s.updated_at ? [time(s.updated_at), h('div', { class: 'sub' }, sourceLabel(s.source))] : h('span', { class: 'muted' }, 'Never set')),
        h('td', {}, ctx.canEdit ? h('button', { type: 'button', class: 'small', 'aria-label': `Edit status on ${n.number}`, onclick: () => edit(n, s) }, 'Edit') : null));
    });
    subsHost.append(h('div', { class: 'table-wrap' }, h('table', { id: 'subscriptions' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Number'), h('th', {}, 'Status'), h('th', { class: 'hide-narrow' }, 'Since'), h('th', {}, h('span', { class: 'hide-narrow' }, 'Change')))),
      h('tbody', {}, rows))));
  }

  // The newest messages sent to the contact through the service, with their state.
  async function loadSent() {
    const items = (await api('GET', '/v1/messages', { query: { direction: 'outbound', contact: id, limit: SENT_SHOWN } })).items;
    clear(sentHost);
    if (!items.length) {
      sentHost.append(h('p', { class: 'muted pad', id: 'sent-empty' }, 'No messages sent to this contact yet.'));
      return;
    }
    sentHost.append(h('ul', { class: 'sent-list', id: 'sent-messages' }, items.map((m) =>
      h('li', { dataset: { id: m.id, state: m.state } },
        h('div', { class: 'when' }, time(m.created_at), ` · from ${m.from} · ${m.purpose} · ${m.segments} ${m.segments === 1 ? 'segment' : 'segments'} `,
          h('span', { class: `pill ${m.state}` }, m.state),
          // What the provider's status callbacks reported, with its error when there was one.
          m.delivery ? [' ', h('span', { class: `pill delivery-${m.delivery}`, title: m.delivery_error || '' }, m.delivery)] : null),
        m.delivery_error ? h('div', { class: 'muted sent-error' }, m.delivery_error) : null,
        h('div', { class: 'sent-body' }, m.body)))));
  }

  async function loadHistory() {
    const events = (await api('GET', `/v1/contacts/${id}/history`)).items.slice().reverse();
    clear(historyHost);
    if (!events.length) {
      historyHost.append(h('p', { class: 'muted', id: 'history-empty' }, 'No consent events yet: this contact has never had a status set.'));
      return;
    }
    historyHost.append(h('ol', { class: 'timeline', id: 'history' }, events.map(eventItem)));
  }

  function edit(number, current) {
    const { body, close } = openDialog(`Status on ${number.number}`);
    const error = h('div', { id: 'edit-error' });
    const radios = h('div', { class: 'radios', role: 'radiogroup' },
      STATUSES.map((s) => h('label', {}, h('input', { type: 'radio', name: 'status', value: s, checked: s === current.status }), statusLabel(s))));
    const attest = h('input', { type: 'checkbox', name: 'attest' });
    const basis = select('legal_basis', [['', 'Choose…'], ...LEGAL_BASES]);
    const explanation = h('textarea', { name: 'explanation', rows: 3, placeholder: 'e.g. Asked to be opted in at the counter on 3 May; signed form kept in the shop' });
    const attestBlock = h('fieldset', {}, h('legend', {}, 'Consent evidence'),
      h('label', { class: 'check' }, attest, h('span', {}, `I attest that we hold this contact's express, verifiable consent to receive SMS from ${number.number}.`)),
      field('Legal basis', basis));
    // The contact's own opt-out, asked for by phone, email, in person…: under FCC 24-24 it binds
    // like a texted STOP, so it is recorded as theirs and no user can reverse it.
    const onBehalf = h('input', { type: 'checkbox', name: 'on_behalf_of_contact' });
    const channel = select('channel', [['', 'Choose…'], ...CHANNELS]);
    const receivedAt = h('input', { type: 'datetime-local', name: 'received_at', max: localInputValue(new Date()) });
    const onBehalfFields = h('div', { class: 'form-row' },
      field('How they asked', channel),
      field('Received', receivedAt, 'When the request reached you. Leave empty for now. The FCC allows at most 10 business days until it takes effect.'));
    const onBehalfBlock = h('fieldset', { id: 'on-behalf' }, h('legend', {}, 'Who asked'),
      h('label', { class: 'check' }, onBehalf, h('span', {}, 'The contact asked to stop (by phone, email, in person, …): record it on their behalf, as their own opt-out. Only the contact can then opt back in, by texting an opt-in keyword.')),
      onBehalfFields);
    const note = h('div', {});
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
    const form = h('form', { novalidate: true },
      current.self_opted_out ? alertBox('warn', 'The contact opted out themselves',
        'A contact\'s own opt-out cannot be overridden: only the contact can opt back in, by texting an opt-in keyword to this number.') : null,
      error,
      h('fieldset', {}, h('legend', {}, 'New status'), radios),
      attestBlock,
      onBehalfBlock,
      field('Explanation', explanation, 'Why the status is changing and where the consent came from. Stored with the change.'),
      note,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: close }, 'Cancel'), save));
    body.append(form);
    const target = () => form.querySelector('input[name=status]:checked')?.value;
    const sync = () => {
      attestBlock.hidden = target() !== 'opted_in';
      onBehalfBlock.hidden = target() !== 'opted_out';
      onBehalfFields.hidden = !onBehalf.checked;
      const optingIn = target() === 'opted_in' && current.status !== 'opted_in';
      note.replaceChildren(optingIn && number.double_opt_in
        ? alertBox('info', null, 'This number uses double opt-in: the contact gets a request to confirm and is awaiting confirmation until they reply YES.')
        : optingIn && number.kind === 'short_code'
          ? alertBox('info', null, 'This is a short code: the contact will get a confirmation SMS.') : '');
    };
    radios.addEventListener('change', sync);
    onBehalf.addEventListener('change', sync);
    sync();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const status = target();
      const problems = [];
      if (status === 'opted_in') {
        if (!attest.checked) problems.push('Opting a contact in requires the attestation of express, verifiable consent.');
        if (!basis.value) problems.push('Choose the legal basis.');
        if (!explanation.value.trim()) problems.push('Write an explanation.');
      }
      const asContact = status === 'opted_out' && onBehalf.checked;
      if (asContact) {
        if (!channel.value) problems.push('Choose how the contact asked.');
        if (!explanation.value.trim()) problems.push('Write what the contact asked, and how.');
      }
      if (problems.length) {
        error.replaceChildren(alertBox('error', null, h('ul', {}, problems.map((p) => h('li', {}, p)))));
        return;
      }
      save.disabled = true;
      try {
        const req = { status, explanation: explanation.value.trim() };
        if (status === 'opted_in') { req.attest = true; req.legal_basis = basis.value; }
        if (asContact) {
          req.on_behalf_of_contact = true;
          req.channel = channel.value;
          if (receivedAt.value) req.received_at = new Date(receivedAt.value).toISOString();
        }
        const r = await api('PUT', `/v1/contacts/${id}/subscriptions/${number.id}`, { body: req });
        close();
        toast(r.changed ? `Status on ${number.number} is now ${statusLabel(r.status_after).toLowerCase()}.` : 'The status was already that; nothing changed.');
        await Promise.all([loadSubscriptions(), loadHistory()]);
      } catch (e) {
        save.disabled = false;
        const title = e.status === 409 ? 'The change was refused' : 'The change could not be saved';
        error.replaceChildren(alertBox('error', title, describe(e)));
      }
    });
  }

  await Promise.all([loadSubscriptions(), loadHistory(), loadSent()]);
}

const SENT_SHOWN = 10;

// One ledger event, with its evidence in words.
function eventItem(e) {
  const ev = e.evidence && typeof e.evidence === 'object' ? e.evidence : {};
  const what = e.changed ? `${statusLabel(e.from)} → ${statusLabel(e.to)}` : `Stayed ${statusLabel(e.to).toLowerCase()}`;
  const details = [];
  if (e.source === 'keyword') {
    details.push(h('div', {}, 'The contact texted ', h('span', { class: 'quote' }, `“${ev.body ?? ''}”`), ` to ${e.number}.`));
    const how = [];
    if (ev.matched) how.push(h('span', {}, 'Matched ', h('code', {}, ev.matched)));
    if (ev.match_kind) how.push(` (${ev.match_kind}${ev.language ? `, ${ev.language}` : ''})`);
    if (ev.explanation) how.push(` — ${ev.explanation}`);
    if (how.length) details.push(h('div', {}, how));
    if (ev.scope === 'account') details.push(h('div', {}, 'Applied to every number of the account (opt-out of all).'));
  } else if (ev.type === 'contact_request') {
    details.push(h('div', {}, `The contact asked to stop by ${channelLabel(ev.channel).toLowerCase()}; recorded on their behalf, as their own opt-out.`));
    if (ev.received_at_ms) {
      details.push(h('div', {}, 'Received ', time(new Date(ev.received_at_ms).toISOString()),
        ` · took effect after ${ev.business_days} US business ${ev.business_days === 1 ? 'day' : 'days'}`,
        ev.late ? h('span', { class: 'pill late' }, 'over 10 business days') : null));
    }
    if (ev.explanation) details.push(h('div', {}, 'Explanation: ', h('span', { class: 'quote' }, `“${ev.explanation}”`)));
  } else if (ev.type === 'attestation' || ev.type === 'bulk') {
    if (ev.type === 'bulk') details.push(h('div', {}, `Bulk change ${ev.job ? `(job ${ev.job}) ` : ''}batch `, h('code', {}, String(ev.batch || '').slice(0, 12))));
    details.push(h('div', {}, ev.attested_express_consent ? 'Attested express, verifiable consent.' : 'No consent attestation (not needed for this change).'));
    if (ev.legal_basis) details.push(h('div', {}, `Legal basis: ${legalBasisLabel(ev.legal_basis)}`));
    if (ev.explanation) details.push(h('div', {}, 'Explanation: ', h('span', { class: 'quote' }, `“${ev.explanation}”`)));
  } else if (Object.keys(ev).length) {
    details.push(h('code', {}, JSON.stringify(ev)));
  }
  return h('li', { class: `to-${e.to}`, dataset: { seq: e.seq, source: e.source } },
    h('div', { class: 'when' }, time(e.at), ` · ${e.number} · ${sourceLabel(e.source)} · by `, h('span', { class: 'actor' }, e.actor || '—')),
    h('div', { class: 'what' }, what),
    details.length ? h('div', { class: 'evidence' }, details) : null,
    h('div', { class: 'hash mono', title: 'This event\'s leaf hash in the account\'s tamper-evident ledger (a Merkle tree)' }, `#${e.seq} ${String(e.leaf_hash || e.hash || '').slice(0, 16)}…`));
}
