// Activity: possible opt-outs waiting for a person (GET /v1/reviews; editors confirm or dismiss
// them), recent inbound messages with the decision each produced and the replies it queued
// (GET /v1/messages), the outbox's replies that were not sent: failed, dead-lettered,
// expired or cancelled (GET /v1/outbox?state=failed,dead,expired,cancelled), and the
// revocations that took longer than the FCC's 10 US business days, with the replies sent to the
// contact in between (GET /v1/compliance/revocations?late=true; all of them on request).
import { api, describe } from './api.js';
import { h, clear, alertBox, emptyState, statusLabel, time, toast, channelLabel } from './ui.js';

const INTENTS = { opt_in: 'Opt-in', opt_out: 'Opt-out', opt_out_all: 'Opt-out of all', help: 'Help', none: 'No keyword' };
const UNSENT = ['failed', 'dead', 'expired', 'cancelled'];
const STATE_LABELS = { dead: 'dead-lettered' };

// A reply's last_error is why it failed, or why it was never sent (cancelled, expired).
function reasonLabel(state) {
  return state === 'cancelled' || state === 'expired' ? 'Not sent' : 'Last error';
}

function decisionView(m) {
  const d = m.decision || {};
  // A possible opt-out has no intent of its own: it waits for a person (the panel above).
  const label = d.match_kind === 'possible_opt_out' ? 'Possible opt-out' : INTENTS[d.intent] || d.intent || '—';
  const parts = [h('span', { class: 'pill intent' }, label)];
  // rule: the keyword or free-text rule that decided (matched is the text it covered).
  if (d.rule) parts.push(' ', h('code', {}, d.rule));
  const changed = (d.transitions || []).filter((t) => t.changed);
  if (changed.length) {
    parts.push(h('div', { class: 'sub' }, changed.map((t) => `${t.number}: ${statusLabel(t.from)} → ${statusLabel(t.to)}`).join('; ')));
  } else if (d.intent && d.intent !== 'none' && d.intent !== 'help') {
    parts.push(h('div', { class: 'sub' }, `No change (already ${statusLabel(d.status_after || '').toLowerCase()})`));
  }
  if (d.explanation) parts.push(h('div', { class: 'sub' }, d.explanation));
  return parts;
}

// "under 1 min", "3 h", "2 d": how long an item has waited.
function ageLabel(seconds) {
  if (seconds < 60) return 'under 1 min';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

function repliesView(replies) {
  if (!replies || !replies.length) return h('span', { class: 'muted' }, 'None');
  return replies.map((r) => h('div', { class: 'reply' },
    h('span', { class: `pill ${r.state}` }, r.state), ' ',
    h('span', {}, r.body),
    r.last_error ? h('div', { class: 'sub' }, `${reasonLabel(r.state)}: ${r.last_error}`) : null));
}

export async function renderActivity(page, ctx) {
  page.append(h('div', { class: 'page-head' },
    h('div', {}, h('h1', {}, 'Activity'), h('p', { class: 'sub' }, 'What contacts texted, what it did, and the replies sent back.'))));
  if (!ctx.hasSms) {
    page.append(alertBox('warn', 'SMS features are not available on this account', 'Activity needs the Marketing SMS Access add-on.'));
    return;
  }
  const reviewsHost = h('div', {});
  const revocationsHost = h('div', {});
  const showAll = h('input', { type: 'checkbox', name: 'all_revocations' });
  const problemsHost = h('div', {});
  const messagesHost = h('div', { class: 'table-wrap' });
  const more = h('div', { class: 'pager' });
  page.append(
    h('section', { class: 'panel flush', 'aria-labelledby': 'reviews-h', id: 'reviews' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'reviews-h' }, 'Possible opt-outs to review')), reviewsHost),
    h('section', { class: 'panel flush', 'aria-labelledby': 'revocations-h' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'revocations-h' }, 'Opt-outs past 10 business days'),
        h('label', { class: 'check small' }, showAll, h('span', {}, 'Show every opt-out'))),
      revocationsHost),
    h('section', { class: 'panel flush', 'aria-labelledby': 'problems-h' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'problems-h' }, 'Replies not sent')), problemsHost),
    h('section', { class: 'panel flush', 'aria-labelledby': 'messages-h' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'messages-h' }, 'Inbound messages'),
        h('button', { type: 'button', class: 'small', onclick: () => { clear(tbody); cursor = null; loadMessages(); } }, 'Refresh')),
      messagesHost, more));

  async function loadReviews() {
    let res;
    try {
      res = await api('GET', '/v1/reviews', { query: { state: 'open', limit: 200 } });
    } catch (e) {
      reviewsHost.replaceChildren(alertBox('error', null, describe(e)));
      return;
    }
    clear(reviewsHost);
    if (!res.items.length) {
      reviewsHost.append(emptyState('Nothing to review', 'Replies that might mean "stop" but are not clear enough to act on (a question, a negation, a mixed request) wait here for a person to confirm or dismiss them.'));
      return;
    }
    const overdue = res.items.filter((r) => r.overdue).length;
    if (overdue) {
      const hours = Math.round(res.highlight_after_seconds / 3600);
      reviewsHost.append(h('div', { class: 'review-note' }, alertBox('warn', null,
        `${overdue === 1 ? '1 item has' : `${overdue} items have`} waited longer than ${hours >= 1 ? `${hours} h` : `${res.highlight_after_seconds} s`}. A confirmed opt-out must be honoured within 10 business days of the message.`)));
    }
    reviewsHost.append(h('div', { class: 'table-wrap' }, h('table', { id: 'reviews-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Received'), h('th', {}, 'From → to'), h('th', {}, 'Message'), h('th', {}, 'Why flagged'),
        ctx.canEdit ? h('th', {}, 'Decision') : null)),
      h('tbody', {}, res.items.map(reviewRow)))));
  }

  function reviewRow(r) {
    const note = h('input', { type: 'text', class: 'review-note-input', placeholder: 'Note (optional)', 'aria-label': `Note on review ${r.id}`, maxlength: 1000 });
    const decide = async (action, button) => {
      for (const b of row.querySelectorAll('button')) b.disabled = true;
      try {
        await api('POST', `/v1/reviews/${r.id}/${action}`, { body: note.value ? { note: note.value } : {} });
        toast(action === 'confirm' ? `Recorded ${r.from}'s opt-out.` : 'Dismissed: no change to the contact.');
        await loadReviews();
        clear(tbody); cursor = null; await loadMessages();
      } catch (e) {
        toast(describe(e), 'error');
        await loadReviews();
      }
      button.blur();
    };
    const confirmBtn = h('button', { type: 'button', class: 'small danger', onclick: () => decide('confirm', confirmBtn) }, 'Confirm opt-out');
    const dismissBtn = h('button', { type: 'button', class: 'small', onclick: () => decide('dismiss', dismissBtn) }, 'Dismiss');
    const row = h('tr', { dataset: { review: r.id }, class: r.overdue ? 'overdue' : null },
      h('td', {}, time(r.received_at), h('div', { class: 'sub' }, r.overdue ? h('span', { class: 'pill overdue' }, `Waiting ${ageLabel(r.age_seconds)}`) : `Waiting ${ageLabel(r.age_seconds)}`)),
      h('td', { class: 'mono' }, h('a', { href: `#/contacts/${r.contact_id}` }, r.from), h('div', { class: 'sub' }, `→ ${r.to}`)),
      h('td', {}, h('span', { class: 'quote' }, r.body)),
      h('td', {}, r.explanation, h('div', { class: 'sub' }, h('code', {}, r.rule))),
      ctx.canEdit ? h('td', { class: 'review-actions' }, note, h('div', { class: 'buttons' }, confirmBtn, ' ', dismissBtn)) : null);
    return row;
  }

  async function loadProblems() {
    let res;
    try {
      res = await api('GET', '/v1/outbox', { query: { state: UNSENT.join(','), order: 'desc', limit: 50 } });
    } catch (e) {
      problemsHost.replaceChildren(alertBox('error', null, describe(e)));
      return;
    }
    clear(problemsHost);
    if (!res.items.length) {
      problemsHost.append(emptyState('No unsent replies', 'Replies that the provider refused, that ran out of retries, that waited longer than their maximum age, or that an opt-out cancelled appear here.'));
      return;
    }
    problemsHost.append(h('div', { class: 'table-wrap' }, h('table', { id: 'outbox-problems' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Created'), h('th', {}, 'To'), h('th', {}, 'Reply'), h('th', {}, 'State'), h('th', { class: 'hide-narrow' }, 'Attempts'))),
      h('tbody', {}, res.items.map((o) => h('tr', {},
        h('td', {}, time(o.created_at)),
        h('td', { class: 'mono' }, o.to, h('div', { class: 'sub' }, `from ${o.from}`)),
        h('td', {}, o.body, h('div', { class: 'sub' }, `${o.kind.replaceAll('_', ' ')} · ${o.segments} ${o.segments === 1 ? 'segment' : 'segments'}`)),
        h('td', {}, h('span', { class: `pill ${o.state}` }, STATE_LABELS[o.state] || o.state), o.last_error ? h('div', { class: 'sub' }, o.last_error) : null),
        h('td', { class: 'hide-narrow num' }, o.attempts)))))));
  }

  async function loadRevocations() {
    const all = showAll.checked;
    let res;
    try {
      res = await api('GET', '/v1/compliance/revocations', { query: { late: all ? undefined : 'true', limit: 50 } });
    } catch (e) {
      revocationsHost.replaceChildren(alertBox('error', null, describe(e)));
      return;
    }
    clear(revocationsHost);
    if (!res.items.length) {
      revocationsHost.append(emptyState(all ? 'No opt-outs yet' : 'No late opt-outs',
        'The FCC requires an opt-out to take effect within 10 US business days of its receipt. Opt-outs that took longer, and any message sent to the contact meanwhile, appear here.'));
      return;
    }
    revocationsHost.append(h('div', { class: 'table-wrap' }, h('table', { id: 'revocations' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Contact'), h('th', {}, 'Asked by'), h('th', {}, 'Received'), h('th', {}, 'Took effect'), h('th', {}, 'Business days'), h('th', {}, 'Sent in between'))),
      h('tbody', {}, res.items.map((r) => h('tr', { dataset: { seq: r.event.seq } },
        h('td', { class: 'mono' }, h('a', { href: `#/contacts/${r.contact_id}` }, r.phone), h('div', { class: 'sub' }, `on ${r.number}`)),
        h('td', {}, channelLabel(r.channel), r.event.source === 'contact_request' ? h('div', { class: 'sub' }, `recorded by ${r.event.actor}`) : null),
        h('td', {}, time(r.received_at)),
        h('td', {}, time(r.effective_at)),
        h('td', { class: 'num' }, String(r.business_days), r.late ? h('span', { class: 'pill late' }, 'late') : h('span', { class: 'pill on-time' }, 'on time')),
        h('td', {}, r.sent_between.length
          ? [...r.sent_between.map((o) => h('div', { class: 'reply' }, time(o.sent_at), ' ', h('span', {}, o.body), h('div', { class: 'sub' }, `from ${o.from}`))),
            r.sent_between_more ? h('div', { class: 'sub' }, '… and more') : null]
          : h('span', { class: 'muted' }, 'None'))))))));
  }
  showAll.addEventListener('change', loadRevocations);

  const tbody = h('tbody', {});
  const table = h('table', { id: 'messages-table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Received'), h('th', {}, 'From → to'), h('th', {}, 'Message'), h('th', {}, 'Decision'), h('th', {}, 'Replies'))),
    tbody);
  let cursor = null;
  async function loadMessages() {
    const res = await api('GET', '/v1/messages', { query: { limit: 50, before: cursor || undefined } });
    if (!res.items.length && !tbody.children.length) {
      messagesHost.replaceChildren(emptyState('No messages yet', 'Point your SMS provider\'s inbound webhook at /webhooks/PROVIDER; texts to your numbers will show here.'));
      more.replaceChildren();
      return;
    }
    if (!table.isConnected) messagesHost.replaceChildren(table);
    for (const m of res.items) {
      tbody.append(h('tr', { dataset: { message: m.id } },
        h('td', {}, time(m.received_at), h('div', { class: 'sub' }, m.provider)),
        h('td', { class: 'mono' }, m.contact_id ? h('a', { href: `#/contacts/${m.contact_id}` }, m.from) : m.from, h('div', { class: 'sub' }, `→ ${m.to}`)),
        h('td', {}, h('span', { class: 'quote' }, m.body)),
        h('td', {}, decisionView(m)),
        h('td', {}, repliesView(m.replies))));
    }
    cursor = res.next;
    more.replaceChildren(h('span', { class: 'muted' }, `${tbody.children.length} shown`),
      res.next ? h('button', { type: 'button', onclick: loadMessages }, 'Load older') : h('span', { class: 'muted' }, 'That is all.'));
  }

  await Promise.all([loadReviews(), loadRevocations(), loadProblems(), loadMessages()]);
}
