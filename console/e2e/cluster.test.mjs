// The node running each project, in headless Chromium against a one-server cluster on the
// shared Kafka (its control Kafka and the project's target) and MariaDB: a project set up
// over the API runs; the project list and the detail page name its node, in English and in
// Chinese. Outside cluster mode the column is absent (console.test.mjs runs a lone server;
// the unit test src/api/cluster.test.ts checks that no owner is derived there).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiOf, createDataSources, launchBrowser, logIn, mariadb, screenshot, services, startServer, waitFor, scenario } from './harness.mjs';

const RUN = Math.random().toString(36).slice(2, 8);
const DB = `e2e_cluster_${RUN}`;
const NODE = `node-${RUN}`;
const NAME = `owned${RUN}`;

let env;
let server;
let browser;
let page;
let projectId;

const byTestId = (id) => page.getByTestId(id);
const step = scenario(it, () => page, 'cluster-');

const { apiOk } = apiOf(() => page, () => server);

/** The owner cell of the project's row in the list. */
const ownerCell = async () => {
  const header = await page.locator('.ant-table-thead th').allInnerTexts();
  const row = page.locator('tr', { hasText: NAME });
  return { header, cells: await row.locator('td').allInnerTexts() };
};

describe('the owner node in the console (cluster mode)', { timeout: 180_000 }, () => {
  before(async () => {
    env = services();
    await mariadb(env, `CREATE DATABASE ${DB}; CREATE TABLE ${DB}.a (id INT PRIMARY KEY); INSERT INTO ${DB}.a VALUES (1), (2);`);
    const cluster = `e2e-${RUN}`;
    server = await startServer({ args: ['--cluster', cluster, '--control-kafka', env.KAFKA_BOOTSTRAP, '--node-id', NODE, '--buckets', '2', '--session-timeout', '6'] });
    browser = await launchBrowser('en-US');
    page = browser.page;
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (env) await mariadb(env, `DROP DATABASE IF EXISTS ${DB}`).catch(() => undefined);
  });

  step('log in and start a project over the API', async () => {
    await logIn(page, server);
    const { source, kafka } = await createDataSources(apiOk, env, RUN);
    const project = await apiOk('POST', '/projects', {
      spec: { name: NAME, source_id: source.id, target_id: kafka.id, sync: { types: ['schema', 'full', 'incremental'] }, objects: [{ tables: [`${DB}.a`], topic: `cluster-${RUN}` }] },
    });
    projectId = project.id;
    const precheck = await apiOk('POST', `/projects/${projectId}/precheck`);
    assert.equal(precheck.passed, true, JSON.stringify(precheck.items.filter((i) => i.status === 'fail')));
    await apiOk('POST', `/projects/${projectId}/start`);
    await waitFor('the status topic to name the node', async () => {
      const view = await apiOk('GET', '/cluster');
      return view.projects.some((p) => p.id === projectId && p.owner === NODE);
    }, { timeoutMs: 60_000 });
  });

  step('in English: the list and the detail page name the node', async () => {
    await page.goto(`${server.url}/projects`);
    await waitFor('the owner column', async () => {
      const { header, cells } = await ownerCell();
      return header.includes('Runs on') && cells.includes(NODE);
    }, { timeoutMs: 20_000 });
    await page.goto(`${server.url}/projects/${projectId}`);
    await waitFor('the owner on the detail page', async () => (await byTestId('project-owner').innerText()) === NODE, { timeoutMs: 20_000 });
    // The project was created over the API without a format or partition rule: the page
    // names the defaults the run uses, not a dictionary key.
    const text = await page.locator('body').innerText();
    assert.doesNotMatch(text, /\b[a-z]+(\.[A-Za-z]+)*\.(null|undefined)\b/);
    assert.match(text, /Serialization format\s*[:：]?\s*Default\b/);
    await screenshot(page, 'cluster-owner-en');
  });

  step('in Chinese: the same', async () => {
    // The language choice the console keeps (src/i18n/index.ts).
    await page.evaluate(() => localStorage.setItem('obsync.language', 'zh-CN'));
    await page.goto(`${server.url}/projects`);
    await waitFor('the owner column in Chinese', async () => {
      const { header, cells } = await ownerCell();
      return header.includes('运行节点') && cells.includes(NODE);
    }, { timeoutMs: 20_000 });
    await screenshot(page, 'cluster-owner-zh');
  });
});
