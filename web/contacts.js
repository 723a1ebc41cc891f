// The contacts index: search by phone or name, filter by status on a number, a paged table with
// each contact's status per number (GET /v1/contacts?include=subscriptions), row selection or
// "all matching the filter", and the bulk status dialog / CSV import (bulk.js).
import { api, describe } from './api.js';
import { h, clear, statusPill, ALL_STATUSES, statusLabel, time, emptyState, alertBox, debounce, plural, kindLabel, field, openDialog, select } from './ui.js';
import { openBulkDialog, openImportDialog } from './bulk.js';

const PAGE_SIZE = 50;
const MAX_STATUS_COLUMNS = 4;

// A value in the filter language (docs/csv.md): bare when safe, else quoted.
function filterValue(v) {
  return /^[^\s"=<>!]+$/.test(v) ? v : `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export async function renderContacts(page, ctx, params) {
  const numbers = await ctx.getNumbers();
  const state = {
    search: params.get('search') || '',
    number: params.get('number') || '',
    status: params.get('status') || '',
    cursors: [0],      // cursor of each page visited; the last is the current page
    next: null,
    items: [],
    selected: new Set(),
    allMatching: false,
  };
  if (!numbers.some((n) => String(n.id) === state.number)) { state.number = ''; state.status = ''; }

  // Which numbers get a status column: all when few, else the filtered one (or the first few).
  const columnNumbers = numbers.length <= MAX_STATUS_COLUMNS ? numbers
    : numbers.filter((n) => String(n.id) === state.number).concat(numbers.filter((n) => String(n.id) !== state.number)).slice(0, MAX_STATUS_COLUMNS);

  // ---- head ----
  const editButton = h('button', { type: 'button', class: 'primary', id: 'bulk-edit', disabled: true, onclick: () => bulk() }, 'Edit subscription status');
  const actions = h('div', { class: 'actions' });
  if (ctx.canEdit) {
    actions.append(h('button', { type: 'button', id: 'add-contact', onclick: addContact }, 'Add contact'),
      h('button', { type: 'button', id: 'import-contacts', onclick: () => openImportDialog(ctx, load) }, 'Import contacts'));
    if (ctx.hasSms) {
      actions.append(h('button', { type: 'button', id: 'csv-optin', onclick: csvOptIn }, 'Bulk opt-in from CSV'), editButton);
    }
  }
  page.append(h('div', { class: 'page-head' },
    h('div', {}, h('h1', {}, 'Contacts'),
      h('p', { class: 'sub' }, ctx.canEdit ? 'Find contacts, see their SMS subscription status on each number, and change it with evidence.'
        : 'You have view-only access: you can look up contacts and their consent, but not change them.')),
    actions));
  if (!ctx.hasSms) {
    page.append(alertBox('warn', 'SMS features are not available on this account',
      'This account does not have the Marketing SMS Access add-on, so SMS subscription statuses, bulk changes, sender numbers and activity are not shown. Ask your administrator to add it.'));
  }

  // ---- toolbar ----
  const search = h('input', { type: 'search', name: 'search', value: state.search, placeholder: 'Phone or name', autocomplete: 'off' });
  const numberSel = select('number', [['', 'Any number'], ...numbers.map((n) => [String(n.id), `${n.number} (${kindLabel(n.kind)})`])], state.number);
  const statusSel = select('status', [['', 'Any status'], ...ALL_STATUSES.map((s) => [s, statusLabel(s)])], state.status);
  const clearButton = h('button', { type: 'button', onclick: () => { search.value = ''; numberSel.value = ''; statusSel.value = ''; changed(); } }, 'Clear filters');
  const toolbar = h('div', { class: 'toolbar', role: 'search' },
    h('div', { class: 'field grow' }, h('label', { for: 'contact-search' }, 'Search'), Object.assign(search, { id: 'contact-search' })));
  if (ctx.hasSms) {
    toolbar.append(
      h('div', { class: 'field' }, h('label', { for: 'filter-number' }, 'Status on number'), Object.assign(numberSel, { id: 'filter-number' })),
      h('div', { class: 'field' }, h('label', { for: 'filter-status' }, 'Status'), Object.assign(statusSel, { id: 'filter-status' })));
  }
  toolbar.append(clearButton);

  const banner = h('div', { class: 'select-banner', hidden: true, id: 'select-banner' });
  const tableHost = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });
  const message = h('div', {});
  page.append(message, h('section', { class: 'panel flush', 'aria-label': 'Contacts' }, toolbar, banner, tableHost, pager));

  function syncStatusSelect() {
    statusSel.disabled = !numberSel.value;
    if (!numberSel.value) statusSel.value = '';
    statusSel.title = numberSel.value ? '' : 'Choose a number first';
  }
  syncStatusSelect();

  function changed() {
    syncStatusSelect();
    state.search = search.value.trim();
    state.number = numberSel.value;
    state.status = statusSel.value;
    state.cursors = [0];
    state.selected.clear();
    state.allMatching = false;
    const q = new URLSearchParams();
    if (state.search) q.set('search', state.search);
    if (state.number && state.status) { q.set('number', state.number); q.set('status', state.status); }
    history.replaceState(null, '', `#/contacts${q.toString() ? `?${q}` : ''}`);
    load();
  }
  search.addEventListener('input', debounce(changed, 250));
  numberSel.addEventListener('change', changed);
  statusSel.addEventListener('change', changed);

  function queryParams() {
    const q = { limit: PAGE_SIZE, after: state.cursors[state.cursors.length - 1] || undefined };
    if (ctx.hasSms) q.include = 'subscriptions';
    if (state.search) q.search = state.search;
    if (state.number && state.status) { q.number = state.number; q.status = state.status; }
    return q;
  }
  function filterExpression() {
    const terms = [];
    if (state.number && state.status) terms.push(`number_id=${state.number}`, `status=${state.status}`);
    if (state.search) terms.push(`search=${filterValue(state.search)}`);
    return terms.join(' ');
  }
  function filterDescription() {
    const parts = [];
    if (state.search) parts.push(`matching “${state.search}”`);
    if (state.number && state.status) {
      const n = numbers.find((x) => String(x.id) === state.number);
      parts.push(`${statusLabel(state.status).toLowerCase()} on ${n ? n.number : state.number}`);
    }
    return parts.length ? parts.join(', ') : 'all contacts';
  }

  let loadSeq = 0;
  async function load() {
    const seq = ++loadSeq;
    tableHost.setAttribute('aria-busy', 'true');
    let res;
    try {
      res = await api('GET', '/v1/contacts', { query: queryParams() });
    } catch (e) {
      if (seq !== loadSeq) return;
      tableHost.removeAttribute('aria-busy');
      message.replaceChildren(alertBox('error', 'Contacts could not be loaded', describe(e)));
      return;
    }
    if (seq !== loadSeq) return;
    message.replaceChildren();
    tableHost.removeAttribute('aria-busy');
    state.items = res.items;
    state.next = res.next;
    renderTable();
  }

  function renderTable() {
    clear(tableHost);
    const filtered = state.search || (state.number && state.status);
    if (!state.items.length) {
      tableHost.append(filtered
        ? emptyState('No contacts match these filters', 'Try another search, or clear the filters.', h('button', { type: 'button', onclick: () => clearButton.click() }, 'Clear filters'))
        : emptyState('No contacts yet', 'Contacts appear when someone texts one of your numbers, when you import a CSV file, or when your systems add them through the API.'));
      renderPager();
      syncSelection();
      return;
    }
    const selectable = ctx.canEdit && ctx.hasSms;
    const pageBox = selectable ? h('input', { type: 'checkbox', 'aria-label': 'Select all contacts on this page', id: 'select-page' }) : null;
    if (pageBox) pageBox.addEventListener('change', () => {
      for (const c of state.items) { if (pageBox.checked) state.selected.add(c.id); else state.selected.delete(c.id); }
      state.allMatching = false;
      renderTable();
    });
    const head = h('tr', {},
      selectable ? h('th', { class: 'check-cell' }, pageBox) : null,
      h('th', { scope: 'col' }, 'Contact'),
      h('th', { scope: 'col', class: 'hide-narrow' }, 'Phone'),
      ctx.hasSms ? columnNumbers.map((n) => h('th', { scope: 'col', title: `${kindLabel(n.kind)} ${n.business_name || ''}` }, n.number)) : null,
      h('th', { scope: 'col', class: 'hide-narrow' }, 'Created'));
    const rows = state.items.map((c) => {
      const statuses = new Map((c.subscriptions || []).map((s) => [s.number_id, s]));
      const checked = state.allMatching || state.selected.has(c.id);
      const box = selectable ? h('input', { type: 'checkbox', 'aria-label': `Select ${c.name || c.phone}`, checked, disabled: state.allMatching }) : null;
      if (box) box.addEventListener('change', () => {
        if (box.checked) state.selected.add(c.id); else state.selected.delete(c.id);
        tr.classList.toggle('selected', box.checked);
        syncSelection();
      });
      const tr = h('tr', { class: checked ? 'selected' : null, dataset: { contact: c.id } },
        selectable ? h('td', { class: 'check-cell' }, box) : null,
        h('td', {}, h('a', { href: `#/contacts/${c.id}` }, c.name || c.phone),
          c.name ? h('div', { class: 'sub mono show-narrow' }, c.phone) : null,
          c.email ? h('div', { class: 'sub' }, c.email) : null),
        h('td', { class: 'mono hide-narrow' }, c.phone),
        ctx.hasSms ? columnNumbers.map((n) => {
          const s = statuses.get(n.id);
          return h('td', { dataset: { number: n.id } }, statusPill(s ? s.status : 'not_specified'));
        }) : null,
        h('td', { class: 'hide-narrow' }, time(c.created_at)));
      return tr;
    });
    tableHost.append(h('table', { id: 'contacts-table' }, h('thead', {}, head), h('tbody', {}, rows)));
    if (pageBox) {
      const onPage = state.items.filter((c) => state.selected.has(c.id)).length;
      pageBox.checked = state.allMatching || onPage === state.items.length;
      pageBox.indeterminate = !state.allMatching && onPage > 0 && onPage < state.items.length;
    }
    renderPager();
    syncSelection();
  }

  function renderPager() {
    clear(pager);
    const pageNo = state.cursors.length;
    const prev = h('button', { type: 'button', disabled: pageNo === 1, onclick: () => { state.cursors.pop(); load(); } }, '← Previous');
    const next = h('button', { type: 'button', disabled: !state.next, onclick: () => { state.cursors.push(Number(state.next)); load(); } }, 'Next →');
    pager.append(h('span', { class: 'muted' }, state.items.length ? `Page ${pageNo} · ${plural(state.items.length, 'contact', 'contacts')} shown` : ''),
      h('div', { class: 'actions' }, prev, next));
  }

  function syncSelection() {
    const count = state.selected.size;
    editButton.disabled = !(state.allMatching || count > 0);
    editButton.textContent = state.allMatching ? 'Edit status of all matching'
      : count ? `Edit status of ${plural(count, 'contact', 'contacts')}` : 'Edit subscription status';
    clear(banner);
    banner.hidden = true;
    if (state.allMatching) {
      banner.hidden = false;
      banner.append(h('span', {}, `All contacts ${filterDescription()} are selected.`),
        h('button', { type: 'button', class: 'link', onclick: () => { state.allMatching = false; state.selected.clear(); renderTable(); } }, 'Clear selection'));
    } else if (state.items.length && state.items.every((c) => state.selected.has(c.id))) {
      banner.hidden = false;
      banner.append(h('span', {}, `${plural(count, 'contact', 'contacts')} selected.`),
        h('button', { type: 'button', class: 'link', id: 'select-all-matching', onclick: () => { state.allMatching = true; renderTable(); } },
          `Select all contacts ${filterDescription()}`));
    }
  }

  function bulk() {
    const selection = state.allMatching ? { filter: filterExpression() } : { ids: [...state.selected] };
    const description = state.allMatching ? `Applies to all contacts ${filterDescription()} (the preview counts them).`
      : `Applies to the ${plural(state.selected.size, 'selected contact', 'selected contacts')}.`;
    openBulkDialog(ctx, { selection, description, onDone: () => { state.selected.clear(); state.allMatching = false; load(); } });
  }

  function csvOptIn() {
    openBulkDialog(ctx, { selection: { csv: true }, description: 'Opt in the contacts listed in a CSV file. The preview shows what will change before anything does.', onDone: load });
  }

  function addContact() {
    const { body, close } = openDialog('Add contact');
    const phone = h('input', { type: 'tel', name: 'phone', required: true, autocomplete: 'off' });
    const name = h('input', { type: 'text', name: 'name' });
    const email = h('input', { type: 'email', name: 'email' });
    const error = h('div', {});
    const form = h('form', { novalidate: true }, error,
      field('Phone', phone, `International format (+45…), or national format for ${ctx.account.region}.`),
      field('Name', name), field('Email', email),
      h('p', { class: 'muted' }, 'A new contact has no SMS subscription; set it on the contact record, with its evidence.'),
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: close }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Add contact')));
    body.append(form);
    phone.focus();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const c = await api('POST', '/v1/contacts', { body: { phone: phone.value, name: name.value.trim(), email: email.value.trim() } });
        close();
        ctx.go(`#/contacts/${c.id}`);
      } catch (e) {
        phone.setAttribute('aria-invalid', e.status === 422 ? 'true' : 'false');
        error.replaceChildren(alertBox('error', null, describe(e)));
      }
    });
  }

  await load();
}
