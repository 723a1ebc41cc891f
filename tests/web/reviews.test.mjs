// The Activity page's possible opt-outs (docs/reviews.md): the queue with the message, the
// contact, the number and why it was flagged; an editor confirms one (the contact's own
// opt-out) and dismisses another with a note (nothing changes); items left longer than
// --review-highlight-after-s are highlighted; a viewer sees the queue without the buttons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededSuite, signIn, until, EDITOR, VIEWER, LONG_CODE, QUESTION, MIXED } from './harness.mjs';

const SOFIE = '+4520000003';
const FREJA = '+4520000005';

const env = seededSuite(async () => {
  for (const contact of [env.data.contacts[2], env.data.contacts[4]]) {
    await env.server.api('PUT', `/v1/contacts/${contact.id}/subscriptions/${env.data.long.id}`,
      { status: 'opted_in', attest: true, legal_basis: 'consent', explanation: 'Signed up at the spring fair' });
  }
  env.server.cli(['sms', 'receive', '--from', SOFIE, '--to', LONG_CODE, '--body', QUESTION, '--message-id', 'rv-1']);
  env.server.cli(['sms', 'receive', '--from', FREJA, '--to', LONG_CODE, '--body', MIXED, '--message-id', 'rv-2']);
}, ['--review-highlight-after-s', '1']);

async function statusOn(contact) {
  const subs = await env.server.api('GET', `/v1/contacts/${contact.id}/subscriptions`);
  return subs.items.find((s) => s.number_id === env.data.long.id);
}

test('an editor confirms one possible opt-out and dismisses another', async () => {
  // Both items are older than the highlight age (1 s) before the page loads.
  await until(async () => (await env.server.api('GET', '/v1/reviews')).items.every((r) => r.overdue));
  const page = await signIn(env.browser, env.server, EDITOR);
  await page.getByRole('link', { name: 'Activity' }).click();
  const panel = page.locator('#reviews');
  await panel.getByRole('heading', { name: 'Possible opt-outs to review' }).waitFor();
  const rows = panel.locator('#reviews-table tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 2);
  const sofie = rows.filter({ hasText: QUESTION });
  assert.match(await sofie.textContent(), new RegExp(`\\${SOFIE}`));
  assert.match(await sofie.textContent(), new RegExp(`→ \\${LONG_CODE}`));
  assert.match(await sofie.textContent(), /en\.possible\.question/);
  // Overdue: highlighted, with a line saying how many wait.
  assert.match(await sofie.getAttribute('class'), /overdue/);
  await panel.getByText('2 items have waited longer than 1 s').waitFor();

  await sofie.getByRole('button', { name: 'Confirm opt-out' }).click();
  await page.getByText(`Recorded ${SOFIE}'s opt-out.`).waitFor();
  await until(async () => (await rows.count()) === 1);
  const state = await statusOn(env.data.contacts[2]);
  assert.equal(state.status, 'opted_out');
  assert.equal(state.self_opted_out, true);  // the contact's own: only their START undoes it

  const freja = rows.filter({ hasText: MIXED });
  await freja.getByRole('textbox', { name: /Note on review/ }).fill('Wants the reminders; asked about promos');
  await freja.getByRole('button', { name: 'Dismiss' }).click();
  await panel.getByText('Nothing to review').waitFor();
  assert.equal((await statusOn(env.data.contacts[4])).status, 'opted_in');
  const dismissed = await env.server.api('GET', '/v1/reviews?state=dismissed');
  assert.equal(dismissed.items.length, 1);
  assert.equal(dismissed.items[0].note, 'Wants the reminders; asked about promos');
  assert.equal(dismissed.items[0].reviewed_by, `user:${EDITOR.email}`);
  // The confirmed message's decision is unchanged in the message list below.
  await page.locator('#messages-table tbody tr').filter({ hasText: QUESTION }).waitFor();
  await page.context().close();
});

test('a viewer sees the queue without the decision buttons', async () => {
  env.server.cli(['sms', 'receive', '--from', '+4520000006', '--to', LONG_CODE, '--body', QUESTION, '--message-id', 'rv-3']);
  const page = await signIn(env.browser, env.server, VIEWER);
  await page.getByRole('link', { name: 'Activity' }).click();
  const row = page.locator('#reviews-table tbody tr').filter({ hasText: '+4520000006' });
  await row.waitFor();
  assert.equal(await row.getByRole('button').count(), 0);
  assert.equal(await page.locator('#reviews-table th', { hasText: 'Decision' }).count(), 0);
  await page.context().close();
});
