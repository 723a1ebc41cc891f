// smsconsent's Twilio webhook and Twilio reply sender, checked against Twilio's OFFICIAL Node
// library (the `twilio` npm package, pinned in package.json).
//
//   inbound:  requests to POST /webhooks/twilio are signed with twilio.getExpectedTwilioSignature
//             (and twilio.validateRequest must agree), carrying Twilio's real parameter set;
//             good signature -> 200 TwiML with the reply, tampered/missing -> 403, a retried
//             MessageSid -> the same answer and no second event.
//   outbound: a local stand-in for Twilio's REST API (POST /2010-04-01/Accounts/{sid}/Messages.json,
//             Basic auth, form body, Twilio-shaped JSON answers) is first proven against the
//             official client (twilio(accountSid, authToken, {httpClient})); then smsconsent's own
//             Twilio sender must deliver an outbox reply through it: success, a retry after a
//             500, and no retry after a 400.
//
// Run: `node --test twilio_official.test.mjs` (tests/e2e/twilio_node_test.sh does it under CTest).
// The binary is $SMSCONSENT_BINARY, else build/lead or build/release of this checkout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import twilio from 'twilio';

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

// ---- the fixture ---------------------------------------------------------------------------

const AUTH_TOKEN = hex(16); // Twilio auth tokens are 32 hex digits
const ACCOUNT_SID = `AC${hex(16)}`;
const LONG_CODE = '+15551234567';
const SHORT_CODE = '12345';
const PHONE_A = '+15005550006'; // texts START; then manually opted in on the short code
const PHONE_RETRY = '+15005550007'; // the stand-in answers 500 once, then 201
const PHONE_REFUSED = '+15005550008'; // the stand-in answers 400
const PHONE_OFFICIAL = '+15005550009'; // used by the official client only

let tmp;
let db;
let apiKey;
let accountId;
let longCode; // number JSON from `number add`
let shortCode;
let standIn;
let server; // { proc, base, stderr(), exited }

function cli(...args) {
  const out = execFileSync(BINARY, ['--db', db, '--json', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out);
}

// Polls `probe` until it returns a truthy value; fails after `timeoutMs` with `what`.
async function waitFor(what, probe, { timeoutMs = 8000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}\n--- server log ---\n` +
                  server.stderr().slice(-4000));
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- a stand-in for Twilio's REST API -----------------------------------------------------------
//
// Accepts what api.twilio.com accepts for "create a Message" and answers in its JSON shapes.
// `plan` maps a To number to the statuses to answer with, one per request (then 201).

function twilioError(status, code, message) {
  return {
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  };
}

function startStandIn() {
  const requests = [];
  const plan = new Map();
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const answer = (status, json) => {
        record.status = status;
        record.response = json;
        res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(json));
      };
      const record = {
        method: req.method,
        path: req.url,
        headers: req.headers,
        raw,
        form: Object.fromEntries(new URLSearchParams(raw)),
        formKeys: [...new URLSearchParams(raw).keys()],
        auth: null,
        at: Date.now(),
      };
      const basic = /^Basic (.+)$/.exec(req.headers.authorization || '');
      if (basic) {
        const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        record.auth = { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
      requests.push(record);

      const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url);
      if (!m) return answer(404, twilioError(404, 20404, `The requested resource ${req.url} was not found`));
      if (req.method !== 'POST') return answer(405, twilioError(405, 20004, 'Method not allowed'));
      if (!record.auth || record.auth.user !== ACCOUNT_SID || record.auth.password !== AUTH_TOKEN ||
          m[1] !== ACCOUNT_SID) {
        return answer(401, twilioError(401, 20003, 'Authenticate'));
      }
      if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] || '')) {
        return answer(400, twilioError(400, 20001, 'Invalid Content-Type'));
      }
      const { To: to, From: from, Body: body } = record.form;
      if (!to) return answer(400, twilioError(400, 21604, "A 'To' phone number is required."));
      if (!from && !record.form.MessagingServiceSid) {
        return answer(400, twilioError(400, 21603, "A 'From' phone number is required."));
      }
      if (!body && !record.form.MediaUrl) {
        return answer(400, twilioError(400, 21602, 'Message body is required.'));
      }
      const next = plan.get(to)?.shift();
      if (next === 500) return answer(500, twilioError(500, 20500, 'Internal Server Error'));
      if (next === 400) {
        return answer(400, twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`));
      }
      const sid = `SM${hex(16)}`;
      const now = new Date().toUTCString().replace('GMT', '+0000');
      record.sid = sid;
      return answer(201, {
        account_sid: ACCOUNT_SID,
        api_version: '2010-04-01',
        body,
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from,
        messaging_service_sid: null,
        num_media: '0',
        num_segments: '1',
        price: null,
        price_unit: 'USD',
        sid,
        status: 'queued',
        subresource_uris: {
          media: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${sid}/Media.json`,
        },
        to,
        uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${sid}.json`,
      });
    });
  });
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      resolve({ srv, requests, plan, url: `http://127.0.0.1:${port}` });
    });
  });
}

// ---- the smsconsent server ------------------------------------------------------------------

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
      // Never leave the server behind, even if this process is killed or bails out.
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

async function api(method, urlPath, body) {
  const res = await fetch(server.base + urlPath, {
    method,
    headers: { Authorization: `Bearer ${apiKey}`,
               ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text };
}

async function contactByPhone(phone) {
  const r = await api('GET', `/v1/contacts?search=${encodeURIComponent(phone)}`);
  assert.equal(r.status, 200, r.text);
  const matches = r.json.items.filter((c) => c.phone === phone);
  assert.equal(matches.length, 1, `exactly one contact ${phone}: ${r.text}`);
  return matches[0];
}

async function history(phone) {
  const contact = await contactByPhone(phone);
  const r = await api('GET', `/v1/contacts/${contact.id}/history`);
  assert.equal(r.status, 200, r.text);
  return r.json.items;
}

async function outbox() {
  const r = await api('GET', '/v1/outbox?limit=1000');
  assert.equal(r.status, 200, r.text);
  return r.json.items;
}

// ---- Twilio webhooks, as Twilio sends them ---------------------------------------------------

// The parameters Twilio posts for an inbound SMS (Programmable Messaging webhook).
function inboundParams({ from, to, body, sid = `SM${hex(16)}` }) {
  return {
    ToCountry: 'US',
    ToState: 'CA',
    SmsMessageSid: sid,
    NumMedia: '0',
    ToCity: 'SAN FRANCISCO',
    FromZip: '94105',
    SmsSid: sid,
    FromState: 'CA',
    SmsStatus: 'received',
    FromCity: 'SAN FRANCISCO',
    Body: body,
    FromCountry: 'US',
    To: to,
    ToZip: '94105',
    NumSegments: '1',
    MessageSid: sid,
    AccountSid: ACCOUNT_SID,
    From: from,
    ApiVersion: '2010-04-01',
  };
}

// POSTs `sentParams` to `url`, signed (by the official library) over `signedParams`.
async function postWebhook(url, sentParams, { signedParams = sentParams, signature } = {}) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
                    'User-Agent': 'TwilioProxy/1.1' };
  if (signature === undefined) {
    signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, signedParams);
    // The official validator must accept what we send for a genuine request.
    if (signedParams === sentParams) {
      assert.ok(twilio.validateRequest(AUTH_TOKEN, signature, url, sentParams),
                'twilio.validateRequest agrees with getExpectedTwilioSignature');
    }
  }
  if (signature !== null) headers['X-Twilio-Signature'] = signature;
  const res = await fetch(url, { method: 'POST', headers,
                                 body: new URLSearchParams(sentParams).toString() });
  return { status: res.status, contentType: res.headers.get('content-type') || '',
           text: await res.text() };
}

const unescapeXml = (s) => s.replace(/&(lt|gt|quot|apos|amp);/g,
  (_, e) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]);

// Loose TwiML reading: the <Message> texts of a <Response>, or null if it is not TwiML.
function twimlMessages(xml) {
  const body = xml.replace(/^\s*<\?xml[^>]*\?>\s*/, '');
  if (/^<Response\s*\/>\s*$/.test(body)) return [];
  const m = /^<Response>([\s\S]*)<\/Response>\s*$/.exec(body);
  if (!m) return null;
  return [...m[1].matchAll(/<Message(?:\s[^>]*)?>([\s\S]*?)<\/Message>/g)].map((x) => unescapeXml(x[1]));
}

const replyText = (number, kind) => number.replies[kind].replaceAll('{business}', number.business_name);

// ---- setup and teardown ------------------------------------------------------------------

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'smsconsent-twilio-node-'));
  db = path.join(tmp, 'smsconsent.db');
  standIn = await startStandIn();

  const account = cli('account', 'create', '--name', 'Twilio Node Shop',
                      '--addons', 'marketing_sms_access,sms_short_code');
  apiKey = account.api_key;
  accountId = String(account.id);
  longCode = cli('number', 'add', '--account', accountId, '--number', LONG_CODE, '--kind', 'long_code');
  shortCode = cli('number', 'add', '--account', accountId, '--number', SHORT_CODE,
                  '--kind', 'short_code', '--country', 'US');
  cli('provider', 'set', '--account', accountId, '--provider', 'twilio', '--auth-token', AUTH_TOKEN,
      '--account-sid', ACCOUNT_SID, '--api-base-url', standIn.url, '--sender', 'twilio');

  server = await startServer();
});

after(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
    server.proc.kill('SIGKILL');
  }
  if (standIn) {
    const closed = new Promise((r) => standIn.srv.close(r));
    standIn.srv.closeAllConnections(); // keep-alive sockets would hold close() open
    await closed;
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---- inbound -----------------------------------------------------------------------------

test('the official library reproduces the documented signature test vector (docs/webhooks.md)', () => {
  const params = { From: '+15005550006', To: '+15551234567', Body: 'STOP' };
  const url = 'http://127.0.0.1:18080/sms/inbound?tenant=a';
  assert.equal(twilio.getExpectedTwilioSignature('secret', url, params), 'HNEnT2ilP2ZEvqByAJdqhxWaEfU=');
  assert.ok(twilio.validateRequest('secret', 'HNEnT2ilP2ZEvqByAJdqhxWaEfU=', url, params));
});

let startParams;
let startResponse;

test('START signed by twilio-node: 200, TwiML with the opt-in confirmation', async () => {
  startParams = inboundParams({ from: PHONE_A, to: LONG_CODE, body: 'START' });
  startResponse = await postWebhook(`${server.base}/webhooks/twilio`, startParams);
  assert.equal(startResponse.status, 200, startResponse.text);
  assert.match(startResponse.contentType, /^(application|text)\/xml/);
  const messages = twimlMessages(startResponse.text);
  assert.ok(messages, `TwiML <Response>: ${startResponse.text}`);
  // The reply text contains "&", so this also proves the XML escaping round-trips.
  assert.deepEqual(messages, [replyText(longCode, 'opt_in')]);

  const consent = await api('GET', `/v1/consent?phone=${encodeURIComponent(PHONE_A)}` +
                                   `&number=${encodeURIComponent(LONG_CODE)}`);
  assert.equal(consent.status, 200, consent.text);
  assert.equal(consent.json.allowed, true);
  assert.equal(consent.json.status, 'opted_in');

  const events = await history(PHONE_A);
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0].to, 'opted_in');
  assert.equal(events[0].source, 'keyword');
  assert.ok(JSON.stringify(events[0].evidence).includes(startParams.MessageSid),
            `the event's evidence names the MessageSid: ${JSON.stringify(events[0].evidence)}`);
});

test('a tampered body (signature over START, body says STOP): 403, nothing stored', async () => {
  const signed = inboundParams({ from: PHONE_A, to: LONG_CODE, body: 'START' });
  const sent = { ...signed, Body: 'STOP' };
  const r = await postWebhook(`${server.base}/webhooks/twilio`, sent, { signedParams: signed });
  assert.equal(r.status, 403, r.text);
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${server.base}/webhooks/twilio`, signed);
  assert.equal(twilio.validateRequest(AUTH_TOKEN, signature, `${server.base}/webhooks/twilio`, sent), false,
               'the official validator rejects it too');

  const missing = await postWebhook(`${server.base}/webhooks/twilio`,
                                    inboundParams({ from: PHONE_A, to: LONG_CODE, body: 'STOP' }),
                                    { signature: null });
  assert.equal(missing.status, 403, missing.text);

  const wrongKey = inboundParams({ from: PHONE_A, to: LONG_CODE, body: 'STOP' });
  const other = await postWebhook(`${server.base}/webhooks/twilio`, wrongKey, {
    signature: twilio.getExpectedTwilioSignature(hex(16), `${server.base}/webhooks/twilio`, wrongKey) });
  assert.equal(other.status, 403, other.text);

  const events = await history(PHONE_A);
  assert.equal(events.length, 1, 'no event from refused webhooks');
});

test('the same MessageSid again: identical response, no second event', async () => {
  const again = await postWebhook(`${server.base}/webhooks/twilio`, startParams);
  assert.equal(again.status, startResponse.status);
  assert.equal(again.contentType, startResponse.contentType);
  assert.equal(again.text, startResponse.text);
  const events = await history(PHONE_A);
  assert.equal(events.length, 1, JSON.stringify(events));
});

test('signatures over a URL with a query and over form-encoded special characters', async () => {
  // The URL configured in Twilio's console may carry a query; Twilio signs it as called.
  const url = `${server.base}/webhooks/twilio?tenant=shop-1&src=twilio`;
  const help = inboundParams({ from: PHONE_A, to: LONG_CODE, body: ' help!! ' });
  const r = await postWebhook(url, help);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(twimlMessages(r.text), [replyText(longCode, 'help')]);

  // Spaces (form-encoded as "+"), a literal "+", "&", "=", "%", non-ASCII and an emoji.
  const chatty = inboundParams({ from: PHONE_A, to: LONG_CODE,
                                 body: 'Tak for sidst + 2 & a=b 100% ÆØÅ 😀' });
  const c = await postWebhook(`${server.base}/webhooks/twilio`, chatty);
  assert.equal(c.status, 200, c.text);
  assert.ok(twimlMessages(c.text), `TwiML: ${c.text}`);

  // A number configured for HTTP GET: the parameters ride in the query, which the URL
  // signature covers (no POST parameters are appended).
  const getUrl = `${server.base}/webhooks/twilio?` +
                 new URLSearchParams(inboundParams({ from: PHONE_A, to: LONG_CODE, body: 'INFO' }));
  const getSig = twilio.getExpectedTwilioSignature(AUTH_TOKEN, getUrl, {});
  assert.ok(twilio.validateRequest(AUTH_TOKEN, getSig, getUrl, {}));
  const g = await fetch(getUrl, { headers: { 'X-Twilio-Signature': getSig } });
  const gText = await g.text();
  assert.equal(g.status, 200, gText);
  assert.deepEqual(twimlMessages(gText), [replyText(longCode, 'help')]);
  const badGet = await fetch(getUrl.replace('INFO', 'STOP'), { headers: { 'X-Twilio-Signature': getSig } });
  assert.equal(badGet.status, 403, await badGet.text());

  const events = await history(PHONE_A);
  assert.equal(events.length, 1, 'HELP and chatter change no status');
});

// ---- outbound: the stand-in against the official client ----------------------------------------

// The official client's own transport (RequestClient: axios, Basic auth, form encoding),
// with only the host of https://api.twilio.com swapped for the stand-in.
class StandInRequestClient extends twilio.RequestClient {
  constructor(base) {
    super({ timeout: 5000 });
    this.base = new URL(base);
  }

  request(opts) {
    const uri = new URL(opts.uri);
    if (uri.origin !== 'https://api.twilio.com') {
      throw new Error(`unexpected Twilio host ${uri.origin}`);
    }
    uri.protocol = this.base.protocol;
    uri.host = this.base.host;
    return super.request({ ...opts, uri: uri.href });
  }
}

let officialRequest;

test('the stand-in speaks Twilio: the official client sends through it', async () => {
  const client = twilio(ACCOUNT_SID, AUTH_TOKEN, { httpClient: new StandInRequestClient(standIn.url) });
  const before = standIn.requests.length;
  const message = await client.messages.create({ from: SHORT_CODE, to: PHONE_OFFICIAL,
                                                 body: 'Hello from twilio-node & friends' });
  assert.equal(standIn.requests.length, before + 1);
  officialRequest = standIn.requests.at(-1);
  assert.equal(officialRequest.status, 201);
  assert.equal(message.sid, officialRequest.sid);
  assert.match(message.sid, /^SM[0-9a-f]{32}$/);
  assert.equal(message.status, 'queued');
  assert.equal(message.to, PHONE_OFFICIAL);
  assert.equal(message.from, SHORT_CODE);
  assert.equal(message.body, 'Hello from twilio-node & friends');
  assert.equal(message.accountSid, ACCOUNT_SID);
  assert.ok(message.dateCreated instanceof Date && !Number.isNaN(message.dateCreated.getTime()),
            'date_created parses as Twilio RFC 2822');

  // The stand-in's error answers are what Twilio's clients understand.
  standIn.plan.set(PHONE_OFFICIAL, [400]);
  await assert.rejects(
    client.messages.create({ from: SHORT_CODE, to: PHONE_OFFICIAL, body: 'refused' }),
    (e) => e.status === 400 && e.code === 21211 && /not a valid phone number/.test(e.message) &&
           e.moreInfo === 'https://www.twilio.com/docs/errors/21211');
  const wrong = twilio(ACCOUNT_SID, hex(16), { httpClient: new StandInRequestClient(standIn.url) });
  await assert.rejects(wrong.messages.create({ from: SHORT_CODE, to: PHONE_OFFICIAL, body: 'x' }),
                       (e) => e.status === 401 && e.code === 20003);
});

// ---- outbound: smsconsent's own Twilio sender -----------------------------------------------

const sentBySmsconsent = (to) => standIn.requests.filter((r) => r.form.To === to &&
                                                              !/twilio-node/.test(r.headers['user-agent'] || ''));

async function optInOnShortCode(phone) {
  let contact;
  const created = await api('POST', '/v1/contacts', { phone, name: `Contact ${phone}` });
  if (created.status === 201) contact = created.json;
  else contact = await contactByPhone(phone);
  const r = await api('PUT', `/v1/contacts/${contact.id}/subscriptions/${shortCode.id}`, {
    status: 'opted_in',
    attest: true,
    legal_basis: 'consent',
    explanation: 'signed up at the counter (twilio-node e2e test)',
    actor: 'e2e',
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status_after, 'opted_in');
  assert.equal(r.json.replies.length, 1, `one short-code confirmation queued: ${r.text}`);
  return { contact, reply: r.json.replies[0] };
}

// The sid our sender recorded: from /v1/outbox when it shows it, else from the dispatcher's log.
function recordedSid(item) {
  if (item.provider_message_id !== undefined) return item.provider_message_id;
  const m = new RegExp(`outbox: item ${item.id} sent to \\${item.to} \\(provider id ([^)]*)\\)`)
    .exec(server.stderr());
  return m ? m[1] : undefined;
}

test("smsconsent's Twilio sender delivers a short-code confirmation through the stand-in", async () => {
  // A reply text that exercises the form encoding of the request: "&", "+", "=", "%", a
  // newline, non-ASCII and an emoji must reach Twilio unchanged.
  const patched = await api('PATCH', `/v1/numbers/${shortCode.id}`, {
    replies: { opt_in: '{business}: Velkommen! ÆØÅ 😀 — 100% & a+b=c?\nReply STOP to opt out, HELP for help.' },
  });
  assert.equal(patched.status, 200, patched.text);
  shortCode = patched.json;
  const { reply } = await optInOnShortCode(PHONE_A);
  const expectedBody = replyText(shortCode, 'opt_in');
  assert.match(expectedBody, /^Twilio Node Shop: Velkommen! ÆØÅ 😀/);
  assert.equal(reply.body, expectedBody);

  const [req] = await waitFor('the confirmation to reach the stand-in',
                              () => { const r = sentBySmsconsent(PHONE_A); return r.length ? r : null; });
  assert.equal(req.method, 'POST');
  assert.equal(req.path, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
  assert.deepEqual(req.auth, { user: ACCOUNT_SID, password: AUTH_TOKEN });
  assert.match(req.headers['content-type'], /^application\/x-www-form-urlencoded/);
  assert.deepEqual({ From: req.form.From, To: req.form.To, Body: req.form.Body },
                   { From: SHORT_CODE, To: PHONE_A, Body: expectedBody });
  assert.equal(req.status, 201);
  // Same request shape as the official client's: path, method, content type, and only
  // parameters the official client also sends for this call.
  assert.equal(req.path, officialRequest.path);
  assert.equal(req.method, officialRequest.method);
  for (const key of req.formKeys) assert.ok(officialRequest.formKeys.includes(key), `parameter ${key}`);

  const item = await waitFor('the outbox item to be sent', async () =>
    (await outbox()).find((o) => o.to === PHONE_A && o.from === SHORT_CODE && o.state === 'sent'));
  assert.equal(item.body, expectedBody);
  assert.equal(item.attempts, 1);
  assert.equal(recordedSid(item), req.sid, "the stand-in's sid is recorded on the item");

  await sleep(400); // several dispatcher polls: nothing is sent twice
  assert.equal(sentBySmsconsent(PHONE_A).length, 1);
});

test('a 500 is retried after the backoff; a 400 fails at once and is never retried', async () => {
  standIn.plan.set(PHONE_RETRY, [500]); // then 201
  standIn.plan.set(PHONE_REFUSED, [400]);
  const t0 = Date.now();
  await optInOnShortCode(PHONE_RETRY);
  await optInOnShortCode(PHONE_REFUSED);

  const refusedItem = await waitFor('the 400 to make the item failed', async () =>
    (await outbox()).find((o) => o.to === PHONE_REFUSED && o.state === 'failed'));
  assert.equal(refusedItem.attempts, 1);
  const refusedAt = Date.now();

  const retried = await waitFor('the retry to reach the stand-in', () => {
    const r = sentBySmsconsent(PHONE_RETRY);
    return r.length >= 2 ? r : null;
  }, { timeoutMs: 10000 });
  assert.deepEqual(retried.map((r) => r.status), [500, 201]);
  const gap = retried[1].at - retried[0].at;
  assert.ok(gap >= 900, `retry waited for the 1 s backoff (waited ${gap} ms)`);
  assert.ok(gap < 5000, `retry came within a few seconds (waited ${gap} ms)`);
  assert.equal(retried[1].form.Body, replyText(shortCode, 'opt_in'));
  assert.deepEqual(retried[1].auth, { user: ACCOUNT_SID, password: AUTH_TOKEN });

  const retriedItem = await waitFor('the retried item to be sent', async () =>
    (await outbox()).find((o) => o.to === PHONE_RETRY && o.state === 'sent'));
  assert.equal(retriedItem.attempts, 2);
  assert.equal(recordedSid(retriedItem), retried[1].sid);

  // Well past the first backoff (1 s) and then some: the refused one was asked exactly once.
  await sleep(Math.max(0, refusedAt + 2500 - Date.now()));
  const refused = sentBySmsconsent(PHONE_REFUSED);
  assert.equal(refused.length, 1, 'a 4xx is not retried');
  assert.equal(refused[0].status, 400);
  const stillFailed = (await outbox()).find((o) => o.id === refusedItem.id);
  assert.equal(stillFailed.state, 'failed');
  assert.equal(stillFailed.attempts, 1);
  assert.ok(Date.now() - t0 < 15000, 'the retry scenario stays quick');
});

test('the TwiML replies were never sent again through the REST API', async () => {
  // Every reply from the long code rode in a webhook response; the outbox keeps them as sent.
  assert.deepEqual(standIn.requests.filter((r) => r.form.From === LONG_CODE), []);
  const items = (await outbox()).filter((o) => o.from === LONG_CODE);
  assert.ok(items.length >= 2, `START and HELP replies recorded: ${JSON.stringify(items)}`);
  for (const o of items) assert.equal(o.state, 'sent', JSON.stringify(o));
  assert.equal(items.filter((o) => o.to === PHONE_A && o.body === replyText(longCode, 'opt_in')).length, 1,
               'the retried START did not queue a second reply');
});

test("GET /v1/outbox shows the provider's sid and the last error", async (t) => {
  const items = await outbox();
  const sent = items.find((o) => o.to === PHONE_A && o.from === SHORT_CODE);
  const failed = items.find((o) => o.to === PHONE_REFUSED);
  if (!('provider_message_id' in sent) || !('last_error' in failed)) {
    t.todo('smsconsent: ToJson(OutboxItem) leaves out provider_message_id and last_error');
  }
  assert.equal(sent.provider_message_id, sentBySmsconsent(PHONE_A)[0].sid);
  assert.match(String(failed.last_error), /400/);
  assert.match(String(failed.last_error), /21211/);
});

// ---- shutdown ------------------------------------------------------------------------------

test('SIGTERM stops the server with exit code 0', async () => {
  server.proc.kill('SIGTERM');
  const result = await Promise.race([
    server.exited,
    new Promise((r) => setTimeout(() => r({ code: 'still running after 15 s' }), 15000).unref()),
  ]);
  assert.deepEqual(result, { code: 0, signal: null }, server.stderr().slice(-2000));
});
