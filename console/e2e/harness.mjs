// What the browser tests run against: a real `obsync server` (fresh data dir), the shared
// MariaDB / seekdb / Kafka of `scripts/services up`, and Debian's Chromium driven by
// playwright-core. Everything started here is stopped by the returned close functions.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '../..');
/** Screenshots go here (git-ignored). */
export const ARTIFACTS = resolve(HERE, '../artifacts');

/** The shared services' endpoints, from the services.env that `scripts/services up` writes. */
export function services() {
  const file = process.env.OBSYNC_SERVICES_ENV ?? join(REPO, '.obsync-dev/services.env');
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file} (${e.code}): start the services with scripts/services up, or set OBSYNC_SERVICES_ENV`);
  }
  const env = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

/** Runs SQL on the shared MariaDB as the test user, with the mariadb client. */
export async function mariadb(env, sql) {
  const { stdout } = await run(
    'mariadb',
    ['--no-defaults', '--protocol=tcp', `-h${env.MARIADB_HOST}`, `-P${env.MARIADB_PORT}`, `-u${env.MARIADB_ROOT_USER ?? env.MARIADB_USER}`, `-p${env.MARIADB_ROOT_PASSWORD ?? env.MARIADB_PASSWORD}`, '-N', '-B', '-e', sql],
    { maxBuffer: 16 << 20 },
  );
  return stdout;
}

/** Every message of a topic as {key, value}, read from the beginning by kcat (an independent client). */
export async function kafkaMessages(env, topic) {
  const { stdout } = await run('kcat', ['-b', env.KAFKA_BOOTSTRAP, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%s\n'], { maxBuffer: 64 << 20, timeout: 30_000 });
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const tab = l.indexOf('\t');
      return { key: l.slice(0, tab), value: l.slice(tab + 1) };
    });
}

export async function waitFor(what, check, { timeoutMs = 60_000, everyMs = 500 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/**
 * Starts `obsync server` on a free loopback port with a fresh data dir and a known admin
 * password (and `args` besides, e.g. cluster flags); resolves once /api/v1/health answers.
 * The binary is OBSYNC_BIN, else target/debug.
 */
export async function startServer({ args = [] } = {}) {
  const bin = process.env.OBSYNC_BIN ?? join(REPO, 'target/debug/obsync');
  const dataDir = mkdtempSync(join(tmpdir(), 'obsync-console-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const password = `E2e-${Math.random().toString(36).slice(2)}-Pw1!`;
  const logFile = join(dataDir, 'server.log');
  const log = [];
  const child = spawn(bin, ['server', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dataDir, 'data'), ...args], {
    env: { ...process.env, OBSYNC_ADMIN_PASSWORD: password, RUST_LOG: process.env.RUST_LOG ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.on('error', (e) => log.push(`spawn error: ${e.message}`));
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 10_000))]);
      if (exited === null) child.kill('SIGKILL');
    }
    writeFileSync(logFile, log.join(''));
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'server.log'), log.join(''));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor('obsync server to answer /api/v1/health', async () => {
      if (exited) throw new Error(`obsync server exited (${JSON.stringify(exited)}): ${log.join('').slice(-2000)}`);
      const res = await fetch(`${url}/api/v1/health`);
      return res.ok;
    }, { timeoutMs: 30_000, everyMs: 200 });
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, username: 'admin', password, stop, log: () => log.join('') };
}

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** Debian's Chromium, headless, with a fresh profile; the browser's language is `locale`. */
export async function launchBrowser(locale) {
  const profile = mkdtempSync(join(tmpdir(), 'obsync-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_FLAGS, `--lang=${locale}`],
    locale,
    viewport: { width: 1440, height: 960 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // The server's Content-Security-Policy must not block anything the console needs.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  const close = async () => {
    await context.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, problems, close };
}

/** A full-page screenshot into the artifacts folder. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.waitForTimeout(300); // let antd's animations settle
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * The `step` of a scenario file: the steps build on each other, so after a failure the
 * later ones fail at once (naming the first failure) instead of each waiting for its
 * timeouts; a failing step leaves a screenshot of the page (`pageOf()`, the page at that
 * moment) named `failed-<prefix><step>` in the artifacts folder.
 */
export function scenario(it, pageOf, prefix = '') {
  let broken = null;
  return function step(name, fn) {
    it(name, async () => {
      if (broken) throw new Error(`not run: the earlier step "${broken}" failed`);
      try {
        await fn();
      } catch (e) {
        broken = name;
        const page = pageOf();
        if (page) {
          await screenshot(page, `failed-${prefix}${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}`).catch(() => undefined);
        }
        throw e;
      }
    });
  };
}

/**
 * The API as the logged-in page calls it (its session cookie, the Origin the server's
 * CSRF check wants): `api` answers `{status, body}`, `apiOk` the body of a 2xx answer
 * and fails the step on any other.
 */
export function apiOf(pageOf, serverOf) {
  async function api(method, path, body, headers = {}) {
    const server = serverOf();
    const res = await pageOf().request.fetch(`${server.url}/api/v1${path}`, { method, data: body, headers: { Origin: server.url, ...headers } });
    return { status: res.status(), body: await res.json().catch(() => null) };
  }
  async function apiOk(method, path, body, headers) {
    const r = await api(method, path, body, headers);
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
  return { api, apiOk };
}

/** Logs in through the login page and waits for the overview. */
export async function logIn(page, server, username = server.username, password = server.password) {
  await page.goto(server.url + '/login');
  const field = (id) => page.locator(`input[data-testid="${id}"], [data-testid="${id}"] input`).first();
  await field('login-username').fill(username);
  await field('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.waitForURL('**/overview');
}

/** The shared MariaDB and Kafka as data sources named after `run`: `{source, kafka}`. */
export async function createDataSources(apiOk, env, run) {
  const source = await apiOk('POST', '/datasources', {
    name: `maria-${run}`,
    kind: 'mariadb',
    source: { host: env.MARIADB_HOST, port: Number(env.MARIADB_PORT), user: env.MARIADB_USER, password: env.MARIADB_PASSWORD },
  });
  const kafka = await apiOk('POST', '/datasources', { name: `kafka-${run}`, kind: 'kafka', kafka: { bootstrap_servers: env.KAFKA_BOOTSTRAP, version: '3.x' } });
  return { source, kafka };
}
