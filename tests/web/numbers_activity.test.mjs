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
