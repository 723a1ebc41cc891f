// smsconsent's Vonage, Plivo and Telnyx reply senders, checked against the providers' OFFICIAL
// Node SDKs (@vonage/sms, plivo and telnyx, pinned in package.json): a local stand-in for the
// three REST APIs records every request; the SDK sends a message to it, smsconsent's own sender
// sends the same message (an outbox reply to HELP) to it, and the two requests must agree on
// method, path, authorization (scheme and credentials), content type, the set of body fields
// and their values.
//
// Run: `node --test provider_sdks.test.mjs` (tests/e2e/provider_sdks_node_test.sh does it under
// CTest). The binary is $SMSCONSENT_BINARY, else build/lead or build/release of this checkout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { SMS } from '@vonage/sms';
import plivo from 'plivo';
import Telnyx from 'telnyx';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = process.env.SMSCONSENT_SOURCE_DIR || path.resolve(HERE, '..', '..');

function findBinary() {
  if (process.env.SMSCONSENT_BINARY) return path.resolve(process.env.SMSCONSENT_BINARY);
  for (const dir of ['build/lead', 'build/release', 'build']) {
    const candidate = path.join(SOURCE_DIR, dir, 'smsconsent');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('smsconsent binary not found: set SMSCONSENT_BINARY');
}

const BINARY = findBinary();
const hex = (bytes) => randomBytes(bytes).toString('hex');

const VONAGE_KEY = hex(4);
const VONAGE_SECRET = `${hex(8)}&=`; // characters a careless encoder would mangle
const TELNYX_KEY = `KEY${hex(16).toUpperCase()}_${hex(8)}`;
const PLIVO_AUTH_ID = `MA${hex(9).toUpperCase()}`;
const PLIVO_AUTH_TOKEN = hex(20);
const VONAGE_NUMBER = '+15551230001';
const VONAGE_UNICODE_NUMBER = '+15551230002'; // its business name needs UCS-2
const TELNYX_NUMBER = '+15551230003';
const PLIVO_NUMBER = '+15551230004';
const PHONE = '+15005550006';

let tmp;
let db;
let standIn;
let server;
const accounts = {}; // account JSON from `account create`, by provider
const numbers = {}; // number JSON from `number add`, by number

function cli(...args) {
  const out = execFileSync(BINARY, ['--db', db, '--json', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out);
}

async function waitFor(what, probe, { timeoutMs = 8000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}\n--- server log ---\n` +
                  (server ? server.stderr().slice(-4000) : ''));
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---- the stand-in: Vonage's SMS API and Telnyx's Messaging API --------------------------------

function startStandIn() {
  const requests = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
      let body = null;
      if (type === 'application/json') body = JSON.parse(raw);
      if (type === 'application/x-www-form-urlencoded') body = Object.fromEntries(new URLSearchParams(raw));
      const record = { method: req.method, path: req.url, headers: req.headers, type, raw, body };
      requests.push(record);
      const answer = (status, json) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.method === 'POST' && req.url === '/sms/json') {
        record.id = hex(8).toUpperCase();
        return answer(200, {
          'message-count': '1',
          messages: [{ to: body?.to, 'message-id': record.id, status: '0',
                       'remaining-balance': '10.00000000', 'message-price': '0.00750000',
                       network: '310004' }],
        });
      }
      if (req.method === 'POST' && req.url === `/v1/Account/${PLIVO_AUTH_ID}/Message/`) {
        record.id = randomUUID();
        return answer(202, { api_id: randomUUID(), message: 'message(s) queued',
                             message_uuid: [record.id] });
      }
      if (req.method === 'POST' && req.url === '/v2/messages') {
        record.id = randomUUID();
        return answer(200, {
          data: { record_type: 'message', direction: 'outbound', id: record.id, type: 'SMS',
                  from: { phone_number: body?.from }, to: [{ phone_number: body?.to, status: 'queued' }],
                  text: body?.text, parts: 1, encoding: 'GSM-7' },
        });
      }
      return answer(404, { errors: [{ code: '10005', title: 'Resource not found' }] });
    });
  });
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => {
      resolve({ srv, requests, url: `http://127.0.0.1:${srv.address().port}` });
    });
  });
}

// The parts of a request both senders must agree on.
function shape(r) {
  const auth = r.headers.authorization || '';
  const [scheme, credentials] = auth.split(' ');
  return {
    method: r.method,
    path: r.path,
    scheme,
    credentials: scheme === 'Basic' ? Buffer.from(credentials, 'base64').toString('utf8') : credentials,
    type: r.type,
    fields: Object.keys(r.body || {}).sort(),
    body: r.body,
  };
}

// ---- the smsconsent server ----------------------------------------------------------------------

function startServer() {
  const proc = spawn(BINARY, ['--db', db, 'serve', '--listen', '127.0.0.1:0',
                              '--outbox-poll-ms', '100', '--log-level', 'debug'],
                     { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`smsconsent serve did not print its address within 10 s\n${log}`));
    }, 10000);
    const lines = readline.createInterface({ input: proc.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = /^smsconsent listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (!m) {
        proc.kill('SIGKILL');
        reject(new Error(`unexpected first line: ${JSON.stringify(line)}\n${log}`));
        return;
      }
      process.once('exit', () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
      resolve({ proc, base: m[1], stderr: () => log, exited });
    });
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`smsconsent serve exited early (${code ?? signal})\n${log}`));
    });
  });
}

const helpText = (number) => number.replies.help.replaceAll('{business}', number.business_name);

// HELP from PHONE to `number`: smsconsent queues the help text, and its dispatcher sends it
// through the account's reply sender. Returns the stand-in's record of that request.
async function smsconsentSends(number, apiPath) {
  const before = standIn.requests.length;
  cli('sms', 'receive', '--from', PHONE, '--to', number, '--body', 'HELP',
      '--message-id', `m-${hex(8)}`);
  return waitFor(`smsconsent's request to ${apiPath} for ${number}`, () =>
    standIn.requests.slice(before).find((r) => r.path === apiPath && r.body &&
      (r.body.from === number || r.body.from === number.slice(1) || r.body.src === number)));
}

// ---- setup and teardown -------------------------------------------------------------------------

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'smsconsent-provider-sdks-'));
  db = path.join(tmp, 'smsconsent.db');
  standIn = await startStandIn();

  const vonage = cli('account', 'create', '--name', 'Vonage Shop', '--addons', 'marketing_sms_access');
  const telnyx = cli('account', 'create', '--name', 'Telnyx Shop', '--addons', 'marketing_sms_access');
  const plivoAccount = cli('account', 'create', '--name', 'Plivo Shop', '--addons', 'marketing_sms_access');
  Object.assign(accounts, { vonage, telnyx, plivo: plivoAccount });
  const add = (account, number, ...more) => {
    numbers[number] = cli('number', 'add', '--account', String(account.id), '--number', number,
                          '--kind', 'long_code', ...more);
  };
  add(vonage, VONAGE_NUMBER, '--business-name', 'Corner Shop');
  add(vonage, VONAGE_UNICODE_NUMBER, '--business-name', 'Łódź Café');
  add(telnyx, TELNYX_NUMBER, '--business-name', 'Telnyx Corner');
  add(plivoAccount, PLIVO_NUMBER, '--business-name', 'Plivo Kiosk');
  cli('provider', 'set', '--account', String(vonage.id), '--provider', 'vonage',
      '--signature-secret', hex(16), '--api-key', VONAGE_KEY, '--api-secret', VONAGE_SECRET,
      '--api-base-url', standIn.url, '--sender', 'vonage');
  cli('provider', 'set', '--account', String(telnyx.id), '--provider', 'telnyx',
      '--public-key', Buffer.alloc(32, 7).toString('base64'), '--api-key', TELNYX_KEY,
      '--api-base-url', standIn.url, '--sender', 'telnyx');
  cli('provider', 'set', '--account', String(plivoAccount.id), '--provider', 'plivo',
      '--auth-token', PLIVO_AUTH_TOKEN, '--auth-id', PLIVO_AUTH_ID,
      '--api-base-url', standIn.url, '--sender', 'plivo');
  server = await startServer();
});

after(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
    server.proc.kill('SIGKILL');
  }
  if (standIn) {
    const closed = new Promise((r) => standIn.srv.close(r));
    standIn.srv.closeAllConnections();
    await closed;
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---- Vonage ------------------------------------------------------------------------------------

async function vonageSdkSends(params) {
  const before = standIn.requests.length;
  const sms = new SMS({ apiKey: VONAGE_KEY, apiSecret: VONAGE_SECRET }, { restHost: standIn.url });
  const result = await sms.send(params);
  assert.equal(result.messages[0].status, '0', JSON.stringify(result));
  const sent = standIn.requests.slice(before);
  assert.equal(sent.length, 1, 'the SDK made one request');
  return sent[0];
}

for (const [number, unicode] of [[VONAGE_NUMBER, false], [VONAGE_UNICODE_NUMBER, true]]) {
  test(`vonage: smsconsent's request matches @vonage/sms's (${unicode ? 'unicode' : 'GSM-7'} text)`, async () => {
    const text = helpText(numbers[number]);
    // As Vonage documents its numbers: E.164 without the '+'.
    const params = { from: number.slice(1), to: PHONE.slice(1), text };
    if (unicode) params.type = 'unicode';
    const official = shape(await vonageSdkSends(params));
    const ours = shape(await smsconsentSends(number, '/sms/json'));
    assert.deepEqual(ours, official);
    assert.equal(ours.scheme, 'Basic');
    assert.equal(ours.credentials, `${VONAGE_KEY}:${VONAGE_SECRET}`);
    assert.equal(ours.body.text, text);
  });
}

// ---- Plivo -------------------------------------------------------------------------------------

test("plivo: smsconsent's request matches the plivo SDK's", async () => {
  const text = helpText(numbers[PLIVO_NUMBER]);
  const before = standIn.requests.length;
  // The SDK's `url` option replaces https://api.plivo.com/v1/Account/{auth_id}.
  const client = new plivo.Client(PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN,
                                  { url: `${standIn.url}/v1/Account/${PLIVO_AUTH_ID}` });
  const result = await client.messages.create({ src: PLIVO_NUMBER, dst: PHONE, text });
  assert.equal(result.messageUuid.length, 1, JSON.stringify(result));
  const sdkRequests = standIn.requests.slice(before);
  assert.equal(sdkRequests.length, 1, 'the SDK made one request');
  const official = shape(sdkRequests[0]);

  const ours = shape(await smsconsentSends(PLIVO_NUMBER, `/v1/Account/${PLIVO_AUTH_ID}/Message/`));
  assert.deepEqual(ours, official);
  assert.equal(ours.scheme, 'Basic');
  assert.equal(ours.credentials, `${PLIVO_AUTH_ID}:${PLIVO_AUTH_TOKEN}`);
});

// ---- Telnyx ------------------------------------------------------------------------------------

test("telnyx: smsconsent's request matches the telnyx SDK's", async () => {
  const text = helpText(numbers[TELNYX_NUMBER]);
  const before = standIn.requests.length;
  const client = new Telnyx({ apiKey: TELNYX_KEY, baseURL: `${standIn.url}/v2`, maxRetries: 0 });
  const result = await client.messages.send({ from: TELNYX_NUMBER, to: PHONE, text });
  assert.ok(result.data.id, JSON.stringify(result));
  const sdkRequests = standIn.requests.slice(before);
  assert.equal(sdkRequests.length, 1, 'the SDK made one request');
  const official = shape(sdkRequests[0]);

  const ourRequest = await smsconsentSends(TELNYX_NUMBER, '/v2/messages');
  const ours = shape(ourRequest);
  assert.deepEqual(ours, official);
  assert.equal(ours.scheme, 'Bearer');
  assert.equal(ours.credentials, TELNYX_KEY);
  // The SDK sends none unless asked; smsconsent sends one per reply (docs/webhooks.md).
  assert.match(ourRequest.headers['idempotency-key'], /^[A-Za-z0-9_:-]{1,255}$/);
});

test('the outbox records the providers\' message ids', async () => {
  const vonageIds = standIn.requests.filter((r) => r.path === '/sms/json').map((r) => r.id);
  const telnyxIds = standIn.requests.filter((r) => r.path === '/v2/messages').map((r) => r.id);
  const plivoIds = standIn.requests.filter((r) => r.path.startsWith('/v1/Account/')).map((r) => r.id);
  await waitFor('every reply recorded as sent', () => {
    const items = cli('outbox', 'list', '--account', String(accounts.vonage.id))
      .concat(cli('outbox', 'list', '--account', String(accounts.telnyx.id)))
      .concat(cli('outbox', 'list', '--account', String(accounts.plivo.id)));
    const sent = items.filter((o) => o.state === 'sent');
    if (sent.length < 4) return false;
    for (const o of sent) {
      assert.ok([...vonageIds, ...telnyxIds, ...plivoIds].includes(o.provider_message_id),
                `provider id ${o.provider_message_id} of ${JSON.stringify(o)}`);
    }
    return true;
  });
});
