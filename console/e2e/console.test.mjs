// The console's "Done when" scenario in real headless Chromium against a real obsync server,
// MariaDB (the binlog source), seekdb (an OceanBase kernel) and Kafka, checked with kcat.
// The steps share one browser and one server and run in order; each is its own test.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiOf, kafkaMessages, launchBrowser, mariadb, screenshot, services, startServer, waitFor, scenario } from './harness.mjs';

/**
 * Checks a radio button of a dialog that may still be zooming in: a click can land while
 * the radio moves and change nothing, so click until it is checked.
 */
async function checkRadio(page, name) {
  const radio = page.getByRole('radio', { name });
  for (let i = 0; i < 10 && !(await radio.isChecked()); i++) {
    await radio.click();
    await page.waitForTimeout(100);
  }
  assert.ok(await radio.isChecked(), `the radio "${name}" stays unchecked`);
}

const RUN = Math.random().toString(36).slice(2, 8);
const DB = `ce2e_${RUN}`;
const MANY_DB = `ce2e_many_${RUN}`;
const TOPIC = `e2e-orders-${RUN}`;
const PROJECT = `端到端订单${RUN}`;
const WRONG = `错误分片${RUN}`;
const BATCH_TOPIC = `Topic_${DB}_users`;
/** Tables in the object-selector responsiveness check. */
const MANY = 1000;

let env;
let server;
let browser;
let page;
let projectId;
let manyTables;

const byTestId = (id) => page.getByTestId(id);
/** The text field of an antd input, whether the test id sits on the input or on its wrapper. */
const field = (id) => page.locator(`input[data-testid="${id}"], textarea[data-testid="${id}"], [data-testid="${id}"] input`).first();
const treeNode = (testId) => page.locator('.ant-tree-treenode', { has: page.getByTestId(testId) });

/** Picks an option of the antd Select with the given test id. */
async function choose(testId, optionText) {
  await byTestId(testId).click();
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: optionText }).first().click();
}

/**
 * In the settings dialog: adds the column and drops the preselected primary key. Each round
 * reads the options' selected state and makes one click, so a click that lands while the
 * dropdown still moves (a loaded machine) is corrected instead of failing the scenario.
 */
async function pickShardColumn(column) {
  const open = page.locator('.ant-select-dropdown:visible');
  const option = (text) => open.locator('.ant-select-item-option', { hasText: text }).first();
  const selected = async (text) => /ant-select-item-option-selected/.test((await option(text).getAttribute('class')) ?? '');
  await waitFor(`${column} as the only shard column`, async () => {
    if ((await open.count()) === 0) await byTestId('shard-columns').click();
    await option(`${column} (`).waitFor();
    if (!(await selected(`${column} (`))) await option(`${column} (`).click();
    else if (await selected('· 主键')) await option('· 主键').click();
    else return true;
    return false;
  }, { timeoutMs: 20_000, everyMs: 300 });
  await page.keyboard.press('Escape');
  await page.locator('[data-testid=shard-columns]', { hasText: column }).waitFor();
}

/**
 * Clicks a dialog's OK button until the dialog is gone: a click that lands while the dialog
 * still zooms in (a loaded machine) changes nothing, and the next one does.
 */
async function clickUntilGone(testId, what) {
  const button = byTestId(testId);
  await waitFor(what, async () => {
    if (!(await button.isVisible())) return true;
    await button.click({ timeout: 2_000 }).catch(() => undefined);
    await page.waitForTimeout(300);
    return !(await button.isVisible());
  }, { timeoutMs: 20_000, everyMs: 200 });
}

async function expectState(state, timeoutMs = 60_000) {
  await page.locator(`[data-testid=project-state][data-state=${state}]`).first().waitFor({ timeout: timeoutMs });
}

const step = scenario(it, () => page, '');

const { api } = apiOf(() => page, () => server);

before(async () => {
  env = services();
  const rows = (n, f) => Array.from({ length: n }, (_, i) => f(i + 1)).join(',');
  await mariadb(
    env,
    `CREATE DATABASE ${DB};
     CREATE TABLE ${DB}.orders (id BIGINT PRIMARY KEY AUTO_INCREMENT, customer_id BIGINT NOT NULL, note VARCHAR(100));
     CREATE TABLE ${DB}.items (id BIGINT PRIMARY KEY, order_id BIGINT NOT NULL, sku VARCHAR(20));
     CREATE TABLE ${DB}.users (id BIGINT PRIMARY KEY, name VARCHAR(50));
     CREATE TABLE ${DB}.regions (id BIGINT PRIMARY KEY, region VARCHAR(20));
     CREATE TABLE ${DB}.\`订单表\` (id BIGINT PRIMARY KEY);
     CREATE TABLE ${DB}.\`bad.name\` (id BIGINT PRIMARY KEY);
     INSERT INTO ${DB}.orders (customer_id, note) VALUES ${rows(20, (i) => `(${i % 5}, 'full-${i}')`)};
     INSERT INTO ${DB}.items VALUES ${rows(20, (i) => `(${i}, ${i}, 'SKU-${i}')`)};
     INSERT INTO ${DB}.users VALUES ${rows(10, (i) => `(${i}, 'user-${i}')`)};
     INSERT INTO ${DB}.regions VALUES (1, 'east'), (2, 'west');
     CREATE DATABASE ${MANY_DB};`,
  );
  // 1,000 CREATE TABLEs take most of a minute here (a binlog sync each): four connections
  // create them while the first steps run; the wizard step waits for them.
  manyTables = Promise.all(
    [0, 1, 2, 3].map((part) =>
      mariadb(
        env,
        Array.from({ length: MANY / 4 }, (_, i) => `CREATE TABLE ${MANY_DB}.t${String(part * (MANY / 4) + i).padStart(4, '0')} (id INT PRIMARY KEY);`).join('\n'),
      ),
    ),
  );
  manyTables.catch(() => undefined);
  server = await startServer();
  browser = await launchBrowser('zh-CN');
  page = browser.page;
  page.setDefaultTimeout(20_000);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (env) await mariadb(env, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS ${MANY_DB};`).catch(() => undefined);
});

describe('console in Chromium against obsync server', () => {
  step('opens in the browser language (zh-CN) and logs in', async () => {
    await page.goto(server.url + '/');
    await page.waitForURL('**/login');
    await byTestId('login-submit').waitFor();
    assert.match(await byTestId('login-submit').innerText(), /登\s*录/);
    await screenshot(page, 'zh-CN-login');
    await field('login-password').fill('wrong-password');
    await byTestId('login-submit').click();
    // The server's BAD_CREDENTIALS, in Chinese.
    await page.getByText('用户名或密码错误').waitFor();
    await field('login-password').fill(server.password);
    await byTestId('login-submit').click();
    await page.waitForURL('**/overview');
    await page.getByRole('heading', { name: '概览' }).waitFor();
  });

  step('adds a seekdb (OceanBase), a MariaDB and a Kafka data source, each after a passing connection test', async () => {
    await page.goto(server.url + '/datasources');
    const add = async ({ kind, name, fill, shot }) => {
      await byTestId('ds-add').click();
      await choose('ds-kind', kind);
      await field('ds-name').fill(name);
      await fill();
      await byTestId('ds-test').click();
      const result = byTestId('ds-test-result');
      await result.waitFor({ timeout: 30_000 });
      assert.equal(await result.getAttribute('data-ok'), 'true', `connection test of ${name}: ${await result.innerText()}`);
      if (shot) await screenshot(page, shot);
      await byTestId('ds-save').click();
      await page.locator('[data-testid=ds-table]').getByText(name, { exact: true }).waitFor();
    };
    await add({
      kind: 'OceanBase',
      name: `seekdb-${RUN}`,
      fill: async () => {
        await field('ds-host').fill(env.SEEKDB_HOST);
        await field('ds-port').fill(env.SEEKDB_PORT);
        await field('ds-user').fill(`${env.SEEKDB_USER}@sys`);
        if (env.SEEKDB_PASSWORD) await field('ds-password').fill(env.SEEKDB_PASSWORD);
      },
      shot: 'zh-CN-datasource-dialog',
    });
    await add({
      kind: 'MariaDB',
      name: `mariadb-${RUN}`,
      fill: async () => {
        await field('ds-host').fill(env.MARIADB_HOST);
        await field('ds-port').fill(env.MARIADB_PORT);
        await field('ds-user').fill(env.MARIADB_ROOT_USER);
        await field('ds-password').fill(env.MARIADB_ROOT_PASSWORD);
      },
    });
    await add({
      kind: 'Kafka',
      name: `kafka-${RUN}`,
      fill: async () => {
        await field('ds-bootstrap').fill(env.KAFKA_BOOTSTRAP);
      },
    });
    await screenshot(page, 'zh-CN-datasources');
  });

  step('refuses a data source name at its field: the server\'s limit while typing, a taken name from the server', async () => {
    await page.goto(server.url + '/datasources');
    await byTestId('ds-add').click();
    await choose('ds-kind', 'MariaDB');
    const nameItem = page.locator('.ant-form-item', { has: field('ds-name') });
    const explain = nameItem.locator('.ant-form-item-explain-error');
    // The limits come from the server's rules: 32 characters, no spaces.
    await field('ds-name').fill('n'.repeat(33));
    await explain.getByText('最多 32 个字符').waitFor();
    await field('ds-name').fill('has space');
    await explain.getByText('不能包含空格').waitFor();
    await field('ds-name').fill('n'.repeat(32));
    // The old message fades out: wait until none is left.
    await waitFor('the name accepted', async () => (await explain.count()) === 0, { timeoutMs: 10_000, everyMs: 200 });
    // A name another data source has: the server's 409 lands on the name field.
    await field('ds-name').fill(`mariadb-${RUN}`);
    await field('ds-host').fill(env.MARIADB_HOST);
    await field('ds-port').fill(env.MARIADB_PORT);
    await field('ds-user').fill(env.MARIADB_ROOT_USER);
    await byTestId('ds-save').click();
    await explain.getByText(`mariadb-${RUN}`).waitFor();
    assert.equal(await page.locator('.ant-modal [data-testid=error-alert]').count(), 0, 'the error is at the field, not in an alert');
    await screenshot(page, 'zh-CN-datasource-name-taken');
    await page.locator('.ant-modal').getByRole('button', { name: /取\s*消/ }).click();
    await byTestId('ds-save').waitFor({ state: 'detached' });
  });

  step('creates and renames a tag', async () => {
    await page.goto(server.url + '/tags');
    await byTestId('tag-create').click();
    await field('tag-name').fill(`标签${RUN}`);
    await byTestId('tag-save').click();
    await page.getByRole('cell', { name: `标签${RUN}` }).waitFor();
    await page.getByRole('row', { name: new RegExp(`标签${RUN}`) }).getByRole('button', { name: '重命名' }).click();
    await field('tag-name').fill(`订单${RUN}`);
    await byTestId('tag-save').click();
    await page.getByRole('cell', { name: `订单${RUN}` }).waitFor();
    await screenshot(page, 'zh-CN-tags');
  });

  step('walks the wizard: two tables to a new topic, one by batch rule, a shard column, remove and add back', async () => {
    await manyTables; // created before the project starts, so its binlog position is past them
    await page.goto(server.url + '/projects');
    await byTestId('project-create').click();
    // Step 1: the name is checked as it is typed.
    await field('wizard-name').fill('bad name!');
    await page.getByText('只能包含汉字、字母和数字').waitFor();
    await field('wizard-name').fill(PROJECT);
    await choose('wizard-tags', `订单${RUN}`);
    await page.keyboard.press('Escape');
    await choose('wizard-source', `mariadb-${RUN}`);
    await choose('wizard-target', `kafka-${RUN}`);
    await screenshot(page, 'zh-CN-wizard-1-source-target');
    await byTestId('wizard-next').click();

    // Step 2: databases → tables on the left, Topic > Database > Table on the right.
    await treeNode(`src-db-${DB}`).locator('.ant-tree-switcher').click();
    await byTestId(`src-table-${DB}.orders`).waitFor();
    // A table whose name has Chinese characters is shown disabled, with the reason.
    const chinese = treeNode(`src-table-${DB}.订单表`);
    assert.match(await chinese.getAttribute('class'), /ant-tree-treenode-disabled/);
    assert.match(await chinese.innerText(), /名称包含汉字/);
    // So is a table with a `.` in its name, which the server cannot map: the reason is at the table.
    const dotted = treeNode(`src-table-${DB}.bad.name`);
    assert.match(await dotted.getAttribute('class'), /ant-tree-treenode-disabled/);
    assert.match(await dotted.innerText(), /名称包含“\.”，服务器无法映射/);
    const check = (table) => treeNode(`src-table-${DB}.${table}`).locator('.ant-tree-checkbox').click();
    await check('orders');
    await check('items');
    await byTestId('objects-map').click();
    await field('map-new-topic').fill('x');
    await page.getByText('长度为 3～64 个字符').waitFor();
    await field('map-new-topic').fill(TOPIC);
    await clickUntilGone('map-ok', 'the topic dialog to close');
    await check('users');
    await byTestId('objects-map').click();
    await checkRadio(page, '批量生成 Topic');
    await clickUntilGone('map-ok', 'the topic dialog to close');
    await byTestId(`dst-topic-${TOPIC}`).waitFor();
    await byTestId(`dst-topic-${BATCH_TOPIC}`).waitFor();

    // Shard column of orders: customer_id instead of the primary key.
    await byTestId(`dst-table-${DB}.orders`).hover();
    await byTestId(`dst-settings-${DB}.orders`).click();
    await page.getByText('分片列决定每条消息写入的分区').waitFor();
    await pickShardColumn('customer_id');
    await clickUntilGone('shard-ok', 'the shard dialog to close');
    await byTestId(`dst-table-${DB}.orders`).getByText('分片列：customer_id').waitFor();

    // Remove items, then add it back to the same new topic.
    await byTestId(`dst-table-${DB}.items`).hover();
    await byTestId(`dst-remove-${DB}.items`).click();
    await byTestId(`dst-table-${DB}.items`).waitFor({ state: 'detached' });
    await check('items');
    await byTestId('objects-map').click();
    await field('map-new-topic').fill(TOPIC);
    await clickUntilGone('map-ok', 'the topic dialog to close');
    await byTestId(`dst-table-${DB}.items`).waitFor();
    assert.equal(await page.locator('[data-testid=target-tree] [data-testid^=dst-table-]').count(), 3);
    await screenshot(page, 'zh-CN-wizard-2-objects');
    await byTestId('wizard-next').click();

    // Step 3: with full sync the start position is the project start time; a message preview.
    await byTestId('start-time-fixed').waitFor();
    // Maxwell with its array key and Flink's snapshot type: the preview shows both.
    await choose('format', 'Maxwell');
    await byTestId('maxwell-key-format').getByText('Array').click();
    await byTestId('maxwell-snapshot-type').getByText('insert（用于').click();
    await choose('preview-table', `${DB}.orders`);
    await byTestId('preview-run').click();
    const records = byTestId('preview-records');
    await records.waitFor({ timeout: 30_000 });
    const maxwell = await records.innerText();
    assert.match(maxwell, new RegExp(`\\["${DB}","orders",\\[\\{"id":`));
    assert.match(maxwell, /"type": "insert"/);
    await choose('format', 'DefaultExtendColumnType');
    await byTestId('timestamp-fraction').waitFor();
    await byTestId('preview-run').click();
    await records.getByText('__light_type').first().waitFor({ timeout: 30_000 });
    assert.match(await records.innerText(), new RegExp(TOPIC));
    await screenshot(page, 'zh-CN-wizard-3-options');
    await byTestId('wizard-next').click();

    // Step 4: nothing is saved until the precheck runs on purpose; it passes, then start.
    await byTestId('precheck-not-saved').waitFor();
    assert.equal((await api('GET', `/projects?q=${encodeURIComponent(PROJECT)}`)).body.total, 0, 'the wizard saved a project before it was asked to');
    await byTestId('precheck-run').click();
    const result = byTestId('precheck-result');
    await result.waitFor({ timeout: 90_000 });
    assert.equal(await result.getAttribute('data-passed'), 'true', await page.locator('[data-testid=precheck-items]').innerText());
    assert.ok((await page.locator('[data-testid=precheck-items] tr.precheck-pass').count()) > 0);
    await screenshot(page, 'zh-CN-wizard-4-precheck');
    await byTestId('wizard-start').click();
    await page.waitForURL(/\/projects\/np_/);
    projectId = page.url().split('/').pop();
  });

  step('full sync reaches 100 %', async () => {
    await page.locator('[data-testid=full-total][data-percent="100"]').waitFor({ timeout: 120_000 });
    await expectState('running');
    // Every full-sync row is in Kafka: 20 orders + 20 items on the topic, 10 users by batch rule.
    const onTopic = await waitFor('full sync rows in Kafka', async () => ((await kafkaMessages(env, TOPIC)).length >= 40 ? true : null));
    assert.ok(onTopic);
    assert.equal((await kafkaMessages(env, BATCH_TOPIC)).length, 10);
  });

  step('rows inserted afterwards arrive in Kafka (read with kcat)', async () => {
    await mariadb(env, `INSERT INTO ${DB}.orders (customer_id, note) VALUES (7, 'live-${RUN}-a'), (8, 'live-${RUN}-b')`);
    await waitFor('the live rows in Kafka', async () => {
      const values = (await kafkaMessages(env, TOPIC)).map((m) => m.value).join('\n');
      return values.includes(`live-${RUN}-a`) && values.includes(`live-${RUN}-b`);
    });
  });

  step('pauses and resumes; a row written while paused arrives after the resume', async () => {
    const acked = async () => Number(await byTestId('acked').getAttribute('data-count'));
    // 40 + 10 full-sync rows and the 2 live ones.
    await waitFor('52 messages acknowledged', async () => (await acked()) >= 52);
    const before = await acked();
    await byTestId('action-pause').click();
    await expectState('paused');
    await mariadb(env, `INSERT INTO ${DB}.orders (customer_id, note) VALUES (9, 'paused-${RUN}')`);
    await byTestId('action-resume').click();
    await expectState('running');
    await waitFor('the row written while paused in Kafka', async () => (await kafkaMessages(env, TOPIC)).some((m) => m.value.includes(`paused-${RUN}`)));
    // The resumed run skips full sync and counts from zero; the page still shows the whole
    // snapshot and the messages of both runs.
    await waitFor('the count to include the row written while paused', async () => (await acked()) > before);
    const fullRows = page.locator('[data-testid=panel-full] .ant-table-row');
    assert.equal(await fullRows.count(), 3, await byTestId('panel-full').innerText());
    const texts = (await fullRows.allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
    for (const [i, [table, rows]] of [['items', 20], ['orders', 20], ['users', 10]].entries()) {
      assert.ok(texts[i].startsWith(`${DB}.${table} `) && texts[i].endsWith(`${rows} / ${rows}`), `full-sync row ${i}: ${texts[i]}`);
    }
    await page.locator('[data-testid=full-total][data-percent="100"]').waitFor();
    // The batch rule's topic counts among the project's topics.
    await byTestId(`schema-topic-${BATCH_TOPIC}`).waitFor();
    await byTestId(`schema-topic-${TOPIC}`).waitFor();
    assert.equal(await byTestId('topics-count').innerText(), '2 个 Topic');
    await byTestId('panel-incremental').getByText('mysql-bin.').waitFor();
    await screenshot(page, 'zh-CN-project-detail');
    // The event log says the state changes in Chinese (by their codes), not the server's English.
    const events = byTestId('events');
    await waitFor('the pause and the resume in the event log, in Chinese', async () => {
      const text = await events.innerText();
      return text.includes('运行中 → 已暂停：检查点已保存') && text.includes('已暂停 → 运行中');
    });
    assert.doesNotMatch(await events.innerText(), /running →|→ paused|checkpoint saved/);
  });

  step('shows per-table counts of snapshot rows and acknowledged changes, and the stage timeline', async () => {
    // Three inserts so far (two live, one while paused); now one update and one delete.
    await mariadb(env, `UPDATE ${DB}.orders SET note = 'updated-${RUN}' WHERE note = 'live-${RUN}-a'; DELETE FROM ${DB}.orders WHERE note = 'live-${RUN}-b'`);
    const counts = byTestId('counts');
    await counts.scrollIntoViewIfNeeded();
    const count = async (table, key) => Number(await byTestId(`count-${DB}.${table}-${key}`).getAttribute('data-count'));
    const expected = { orders: [20, 3, 1, 1], items: [20, 0, 0, 0], users: [10, 0, 0, 0] };
    const keys = ['snapshot_rows', 'inserts', 'updates', 'deletes'];
    const shown = async () => Object.fromEntries(await Promise.all(Object.keys(expected).map(async (table) => [table, await Promise.all(keys.map((k) => count(table, k)))])));
    await waitFor('the update and the delete counted', async () => JSON.stringify(await shown()) === JSON.stringify(expected));
    assert.match(await counts.innerText(), /全量行数[\s\S]*插入[\s\S]*更新[\s\S]*删除/);
    // Full sync is over, incremental sync is the current stage.
    await page.locator('[data-testid=timeline-full][data-ended=true]').waitFor();
    await page.locator('[data-testid=timeline-incremental][data-ended=false]').waitFor();
    const timeline = await byTestId('timeline').innerText();
    assert.match(timeline, /全量同步[\s\S]*耗时[\s\S]*增量同步[\s\S]*进行中/, timeline);
    await screenshot(page, 'zh-CN-project-counts');
  });

  step('shows the latest messages of a topic and finds one by key', async () => {
    const viewer = byTestId('topic-viewer');
    await viewer.scrollIntoViewIfNeeded();
    await choose('viewer-topic', TOPIC);
    const rows = page.locator('[data-testid=viewer-messages] tr.ant-table-row');
    await waitFor('20 messages in the viewer', async () => (await rows.count()) === 20);
    // Values are pretty-printed JSON.
    await rows.first().locator('.ant-table-row-expand-icon').click();
    assert.match(await byTestId('viewer-value').first().innerText(), /\n {2}"/, 'the JSON value is pretty-printed');
    await rows.first().locator('.ant-table-row-expand-icon').click();
    // A key search finds the row written while paused (as kcat reads it) among the others.
    const inKafka = await kafkaMessages(env, TOPIC);
    const paused = inKafka.find((m) => m.value.includes(`paused-${RUN}`));
    assert.ok(paused, 'kcat reads the paused row');
    const expected = inKafka.filter((m) => m.key.includes(paused.key)).length;
    await field('viewer-key').fill(paused.key);
    await page.keyboard.press('Enter');
    await waitFor(`${expected} message(s) for key ${paused.key}`, async () => (await rows.count()) === expected && (await rows.allInnerTexts()).join('\n').includes(`paused-${RUN}`));
    await byTestId('viewer-scanned').waitFor();
    await screenshot(page, 'zh-CN-topic-viewer');
  });

  step('refuses to delete a data source in use, translated, naming the project', async () => {
    await page.goto(server.url + '/datasources');
    await page.getByRole('row', { name: new RegExp(`mariadb-${RUN}`) }).getByRole('button', { name: /^删\s*除$/ }).click();
    await page.locator('.ant-popconfirm').getByRole('button', { name: /^删\s*除$/ }).click();
    const dialog = page.locator('.ant-modal-confirm');
    await dialog.locator('.ant-modal-confirm-title', { hasText: '数据源正被项目使用' }).waitFor();
    assert.match(await dialog.innerText(), new RegExp(PROJECT));
    // The server's error and advice in Chinese, by code and params: no English sentence of the server.
    const said = await dialog.innerText();
    assert.match(said, /数据源正被项目使用：/);
    assert.match(said, /请先删除这些项目/);
    assert.doesNotMatch(said, /is used by|delete those projects|point them/, said);
    await dialog.getByRole('button').last().click();
  });

  step('keeps a 1,000-table database responsive and shows a wrong shard column as a failed precheck item with advice', async () => {
    await page.goto(server.url + '/projects/new');
    await field('wizard-name').fill(WRONG);
    await choose('wizard-source', `mariadb-${RUN}`);
    await choose('wizard-target', `kafka-${RUN}`);
    await byTestId('wizard-next').click();

    // The server lists the 1,000 tables (its time is its own); the console then stays quick.
    const listed = Date.now();
    await treeNode(`src-db-${MANY_DB}`).locator('.ant-tree-switcher').click();
    await byTestId(`src-table-${MANY_DB}.t0000`).waitFor({ timeout: 120_000 });
    console.log(`# GET .../databases/${MANY_DB}/tables with ${MANY} tables + render: ${Date.now() - listed} ms`);
    const rendered = await page.locator('[data-testid=source-tree] .ant-tree-treenode').count();
    assert.ok(rendered < 100, `the source tree renders only the visible rows, not all ${MANY}: ${rendered}`);
    const searched = Date.now();
    await field('objects-search').fill('t0999');
    await byTestId(`src-table-${MANY_DB}.t0999`).waitFor();
    const elapsed = Date.now() - searched;
    console.log(`# search among ${MANY} tables: ${elapsed} ms`);
    assert.ok(elapsed < 3_000, `searching ${MANY} tables took ${elapsed} ms`);
    await field('objects-search').fill('regions');

    await treeNode(`src-table-${DB}.regions`).locator('.ant-tree-checkbox').click();
    await byTestId('objects-map').click();
    await field('map-new-topic').fill(`e2e-regions-${RUN}`);
    await clickUntilGone('map-ok', 'the topic dialog to close');
    await byTestId(`dst-table-${DB}.regions`).hover();
    await byTestId(`dst-settings-${DB}.regions`).click();
    await pickShardColumn('region');
    await clickUntilGone('shard-ok', 'the shard dialog to close');
    await byTestId('wizard-next').click();
    // The column goes away at the source before the precheck.
    await mariadb(env, `ALTER TABLE ${DB}.regions DROP COLUMN region`);
    await byTestId('wizard-next').click();
    await byTestId('precheck-run').click();
    const result = byTestId('precheck-result');
    await result.waitFor({ timeout: 90_000 });
    assert.equal(await result.getAttribute('data-passed'), 'false');
    const failed = page.locator('[data-testid=precheck-items] tr.precheck-fail');
    assert.ok((await failed.count()) >= 1);
    const text = await failed.allInnerTexts();
    assert.ok(text.some((row) => row.includes('region')), `a failed item names the column: ${text}`);
    assert.ok((await failed.locator('.ant-typography-warning').count()) >= 1, 'the failed item shows its fix advice');
    // The finding and its advice in Chinese, for a console user (the wizard's step, no TOML).
    const row = text.find((r) => r.includes('找不到分片列')) ?? '';
    assert.match(row, /region/, `the shard column item in Chinese: ${text}`);
    assert.match(row, /向导第 2 步/, row);
    assert.doesNotMatch(row, /shard columns not found|pick existing columns|\[\[objects\]\]/, row);
    await screenshot(page, 'zh-CN-precheck-failed');
    await byTestId('wizard-save').click();
    await page.waitForURL(/\/projects\/np_/);
    await expectState('precheck_failed').catch(() => expectState('not_started'));
    // Start stays disabled while the last precheck failed, and says why (in Chinese).
    const blocked = byTestId('start-blocked');
    await blocked.waitFor();
    assert.equal(await blocked.getAttribute('data-reason'), 'failed');
    assert.equal(await byTestId('action-start').isDisabled(), true);
    assert.match(await byTestId('start-blocked-hint').innerText(), /上次预检查未通过/);
  });

  step('edits a saved project and clones one through the wizard; cancel asks before discarding', async () => {
    // Edit: the wizard opens with the saved values and saves in place (no second project).
    const wrongId = page.url().split('/').pop();
    const before = (await api('GET', `/projects/${wrongId}`)).body;
    await byTestId('action-edit').click();
    await page.waitForURL(`**/projects/${wrongId}/edit`);
    assert.equal(await field('wizard-name').inputValue(), WRONG);
    await byTestId('wizard-next').click();
    await byTestId(`dst-table-${DB}.regions`).waitFor();
    await byTestId('wizard-next').click();
    await choose('format', 'Canal');
    await byTestId('wizard-next').click();
    await byTestId('precheck-not-saved').waitFor();
    await byTestId('wizard-save').click();
    await page.waitForURL(`**/projects/${wrongId}`);
    const after = (await api('GET', `/projects/${wrongId}`)).body;
    assert.equal(after.spec.sync.format, 'Canal');
    assert.deepEqual(after.spec.objects, before.spec.objects, 'the objects (with the shard column) survive the edit');
    assert.equal((await api('GET', `/projects?q=${encodeURIComponent(WRONG)}`)).body.total, 1);

    // Clone: prefilled with a new name and a note about the shared topics; nothing saved
    // until asked, and cancel asks before dropping a changed draft.
    await page.goto(`${server.url}/projects/${projectId}`);
    await byTestId('action-clone').click();
    await page.waitForURL(/\/projects\/new\?from=/);
    await byTestId('wizard-clone-note').waitFor();
    assert.equal(await field('wizard-name').inputValue(), `${PROJECT}copy`);
    await field('wizard-name').fill(`${PROJECT}c2`);
    await byTestId('wizard-next').click();
    assert.equal(await page.locator('[data-testid=target-tree] [data-testid^=dst-table-]').count(), 3);
    await screenshot(page, 'zh-CN-wizard-clone');
    await byTestId('wizard-cancel').click();
    // The confirmation zooms in: a click that lands while it moves changes nothing.
    await waitFor('the discarded clone to leave the wizard', async () => {
      if (!page.url().includes('/projects/new')) return true;
      await byTestId('wizard-discard').click({ timeout: 2_000 }).catch(() => undefined);
      await page.waitForTimeout(300);
      return !page.url().includes('/projects/new');
    }, { timeoutMs: 20_000, everyMs: 200 });
    assert.match(page.url(), /\/projects$/);
    assert.equal((await api('GET', `/projects?q=${encodeURIComponent(`${PROJECT}c2`)}`)).body.total, 0);
  });

  step('imports a project file: a broken one is refused with the reason, a good one becomes a project', async () => {
    const wrongId = (await api('GET', `/projects?q=${encodeURIComponent(WRONG)}`)).body.items[0].id;
    const res = await page.request.get(`${server.url}/api/v1/projects/${wrongId}/export`);
    const exported = await res.text();
    assert.match(exported, new RegExp(`name = "${WRONG}"`));
    const imported = `导入${RUN}`;
    await page.goto(`${server.url}/projects`);
    await byTestId('project-import').click();
    await field('import-text').fill(exported.replace(`name = "${WRONG}"`, `name = "${imported}"`).replace('[target]', '[targt]'));
    await byTestId('import-ok').click();
    const error = page.locator('.ant-modal .ant-alert-error');
    await error.waitFor();
    assert.match(await error.innerText(), /target/);
    await field('import-text').fill(exported.replace(`name = "${WRONG}"`, `name = "${imported}"`));
    await byTestId('import-ok').click();
    await page.waitForURL(/\/projects\/np_/);
    assert.equal(await byTestId('detail-name').innerText(), imported);
    await expectState('not_started');
  });

  step('switches to English and back', async () => {
    await page.getByTestId('language-switch').getByText('English').click();
    await page.getByRole('menuitem', { name: 'Sync projects' }).waitFor();
    const pages = [
      ['overview', '/overview'],
      ['projects', '/projects'],
      ['datasources', '/datasources'],
      ['tags', '/tags'],
      ['project-detail', `/projects/${projectId}`],
      ['wizard-1-source-target', '/projects/new'],
    ];
    for (const [name, path] of pages) {
      await page.goto(server.url + path);
      await page.getByRole('menuitem', { name: 'Overview' }).waitFor();
      if (name === 'project-detail') {
        await byTestId('panel-incremental').getByText('Checkpoint time').waitFor();
        await page.locator('[data-testid=full-total][data-percent="100"]').waitFor();
        assert.equal(await byTestId('topics-count').innerText(), '2 topics');
      }
      await screenshot(page, `en-${name}`);
    }
    await page.goto(server.url + '/datasources');
    await byTestId('ds-add').click();
    await choose('ds-kind', 'OceanBase');
    await screenshot(page, 'en-datasource-dialog');
    await page.keyboard.press('Escape');
    // The wizard's other steps in English: users by batch rule, up to the precheck (not saved).
    await page.goto(server.url + '/projects/new');
    await field('wizard-name').fill(`English${RUN}`);
    await choose('wizard-source', `mariadb-${RUN}`);
    await choose('wizard-target', `kafka-${RUN}`);
    await byTestId('wizard-next').click();
    await treeNode(`src-db-${DB}`).locator('.ant-tree-switcher').click();
    await treeNode(`src-table-${DB}.users`).locator('.ant-tree-checkbox').click();
    await byTestId('objects-map').click();
    await checkRadio(page, 'Batch rule');
    await screenshot(page, 'en-wizard-map-dialog');
    await clickUntilGone('map-ok', 'the topic dialog to close');
    await byTestId(`dst-topic-${BATCH_TOPIC}`).waitFor();
    await page.getByText('Target: Topic > Database > Table (1 table)').waitFor();
    await screenshot(page, 'en-wizard-2-objects');
    await byTestId('wizard-next').click();
    await choose('preview-table', `${DB}.users`);
    await byTestId('preview-run').click();
    await byTestId('preview-records').waitFor({ timeout: 30_000 });
    await screenshot(page, 'en-wizard-3-options');
    await byTestId('wizard-next').click();
    await byTestId('precheck-run').click();
    const precheck = byTestId('precheck-result');
    await precheck.waitFor({ timeout: 90_000 });
    assert.equal(await precheck.getAttribute('data-passed'), 'true', await page.locator('[data-testid=precheck-items]').innerText());
    await screenshot(page, 'en-wizard-4-precheck');
    // Saved, not started: the batch rule's topic is known from the exact table name.
    await byTestId('wizard-save').click();
    await page.waitForURL(/\/projects\/np_/);
    await byTestId(`schema-topic-${BATCH_TOPIC}`).waitFor();
    assert.equal(await byTestId('topics-count').innerText(), '1 topic');
    await page.goto(server.url + '/login');
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await screenshot(page, 'en-login');
    await page.goto(server.url + '/overview');
    // The choice is kept across a reload.
    await page.reload();
    await page.getByRole('menuitem', { name: 'Data sources' }).waitFor();
    await page.getByTestId('language-switch').getByText('中文').click();
    await page.getByRole('menuitem', { name: '数据源管理' }).waitFor();
    for (const [name, path] of [
      ['overview', '/overview'],
      ['projects', '/projects'],
    ]) {
      await page.goto(server.url + path);
      await page.getByRole('menuitem', { name: '概览' }).waitFor();
      await screenshot(page, `zh-CN-${name}`);
    }
  });

  step('deletes projects only after their name is typed', async () => {
    // The running project: paused from its row in the list, released after its name is
    // typed (release cannot be undone), then deleted.
    await page.goto(`${server.url}/projects`);
    await byTestId(`row-pause-${PROJECT}`).click();
    await page.getByRole('row', { name: new RegExp(PROJECT) }).locator('[data-testid=project-state][data-state=paused]').waitFor({ timeout: 60_000 });
    await byTestId(`row-detail-${PROJECT}`).click();
    await expectState('paused');
    await byTestId('action-release').click();
    const release = byTestId('release-confirm');
    assert.equal(await release.isDisabled(), true);
    await field('release-name').fill(PROJECT.slice(1));
    assert.equal(await release.isDisabled(), true);
    assert.equal((await api('GET', `/projects/${projectId}`)).body.state, 'paused', 'nothing released before the name is typed');
    await field('release-name').fill(PROJECT);
    await release.click();
    await expectState('released', 60_000);
    await byTestId('action-delete').click();
    const confirm = byTestId('delete-confirm');
    assert.equal(await confirm.isDisabled(), true);
    await field('delete-name').fill(PROJECT.slice(0, -1));
    assert.equal(await confirm.isDisabled(), true);
    await field('delete-name').fill(PROJECT);
    assert.equal(await confirm.isDisabled(), false);
    await confirm.click();
    await page.waitForURL('**/projects');
    assert.equal((await api('GET', `/projects/${projectId}`)).status, 404);
    const list = await api('GET', '/projects');
    assert.ok(!list.body.items.some((p) => p.spec.name === PROJECT));
    assert.equal(browser.problems.length, 0, browser.problems.join('\n'));
  });
});
