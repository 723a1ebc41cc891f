// The bulk status dialog of the contacts index: choose number and status, attest, preview
// (POST /v1/bulk/subscriptions/preview), confirm (POST /v1/bulk/subscriptions, a background
// job), follow its progress (GET /v1/jobs/ID) and show the result with the skipped-rows report
// (GET /v1/jobs/ID/rejects). The selection is a list of contact ids, a filter expression
// (all contacts matching the index's filters) or a CSV file. Also the contact import
// (POST /v1/contacts/import).
import { api, describe } from './api.js';
import {
  h, field, select, openDialog, alertBox, statusLabel, LEGAL_BASES, STATUSES, kindLabel, plural,
} from './ui.js';

const SKIP_REASONS = {
  self_opted_out: 'Opted out by the contact (only the contact can opt back in)',
  invalid_phone: 'Invalid phone number',
  duplicate: 'Duplicate row',
  unknown_number: 'Unknown sender number',
  unknown_contact: 'Contact not found',
  bad_row: 'Malformed row',
};
const ENCODINGS = { gsm7: 'GSM-7', ucs2: 'UCS-2' };

export function skipReasonLabel(r) { return SKIP_REASONS[r] || r; }

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

function stat(value, label, id) {
  return h('div', { class: 'stat', id }, h('div', { class: 'value num' }, Number(value || 0).toLocaleString()),
    h('div', { class: 'label' }, label));
}

function tallyView(tally, { numberKind, status }) {
  const skipped = Object.entries(tally.skipped || {}).filter(([, n]) => n > 0);
  const skippedTotal = skipped.reduce((s, [, n]) => s + n, 0);
  const parts = [h('div', { class: 'stats' },
    stat(tally.change, 'will change', 'preview-change'),
    stat(tally.unchanged, 'already in that status', 'preview-unchanged'),
    tally.created ? stat(tally.created, 'new contacts', 'preview-created') : null,
    stat(skippedTotal, 'skipped', 'preview-skipped'))];
  if (skipped.length) {
    parts.push(h('table', { class: 'skips' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Skipped because'), h('th', { class: 'num' }, 'Rows'))),
      h('tbody', {}, skipped.map(([reason, n]) => h('tr', { dataset: { reason } },
        h('td', {}, skipReasonLabel(reason)), h('td', { class: 'num' }, n.toLocaleString()))))));
  }
  if (tally.confirmations > 0) {
    const enc = Object.entries(tally.encodings || {}).map(([e, n]) => `${ENCODINGS[e] || e}: ${n.toLocaleString()}`).join(', ');
    parts.push(alertBox('warn', 'Confirmation messages will be sent',
      h('span', { id: 'preview-cost' },
        `${plural(tally.confirmations, 'confirmation message', 'confirmation messages')}, `,
        h('strong', { id: 'preview-segments' }, plural(tally.segments, 'SMS segment', 'SMS segments')),
        enc ? ` (${enc})` : '',
        '. A short code always confirms a new opt-in; this cannot be turned off.')));
  } else if (numberKind === 'short_code' && status === 'opted_in') {
    parts.push(alertBox('info', null, 'No confirmation messages: nobody becomes newly opted in.'));
  }
  return parts;
}

// opts: {selection: {ids} | {filter, count?} | {csv: true}, description, onDone}
export async function openBulkDialog(ctx, opts) {
  const numbers = await ctx.getNumbers();
  const { body, close } = openDialog(opts.selection.csv ? 'Bulk opt-in from a CSV file' : 'Edit SMS subscription status',
    { onClose: () => { stopped = true; if (finished && opts.onDone) opts.onDone(); } });
  let stopped = false;
  let finished = false;
  const key = newKey();  // one job per dialog, even if Confirm is pressed twice

  if (!numbers.length) {
    body.append(alertBox('info', 'No sender numbers yet', 'Add a sender number first, on the Sender numbers page.'),
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: close }, 'Close')));
    return;
  }

  const error = h('div', { class: 'form-error' });
  const file = opts.selection.csv
    ? h('input', { type: 'file', name: 'csv', accept: '.csv,text/csv', required: true }) : null;
  const number = select('number', numbers.map((n) => [n.number, `${n.number} · ${kindLabel(n.kind)}${n.business_name ? ` · ${n.business_name}` : ''}`]));
  const statusRadios = h('div', { class: 'radios', role: 'radiogroup' },
    STATUSES.map((s) => h('label', {}, h('input', { type: 'radio', name: 'status', value: s, checked: s === 'opted_in' }), statusLabel(s))));
  const attest = h('input', { type: 'checkbox', name: 'attest' });
  const basis = select('legal_basis', [['', 'Choose…'], ...LEGAL_BASES]);
  const explanation = h('textarea', { name: 'explanation', rows: 3, placeholder: 'e.g. Signed up on the paper form at the spring fair, 12 March' });
  const attestBlock = h('fieldset', {},
    h('legend', {}, 'Consent evidence'),
    h('label', { class: 'check' }, attest,
      h('span', {}, 'I attest that we hold express, verifiable consent from every contact selected here to receive SMS from this number.')),
    field('Legal basis', basis),
  );
  const shortCodeNote = h('div', {});
  const statusValue = () => body.querySelector('input[name=status]:checked').value;
  const selectedNumber = () => numbers.find((n) => n.number === number.value);
  function syncForm() {
    const optIn = statusValue() === 'opted_in';
    attestBlock.hidden = !optIn;
    shortCodeNote.replaceChildren();
    if (optIn && selectedNumber().kind === 'short_code') {
      shortCodeNote.append(alertBox('info', null,
        'This is a short code: every contact who becomes opted in gets a confirmation SMS. The preview shows how many, and what they cost.'));
    }
  }
  statusRadios.addEventListener('change', syncForm);
  number.addEventListener('change', syncForm);

  const previewButton = h('button', { type: 'submit', class: 'primary' }, 'Preview');
  const form = h('form', { novalidate: true },
    h('p', { class: 'muted', id: 'bulk-selection' }, opts.description),
    error,
    file ? field('CSV file', file, 'A header row, then one contact per row: phone (required), name, email; other columns become properties. Contacts not yet known are created.') : null,
    field('Sender number', number),
    h('fieldset', {}, h('legend', {}, 'New status'), statusRadios),
    attestBlock,
    field('Explanation', explanation, 'Why this change is being made, and where the consent came from. Stored with every change.'),
    shortCodeNote,
    h('div', { class: 'dialog-foot' },
      h('button', { type: 'button', onclick: close }, 'Cancel'), previewButton));
  body.append(form);
  syncForm();

  async function request() {
    const req = {
      number: number.value,
      status: statusValue(),
      attest: statusValue() === 'opted_in' ? attest.checked : false,
      explanation: explanation.value.trim(),
    };
    if (req.status === 'opted_in' && basis.value) req.legal_basis = basis.value;
    if (opts.selection.ids) req.ids = opts.selection.ids;
    if (opts.selection.filter !== undefined) req.filter = opts.selection.filter;
    if (file) req.csv = await file.files[0].text();
    return req;
  }

  function validate() {
    for (const el of [file, attest, basis, explanation]) if (el) el.removeAttribute('aria-invalid');
    const problems = [];
    if (file && !file.files.length) problems.push([file, 'Choose a CSV file.']);
    if (statusValue() === 'opted_in') {
      if (!attest.checked) problems.push([attest, 'Opting contacts in requires the attestation of express, verifiable consent.']);
      if (!basis.value) problems.push([basis, 'Choose the legal basis.']);
      if (!explanation.value.trim()) problems.push([explanation, 'Write an explanation.']);
    }
    error.replaceChildren();
    if (problems.length) {
      for (const [el] of problems) el.setAttribute('aria-invalid', 'true');
      error.append(alertBox('error', null, h('ul', {}, problems.map(([, t]) => h('li', {}, t)))));
      problems[0][0].focus();
      return false;
    }
    return true;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!validate()) return;
    previewButton.disabled = true;
    previewButton.textContent = 'Working out the preview…';
    try {
      const req = await request();
      const tally = await api('POST', '/v1/bulk/subscriptions/preview', { body: req });
      showPreview(req, tally);
    } catch (e) {
      error.replaceChildren(alertBox('error', 'The preview was refused', describe(e)));
    } finally {
      previewButton.disabled = false;
      previewButton.textContent = 'Preview';
    }
  });

  function showPreview(req, tally) {
    const n = selectedNumber();
    const nothing = (tally.change || 0) + (tally.created || 0) === 0;
    const confirm = h('button', { type: 'button', class: 'primary', id: 'bulk-confirm', disabled: nothing },
      nothing ? 'Nothing to change' : `Apply to ${plural(tally.change + (tally.created || 0), 'contact', 'contacts')}`);
    const applyError = h('div', {});
    const view = h('div', { id: 'bulk-preview' },
      h('p', {}, `Set `, h('strong', {}, statusLabel(req.status)), ` on ${n.number} (${kindLabel(n.kind)}). Nothing has changed yet.`),
      tallyView(tally, { numberKind: n.kind, status: req.status }),
      applyError,
      h('div', { class: 'dialog-foot' },
        h('button', { type: 'button', onclick: () => { view.remove(); form.hidden = false; } }, 'Back'),
        confirm));
    form.hidden = true;
    body.append(view);
    confirm.focus();
    confirm.addEventListener('click', async () => {
      confirm.disabled = true;
      try {
        const job = await api('POST', '/v1/bulk/subscriptions', { body: req, headers: { 'Idempotency-Key': key } });
        view.remove();
        follow(job);
      } catch (e) {
        confirm.disabled = false;
        applyError.replaceChildren(alertBox('error', 'The change was refused', describe(e)));
      }
    });
  }

  function follow(job) {
    const bar = h('progress', { max: 1, value: 0, id: 'bulk-progress', 'aria-label': 'Progress' });
    const label = h('p', { class: 'num', 'aria-live': 'polite' }, 'Queued…');
    const view = h('div', { id: 'bulk-job' }, h('h3', {}, `Job ${job.job}`), bar, label);
    body.append(view);
    finished = true;  // the index reloads when the dialog closes, whatever the outcome
    const tick = async () => {
      if (stopped) return;
      try {
        job = await api('GET', `/v1/jobs/${job.job}`);
      } catch (e) {
        label.textContent = `Could not read the job's progress: ${describe(e)}. Retrying…`;
        setTimeout(tick, 1500);
        return;
      }
      if (job.total > 0) { bar.max = job.total; bar.value = job.done; }
      label.textContent = `${job.done.toLocaleString()} of ${job.total.toLocaleString()} rows · ${job.state}`;
      if (job.state === 'done' || job.state === 'failed') showResult(view, job);
      else setTimeout(tick, 400);
    };
    tick();
  }

  function showResult(view, job) {
    const r = job.result || {};
    const skipped = Object.values(r.skipped || {}).reduce((s, n) => s + n, 0);
    view.append(
      job.state === 'failed'
        ? alertBox('error', 'The job failed', job.error || 'See the server log.')
        : alertBox('ok', 'Done', `${plural(r.change || 0, 'contact', 'contacts')} changed${r.created ? `, ${r.created.toLocaleString()} created` : ''}${skipped ? `, ${skipped.toLocaleString()} skipped` : ''}.`),
      h('div', { id: 'bulk-result' }, tallyView({ ...r, confirmations: r.confirmations || 0 }, {})),
      skipped ? h('p', {}, h('a', { href: `/v1/jobs/${job.job}/rejects`, download: `job-${job.job}-skipped.csv`, id: 'rejects-link' },
        'Download the skipped rows (CSV)')) : null,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', class: 'primary', onclick: close }, 'Close')));
  }
}

// Contact import: POST /v1/contacts/import with the CSV as the body, then the job's progress.
export function openImportDialog(ctx, onDone) {
  let stopped = false;
  const { body, close } = openDialog('Import contacts from CSV', { onClose: () => { stopped = true; onDone(); } });
  const file = h('input', { type: 'file', name: 'csv', accept: '.csv,text/csv', required: true });
  const error = h('div', {});
  const go = h('button', { type: 'submit', class: 'primary' }, 'Import');
  const key = newKey();
  const form = h('form', { novalidate: true }, error,
    field('CSV file', file, 'A header row, then one contact per row: phone (required), name, email; other columns become properties. Existing contacts (same phone) are updated. This does not change any SMS subscription status: use “Bulk opt-in from CSV” for that.'),
    h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: close }, 'Cancel'), go));
  body.append(form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!file.files.length) { error.replaceChildren(alertBox('error', null, 'Choose a CSV file.')); return; }
    go.disabled = true;
    try {
      let job = await api('POST', '/v1/contacts/import', { csv: await file.files[0].text(), headers: { 'Idempotency-Key': key } });
      form.remove();
      const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Progress' });
      const label = h('p', { 'aria-live': 'polite' }, 'Queued…');
      body.append(bar, label);
      while (!stopped && job.state !== 'done' && job.state !== 'failed') {
        await new Promise((r) => setTimeout(r, 400));
        job = await api('GET', `/v1/jobs/${job.job}`);
        if (job.total > 0) { bar.max = job.total; bar.value = job.done; }
        label.textContent = `${job.done.toLocaleString()} of ${job.total.toLocaleString()} rows`;
      }
      const r = job.result || {};
      const skipped = Object.values(r.skipped || {}).reduce((s, n) => s + n, 0);
      body.append(job.state === 'failed' ? alertBox('error', 'The import failed', job.error || '')
        : alertBox('ok', 'Imported', `${(r.created || 0).toLocaleString()} created, ${(r.change || 0).toLocaleString()} updated, ${(r.unchanged || 0).toLocaleString()} unchanged, ${skipped.toLocaleString()} skipped.`),
      skipped ? h('p', {}, h('a', { href: `/v1/jobs/${job.job}/rejects`, download: '' }, 'Download the skipped rows (CSV)')) : null,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', class: 'primary', onclick: close }, 'Close')));
    } catch (e) {
      go.disabled = false;
      error.replaceChildren(alertBox('error', 'The import was refused', describe(e)));
    }
  });
}
