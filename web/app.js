// The page's shell: the session (GET/POST/DELETE /v1/session), the top bar, and a hash router
// (#/contacts, #/contacts/ID, #/numbers, #/numbers/ID, #/activity, #/signin) that renders one
// page module into <main>. Everything the page shows comes from the public API.
import { api, setCsrfToken, onSignedOut, describe } from './api.js';
import { h, clear, toast } from './ui.js';
import { renderSignIn } from './signin.js';
import { renderContacts } from './contacts.js';
import { renderContact } from './contact.js';
import { renderNumbers, renderNumber } from './numbers.js';
import { renderActivity } from './activity.js';

const ADDON_SMS = 'marketing_sms_access';
const ADDON_SHORT_CODE = 'sms_short_code';

// What every page needs to know about who is signed in.
const ctx = {
  user: null,
  account: null,
  canEdit: false,
  hasSms: false,
  hasShortCode: false,
  numbers: null,  // cached GET /v1/numbers items; refreshNumbers() reloads
  async refreshNumbers() {
    if (!this.hasSms) { this.numbers = []; return this.numbers; }
    this.numbers = (await api('GET', '/v1/numbers')).items;
    return this.numbers;
  },
  async getNumbers() { return this.numbers || this.refreshNumbers(); },
  go(hash) { if (location.hash === hash) route(); else location.hash = hash; },
};

function adopt(session) {
  ctx.user = session.user;
  ctx.account = session.account;
  ctx.canEdit = session.user.role === 'editor';
  const addons = session.account.addons || [];
  ctx.hasSms = addons.includes(ADDON_SMS);
  ctx.hasShortCode = addons.includes(ADDON_SHORT_CODE);
  ctx.numbers = null;
  setCsrfToken(session.csrf_token);
  renderTopbar();
}

function forget() {
  ctx.user = null;
  ctx.account = null;
  setCsrfToken('');
  document.getElementById('topbar').hidden = true;
}

function renderTopbar() {
  const bar = document.getElementById('topbar');
  bar.hidden = false;
  const who = clear(document.getElementById('whoami'));
  who.append(
    h('span', { class: 'account' }, ctx.account.name),
    h('span', { class: 'email' }, ctx.user.email),
    h('span', { class: 'pill role', title: ctx.canEdit ? 'May view and change' : 'May view only' },
      ctx.user.role),
    h('button', { type: 'button', class: 'small', id: 'signout', onclick: signOut }, 'Sign out'));
}

async function signOut() {
  try {
    await api('DELETE', '/v1/session');
  } catch (e) {
    if (e.status !== 401) { toast(describe(e), 'error'); return; }
  }
  forget();
  location.hash = '#/signin';
}

const routes = [
  [/^#\/contacts\/(\d+)$/, (main, m) => renderContact(main, ctx, Number(m[1]))],
  [/^#\/contacts(\?.*)?$/, (main, m) => renderContacts(main, ctx, new URLSearchParams((m[1] || '').slice(1)))],
  [/^#\/numbers\/(\d+)$/, (main, m) => renderNumber(main, ctx, Number(m[1]))],
  [/^#\/numbers$/, (main) => renderNumbers(main, ctx)],
  [/^#\/activity$/, (main) => renderActivity(main, ctx)],
];

let renderSeq = 0;
async function route() {
  const main = document.getElementById('main');
  const hash = location.hash || '#/contacts';
  if (!ctx.user) {
    clear(main);
    renderSignIn(main, async (session) => {
      adopt(session);
      const next = hash.startsWith('#/signin') ? '#/contacts' : hash;
      ctx.go(next);
    });
    return;
  }
  if (hash.startsWith('#/signin') || hash === '#' || hash === '#/') { ctx.go('#/contacts'); return; }
  const found = routes.map(([re, fn]) => [hash.match(re), fn]).find(([m]) => m);
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.toggleAttribute('aria-current', hash.startsWith(`#/${a.dataset.nav}`));
    if (a.hasAttribute('aria-current')) a.setAttribute('aria-current', 'page');
  }
  const seq = ++renderSeq;
  const page = h('div', {});
  clear(main).append(page);
  if (!found) {
    page.append(h('div', { class: 'panel empty' }, h('strong', {}, 'Page not found'),
      h('p', {}, h('a', { href: '#/contacts' }, 'Go to contacts'))));
    return;
  }
  try {
    await found[1](page, found[0]);
  } catch (e) {
    if (seq !== renderSeq) return;
    page.replaceChildren(h('div', { class: 'alert error', role: 'alert' },
      h('strong', { class: 'alert-title' }, 'This page could not be loaded'), describe(e)));
  }
}

onSignedOut(() => {
  if (!ctx.user) return;
  forget();
  toast('Your session has ended. Sign in again.', 'error');
  route();
});

window.addEventListener('hashchange', () => {
  route();
  document.getElementById('main').focus({ preventScroll: true });
});

async function start() {
  try {
    adopt(await api('GET', '/v1/session'));
  } catch (e) {
    if (e.status !== 401) toast(describe(e), 'error');
  }
  route();
}
start();
