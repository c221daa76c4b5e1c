// Verify from the project detail page, in headless Chromium against a real obsync server,
// the shared MariaDB and Kafka: a running project verifies clean (rows compared per table),
// and after a row is deleted at the source while the project is paused, the report shows
// it as an extra key with its example. The project is set up over the API; what is tested
// here is the console's action, progress and report (in Chinese).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiOf, createDataSources, launchBrowser, logIn, mariadb, screenshot, services, startServer, waitFor, scenario } from './harness.mjs';

const RUN = Math.random().toString(36).slice(2, 8);
const DB = `e2e_verify_${RUN}`;
const TABLE = `${DB}.orders`;
const ROWS = 30;

let env;
let server;
let browser;
let page;
let projectId;

const byTestId = (id) => page.getByTestId(id);

const step = scenario(it, () => page, 'verify-');

const { apiOk } = apiOf(() => page, () => server);

/** Starts a verify run from the detail page and waits for its verdict. */
async function verifyFromThePage() {
  await byTestId('action-verify').click();
  // The answer to the start is shown at once (a report of an earlier run may still be on the page until then).
  await page.locator('[data-testid="verify-state"][data-state="running"]').waitFor({ timeout: 30_000 });
  await waitFor('the verify run to finish', async () => (await byTestId('verify-verdict').count()) > 0, { timeoutMs: 90_000 });
  return byTestId('verify-verdict');
}

describe('verify in the console', { timeout: 300_000 }, () => {
  before(async () => {
    env = services();
    const rows = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, 'row ${i + 1}')`).join(',');
    await mariadb(env, `CREATE DATABASE ${DB}; CREATE TABLE ${DB}.orders (id INT PRIMARY KEY, note VARCHAR(40)); INSERT INTO ${DB}.orders VALUES ${rows};`);
    server = await startServer();
    browser = await launchBrowser('zh-CN');
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (env) await mariadb(env, `DROP DATABASE IF EXISTS ${DB}`).catch(() => undefined);
  });

  step('log in and set up a running project over the API', async () => {
    await logIn(page, server);
    const { source, kafka } = await createDataSources(apiOk, env, RUN);
    const project = await apiOk('POST', '/projects', {
      spec: {
        name: `verify${RUN}`,
        source_id: source.id,
        target_id: kafka.id,
        sync: { types: ['schema', 'full', 'incremental'], format: 'DefaultExtendColumnType' },
        objects: [{ tables: [TABLE], topic: `verify-${RUN}` }],
      },
    });
    projectId = project.id;
    const precheck = await apiOk('POST', `/projects/${projectId}/precheck`);
    assert.equal(precheck.passed, true, JSON.stringify(precheck.items.filter((i) => i.status === 'fail')));
    await apiOk('POST', `/projects/${projectId}/start`);
    await waitFor('incremental sync with every row acknowledged', async () => {
      const p = await apiOk('GET', `/projects/${projectId}/progress`);
      return p.stage === 'incremental' && p.acked_messages >= ROWS;
    }, { timeoutMs: 120_000 });
  });

  step('a running project verifies clean, with the rows compared', async () => {
    await page.goto(`${server.url}/projects/${projectId}`);
    await byTestId('verify-panel').waitFor();
    assert.match(await byTestId('verify-panel').innerText(), /服务启动以来尚未校验/);
    const verdict = await verifyFromThePage();
    assert.equal(await verdict.getAttribute('data-clean'), 'true');
    assert.match(await verdict.innerText(), /一致/);
    assert.equal((await byTestId(`verify-checked-${TABLE}`).innerText()).trim(), String(ROWS));
    assert.equal(await byTestId(`verify-missing-${TABLE}`).getAttribute('data-count'), '0');
    assert.equal(await byTestId('verify-state').getAttribute('data-state'), 'finished');
    await screenshot(page, 'verify-clean-zh');
  });

  step('a row deleted at the source while paused is an extra key with its example', async () => {
    await apiOk('POST', `/projects/${projectId}/pause`);
    await mariadb(env, `DELETE FROM ${TABLE} WHERE id = 7`);
    await page.reload();
    const verdict = await verifyFromThePage();
    assert.equal(await verdict.getAttribute('data-clean'), 'false');
    assert.match(await verdict.innerText(), /发现不一致/);
    const extra = byTestId(`verify-extra-${TABLE}`);
    assert.equal(await extra.getAttribute('data-count'), '1');
    assert.match(await extra.innerText(), /7/);
    assert.equal(await byTestId(`verify-different-${TABLE}`).getAttribute('data-count'), '0');
    await screenshot(page, 'verify-differences-zh');
  });
});
