// Sender numbers: the list (GET /v1/numbers), adding one (POST /v1/numbers; short codes only
// with the SMS Short Code add-on, the reason shown otherwise) and editing its keywords and reply
// texts (PATCH /v1/numbers/ID) with a live segment counter under each reply text.
import { api, describe } from './api.js';
import { h, clear, alertBox, emptyState, field, select, openDialog, kindLabel, time, toast } from './ui.js';
import { countSegments } from './segments.js';

const NO_SMS = () => alertBox('warn', 'SMS features are not available on this account',
  'Sender numbers need the Marketing SMS Access add-on. Ask your administrator to add it.');

export async function renderNumbers(page, ctx) {
  page.append(h('div', { class: 'page-head' },
    h('div', {}, h('h1', {}, 'Sender numbers'), h('p', { class: 'sub' }, 'The numbers your business texts from, their keywords and automatic replies.')),
    ctx.canEdit && ctx.hasSms ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', id: 'add-number', onclick: add }, 'Add number')) : null));
  if (!ctx.hasSms) { page.append(NO_SMS()); return; }
  const host = h('section', { class: 'panel flush', 'aria-label': 'Sender numbers' });
  page.append(host);

  async function load() {
    const numbers = await ctx.refreshNumbers();
    clear(host);
    if (!numbers.length) {
      host.append(emptyState('No sender numbers yet', 'Add the numbers your business sends SMS from; inbound keywords to them change consent automatically.'));
      return;
    }
    host.append(h('div', { class: 'table-wrap' }, h('table', { id: 'numbers-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Number'), h('th', {}, 'Kind'), h('th', { class: 'hide-narrow' }, 'Business name'),
        h('th', { class: 'hide-narrow' }, 'Languages'), h('th', { class: 'hide-narrow' }, 'Added'))),
      h('tbody', {}, numbers.map((n) => h('tr', { dataset: { number: n.id } },
        h('td', {}, h('a', { href: `#/numbers/${n.id}`, class: 'mono' }, n.number)),
        h('td', {}, kindLabel(n.kind), n.kind === 'short_code' ? h('div', { class: 'sub' }, 'confirms every opt-in') : null),
        h('td', { class: 'hide-narrow' }, n.business_name || h('span', { class: 'muted' }, '—')),
        h('td', { class: 'hide-narrow' }, (n.languages || []).join(', ') || 'en'),
        h('td', { class: 'hide-narrow' }, time(n.created_at))))))));
  }

  function add() {
    const { body, close } = openDialog('Add sender number');
    const kinds = [['long_code', 'Long code (a normal phone number)'], ['toll_free', 'Toll-free'],
      ['short_code', ctx.hasShortCode ? 'Short code' : 'Short code — needs the SMS Short Code add-on', !ctx.hasShortCode]];
    const kind = select('kind', kinds, 'long_code');
    const number = h('input', { type: 'text', name: 'number', required: true, autocomplete: 'off', placeholder: '+4520123456' });
    const country = h('input', { type: 'text', name: 'country', value: ctx.account.region || '', maxlength: 2, autocomplete: 'off' });
    const business = h('input', { type: 'text', name: 'business_name', placeholder: 'Used in reply texts as {business}' });
    const error = h('div', {});
    const kindHint = h('div', {}, ctx.hasShortCode ? 'Short codes send a confirmation SMS for every new opt-in.'
      : 'Short codes are not available: this account does not have the SMS Short Code add-on.');
    const form = h('form', { novalidate: true }, error,
      field('Kind', kind, kindHint),
      field('Number', number, 'E.164 (+ and country code) for long codes and toll-free; 3–8 digits for a short code.'),
      h('div', { class: 'form-row' }, field('Country (ISO code)', country), field('Business name', business)),
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: close }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Add number')));
    body.append(form);
    number.focus();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const n = await api('POST', '/v1/numbers', { body: { number: number.value.trim(), kind: kind.value, country: country.value.trim().toUpperCase(), business_name: business.value.trim() } });
        close();
        toast(`${n.number} added.`);
        await load();
      } catch (e) {
        error.replaceChildren(alertBox('error', 'The number was not added', describe(e)));
      }
    });
  }

  await load();
}

// "STOP, quit" → ["STOP", "quit"]
function words(text) { return text.split(',').map((s) => s.trim()).filter(Boolean); }

// A live segment counter for a reply text; {business} counts as the business name.
export function segmentCounter(textarea, businessName) {
  const out = h('div', { class: 'counter', 'aria-live': 'polite' });
  const update = () => {
    const text = textarea.value.replaceAll('{business}', businessName() || '');
    const s = countSegments(text);
    out.classList.toggle('multi', s.segments > 1);
    out.replaceChildren(
      h('span', { class: 'enc' }, s.encoding),
      h('span', { class: 'chars' }, `${s.characters} ${s.encoding === 'GSM-7' ? 'septets' : 'UTF-16 units'} (${s.code_points} characters)`),
      h('span', { class: 'seg' }, `${s.segments} ${s.segments === 1 ? 'segment' : 'segments'}`),
      h('span', { class: 'cap' }, `${s.per_segment} per segment`));
  };
  textarea.addEventListener('input', update);
  update();
  return { element: out, update };
}

export async function renderNumber(page, ctx, id) {
  if (!ctx.hasSms) { page.append(NO_SMS()); return; }
  const n = await api('GET', `/v1/numbers/${id}`);
  const ro = !ctx.canEdit;
  page.append(h('a', { class: 'back', href: '#/numbers' }, '← Sender numbers'),
    h('div', { class: 'page-head' }, h('div', {}, h('h1', { class: 'mono' }, n.number),
      h('p', { class: 'sub' }, `${kindLabel(n.kind)} · ${n.country}${n.kind === 'short_code' ? ' · every new opt-in gets a confirmation SMS' : ''}`))));
  if (ro) page.append(alertBox('info', null, 'You have view-only access: the fields below cannot be changed.'));

  const business = h('input', { type: 'text', name: 'business_name', value: n.business_name, disabled: ro });
  const languages = h('input', { type: 'text', name: 'languages', value: (n.languages || []).join(', '), disabled: ro, placeholder: 'en, da' });
  const kw = n.keywords || {};
  const kwInput = (name, list) => h('input', { type: 'text', name, value: (list || []).join(', '), disabled: ro });
  const optIn = kwInput('opt_in', kw.opt_in);
  const optOut = kwInput('opt_out', kw.opt_out);
  const optOutAll = kwInput('opt_out_all', kw.opt_out_all);
  const help = kwInput('help', kw.help);
  const replaceDefaults = h('input', { type: 'checkbox', name: 'replace_defaults', checked: !!kw.replace_defaults, disabled: ro });
  const freeText = h('input', { type: 'checkbox', name: 'free_text', checked: kw.free_text !== false, disabled: ro });
  const confirmOptIn = h('input', { type: 'checkbox', name: 'opt_in_confirmation', checked: n.kind === 'short_code' || !!n.opt_in_confirmation, disabled: ro || n.kind === 'short_code' });
  const replies = n.replies || {};
  const reply = (name) => h('textarea', { name: `reply_${name}`, rows: 3, disabled: ro }, replies[name] || '');
  const replyOptIn = reply('opt_in');
  const replyOptOut = reply('opt_out');
  const replyHelp = reply('help');
  const replyConfirm = reply('confirmation_request');
  const doubleOptIn = h('input', { type: 'checkbox', name: 'double_opt_in', checked: !!n.double_opt_in, disabled: ro });
  const businessName = () => business.value.trim();
  const counters = [replyOptIn, replyOptOut, replyHelp, replyConfirm].map((t) => segmentCounter(t, businessName));
  business.addEventListener('input', () => counters.forEach((c) => c.update()));
  counters.forEach((c, i) => { c.element.id = ['count-opt-in', 'count-opt-out', 'count-help', 'count-confirmation-request'][i]; });

  // Sending: quiet hours by name (a custom window is set through the API and kept as it is),
  // the rate, and the frequency cap.
  const quietNames = [['account', 'As the account (default)'], ['jurisdiction', '08:00–21:00 with US state rules'], ['default', '08:00–21:00'], ['off', 'Off']];
  const quietNow = typeof n.quiet_hours === 'string' ? n.quiet_hours : null;
  const quiet = select('quiet_hours', quietNow ? quietNames : [['', 'Custom window (set through the API)'], ...quietNames], quietNow || '');
  quiet.disabled = ro;
  const rate = h('input', { type: 'number', name: 'rate_per_second', min: '0.01', max: '1000', step: '0.001', value: n.rate_default ? '' : n.rate_per_second, placeholder: `${n.rate_per_second} (default for its kind)`, disabled: ro });
  const cap = n.frequency_cap || {};
  const perDay = h('input', { type: 'number', name: 'cap_per_day', min: '0', max: '1000', step: '1', value: cap.per_day || '', placeholder: 'no limit', disabled: ro });
  const perWeek = h('input', { type: 'number', name: 'cap_per_week', min: '0', max: '1000', step: '1', value: cap.per_week || '', placeholder: 'no limit', disabled: ro });
  const over = select('cap_over', [['refuse', 'Refuse the message'], ['defer', 'Send it when the cap allows']], cap.over || 'refuse');
  over.disabled = ro;

  const error = h('div', {});
  const save = h('button', { type: 'submit', class: 'primary', disabled: ro }, 'Save changes');
  const form = h('form', { novalidate: true, id: 'number-form' }, error,
    h('section', { class: 'panel' }, h('h2', {}, 'Business'),
      h('div', { class: 'form-row' }, field('Business name', business, 'Replaces {business} in the reply texts.'),
        field('Languages', languages, 'Keyword languages besides English, e.g. da, sv, no, de, fr, es.'))),
    h('section', { class: 'panel' }, h('h2', {}, 'Keywords'),
      h('p', { class: 'muted' }, 'Comma-separated. Matching ignores case, surrounding spaces, punctuation and emoji. The standard keywords (STOP, START, HELP, …) apply as well unless you replace them.'),
      h('div', { class: 'form-row' }, field('Opt-in keywords', optIn), field('Opt-out keywords', optOut)),
      h('div', { class: 'form-row' }, field('Opt-out of all numbers', optOutAll), field('Help keywords', help)),
      h('label', { class: 'check' }, replaceDefaults, h('span', {}, 'Replace the standard keywords with these')),
      h('label', { class: 'check' }, freeText, h('span', {}, 'Recognise clear free-text opt-outs (“please stop texting me”)'))),
    h('section', { class: 'panel' }, h('h2', {}, 'Automatic replies'),
      h('p', { class: 'muted' }, 'Counted as sent, with {business} replaced. GSM-7 fits 160 characters in one SMS (153 per part when longer); any character outside it switches the whole text to UCS-2: 70, or 67 per part.'),
      field('Opt-in confirmation reply', replyOptIn, counters[0].element),
      h('label', { class: 'check' }, confirmOptIn, h('span', {}, n.kind === 'short_code' ? 'Send the opt-in confirmation (always on for short codes)' : 'Send the opt-in confirmation')),
      h('div', { class: 'field' }),
      field('Opt-out confirmation reply', replyOptOut, counters[1].element),
      field('Help reply', replyHelp, counters[2].element)),
    h('section', { class: 'panel' }, h('h2', {}, 'Double opt-in'),
      h('p', { class: 'muted' }, 'An opt-in (by keyword, by staff, by API or in bulk) first sends the request to confirm; the contact is awaiting confirmation, and gets no marketing, until they reply YES.'),
      h('label', { class: 'check' }, doubleOptIn, h('span', {}, 'Require the contact to confirm every opt-in')),
      field('Request to confirm', replyConfirm, counters[3].element)),
    h('section', { class: 'panel' }, h('h2', {}, 'Sending'),
      h('p', { class: 'muted' }, 'How messages sent through the service leave this number: quiet hours by the recipient\'s local time, the most it sends per second, and how much marketing one contact may get from it.'),
      h('div', { class: 'form-row' }, field('Quiet hours', quiet), field('Messages per second', rate, 'Empty: the default for its kind.')),
      h('div', { class: 'form-row' }, field('Marketing per contact per day', perDay), field('Marketing per contact per week', perWeek)),
      field('Past the limit', over)),
    ro ? null : h('div', { class: 'actions' }, save, h('a', { class: 'button', href: '#/numbers' }, 'Cancel')));
  page.append(form);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    save.disabled = true;
    try {
      await api('PATCH', `/v1/numbers/${id}`, { body: {
        business_name: businessName(),
        languages: words(languages.value),
        opt_in_confirmation: confirmOptIn.checked,
        double_opt_in: doubleOptIn.checked,
        ...(quiet.value ? { quiet_hours: quiet.value } : {}),
        rate_per_second: rate.value === '' ? null : Number(rate.value),
        frequency_cap: perDay.value === '' && perWeek.value === '' ? null
          : { per_day: Number(perDay.value || 0), per_week: Number(perWeek.value || 0), over: over.value },
        keywords: { opt_in: words(optIn.value), opt_out: words(optOut.value), opt_out_all: words(optOutAll.value), help: words(help.value),
          replace_defaults: replaceDefaults.checked, free_text: freeText.checked },
        replies: { opt_in: replyOptIn.value, opt_out: replyOptOut.value, help: replyHelp.value, confirmation_request: replyConfirm.value },
      } });
      ctx.numbers = null;
      error.replaceChildren();
      toast('Saved.');
    } catch (e) {
      error.replaceChildren(alertBox('error', 'Not saved', describe(e)));
      error.scrollIntoView({ block: 'nearest' });
    } finally {
      save.disabled = false;
    }
  });
}
