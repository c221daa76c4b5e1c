// What the server says reads in the user's language (zh-CN), in headless Chromium against a
// real obsync server, the shared MariaDB and Kafka: a project (set up over the API) gets a
// notice (its table renamed out of its objects), audit entries and a run's error (its source
// password changed to a wrong one, then resumed); its event log, its last error and the data
// sources' connection tests say all of it in Chinese, and none of the server's English.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, apiOf, createDataSources, launchBrowser, logIn, mariadb, screenshot, services, startServer, waitFor, scenario } from './harness.mjs';

const RUN = Math.random().toString(36).slice(2, 8);
const DB = `e2e_messages_${RUN}`;
const TABLE = `${DB}.orders`;

let env;
let server;
let browser;
let page;
let projectId;
let source;

const byTestId = (id) => page.getByTestId(id);

const step = scenario(it, () => page, 'messages-');

const { apiOk } = apiOf(() => page, () => server);

const events = async () => (await apiOk('GET', `/projects/${projectId}/events?page_size=100`)).items;
const hasChinese = (s) => /[\u4e00-\u9fff]/.test(s);

/** The event log card alone, for the README. */
async function eventLogShot(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.waitForTimeout(300);
  await byTestId('events').screenshot({ path: join(ARTIFACTS, name) });
}

describe('the server’s messages in Chinese', { timeout: 300_000 }, () => {
  before(async () => {
    env = services();
    await mariadb(env, `CREATE DATABASE ${DB}; CREATE TABLE ${TABLE} (id INT PRIMARY KEY, note VARCHAR(40)); INSERT INTO ${TABLE} VALUES (1, 'a'), (2, 'b');`);
    server = await startServer();
    browser = await launchBrowser('zh-CN');
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (env) await mariadb(env, `DROP DATABASE IF EXISTS ${DB}`).catch(() => undefined);
  });

  step('a running project gets a notice, audit entries and an error event', async () => {
    await logIn(page, server);
    const created = await createDataSources(apiOk, env, RUN);
    source = created.source;
    const kafka = created.kafka;
    const project = await apiOk('POST', '/projects', {
      spec: {
        name: `msg${RUN}`,
        source_id: source.id,
        target_id: kafka.id,
        sync: { types: ['schema', 'full', 'incremental'], format: 'DefaultExtendColumnType' },
        objects: [{ tables: [TABLE], topic: `messages-${RUN}` }],
      },
    });
    projectId = project.id;
    const precheck = await apiOk('POST', `/projects/${projectId}/precheck`);
    assert.equal(precheck.passed, true, JSON.stringify(precheck.items.filter((i) => i.status === 'fail')));
    await apiOk('POST', `/projects/${projectId}/start`);
    await waitFor('incremental sync', async () => (await apiOk('GET', `/projects/${projectId}/progress`)).stage === 'incremental', { timeoutMs: 120_000 });
    // A notice: the synced table renamed to a name outside the project's objects.
    await mariadb(env, `RENAME TABLE ${TABLE} TO ${DB}.orders_old`);
    await waitFor('the notice in the event log (sampled every 10 s)', async () => (await events()).some((e) => e.code === 'event.notice.renamed_out'), { timeoutMs: 60_000 });
    // An error: the source's password made wrong, then a resume that cannot log in.
    await apiOk('POST', `/projects/${projectId}/pause`);
    await waitFor('paused', async () => (await apiOk('GET', `/projects/${projectId}`)).state === 'paused');
    await apiOk('PUT', `/datasources/${source.id}`, {
      name: source.name,
      kind: 'mariadb',
      source: { host: env.MARIADB_HOST, port: Number(env.MARIADB_PORT), user: env.MARIADB_USER, password: 'not-the-password' },
    });
    await apiOk('POST', `/projects/${projectId}/resume`);
    await waitFor('the run failed', async () => (await apiOk('GET', `/projects/${projectId}`)).state === 'failed', { timeoutMs: 60_000 });
    const kinds = new Set((await events()).map((e) => e.kind));
    for (const kind of ['notice', 'audit', 'error', 'state']) assert.ok(kinds.has(kind), `a ${kind} event: ${[...kinds]}`);
  });

  step('the event log and the last error say every event in Chinese, none in English', async () => {
    await page.goto(`${server.url}/projects/${projectId}`);
    const log = byTestId('events');
    await log.locator('tbody tr').first().waitFor();
    const all = await events();
    const text = await log.innerText();
    for (const e of all) {
      assert.ok(e.code, `every event has its code: ${JSON.stringify(e)}`);
      assert.ok(!text.includes(e.message), `the English of ${e.code} is shown: ${e.message}`);
    }
    assert.match(text, /被重命名为/, 'the notice');
    assert.match(text, /启动了项目/, 'the audit entry of the start');
    assert.match(text, /暂停了项目/, 'the audit entry of the pause');
    assert.match(text, /运行因源端错误而停止/, 'the error event');
    assert.match(text, /运行中 → 已暂停/, 'a state change');
    const lastError = await byTestId('last-error').innerText();
    assert.match(lastError, /运行因源端错误而停止/);
    const english = all.find((e) => e.kind === 'error').message;
    assert.ok(!lastError.includes(english), `the last error in English: ${english}`);
    await screenshot(page, 'zh-CN-event-log');
    await eventLogShot('event-log.zh-CN.png');
  });

  step('in English the same events read from the English dictionary', async () => {
    await page.getByTestId('language-switch').getByText('English').click();
    const log = byTestId('events');
    await waitFor('the log in English', async () => /Started the project/.test(await log.innerText()), { timeoutMs: 10_000, everyMs: 200 });
    const text = await log.innerText();
    assert.match(text, /was renamed to/);
    assert.match(text, /The run stopped on a source error/);
    assert.ok(!hasChinese(text), text);
    await eventLogShot('event-log.en.png');
    await page.getByTestId('language-switch').getByText('中文').click();
  });

  step('connection tests say their result in Chinese', async () => {
    await page.goto(`${server.url}/datasources`);
    await byTestId(`ds-test-kafka-${RUN}`).click();
    const toast = page.locator('.ant-message-notice').first();
    await toast.waitFor({ timeout: 30_000 });
    const ok = await toast.innerText();
    assert.match(ok, /个 broker.*个主题/, ok);
    assert.ok(!/broker\(s\)|topic\(s\)|as configured/.test(ok), ok);
    await byTestId(`ds-test-maria-${RUN}`).click();
    const dialog = page.locator('.ant-modal-confirm').first();
    await dialog.waitFor({ timeout: 30_000 });
    const failed = await dialog.innerText();
    assert.match(failed, /连接失败/, failed);
    assert.ok(hasChinese(failed));
    assert.ok(!/check host, port|connection failed/.test(failed), failed);
    await screenshot(page, 'zh-CN-connection-test-failed');
  });
});
