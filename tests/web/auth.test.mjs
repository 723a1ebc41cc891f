// Signing in and out, the viewer role, CSRF protection, and an account without the SMS add-on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededSuite, signIn, addUser, EDITOR, VIEWER, LONG_CODE, DESKTOP } from './harness.mjs';

const env = seededSuite();

test('sign-in: a wrong password is refused; the right one opens the contacts; the session survives a reload; sign-out ends it', async () => {
  const context = await env.browser.newContext({ viewport: DESKTOP, baseURL: env.server.base });
  const page = await context.newPage();
  await page.goto('/');  // redirects to /app/
  assert.match(page.url(), /\/app\/$/);
  await page.getByLabel('Email').fill(EDITOR.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('The email or password is not correct.').waitFor();
  assert.equal((await context.cookies()).length, 0);
  // Every view, the sign-in one included, says the page is not legal advice.
  assert.match(await page.locator('footer').textContent(), /not legal advice/);

  await page.getByLabel('Password').fill(EDITOR.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
  const [cookie] = await context.cookies();
  assert.equal(cookie.name, 'smsconsent_session');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie), '');  // not readable by scripts
  assert.match(await page.locator('#whoami').textContent(), /Nordic Bikes.*editor@example\.com.*editor/);

  await page.reload();
  await page.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  const after = await page.evaluate(async () => (await fetch('/v1/account')).status);
  assert.equal(after, 401);
  await context.close();
});

test('a viewer sees everything but is offered no change, and the env.server refuses one anyway', async () => {
  const page = await signIn(env.browser, env.server, VIEWER);
  assert.match(await page.locator('#whoami').textContent(), /viewer/);
  assert.equal(await page.getByRole('button', { name: /Edit subscription status|Edit status/ }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Import contacts' }).count(), 0);
  assert.equal(await page.locator('#contacts-table input[type=checkbox]').count(), 0);
  await page.getByText('You have view-only access').waitFor();

  await page.getByRole('link', { name: 'Lars Nielsen' }).click();
  await page.getByRole('heading', { name: 'Lars Nielsen' }).waitFor();
  await page.locator('#subscriptions').waitFor();
  assert.equal(await page.locator('#subscriptions button').count(), 0);

  await page.getByRole('link', { name: 'Sender numbers' }).click();
  await page.getByRole('link', { name: LONG_CODE }).click();
  assert.equal(await page.getByLabel('Opt-in confirmation reply').isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Save changes' }).count(), 0);

  // Even with a valid CSRF token, the role decides.
  const result = await page.evaluate(async ([contact, number]) => {
    const session = await (await fetch('/v1/session')).json();
    const res = await fetch(`/v1/contacts/${contact}/subscriptions/${number}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf_token },
      body: JSON.stringify({ status: 'opted_out', explanation: 'viewer tries' }),
    });
    return { status: res.status, body: await res.json() };
  }, [env.data.contacts[1].id, env.data.long.id]);
  assert.equal(result.status, 403);
  const statuses = await env.server.api('GET', `/v1/contacts/${env.data.contacts[1].id}/subscriptions`);
  assert.equal(statuses.items.find((s) => s.number === LONG_CODE).status, 'opted_in');
  await page.context().close();
});

test('a change without the CSRF token is refused and changes nothing', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  const attempt = (headers) => page.evaluate(async ([contact, number, extra]) => {
    const res = await fetch(`/v1/contacts/${contact}/subscriptions/${number}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', ...extra },
      body: JSON.stringify({ status: 'opted_out', explanation: 'forged' }),
    });
    return { status: res.status, body: await res.json() };
  }, [env.data.contacts[1].id, env.data.long.id, headers]);
  const missing = await attempt({});
  assert.equal(missing.status, 403);
  assert.equal(missing.body.error.code, 'CSRF_FAILED');
  const wrong = await attempt({ 'X-CSRF-Token': 'forged-token' });
  assert.equal(wrong.status, 403);
  assert.equal(wrong.body.error.code, 'CSRF_FAILED');
  const statuses = await env.server.api('GET', `/v1/contacts/${env.data.contacts[1].id}/subscriptions`);
  assert.equal(statuses.items.find((s) => s.number === LONG_CODE).status, 'opted_in');
  const history = await env.server.api('GET', `/v1/contacts/${env.data.contacts[1].id}/history`);
  assert.equal(history.items.length, 1);  // only Lars's START

  // A form posted from another site carries no cookie (SameSite=Strict) and no token.
  const other = await env.browser.newContext();
  const evil = await other.newPage();
  await evil.setContent(`<form method="POST" action="${env.server.base}/v1/contacts"><input name="phone" value="+4520000077"></form>`);
  const [response] = await Promise.all([evil.waitForNavigation(), evil.evaluate(() => document.forms[0].submit())]);
  assert.ok(response.status() === 401 || response.status() === 403, `got ${response.status()}`);
  const found = await env.server.api('GET', '/v1/contacts?phone=%2B4520000077');
  assert.equal(found.items.length, 0);
  await other.close();
  await page.context().close();
});

test('without the Marketing SMS Access add-on the page says so instead of offering SMS features', async () => {
  const plain = env.server.cli(['account', 'create', '--name', 'Plain Shop', '--region', 'DK']);
  const user = { email: 'staff@plain.example', password: 'plain shop password' };
  addUser(env.server, plain.id, user, 'editor');
  const page = await signIn(env.browser, env.server, user);
  await page.getByText('SMS features are not available on this account').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Bulk opt-in from CSV' }).count(), 0);
  assert.equal(await page.getByLabel('Status on number').count(), 0);
  await page.getByRole('link', { name: 'Sender numbers' }).click();
  await page.getByText('Sender numbers need the Marketing SMS Access add-on').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Add number' }).count(), 0);
  await page.context().close();
});

test('keyboard only: sign in, open a contact, open and close a dialog with focus returned', async () => {
  const context = await env.browser.newContext({ viewport: DESKTOP, baseURL: env.server.base });
  const page = await context.newPage();
  await page.goto('/app/');
  await page.getByLabel('Email').waitFor();
  // The email field has focus on arrival.
  await page.keyboard.type(EDITOR.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(EDITOR.password);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
  await page.locator('#contacts-table').waitFor();

  await page.getByRole('link', { name: 'Lars Nielsen' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Lars Nielsen', level: 1 }).waitFor();
  const edit = page.getByRole('button', { name: `Edit status on ${LONG_CODE}` });
  await edit.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.closest('dialog') !== null), true);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), `Edit status on ${LONG_CODE}`);
  await context.close();
});
