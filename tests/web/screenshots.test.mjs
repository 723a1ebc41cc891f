// Screenshots of every page at desktop and phone width, saved to docs/screenshots/ (shown in the
// README). Each one also checks that the page rendered what it is named for, and that nothing
// overflows the phone-width viewport sideways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededSuite, signIn, screenshot, until, EDITOR, DESKTOP, PHONE, SHORT_CODE, QUESTION, MIXED } from './harness.mjs';

const env = seededSuite(async () => {
  // The send dialog's screenshot shows the opt-out notice, not a night-time deferral.
  await env.server.api('PATCH', `/v1/numbers/${env.data.long.id}`, { quiet_hours: 'off' });
  // A little history, so the pages show what they look like in use.
  await env.server.api('PUT', `/v1/contacts/${env.data.contacts[2].id}/subscriptions/${env.data.long.id}`,
    { status: 'opted_in', attest: true, legal_basis: 'consent', explanation: 'Signed up at the spring fair' });
  env.server.cli(['sms', 'receive', '--from', '+4520000003', '--to', env.data.long.number, '--body', 'HELP', '--message-id', 'shot-1']);
  env.server.cli(['sms', 'receive', '--from', '+4520000005', '--to', SHORT_CODE, '--body', 'JA TAK', '--message-id', 'shot-2']);
  // Sofie emailed three weeks ago asking to stop; it is recorded only now, after the answer to
  // her HELP went out: a late revocation with a message sent in between.
  for (let i = 0; i < 100; i++) {
    const sent = await env.server.api('GET', '/v1/outbox?state=sent');
    if (sent.items.some((o) => o.to === '+4520000003')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await env.server.api('PUT', `/v1/contacts/${env.data.contacts[2].id}/subscriptions/${env.data.long.id}`,
    { status: 'opted_out', on_behalf_of_contact: true, channel: 'email', received_at: new Date(Date.now() - 21 * 86400000).toISOString(),
      explanation: 'Emailed the shop asking for no more texts', actor: 'anna' });
  // A possible opt-out left unreviewed past the highlight age (3 s here, one day by default).
  env.server.cli(['sms', 'receive', '--from', '+4520000004', '--to', env.data.long.number, '--body', QUESTION, '--message-id', 'shot-3']);
}, ['--review-highlight-after-s', '3']);

async function noSidewaysScroll(page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `page is ${overflow}px wider than the viewport`);
}

for (const [label, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`screenshots at ${label} width`, async () => {
    const context = await env.browser.newContext({ viewport, baseURL: env.server.base });
    const signin = await context.newPage();
    await signin.goto('/app/');
    await signin.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot(signin, `signin-${label}`);
    await context.close();

    const page = await signIn(env.browser, env.server, EDITOR, viewport);
    await page.locator('#contacts-table').waitFor();
    await noSidewaysScroll(page);
    await screenshot(page, `contacts-${label}`);

    await page.getByRole('checkbox', { name: 'Select Sofie Jensen' }).check();
    await page.getByRole('checkbox', { name: 'Select Mette Hansen' }).check();
    await page.getByRole('button', { name: 'Edit status of 2 contacts' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Sender number').selectOption(SHORT_CODE);
    await dialog.getByRole('checkbox', { name: /I attest/ }).check();
    await dialog.getByLabel('Legal basis').selectOption('consent');
    await dialog.getByLabel('Explanation').fill('Signed up at the spring fair stand');
    await dialog.getByRole('button', { name: 'Preview' }).click();
    await dialog.locator('#bulk-preview').waitFor();
    await screenshot(page, `bulk-preview-${label}`);
    await dialog.getByRole('button', { name: 'Close' }).first().click();

    await page.getByRole('link', { name: 'Mette Hansen' }).click();
    await page.locator('#history li').first().waitFor();
    await noSidewaysScroll(page);
    await screenshot(page, `contact-${label}`);

    await page.goto(`/app/#/contacts/${env.data.contacts[2].id}`);
    await page.locator('#history li').first().waitFor();
    await page.getByRole('button', { name: `Edit status on ${SHORT_CODE}` }).click();
    await page.getByRole('dialog').getByRole('radio', { name: 'Opted in' }).check();
    await screenshot(page, `contact-edit-${label}`);
    await page.keyboard.press('Escape');

    await page.goto(`/app/#/contacts/${env.data.contacts[1].id}`);
    await page.locator('#history li').first().waitFor();
    await page.getByRole('button', { name: `Edit status on ${env.data.long.number}` }).click();
    const edit = page.getByRole('dialog');
    await edit.getByRole('radio', { name: 'Opted out' }).check();
    await edit.getByRole('checkbox', { name: /The contact asked to stop/ }).check();
    await edit.getByLabel('How they asked').selectOption('phone');
    await edit.getByLabel('Received').fill('2026-12-04T15:10');
    await edit.getByLabel('Explanation').fill('Lars called the shop and asked us to stop texting him');
    await screenshot(page, `contact-edit-on-behalf-${label}`);
    await page.keyboard.press('Escape');

    // Lars's first marketing message on the long code: the notice is added and counted.
    await page.getByRole('button', { name: 'Send a message' }).click();
    const send = page.getByRole('dialog', { name: 'Send a message to Lars Nielsen' });
    await send.getByLabel('Message').fill('Spring service week at Nordic Bikes: 20% off a full tune-up and a free chain check. Book in the shop or at nordicbikes.dk today!');
    await send.locator('#send-notice').getByText('Reply STOP to opt out').waitFor();
    await send.locator('#send-counter:not(.pending)').getByText('1 segment', { exact: true }).waitFor();
    await noSidewaysScroll(page);
    await screenshot(page, `send-${label}`);
    await page.keyboard.press('Escape');

    await page.getByRole('link', { name: 'Sender numbers' }).click();
    await page.locator('#numbers-table').waitFor();
    await noSidewaysScroll(page);
    await screenshot(page, `numbers-${label}`);

    await page.getByRole('link', { name: env.data.long.number }).click();
    await page.locator('#count-help').waitFor();
    await noSidewaysScroll(page);
    await screenshot(page, `number-${label}`);

    // A fresh possible opt-out beside the overdue one.
    await until(async () => (await env.server.api('GET', '/v1/reviews')).items.some((r) => r.overdue));
    env.server.cli(['sms', 'receive', '--from', '+4520000007', '--to', env.data.long.number, '--body', MIXED, '--message-id', `shot-4-${label}`]);
    await page.getByRole('link', { name: 'Activity' }).click();
    await page.locator('#messages-table tbody tr').first().waitFor();
    await page.locator('#reviews-table tr.overdue').first().waitFor();
    await page.locator('#reviews-table tbody tr').filter({ hasText: MIXED }).first().waitFor();
    await page.locator('#revocations tbody tr').first().waitFor();
    assert.match(await page.locator('#revocations').textContent(), /late/);
    await noSidewaysScroll(page);
    await screenshot(page, `activity-${label}`);
    await page.context().close();
  });
}
