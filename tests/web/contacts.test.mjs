// Contacts index: search and filter, a bulk opt-in on a short code with the preview's segment
// count checked, the job's progress and result, and a bulk opt-in from an uploaded CSV file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededSuite, signIn, EDITOR, SHORT_CODE } from './harness.mjs';

const env = seededSuite();

const rowNames = async (page) => page.locator('#contacts-table tbody tr td:nth-child(2) a').allTextContents();

test('search by name or phone and filter by status on a number', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  assert.equal((await rowNames(page)).length, 8);

  await page.getByLabel('Search').fill('sofie');
  await page.waitForFunction(() => document.querySelector('#contacts-table tbody tr td:nth-child(2) a')?.textContent === 'Sofie Jensen');
  assert.deepEqual(await rowNames(page), ['Sofie Jensen']);
  assert.match(page.url(), /#\/contacts\?search=sofie$/);

  await page.getByLabel('Search').fill('20000002');
  await page.waitForFunction(() => document.querySelector('#contacts-table tbody tr td:nth-child(2) a')?.textContent === 'Lars Nielsen');
  assert.deepEqual(await rowNames(page), ['Lars Nielsen']);

  await page.getByLabel('Search').fill('');
  await page.getByLabel('Status on number').selectOption({ label: '+4520123456 (Long code)' });
  await page.getByLabel('Status', { exact: true }).selectOption('opted_out');
  // Wait for the rows themselves: the previous search also left exactly one row (Lars).
  await page.waitForFunction(() => [...document.querySelectorAll('#contacts-table tbody tr td:nth-child(2) a')]
    .map((a) => a.textContent).join() === 'Mette Hansen');
  assert.match(page.url(), /#\/contacts\?number=\d+&status=opted_out$/);
  const cell = page.locator(`#contacts-table tbody tr td[data-number="${env.data.long.id}"]`);
  assert.equal(await cell.textContent(), 'Opted out');

  await page.getByLabel('Status', { exact: true }).selectOption('opted_in');
  await page.waitForFunction(() => document.querySelector('#contacts-table tbody tr td:nth-child(2) a')?.textContent === 'Lars Nielsen');

  await page.getByLabel('Search').fill('nobody-here');
  await page.getByText('No contacts match these filters').waitFor();
  await page.getByRole('button', { name: 'Clear filters' }).first().click();
  await page.waitForFunction(() => document.querySelectorAll('#contacts-table tbody tr').length === 8);
  await page.context().close();
});

test('bulk opt-in on a short code: preview counts confirmations and segments, then the job runs', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  // Mette (self opted out on the short code), Sofie and Anders.
  for (const name of ['Mette Hansen', 'Sofie Jensen', 'Anders Pedersen']) {
    await page.getByRole('checkbox', { name: `Select ${name}` }).check();
  }
  await page.getByRole('button', { name: 'Edit status of 3 contacts' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit SMS subscription status' });
  await dialog.getByLabel('Sender number').selectOption(SHORT_CODE);
  await dialog.getByRole('radio', { name: 'Opted in' }).check();
  await dialog.getByText('This is a short code').waitFor();

  // Without the evidence, nothing is sent to the env.server.
  await dialog.getByRole('button', { name: 'Preview' }).click();
  await dialog.getByText('Opting contacts in requires the attestation').waitFor();

  await dialog.getByRole('checkbox', { name: /I attest that we hold express, verifiable consent/ }).check();
  await dialog.getByLabel('Legal basis').selectOption('consent');
  await dialog.getByLabel('Explanation').fill('Signed up at the spring fair stand (paper forms kept in the shop)');
  await dialog.getByRole('button', { name: 'Preview' }).click();

  const preview = dialog.locator('#bulk-preview');
  await preview.waitFor();
  assert.equal(await preview.locator('#preview-change .value').textContent(), '2');
  assert.equal(await preview.locator('#preview-skipped .value').textContent(), '1');
  assert.match(await preview.locator('tr[data-reason="self_opted_out"]').textContent(), /Opted out by the contact/);
  // Two confirmations of a 161-septet text: two segments each.
  assert.equal(await preview.locator('#preview-segments').textContent(), '4 SMS segments');
  assert.match(await preview.locator('#preview-cost').textContent(), /2 confirmation messages/);
  assert.match(await preview.locator('#preview-cost').textContent(), /GSM-7: 2/);

  await dialog.getByRole('button', { name: 'Apply to 2 contacts' }).click();
  await dialog.getByText('Done', { exact: true }).waitFor({ timeout: 20000 });
  assert.equal(await dialog.locator('#bulk-progress').getAttribute('value'), '3');
  assert.match(await dialog.locator('#bulk-job').textContent(), /2 contacts changed, 1 skipped/);
  const link = dialog.getByRole('link', { name: 'Download the skipped rows (CSV)' });
  const download = await Promise.all([page.waitForEvent('download'), link.click()]).then(([d]) => d);
  const csv = await (await download.createReadStream()).toArray().then((b) => Buffer.concat(b).toString());
  assert.match(csv, /self_opted_out/);
  assert.match(csv, /\+4520000001/);
  await dialog.getByRole('button', { name: 'Close', exact: true }).last().click();

  // The table shows the new statuses; the ledger has the attestation.
  await page.waitForFunction((id) => document.querySelector(`tr[data-contact="${id}"] td[data-number]`) &&
    [...document.querySelectorAll(`tr[data-contact="${id}"] td[data-number]`)].some((td) => td.textContent === 'Opted in'), env.data.contacts[2].id);
  const statuses = await env.server.api('GET', `/v1/contacts/${env.data.contacts[2].id}/subscriptions`);
  assert.equal(statuses.items.find((s) => s.number === SHORT_CODE).status, 'opted_in');
  const history = await env.server.api('GET', `/v1/contacts/${env.data.contacts[2].id}/history`);
  const ev = history.items.at(-1);
  assert.equal(ev.source, 'bulk');
  assert.equal(ev.actor, 'user:editor@example.com');
  assert.equal(ev.evidence.legal_basis, 'consent');
  // The batch's evidence is kept once and named by the event; the history shows all of it.
  assert.match(ev.batch_hash, /^[0-9a-f]{64}$/);
  assert.equal(ev.evidence.explanation, 'Signed up at the spring fair stand (paper forms kept in the shop)');
  assert.equal(typeof ev.evidence.row, 'number');
  const outbox = await env.server.api('GET', '/v1/outbox');
  assert.equal(outbox.items.filter((o) => o.kind === 'opt_in_confirmation' && o.from === SHORT_CODE).length, 2);
  // So does the contact page.
  const contact = await env.server.api('GET', `/v1/contacts/${env.data.contacts[2].id}`);
  await page.getByRole('link', { name: contact.name }).click();
  const item = page.locator('#history li[data-source="bulk"]').last();
  await item.waitFor();
  assert.match(await item.textContent(), /Bulk change/);
  assert.match(await item.textContent(), /Attested express, verifiable consent/);
  assert.match(await item.textContent(), /Legal basis: Consent/);
  assert.match(await item.textContent(), /spring fair stand \(paper forms kept in the shop\)/);
  await page.context().close();
});

test('select all contacts matching the filter', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await page.getByLabel('Search').fill('ersen');  // Anders Pedersen, Oliver Andersen
  await page.waitForFunction(() => document.querySelectorAll('#contacts-table tbody tr').length === 2);
  await page.getByRole('checkbox', { name: 'Select all contacts on this page' }).check();
  await page.getByRole('button', { name: /Select all contacts matching “ersen”/ }).click();
  await page.getByText('All contacts matching “ersen” are selected.').waitFor();
  await page.getByRole('button', { name: 'Edit status of all matching' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Sender number').selectOption(SHORT_CODE);
  await dialog.getByRole('radio', { name: 'Not specified' }).check();
  assert.equal(await dialog.getByLabel('Legal basis').isVisible(), false);
  await dialog.getByRole('button', { name: 'Preview' }).click();
  await dialog.locator('#bulk-preview').waitFor();
  // Anders was opted in by the previous test; Oliver never was.
  assert.equal(await dialog.locator('#preview-change .value').textContent(), '1');
  assert.equal(await dialog.locator('#preview-unchanged .value').textContent(), '1');
  await dialog.locator('#bulk-confirm').click();
  await dialog.getByText('Done', { exact: true }).waitFor({ timeout: 20000 });
  const history = await env.server.api('GET', `/v1/contacts/${env.data.contacts[3].id}/history`);
  assert.equal(history.items.at(-1).to, 'not_specified');
  await page.context().close();
});

test('bulk opt-in from an uploaded CSV file creates unknown contacts and reports bad rows', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await page.getByRole('button', { name: 'Bulk opt-in from CSV' }).click();
  const dialog = page.getByRole('dialog', { name: 'Bulk opt-in from a CSV file' });
  await dialog.getByLabel('CSV file').setInputFiles({
    name: 'fair.csv', mimeType: 'text/csv',
    buffer: Buffer.from('phone,name\n+4520000005,Freja Larsen\n+4520000099,Emil Holm\nnot a phone,Broken Row\n'),
  });
  await dialog.getByLabel('Sender number').selectOption({ index: 0 });
  await dialog.getByRole('checkbox', { name: /I attest/ }).check();
  await dialog.getByLabel('Legal basis').selectOption('consent_with_notice');
  await dialog.getByLabel('Explanation').fill('Newsletter sign-up sheet from the shop counter');
  await dialog.getByRole('button', { name: 'Preview' }).click();
  await dialog.locator('#bulk-preview').waitFor();
  assert.equal(await dialog.locator('#preview-skipped .value').textContent(), '1');
  assert.match(await dialog.locator('tr[data-reason="invalid_phone"]').textContent(), /Invalid phone number/);
  await dialog.locator('#bulk-confirm').click();
  await dialog.getByText('Done', { exact: true }).waitFor({ timeout: 20000 });
  await dialog.getByRole('button', { name: 'Close', exact: true }).last().click();
  await page.getByLabel('Search').fill('Emil');
  await page.waitForFunction(() => document.querySelector('#contacts-table tbody tr td:nth-child(2) a')?.textContent === 'Emil Holm');
  await page.context().close();
});
