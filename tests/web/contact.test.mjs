// The contact record: a single manual opt-in with attestation, the refusal on a contact who
// opted out themselves, the history showing an inbound STOP with its evidence, the proof.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededSuite, signIn, EDITOR, LONG_CODE } from './harness.mjs';

const env = seededSuite();

async function openContact(page, name) {
  await page.getByRole('link', { name }).click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
  await page.locator('#subscriptions').waitFor();
  await page.locator('#history, #history-empty').first().waitFor();
}

test('a manual opt-in needs the attestation, legal basis and explanation, and is recorded with them', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await openContact(page, 'Sofie Jensen');
  await page.getByRole('button', { name: `Edit status on ${LONG_CODE}` }).click();
  const dialog = page.getByRole('dialog', { name: `Status on ${LONG_CODE}` });
  await dialog.getByRole('radio', { name: 'Opted in' }).check();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.getByText('Opting a contact in requires the attestation').waitFor();
  await dialog.getByText('Choose the legal basis.').waitFor();

  await dialog.getByRole('checkbox', { name: /I attest that we hold this contact's express, verifiable consent/ }).check();
  await dialog.getByLabel('Legal basis').selectOption('consent');
  await dialog.getByLabel('Explanation').fill('Asked at the counter on 3 May; signed form kept in the shop');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });

  const row = page.locator(`#subscriptions tr[data-number="${env.data.long.id}"]`);
  await row.getByText('Opted in').waitFor();
  assert.match(await row.textContent(), /Manual change/);
  const first = page.locator('#history li').first();
  assert.match(await first.textContent(), /Not specified → Opted in/);
  assert.match(await first.textContent(), /Attested express, verifiable consent/);
  assert.match(await first.textContent(), /Legal basis: Consent \(GDPR Art\. 6\(1\)\(a\)\)/);
  assert.match(await first.textContent(), /signed form kept in the shop/);
  assert.equal(await first.locator('.actor').textContent(), 'user:editor@example.com');

  const consent = await env.server.api('GET', `/v1/consent?phone=%2B4520000003&number=${encodeURIComponent(LONG_CODE)}`);
  assert.equal(consent.allowed, true);
  await page.context().close();
});

test('opting in a contact who texted STOP is refused, plainly, and changes nothing', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await openContact(page, 'Mette Hansen');
  const row = page.locator(`#subscriptions tr[data-number="${env.data.long.id}"]`);
  assert.match(await row.textContent(), /Opted out by the contact/);
  await page.getByRole('button', { name: `Edit status on ${LONG_CODE}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('The contact opted out themselves').waitFor();
  await dialog.getByRole('radio', { name: 'Opted in' }).check();
  await dialog.getByRole('checkbox', { name: /I attest/ }).check();
  await dialog.getByLabel('Legal basis').selectOption('consent');
  await dialog.getByLabel('Explanation').fill('She said on the phone she wants offers again');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const refusal = dialog.locator('#edit-error');
  await refusal.getByText('The change was refused').waitFor();
  assert.match(await refusal.textContent(), /opted out/i);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  const statuses = await env.server.api('GET', `/v1/contacts/${env.data.contacts[0].id}/subscriptions`);
  assert.equal(statuses.items.find((s) => s.number === LONG_CODE).status, 'opted_out');
  await page.context().close();
});

test('the history shows the inbound STOP with the message text and the keyword that matched', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await openContact(page, 'Mette Hansen');
  const items = page.locator('#history li[data-source="keyword"]');
  assert.equal(await items.count(), 2);
  const stop = items.filter({ hasText: LONG_CODE });
  const text = await stop.textContent();
  assert.match(text, /Not specified → Opted out/);
  assert.match(text, /The contact texted “STOP” to \+4520123456/);
  assert.match(text, /Matched stop \(exact_keyword, en\)/i);
  assert.match(text, /by contact/);
  const shortStop = await items.filter({ hasText: 'Stop!' }).textContent();
  assert.match(shortStop, /The contact texted “Stop!”/);

  // The consent proof is one click away.
  const proof = await page.request.get(await page.locator('#proof-json').getAttribute('href'));
  assert.equal(proof.status(), 200);
  const body = await proof.json();
  assert.ok(JSON.stringify(body).includes('STOP'));
  await page.context().close();
});

test('editing the details changes name and email, never the phone', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await openContact(page, 'Oliver Andersen');
  await page.getByRole('button', { name: 'Edit details' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit details' });
  await dialog.getByLabel('Name').fill('Oliver B. Andersen');
  await dialog.getByLabel('Email').fill('oliver@example.dk');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Oliver B. Andersen', level: 1 }).waitFor();
  const contact = await env.server.api('GET', `/v1/contacts/${env.data.contacts[5].id}`);
  assert.equal(contact.email, 'oliver@example.dk');
  assert.equal(contact.phone, '+4520000006');
  await page.context().close();
});

test('the edit dialog records an opt-out on the contact\'s behalf, which no user can reverse', async () => {
  // Noah is opted in; he phones the shop and asks to stop.
  const noah = env.data.contacts[7];
  await env.server.api('PUT', `/v1/contacts/${noah.id}/subscriptions/${env.data.long.id}`,
    { status: 'opted_in', attest: true, legal_basis: 'consent', explanation: 'Signed up at the counter' });
  const page = await signIn(env.browser, env.server, EDITOR);
  await openContact(page, 'Noah Sørensen');
  await page.getByRole('button', { name: `Edit status on ${LONG_CODE}` }).click();
  const dialog = page.getByRole('dialog', { name: `Status on ${LONG_CODE}` });
  await dialog.getByRole('radio', { name: 'Opted out' }).check();
  const onBehalf = dialog.getByRole('checkbox', { name: /The contact asked to stop/ });
  await onBehalf.check();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.getByText('Choose how the contact asked.').waitFor();
  await dialog.getByLabel('How they asked').selectOption('phone');
  await dialog.getByLabel('Received').fill('2026-01-05T10:30');
  await dialog.getByLabel('Explanation').fill('Noah called the shop and asked us to stop texting him');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });

  const row = page.locator(`#subscriptions tr[data-number="${env.data.long.id}"]`);
  await row.getByText('Opted out by the contact').waitFor();
  const first = page.locator('#history li').first();
  assert.match(await first.textContent(), /Opted in → Opted out/);
  assert.match(await first.textContent(), /The contact asked to stop by phone call/);
  assert.match(await first.textContent(), /over 10 business days/);
  assert.equal(await first.getAttribute('data-source'), 'contact_request');

  const history = await env.server.api('GET', `/v1/contacts/${noah.id}/history`);
  const event = history.items[history.items.length - 1];
  assert.equal(event.evidence.channel, 'phone');
  assert.equal(event.evidence.actor, 'user:editor@example.com');
  assert.equal(event.evidence.received_at_ms, new Date('2026-01-05T10:30').getTime());
  assert.equal(event.evidence.late, true);
  // A staff opt-in is now refused, in the dialog as through the API.
  await page.getByRole('button', { name: `Edit status on ${LONG_CODE}` }).click();
  await page.getByRole('dialog').getByText('The contact opted out themselves').waitFor();
  await page.keyboard.press('Escape');
  const statuses = await env.server.api('GET', `/v1/contacts/${noah.id}/subscriptions`);
  const long = statuses.items.find((s) => s.number === LONG_CODE);
  assert.equal(long.status, 'opted_out');
  assert.equal(long.self_opted_out, true);
  await page.context().close();
});
