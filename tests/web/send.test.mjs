// The contact record's "send a message" dialog: the server's preview of what will be sent (the
// opt-out notice counted in the segments of the first marketing message), sending once however
// often the button is pressed or the request retried, a refusal in words, a bad body named
// beside its field, and no button for a viewer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededSuite, signIn, EDITOR, VIEWER, LONG_CODE } from './harness.mjs';
import { countSegments } from '../../web/segments.js';
import { refusalSentence } from '../../web/send.js';

// Quiet hours would defer marketing at night, and these tests run at any hour.
const env = seededSuite(async ({ server, data }) => {
  for (const n of [data.long, data.short]) await server.api('PATCH', `/v1/numbers/${n.id}`, { quiet_hours: 'off' });
});

const NOTICE = 'Reply STOP to opt out';
// One segment alone, two with the notice on a line of its own.
const BODY = 'Spring service week at Nordic Bikes: 20% off a full tune-up, free chain check and a coffee while you wait. Book in the shop or at nordicbikes.dk today!';

async function openContact(page, name) {
  await page.getByRole('link', { name }).click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
  await page.locator('#subscriptions').waitFor();
  await page.locator('#sent-messages, #sent-empty').first().waitFor();
}

const outbound = async (contact) =>
  (await env.server.api('GET', `/v1/messages?direction=outbound&contact=${contact.id}`)).items;

// The counter once the server's answer replaced the count made while typing.
async function settledCounter(dialog) {
  const counter = dialog.locator('#send-counter:not(.pending)');
  await counter.waitFor();
  return counter.textContent();
}

test('the dialog counts the opt-out notice of the first marketing message, and a double click sends once', async () => {
  assert.equal(countSegments(BODY).segments, 1);
  assert.equal(countSegments(`${BODY}\n${NOTICE}`).segments, 2);
  const lars = env.data.contacts[1];
  const page = await signIn(env.browser, env.server, EDITOR);
  await openContact(page, 'Lars Nielsen');
  await page.locator('#sent-empty').waitFor();
  await page.getByRole('button', { name: 'Send a message' }).click();
  const dialog = page.getByRole('dialog', { name: 'Send a message to Lars Nielsen' });
  await dialog.waitFor();
  // Focus is in the dialog, on the message; the number he is opted in on is chosen.
  assert.equal(await page.evaluate(() => document.activeElement.name), 'body');
  assert.equal(await dialog.getByLabel('Sender number').inputValue(), String(env.data.long.id));
  assert.match(await dialog.getByLabel('Sender number').locator('option:checked').textContent(), /Opted in/);

  await page.keyboard.type('Spring service week');
  assert.match(await settledCounter(dialog), /^1 segment/);
  await dialog.locator('#send-notice').getByText(NOTICE).waitFor();
  await dialog.getByLabel('Message').fill(BODY);
  await dialog.locator('#send-counter').getByText('2 segments').waitFor();
  assert.match(await settledCounter(dialog), /^2 segmentsGSM-7173 septets/);
  // A transactional message carries no notice.
  await dialog.getByRole('radio', { name: 'Transactional' }).check();
  await dialog.locator('#send-counter:not(.pending)').getByText('1 segment', { exact: true }).waitFor();
  assert.equal(await dialog.locator('#send-notice').textContent(), '');
  await dialog.getByRole('radio', { name: 'Marketing' }).check();
  await dialog.locator('#send-counter:not(.pending)').getByText('2 segments').waitFor();

  await dialog.getByRole('button', { name: 'Send' }).dblclick();
  const result = dialog.locator('#send-result');
  await result.getByText(/queued/).first().waitFor();
  assert.match(await result.textContent(), /Queued: it goes out in a moment\. 2 segments, GSM-7, with the opt-out notice\./);
  const sent = await outbound(lars);
  assert.equal(sent.length, 1, JSON.stringify(sent));
  assert.equal(sent[0].body, `${BODY}\n${NOTICE}`);
  assert.equal(sent[0].purpose, 'marketing');
  // The record lists it; the dialog closes with Escape and gives the focus back.
  await page.locator('#sent-messages li').getByText(BODY).waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'send-message');

  // The next marketing message needs no notice (the number's default: again after 30 days).
  await page.getByRole('button', { name: 'Send a message' }).click();
  await page.getByRole('dialog').getByLabel('Message').fill(BODY);
  assert.match(await settledCounter(page.getByRole('dialog')), /^1 segment/);
  assert.equal(await page.getByRole('dialog').locator('#send-notice').textContent(), '');
  await page.context().close();
});

test('a send whose answer is lost is retried with the same key and queues one message', async () => {
  const sofie = env.data.contacts[2];
  const page = await signIn(env.browser, env.server, EDITOR);
  await openContact(page, 'Sofie Jensen');
  await page.getByRole('button', { name: 'Send a message' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('radio', { name: 'Transactional' }).check();
  await dialog.getByLabel('Message').fill('Your bike is ready for pickup');
  // The server gets the request and queues it; the page never hears the answer.
  await page.route('**/v1/messages', async (route) => {
    await route.fetch();
    await route.abort('connectionreset');
  });
  await dialog.getByRole('button', { name: 'Send' }).click();
  await dialog.locator('#send-error').getByText('The server could not be reached').waitFor();
  assert.equal((await outbound(sofie)).length, 1);
  await page.unroute('**/v1/messages');
  await dialog.getByRole('button', { name: 'Send' }).click();
  // The answer is the message the lost request queued (by now perhaps sent by the dispatcher).
  await dialog.locator('#send-result').getByText(/^Message \d+ /).waitFor();
  const sent = await outbound(sofie);
  assert.equal(sent.length, 1, JSON.stringify(sent));
  assert.equal(sent[0].body, 'Your bike is ready for pickup');
  assert.match(await dialog.locator('#send-result').textContent(), new RegExp(`^Message ${sent[0].id} (queued|sent)`));
  await page.context().close();
});

test('a message to a contact who opted out is refused in words, and nothing is queued', async () => {
  const mette = env.data.contacts[0];
  const page = await signIn(env.browser, env.server, EDITOR);
  await openContact(page, 'Mette Hansen');
  await page.getByRole('button', { name: 'Send a message' }).click();
  const dialog = page.getByRole('dialog');
  assert.equal(await dialog.getByLabel('Sender number').inputValue(), String(env.data.long.id));
  await dialog.getByLabel('Message').fill('We miss you: 10% off your next visit');
  // The preview warns before anything is sent.
  await dialog.locator('#send-check').getByText('This message would be refused').waitFor();
  await dialog.getByRole('button', { name: 'Send' }).click();
  const error = dialog.locator('#send-error');
  await error.getByText('Not sent').waitFor();
  assert.match(await error.textContent(),
    new RegExp(`Mette Hansen opted out on \\${LONG_CODE}: nothing may be sent to them from this number`));
  assert.equal((await outbound(mette)).length, 0);
  await page.context().close();
});

test('a body too long for 10 segments is named beside the message field', async () => {
  const page = await signIn(env.browser, env.server, EDITOR);
  await openContact(page, 'Freja Larsen');
  await page.getByRole('button', { name: 'Send a message' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('radio', { name: 'Transactional' }).check();
  await dialog.getByLabel('Message').fill('a'.repeat(1531));
  const bodyError = dialog.locator('#send-body-error');
  await bodyError.getByText(/'body' costs 11 SMS segments/).waitFor();
  assert.equal(await dialog.getByLabel('Message').getAttribute('aria-invalid'), 'true');
  await dialog.getByRole('button', { name: 'Send' }).click();
  await bodyError.getByText(/'body' costs 11 SMS segments/).waitFor();
  assert.equal((await outbound(env.data.contacts[4])).length, 0);
  await page.context().close();
});

test('a marketing message in the recipient\'s quiet hours says when it will go out', async () => {
  // A window of one hour that does not hold now in Copenhagen.
  const hour = Number(new Intl.DateTimeFormat('en-GB', { hour: 'numeric', hourCycle: 'h23', timeZone: 'Europe/Copenhagen' }).format(new Date()));
  const window = hour < 12 ? { start: '13:00', end: '14:00' } : { start: '02:00', end: '03:00' };
  await env.server.api('PATCH', `/v1/numbers/${env.data.long.id}`, { quiet_hours: window });
  try {
    const lars = env.data.contacts[1];
    const before = (await outbound(lars)).length;
    const page = await signIn(env.browser, env.server, EDITOR);
    await openContact(page, 'Lars Nielsen');
    await page.getByRole('button', { name: 'Send a message' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Message').fill('Night owl deals');
    const check = dialog.locator('#send-check');
    await check.getByText('It would wait for the recipient\'s daytime').waitFor();
    assert.match(await check.textContent(), /in Europe\/Copenhagen\)/);
    await dialog.getByRole('button', { name: 'Send' }).click();
    const result = dialog.locator('#send-result');
    await result.getByText(/^Message \d+ scheduled/).waitFor();
    assert.match(await result.textContent(), /Scheduled: quiet hours hold where the recipient lives, so it goes out .* in Europe\/Copenhagen\)\./);
    const sent = await outbound(lars);
    assert.equal(sent.length, before + 1);
    assert.ok(Date.parse(sent[0].next_attempt_at) > Date.now() + 30 * 60000, JSON.stringify(sent[0]));
    await page.context().close();
  } finally {
    await env.server.api('PATCH', `/v1/numbers/${env.data.long.id}`, { quiet_hours: 'off' });
  }
});

test('refusal codes the page does not know are told in the server\'s words', () => {
  assert.equal(refusalSentence('some_new_rule', 'The server explains it.', 'Ida', '+4520123456'), 'The server explains it.');
  assert.match(refusalSentence('pending_confirmation', 'x', 'Ida', '+4520123456'), /^Ida was asked to confirm their opt-in on \+4520123456/);
  assert.match(refusalSentence('frequency_capped', 'Next allowed at 10:00.', 'Ida', '1919'), /frequency cap allows for now\. Next allowed at 10:00\.$/);
});

test('a viewer sees the messages sent but no send button', async () => {
  const page = await signIn(env.browser, env.server, VIEWER);
  await openContact(page, 'Lars Nielsen');
  await page.locator('#sent-messages li').first().waitFor();
  assert.equal(await page.getByRole('button', { name: 'Send a message' }).count(), 0);
  await page.context().close();
});
