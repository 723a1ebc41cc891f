// Shared by the browser tests: starts the real `smsconsent serve` on a free port with a fresh
// SQLite file, seeds it through the CLI and the public API, and drives Debian's chromium
// headless through playwright-core. SMSCONSENT_BINARY names the binary (CTest sets it).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = join(here, '..', '..');
export const BINARY = process.env.SMSCONSENT_BINARY || join(SOURCE_DIR, 'build', 'release', 'smsconsent');
export const SCREENSHOT_DIR = join(SOURCE_DIR, 'docs', 'screenshots');

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export const EDITOR = { email: 'editor@example.com', password: 'correct horse battery staple' };
export const VIEWER = { email: 'viewer@example.com', password: 'viewer password 2026' };

export async function launchBrowser() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS, headless: true });
}

// A running server on its own database, started with `serveArgs` besides the defaults.
// cli(args, input) runs the CLI on the same file; api(method, path, body) calls the API with the
// account's key.
export async function startServer(serveArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'smsconsent-web-'));
  const db = join(dir, 'test.db');
  const cli = (args, input) => {
    const out = execFileSync(BINARY, ['--db', db, '--json', ...args], { input, encoding: 'utf8' });
    return out.trim() ? JSON.parse(out) : null;
  };
  const proc = spawn(BINARY, ['--db', db, 'serve', '--listen', '127.0.0.1:0', '--log-level', 'warn', ...serveArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[\d.]+:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  const server = {
    base, db, dir, cli,
    key: '',
    async api(method, path, body) {
      const res = await fetch(base + path, {
        method,
        headers: { Authorization: `Bearer ${server.key}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => { if (proc.exitCode !== null) r(); else proc.on('exit', r); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

export function addUser(server, accountId, { email, password }, role) {
  return server.cli(['user', 'add', '--account', String(accountId), '--email', email, '--role', role, '--password-stdin'], `${password}\n`);
}

export const CONTACTS = [
  ['+4520000001', 'Mette Hansen', 'mette@example.dk'],
  ['+4520000002', 'Lars Nielsen', 'lars@example.dk'],
  ['+4520000003', 'Sofie Jensen', 'sofie@example.dk'],
  ['+4520000004', 'Anders Pedersen', ''],
  ['+4520000005', 'Freja Larsen', 'freja@example.dk'],
  ['+4520000006', 'Oliver Andersen', ''],
  ['+4520000007', 'Ida Christensen', 'ida@example.dk'],
  ['+4520000008', 'Noah Sørensen', 'noah@example.dk'],
];
export const LONG_CODE = '+4520123456';
export const SHORT_CODE = '1919';
// 161 GSM-7 septets once {business} is "Nordic Bikes" (12): two segments per confirmation.
export const SHORT_CODE_OPT_IN = '{business}: ' + 'You are now subscribed to our SMS club. Reply STOP to opt out, HELP for help. Msg&data rates may apply. '.padEnd(147, '.');

// The account every test starts from: a Danish bike shop with both add-ons, a long code and a
// short code, eight contacts, an editor and a viewer. Mette texted STOP to both numbers, Lars
// texted START to the long code.
export async function seed(server) {
  const account = server.cli(['account', 'create', '--name', 'Nordic Bikes', '--addons', 'marketing_sms_access,sms_short_code', '--region', 'DK']);
  server.key = account.api_key;
  addUser(server, account.id, EDITOR, 'editor');
  addUser(server, account.id, VIEWER, 'viewer');
  const long = await server.api('POST', '/v1/numbers', { number: LONG_CODE, kind: 'long_code', country: 'DK', business_name: 'Nordic Bikes', languages: ['en', 'da'] });
  const short = await server.api('POST', '/v1/numbers', { number: SHORT_CODE, kind: 'short_code', country: 'DK', business_name: 'Nordic Bikes' });
  await server.api('PATCH', `/v1/numbers/${short.id}`, { replies: { opt_in: SHORT_CODE_OPT_IN } });
  const contacts = [];
  for (const [phone, name, email] of CONTACTS) {
    contacts.push(await server.api('POST', '/v1/contacts', { phone, name, email }));
  }
  server.cli(['sms', 'receive', '--from', '+4520000001', '--to', LONG_CODE, '--body', 'STOP', '--message-id', 'seed-1']);
  server.cli(['sms', 'receive', '--from', '+4520000001', '--to', SHORT_CODE, '--body', 'Stop!', '--message-id', 'seed-2']);
  server.cli(['sms', 'receive', '--from', '+4520000002', '--to', LONG_CODE, '--body', 'START', '--message-id', 'seed-3']);
  return { account, long, short, contacts };
}

// A page signed in as `user` (at the given viewport).
export async function signIn(browser, server, user, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, baseURL: server.base });
  const page = await context.newPage();
  await page.goto('/app/');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
  return page;
}

// Replies the recogniser flags as possible opt-outs (docs/reviews.md).
export const QUESTION = 'How do I stop these texts?';
export const MIXED = 'Stop sending me promos but keep the appointment reminders';

// Polls `fn` every 100 ms until it returns something truthy (at most `ms`).
export async function until(fn, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${fn}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

// One seeded server and one browser for a test file: returns {server, data, browser}, filled in
// before the file's first test (after `extra(env)`, if given) and stopped after its last. The
// server is started with `serveArgs`.
export function seededSuite(extra, serveArgs = []) {
  const env = {};
  before(async () => {
    env.server = await startServer(serveArgs);
    env.data = await seed(env.server);
    if (extra) await extra(env);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}
