// Sender numbers (the live segment counter, adding a number, the short-code add-on rule) and the
// activity page (inbound messages with their decisions and replies, replies not sent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededSuite, signIn, addUser, EDITOR, LONG_CODE } from './harness.mjs';

const env = seededSuite();

test('the reply texts have a live segment counter that follows GSM-7 and UCS-2 rules', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await page.getByRole('link', { name: 'Sender numbers' }).click();
  await page.getByRole('link', { name: LONG_CODE }).click();
  const text = page.getByLabel('Help reply');
  const counter = page.locator('#count-help');

  await text.fill('{business}: call 70 20 30 40');  // "Nordic Bikes: call 70 20 30 40"
  assert.equal(await counter.locator('.enc').textContent(), 'GSM-7');
  assert.match(await counter.locator('.chars').textContent(), /^30 septets/);
  assert.equal(await counter.locator('.seg').textContent(), '1 segment');

  await text.fill('x'.repeat(146));  // 146 + nothing else: still one part
  assert.equal(await counter.locator('.seg').textContent(), '1 segment');
  await text.press('End');
  await text.pressSequentially('{}[]~|^€', { delay: 5 });  // eight extension characters: 16 septets
  assert.match(await counter.locator('.chars').textContent(), /^162 septets/);
  assert.equal(await counter.locator('.seg').textContent(), '2 segments');

  await text.fill('Tak for din tilmelding 🚲');
  assert.equal(await counter.locator('.enc').textContent(), 'UCS-2');
  assert.match(await counter.locator('.chars').textContent(), /^25 UTF-16 units \(24 characters\)/);
  await text.fill('🚲'.repeat(36));
  assert.equal(await counter.locator('.seg').textContent(), '2 segments');

  // The business name counts, as it will be sent.
  await page.getByLabel('Opt-in confirmation reply').fill('{business}');
  assert.match(await page.locator('#count-opt-in .chars').textContent(), /^12 septets/);
  await page.getByLabel('Business name').fill('Nordic Bikes ApS');
  assert.match(await page.locator('#count-opt-in .chars').textContent(), /^16 septets/);

  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved.').waitFor();
  const numbers = await env.server.api('GET', '/v1/numbers');
  const saved = numbers.items.find((n) => n.number === LONG_CODE);
  assert.equal(saved.replies.help, '🚲'.repeat(36));
  assert.equal(saved.business_name, 'Nordic Bikes ApS');
  await page.context().close();
});

test('adding numbers: a long code is added; short codes need the add-on and the page says why', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await page.getByRole('link', { name: 'Sender numbers' }).click();
  await page.getByRole('button', { name: 'Add number' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add sender number' });
  await dialog.getByLabel('Number').fill('not a number');
  await dialog.getByRole('button', { name: 'Add number' }).click();
  await dialog.getByText('The number was not added').waitFor();
  await dialog.getByLabel('Number').fill('+4520999999');
  await dialog.getByRole('button', { name: 'Add number' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: '+4520999999' }).waitFor();
  await page.context().close();

  const account = env.server.cli(['account', 'create', '--name', 'No Short Codes', '--addons', 'marketing_sms_access', '--region', 'DK']);
  const user = { email: 'staff@noshort.example', password: 'no short codes here' };
  addUser(env.server, account.id, user, 'editor');
  const other = await signIn(env.browser, env.server, user);
  await other.getByRole('link', { name: 'Sender numbers' }).click();
  await other.getByRole('button', { name: 'Add number' }).click();
  const kind = other.getByLabel('Kind');
  assert.equal(await kind.locator('option[value="short_code"]').isDisabled(), true);
  await other.getByText('this account does not have the SMS Short Code add-on').waitFor();
  await other.context().close();
});

test('activity lists inbound messages with their decision and replies', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await page.getByRole('link', { name: 'Activity' }).click();
  const rows = page.locator('#messages-table tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 3);
  // Newest first: Lars's START.
  assert.match(await rows.nth(0).textContent(), /START/);
  assert.match(await rows.nth(0).textContent(), /Opt-in/);
  const stop = rows.filter({ hasText: 'Stop!' });
  assert.match(await stop.textContent(), /Opt-out/);
  assert.equal(await stop.locator('code').first().textContent(), 'STOP');  // the rule that decided
  assert.match(await stop.textContent(), /Not specified → Opted out/);
  assert.match(await stop.textContent(), /sent\s*Nordic Bikes: Du er afmeldt/);  // the opt-out confirmation, in Danish (a DK number)
  await page.getByText('No unsent replies').waitFor();
  await page.context().close();
});

test('double opt-in: the number page turns it on; a manual opt-in then awaits the contact\'s YES', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await page.getByRole('link', { name: 'Sender numbers' }).click();
  await page.getByRole('link', { name: LONG_CODE }).click();
  await page.getByRole('checkbox', { name: 'Require the contact to confirm every opt-in' }).check();
  const request = page.getByLabel('Request to confirm');
  assert.match(await request.inputValue(), /Reply YES to confirm/);
  await request.fill('{business}: reply YES to get our offers');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved.').waitFor();

  await page.getByRole('link', { name: 'Contacts' }).click();
  await page.getByRole('link', { name: 'Oliver Andersen' }).click();
  await page.locator('#subscriptions').waitFor();
  await page.getByRole('button', { name: `Edit status on ${LONG_CODE}` }).click();
  const dialog = page.getByRole('dialog', { name: `Status on ${LONG_CODE}` });
  await dialog.getByRole('radio', { name: 'Opted in' }).check();
  await dialog.getByText('This number uses double opt-in').waitFor();
  await dialog.getByRole('checkbox', { name: /I attest that we hold this contact's express, verifiable consent/ }).check();
  await dialog.getByLabel('Legal basis').selectOption('consent');
  await dialog.getByLabel('Explanation').fill('Signed up on the web form');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  const row = page.locator(`#subscriptions tr[data-number="${env.data.long.id}"]`);
  await row.getByText('Awaiting confirmation').waitFor();

  const consent = await env.server.api('GET', `/v1/consent?phone=%2B4520000006&number=${encodeURIComponent(LONG_CODE)}`);
  assert.equal(consent.allowed, false);
  assert.equal(consent.status, 'pending_confirmation');
  env.server.cli(['sms', 'receive', '--from', '+4520000006', '--to', LONG_CODE, '--body', 'Ja', '--message-id', 'doi-yes']);
  await page.reload();
  await row.getByText('Opted in').waitFor();
  await env.server.api('PATCH', `/v1/numbers/${env.data.long.id}`, { double_opt_in: false });
  await page.context().close();
});

test('sending settings: quiet hours, rate and frequency cap are saved from the number page', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await page.getByRole('link', { name: 'Sender numbers' }).click();
  await page.getByRole('link', { name: LONG_CODE }).click();
  const quiet = page.getByLabel('Quiet hours');
  assert.equal(await quiet.inputValue(), 'account');
  await quiet.selectOption('off');
  await page.getByLabel('Messages per second').fill('2.5');
  await page.getByLabel('Marketing per contact per day').fill('2');
  await page.getByLabel('Past the limit').selectOption('defer');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved.').waitFor();
  let saved = await env.server.api('GET', `/v1/numbers/${env.data.long.id}`);
  assert.equal(saved.quiet_hours, 'off');
  assert.equal(saved.rate_per_second, 2.5);
  assert.deepEqual(saved.frequency_cap, { per_day: 2, per_week: 0, over: 'defer' });

  // A bad rate is refused and names the field; nothing changes.
  await page.getByLabel('Messages per second').fill('5000');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('rate_per_second').first().waitFor();
  saved = await env.server.api('GET', `/v1/numbers/${env.data.long.id}`);
  assert.equal(saved.rate_per_second, 2.5);

  // Emptied: the kind's default rate and no cap.
  await page.reload();
  await page.getByLabel('Messages per second').fill('');
  await page.getByLabel('Marketing per contact per day').fill('');
  await page.getByLabel('Quiet hours').selectOption('account');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved.').waitFor();
  saved = await env.server.api('GET', `/v1/numbers/${env.data.long.id}`);
  assert.equal(saved.rate_default, true);
  assert.equal(saved.frequency_cap, null);
  assert.equal(saved.quiet_hours, 'account');
  await page.context().close();
});
