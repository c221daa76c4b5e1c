// Users and roles in headless Chromium against a real obsync server: an admin manages users
// in English and in Chinese, a viewer sees no action buttons, and a user changes the own
// password in both languages. Needs no database or Kafka: the project a viewer looks at is
// created over the API and never started.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiOf, launchBrowser, logIn, screenshot, startServer, scenario } from './harness.mjs';

const RUN = Math.random().toString(36).slice(2, 8);
const VIEWER = `view-${RUN}`;
const PASSWORDS = ['viewer-pass-one1', '查看者的新密码-two2', 'viewer-pass-three3'];

let server;
let browser;
let page;
let projectId;

const byTestId = (id) => page.getByTestId(id);
const field = (id) => page.locator(`input[data-testid="${id}"], [data-testid="${id}"] input`).first();

const step = scenario(it, () => page, 'users-');

const { api } = apiOf(() => page, () => server);

/** Picks an option of an antd Select; the newest dropdown is the last one (closed ones linger while they fade). */
async function choose(locator, optionText) {
  await locator.click();
  await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)').last().locator('.ant-select-item-option', { hasText: optionText }).first().click();
}

const login = (username, password) => logIn(page, server, username, password);

async function logout() {
  await byTestId('logout').click();
  await page.waitForURL('**/login');
}

/** Creates a user in the Users page with the role's label as the dialog shows it. */
async function createUser(name, password, roleLabel) {
  await byTestId('user-create').click();
  await field('user-name').fill(name);
  await field('user-password').fill(password);
  await choose(byTestId('user-role'), roleLabel);
  await byTestId('user-save').click();
  await page.getByRole('cell', { name, exact: true }).waitFor();
}

async function deleteUser(name, okLabel) {
  await byTestId(`user-delete-${name}`).click();
  await page.locator('.ant-popover:visible').getByRole('button', { name: okLabel }).click();
  await page.getByRole('cell', { name, exact: true }).waitFor({ state: 'detached' });
}

/** Changes the password in the dialog from the header. */
async function changePassword(current, next) {
  await byTestId('change-password').click();
  await field('password-current').fill(current);
  await field('password-new').fill(next);
  await field('password-confirm').fill(next);
  await byTestId('password-save').click();
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser('en-US');
  page = browser.page;
  page.setDefaultTimeout(20_000);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe('users and roles in Chromium against obsync server', () => {
  step('an admin adds a user, changes its role and deletes it, in English', async () => {
    await login('admin', server.password);
    await page.getByRole('menuitem', { name: 'Users' }).click();
    await page.waitForURL('**/users');
    // The form states the minimum length and refuses a shorter password before sending it.
    await byTestId('user-create').click();
    await field('user-name').fill(`short-${RUN}`);
    await field('user-password').fill('too-short');
    await byTestId('user-save').click();
    await page.locator('.ant-form-item-explain-error', { hasText: 'At least 12 characters' }).waitFor();
    await page.keyboard.press('Escape');
    await createUser(`op-${RUN}`, 'operator-pass-1', 'Operator');
    await choose(byTestId(`user-role-op-${RUN}`), 'Viewer');
    await page.getByText(`op-${RUN} is now Viewer`).waitFor();
    assert.equal((await api('GET', '/users')).body.items.find((u) => u.username === `op-${RUN}`).role, 'viewer');
    // The last admin stays admin: the server's refusal is shown.
    await choose(byTestId('user-role-admin'), 'Operator');
    await page.locator('.ant-modal-confirm-title', { hasText: 'The last admin must stay an admin' }).waitFor();
    await page.locator('.ant-modal-confirm').getByRole('button', { name: 'OK' }).click();
    await screenshot(page, 'en-users');
    await deleteUser(`op-${RUN}`, 'Delete');
  });

  step('an admin adds a viewer and deletes a user, in Chinese', async () => {
    await page.getByTestId('language-switch').getByText('中文').click();
    await page.getByRole('menuitem', { name: '用户管理' }).waitFor();
    await createUser(`ops-${RUN}`, 'operator-pass-2', '运维');
    await createUser(VIEWER, PASSWORDS[0], '只读');
    const row = page.getByRole('row', { name: new RegExp(VIEWER) });
    await row.getByText('只读').waitFor();
    await screenshot(page, 'zh-CN-users');
    await deleteUser(`ops-${RUN}`, /删\s*除/);
    // A project for the viewer to look at (created by the admin, never started).
    const ds = async (body) => (await api('POST', '/datasources', body)).body.id;
    const source = await ds({ name: `src-${RUN}`, kind: 'mariadb', source: { host: '127.0.0.1', port: 3306, user: 'u', password: 'p' } });
    const target = await ds({ name: `kafka-${RUN}`, kind: 'kafka', kafka: { bootstrap_servers: '127.0.0.1:9092', version: '3.x' } });
    const created = await api('POST', '/projects', {
      spec: { name: `roles${RUN}`, source_id: source, target_id: target, sync: { types: ['full'], format: 'Default', partition_rule: 'hash' }, objects: [{ tables: ['shop.orders'], topic: `roles-${RUN}` }] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    projectId = created.body.id;
    await logout();
  });

  step('a viewer sees no create, start, edit or delete button', async () => {
    await login(VIEWER, PASSWORDS[0]);
    assert.equal(await byTestId('me').getAttribute('data-role'), 'viewer');
    assert.equal(await page.getByRole('menuitem', { name: '用户管理' }).count(), 0);
    await page.goto(`${server.url}/projects`);
    await page.getByText(`roles${RUN}`).waitFor();
    assert.equal(await byTestId('project-create').count(), 0);
    assert.equal(await page.locator('[data-testid^=row-precheck-], [data-testid^=row-pause-], [data-testid^=row-resume-]').count(), 0, 'row actions shown to a viewer');
    assert.equal(await page.locator('[data-testid^=row-detail-]').count() > 0, true);
    await page.goto(`${server.url}/projects/${projectId}`);
    await byTestId('action-export').waitFor();
    for (const action of ['start', 'precheck', 'clone', 'delete', 'pause', 'resume', 'release']) {
      assert.equal(await byTestId(`action-${action}`).count(), 0, `action-${action} shown to a viewer`);
    }
    assert.equal(await byTestId('detail-recheck').count(), 0);
    await screenshot(page, 'zh-CN-viewer-project');
    await page.goto(`${server.url}/datasources`);
    await page.getByText(`src-${RUN}`).waitFor();
    assert.equal(await byTestId('ds-add').count(), 0);
    assert.equal(await page.getByRole('button', { name: '测试连接' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /编\s*辑/ }).count(), 0);
    await page.goto(`${server.url}/tags`);
    await page.getByRole('heading', { name: '标签' }).waitFor().catch(() => undefined);
    assert.equal(await byTestId('tag-create').count(), 0);
    // The server refuses what the buttons would do.
    assert.equal((await api('POST', `/projects/${projectId}/start`)).status, 403);
  });

  step('the viewer changes the own password in Chinese and in English', async () => {
    // Wrong current password, then one too short: both refused with the reason.
    await byTestId('change-password').click();
    await field('password-current').fill('not-the-password');
    await field('password-new').fill(PASSWORDS[1]);
    await field('password-confirm').fill(PASSWORDS[1]);
    await byTestId('password-save').click();
    await page.locator('.ant-modal:visible').getByText('当前密码错误').waitFor();
    await field('password-new').fill('短密码');
    await page.locator('.ant-form-item-explain-error', { hasText: '至少 12 个字符' }).first().waitFor();
    await page.keyboard.press('Escape');
    await changePassword(PASSWORDS[0], PASSWORDS[1]);
    await page.getByText('密码已修改').waitFor();
    await logout();
    await field('login-username').fill(VIEWER);
    await field('login-password').fill(PASSWORDS[0]);
    await byTestId('login-submit').click();
    await page.getByText('用户名或密码错误').waitFor();
    await login(VIEWER, PASSWORDS[1]);

    await page.getByTestId('language-switch').getByText('English').click();
    await byTestId('change-password').waitFor();
    await changePassword(PASSWORDS[1], PASSWORDS[2]);
    await page.getByText('Password changed').waitFor();
    await screenshot(page, 'en-password-changed');
    await logout();
    await login(VIEWER, PASSWORDS[2]);
    assert.deepEqual(browser.problems, []);
  });
});
