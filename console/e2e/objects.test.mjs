// Online object changes from the console, in headless Chromium against a real obsync server,
// the shared MariaDB and Kafka (read with kcat): on a running project (set up over the API),
// in Chinese, add one table with backfill and one from now on and remove one through the
// object step and its review; the added tables' rows arrive as chosen, the removed table's
// later changes do not, and the detail page shows the backfill done. In English, a change
// made meanwhile by someone else is a revision conflict that reloads the page, a table moved
// to another topic sends its later rows there, and one table is re-synced from the
// per-table panel after a confirmation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiOf, createDataSources, kafkaMessages, launchBrowser, logIn, mariadb, screenshot, services, startServer, waitFor, scenario } from './harness.mjs';

const RUN = Math.random().toString(36).slice(2, 8);
const DB = `e2e_objects_${RUN}`;
const OLD_TOPIC = `objects-old-${RUN}`;
const NEW_TOPIC = `objects-new-${RUN}`;
const MOVED_TOPIC = `objects-moved-${RUN}`;
/** Rows each table holds before the project starts. */
const ROWS = 30;

let env;
let server;
let browser;
let page;
let projectId;

const byTestId = (id) => page.getByTestId(id);
const field = (id) => page.locator(`input[data-testid="${id}"], [data-testid="${id}"] input`).first();
const treeNode = (testId) => page.locator('.ant-tree-treenode', { has: page.getByTestId(testId) });
const table = (name) => `${DB}.${name}`;

const step = scenario(it, () => page, 'objects-');

const { apiOk } = apiOf(() => page, () => server);

/** Clicks a dialog's OK button until the dialog is gone (a click during its zoom-in changes nothing). */
async function clickUntilGone(testId, what) {
  const button = byTestId(testId);
  await waitFor(what, async () => {
    if (!(await button.isVisible())) return true;
    await button.click({ timeout: 2_000 }).catch(() => undefined);
    await page.waitForTimeout(300);
    return !(await button.isVisible());
  }, { timeoutMs: 20_000, everyMs: 200 });
}

/** The values of a topic's messages that carry `marker` (kcat, from the beginning). */
async function valuesWith(topic, marker) {
  return (await kafkaMessages(env, topic)).map((m) => m.value).filter((v) => v.includes(marker));
}

/** `n` rows of table `name` from id `first` on, their notes `<name>-<tag>-<id>`. */
const rowsOf = (name, tag, n, first = 1) => Array.from({ length: n }, (_, i) => `(${first + i}, ${i % 3}, '${name}-${tag}-${first + i}')`).join(',');

describe('online object changes in the console', { timeout: 420_000 }, () => {
  before(async () => {
    env = services();
    const create = ['a', 'b', 'c', 'd'].map((t) => `CREATE TABLE ${table(t)} (id INT PRIMARY KEY, k INT NOT NULL, note VARCHAR(40)); INSERT INTO ${table(t)} VALUES ${rowsOf(t, 'pre', ROWS)};`).join(' ');
    await mariadb(env, `CREATE DATABASE ${DB}; ${create}`);
    server = await startServer();
    browser = await launchBrowser('zh-CN');
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (env) await mariadb(env, `DROP DATABASE IF EXISTS ${DB}`).catch(() => undefined);
  });

  step('log in and set up a running project of two tables over the API', async () => {
    await logIn(page, server);
    const { source, kafka } = await createDataSources(apiOk, env, RUN);
    const project = await apiOk('POST', '/projects', {
      spec: {
        name: `objects${RUN}`,
        source_id: source.id,
        target_id: kafka.id,
        sync: { types: ['schema', 'full', 'incremental'], format: 'DefaultExtendColumnType' },
        objects: [{ tables: [table('a'), table('b')], topic: OLD_TOPIC }],
      },
    });
    projectId = project.id;
    const precheck = await apiOk('POST', `/projects/${projectId}/precheck`);
    assert.equal(precheck.passed, true, JSON.stringify(precheck.items.filter((i) => i.status === 'fail')));
    await apiOk('POST', `/projects/${projectId}/start`);
    await waitFor('incremental sync with both tables acknowledged', async () => {
      const p = await apiOk('GET', `/projects/${projectId}/progress`);
      return p.stage === 'incremental' && p.acked_messages >= 2 * ROWS;
    }, { timeoutMs: 120_000 });
  });

  step('in Chinese: add a table with backfill and one from now on, remove one, review and apply', async () => {
    await page.goto(`${server.url}/projects`);
    await byTestId(`row-objects-objects${RUN}`).click();
    await page.waitForURL(`**/projects/${projectId}/objects`);
    assert.match(await byTestId('objects-when').innerText(), /项目不停止/);
    // The project's tables are marked as such; the sync types cannot change here.
    await byTestId(`dst-in-project-${table('a')}`).waitFor();
    await byTestId(`dst-in-project-${table('b')}`).waitFor();
    assert.equal(await byTestId('type-full').count(), 0);

    await treeNode(`src-db-${DB}`).locator('.ant-tree-switcher').click();
    await byTestId(`src-table-${table('c')}`).waitFor();
    await treeNode(`src-table-${table('c')}`).locator('.ant-tree-checkbox').click();
    await treeNode(`src-table-${table('d')}`).locator('.ant-tree-checkbox').click();
    await byTestId('objects-map').click();
    await field('map-new-topic').fill(NEW_TOPIC);
    await clickUntilGone('map-ok', 'the topic dialog to close');
    await byTestId(`dst-added-${table('c')}`).waitFor();
    await byTestId(`dst-added-${table('d')}`).waitFor();
    // Each added table starts with a backfill unless the user says otherwise.
    const added = byTestId('objects-added');
    assert.match(await added.innerText(), /补全存量数据：先发送表中已有的行/);
    const start = (t, choice) => byTestId(`objects-start-${table(t)}`).locator(`input[value=${choice}]`);
    assert.equal(await start('c', 'backfill').isChecked(), true);
    assert.equal(await start('d', 'backfill').isChecked(), true);
    await byTestId(`objects-from-now-${table('d')}`).click();
    await waitFor('d from now on', () => start('d', 'now').isChecked(), { timeoutMs: 5_000, everyMs: 100 });

    await byTestId(`dst-table-${table('b')}`).hover();
    await byTestId(`dst-remove-${table('b')}`).click();
    const removed = byTestId('objects-removed');
    assert.match(await removed.innerText(), new RegExp(`将移除：${table('b')}`));
    assert.match(await removed.innerText(), /Topic 及其中的消息保留；此后这些表的变更不再发送/);
    await screenshot(page, 'zh-CN-objects-change');

    await byTestId('wizard-next').click();
    await byTestId('objects-review').waitFor({ timeout: 30_000 });
    assert.equal(await byTestId(`review-added-${table('c')}`).getAttribute('data-backfill'), 'true');
    assert.equal(await byTestId(`review-added-${table('d')}`).getAttribute('data-backfill'), 'false');
    await byTestId(`review-removed-${table('b')}`).waitFor();
    assert.equal(await byTestId('objects-precheck-result').getAttribute('data-passed'), 'true');
    // The change's precheck items arrive by code and read in Chinese, not the server's English.
    const review = await byTestId('objects-review').innerText();
    assert.match(review, /可以读取/);
    assert.match(review, /结构同步会创建它/);
    assert.doesNotMatch(review, /can be read|schema sync creates it/);
    await screenshot(page, 'zh-CN-objects-review');
    await byTestId('objects-apply').click();
    await page.waitForURL(`**/projects/${projectId}`);
  });

  step('the added tables\' rows arrive as chosen, the removed table\'s do not, the backfill shows done', async () => {
    // The removed table's change is written first: once the later rows of d are in Kafka,
    // the change log is past it.
    await mariadb(env, `INSERT INTO ${table('b')} VALUES (1001, 1, 'b-after-${RUN}')`);
    await mariadb(env, `INSERT INTO ${table('c')} VALUES ${rowsOf('c', 'live', 3, 1001)}`);
    await mariadb(env, `INSERT INTO ${table('d')} VALUES ${rowsOf('d', 'live', 3, 1001)}`);
    await waitFor('c (backfilled and live) and d (live) in Kafka', async () => {
      const c = await valuesWith(NEW_TOPIC, 'c-');
      const d = await valuesWith(NEW_TOPIC, 'd-live-');
      return c.filter((v) => v.includes('c-pre-')).length >= ROWS && c.filter((v) => v.includes('c-live-')).length >= 3 && d.length >= 3;
    }, { timeoutMs: 120_000 });
    const newTopic = (await kafkaMessages(env, NEW_TOPIC)).map((m) => m.value);
    for (let i = 1; i <= ROWS; i++) assert.ok(newTopic.some((v) => v.includes(`"c-pre-${i}"`)), `c's existing row ${i} backfilled`);
    assert.equal(newTopic.filter((v) => v.includes('d-pre-')).length, 0, 'd from now on: none of its existing rows');
    assert.equal((await valuesWith(OLD_TOPIC, `b-after-${RUN}`)).length, 0, 'b removed: its later change is not sent');

    const backfill = byTestId(`backfill-${table('c')}`);
    await page.locator(`[data-testid="backfill-${table('c')}"][data-state=done]`).waitFor({ timeout: 60_000 });
    assert.match(await backfill.innerText(), /已完成/);
    await screenshot(page, 'zh-CN-objects-backfill-done');
  });

  step('in English: a change made meanwhile by someone else is a conflict, and the page reloads', async () => {
    await page.getByTestId('language-switch').getByText('English').click();
    await byTestId('action-objects').click();
    await page.waitForURL(`**/projects/${projectId}/objects`);
    await byTestId(`dst-in-project-${table('d')}`).waitFor();
    await byTestId(`dst-table-${table('d')}`).hover();
    await byTestId(`dst-remove-${table('d')}`).click();
    // Meanwhile, over the API: c's messages partitioned by k.
    const project = await apiOk('GET', `/projects/${projectId}`);
    const objects = project.spec.objects.map((o) => (o.tables.includes(table('c')) ? { ...o, shard_columns: { ...o.shard_columns, [table('c')]: ['k'] } } : o));
    await apiOk('POST', `/projects/${projectId}/objects`, { objects, backfill: [] }, { 'If-Match': `"${project.revision}"` });

    await byTestId('wizard-next').click();
    await byTestId('objects-review').waitFor({ timeout: 30_000 });
    await byTestId('objects-apply').click();
    await page.locator('.ant-modal-confirm-title', { hasText: 'Someone else changed this project' }).waitFor();
    await screenshot(page, 'en-objects-conflict');
    await clickUntilGone('objects-conflict-ok', 'the conflict dialog to close');
    // Reloaded: d is in the project again, c shows the shard column set meanwhile.
    await byTestId(`dst-in-project-${table('d')}`).waitFor();
    await byTestId(`dst-table-${table('c')}`).getByText('shard: k').waitFor();
  });

  step('in English: a table moved to another topic is a change whose later rows go there', async () => {
    await byTestId(`dst-table-${table('d')}`).hover();
    await byTestId(`dst-change-${table('d')}`).click();
    await field('map-new-topic').fill(MOVED_TOPIC);
    await clickUntilGone('map-ok', 'the topic dialog to close');
    await byTestId(`dst-topic-${MOVED_TOPIC}`).waitFor();
    assert.match(await byTestId('objects-changed').innerText(), new RegExp(`Topic or shard columns changed: ${table('d')}`));
    await byTestId('wizard-next').click();
    await byTestId('objects-review').waitFor({ timeout: 30_000 });
    const changed = await byTestId(`review-changed-${table('d')}`).locator('xpath=ancestor::tr').innerText();
    assert.ok(changed.includes(NEW_TOPIC) && changed.includes(MOVED_TOPIC), changed);
    await screenshot(page, 'en-objects-review-changed');
    await byTestId('objects-apply').click();
    await page.waitForURL(`**/projects/${projectId}`);
    await mariadb(env, `INSERT INTO ${table('d')} VALUES ${rowsOf('d', 'moved', 1, 2001)}`);
    await waitFor('d\'s row after the move in the new topic', async () => (await valuesWith(MOVED_TOPIC, 'd-moved-2001')).length === 1, { timeoutMs: 60_000 });
  });

  step('in English: re-sync one table after a confirmation naming the consequence', async () => {
    const before = (await valuesWith(OLD_TOPIC, 'a-pre-')).length;
    assert.ok(before >= ROWS, `a's rows in Kafka before the re-sync: ${before}`);
    await byTestId(`resync-${table('a')}`).click();
    const explain = byTestId('resync-explain');
    await explain.waitFor();
    assert.match(await explain.innerText(), new RegExp(`All rows of ${table('a')} are read again and sent to its topic`));
    await screenshot(page, 'en-objects-resync-confirm');
    await clickUntilGone('resync-confirm', 'the re-sync dialog to close');
    await waitFor('a\'s rows sent again', async () => (await valuesWith(OLD_TOPIC, 'a-pre-')).length >= before + ROWS, { timeoutMs: 120_000 });
    await page.locator(`[data-testid="backfill-${table('a')}"][data-state=done]`).waitFor({ timeout: 60_000 });
    assert.match(await byTestId(`backfill-${table('a')}`).innerText(), /Done/);
    await screenshot(page, 'en-objects-resync-done');
  });
});
