// The dashboard: which version of each service is in each environment, as a
// table, and filtering it.
//
// The server gets three environments (written in the file most critical
// first, so the table's order is the server's, not the file's), two services,
// and deployments reported as another tool would: api@1.0.0 succeeded in dev
// and staging, web@2.0.0 running in dev; nothing in prod.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, LOOKS, screenshot, startBrowser } from '../support/browser.mjs';
import { startServer } from '../support/server.mjs';
import { ADMIN_PASSWORD, scrollsSideways, setPassword, signIn } from '../support/ui.mjs';

const CONFIG = `
[[environment]]
name = "prod"
tier = "production"

[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "staging"
tier = "staging"

[lifecycle.default]
phases = [["dev"], ["staging"], ["prod"]]

[[service]]
name = "api"

[[service]]
name = "web"
`;

/** Least critical tier first. */
const ENVIRONMENTS = ['dev', 'staging', 'prod'];
const SERVICES = ['api', 'web'];

/** What each cell holds: a version and its state, or nothing ("—"). */
const CELLS = {
  api: { dev: ['1.0.0', 'succeeded'], staging: ['1.0.0', 'succeeded'], prod: null },
  web: { dev: ['2.0.0', 'running'], staging: null, prod: null },
};

/** Promotes `release` to `environment` and reports the deployment's `status`. */
async function deploy(server, release, environment, status) {
  const deployment = await server.json(['promote', release, '--to', environment]);
  assert.equal(typeof deployment.id, 'number', JSON.stringify(deployment));
  const reported = await server.json(['deploy', 'report', String(deployment.id), '--status', status]);
  assert.equal(reported.status, status, JSON.stringify(reported));
}

/** The table's header texts: the columns' and the rows'. */
async function headers(page) {
  const text = (selector) =>
    page.locator(selector).evaluateAll((cells) => cells.map((cell) => cell.textContent.replace(/\s+/g, ' ').trim()));
  return { columns: await text('#matrix th[scope="col"]'), rows: await text('#matrix th[scope="row"]') };
}

/** The environments among the column headers (a corner header, such as "Service", aside). */
function environmentColumns(columns) {
  const named = columns.filter((column) => ENVIRONMENTS.some((name) => column === name || column.startsWith(`${name} `)));
  assert.ok(columns.length - named.length <= 1, `the column headers are the environments: ${JSON.stringify(columns)}`);
  return named.map((column) => column.split(' ')[0]);
}

/** The text of the cell of `service` in `environment`, which must be the only one. */
async function cellText(page, service, environment) {
  const cell = page.locator(`#matrix td[data-service="${service}"][data-environment="${environment}"]`);
  assert.equal(await cell.count(), 1, `one cell for ${service} in ${environment}`);
  return (await cell.textContent()).replace(/\s+/g, ' ').trim();
}

/** Sends the filter form as a person would: Enter in the service field. */
async function filterByService(page, text) {
  const field = page.locator('form#filters input[name="service"]');
  await field.fill(text);
  const loaded = page.waitForEvent('load');
  await field.press('Enter');
  await loaded;
}

describe('the dashboard', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    await server.apply(CONFIG);
    await server.ferryOk(['release', 'create', 'api', '--version', '1.0.0']);
    await server.ferryOk(['release', 'create', 'web', '--version', '2.0.0']);
    await deploy(server, 'api@1.0.0', 'dev', 'succeeded');
    await deploy(server, 'api@1.0.0', 'staging', 'succeeded');
    await deploy(server, 'web@2.0.0', 'dev', 'running');
    await setPassword(server, 'admin', ADMIN_PASSWORD);
    browser = await startBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A signed-in page on `path`. */
  async function dashboard(path = '/', look = {}) {
    const page = await browser.newPage({ ...look, baseURL: server.url });
    await signIn(page);
    if (path !== '/') await page.goto(path);
    await page.locator('#matrix').waitFor();
    return page;
  }

  test('shows every service in every environment, least critical first', async () => {
    const page = await dashboard();
    assert.equal((await page.locator('h1').first().textContent()).trim(), 'Dashboard');
    const caption = await page.locator('table#matrix > caption').textContent();
    assert.ok(caption.trim().length > 0, 'the table has a caption');

    const { columns, rows } = await headers(page);
    assert.deepEqual(environmentColumns(columns), ENVIRONMENTS);
    assert.deepEqual([...rows].sort(), SERVICES);

    assert.equal(await page.locator('#matrix td[data-service][data-environment]').count(), SERVICES.length * ENVIRONMENTS.length);
    for (const service of SERVICES) {
      for (const environment of ENVIRONMENTS) {
        const text = await cellText(page, service, environment);
        const expected = CELLS[service][environment];
        if (expected === null) {
          assert.equal(text, '—', `nothing in ${service}/${environment}`);
        } else {
          const [version, state] = expected;
          assert.match(text, new RegExp(`\\b${version.replaceAll('.', '\\.')}\\b`), `${service}/${environment} holds ${version}: "${text}"`);
          assert.match(text, new RegExp(`\\b${state}\\b`, 'i'), `${service}/${environment} says ${state}: "${text}"`);
        }
      }
    }
  });

  test('filters by part of a service name', async () => {
    const page = await dashboard();
    assert.equal(await page.locator('form#filters[method="get" i]').count(), 1, '<form id="filters" method="get">');
    await filterByService(page, 'pi');
    const url = new URL(page.url());
    assert.equal(url.pathname, '/');
    assert.equal(url.searchParams.get('service'), 'pi');
    assert.deepEqual((await headers(page)).rows, ['api']);
    assert.equal(await page.locator('#matrix td[data-service="web"]').count(), 0);
  });

  test('a filter in the address bar shows only the matching rows', async () => {
    const page = await dashboard('/?service=web');
    assert.deepEqual((await headers(page)).rows, ['web']);
    assert.match(await cellText(page, 'web', 'dev'), /2\.0\.0/);
  });

  test('offers every environment to filter by', async () => {
    const page = await dashboard();
    const select = page.locator('form#filters select[name="environment"]');
    assert.equal(await select.count(), 1, '<select name="environment"> in the filters');
    const options = await select.locator('option').evaluateAll((all) => all.map((option) => option.value || option.textContent.trim()));
    for (const environment of ENVIRONMENTS) {
      assert.ok(options.includes(environment), `an option for ${environment}: ${JSON.stringify(options)}`);
    }
  });

  for (const look of LOOKS) {
    test(`/ on a ${look.viewport} in ${look.colorScheme}: screenshot and accessibility`, async () => {
      const page = await dashboard('/', look);
      await screenshot(page, 'dashboard');
      await checkAccessibility(page);
      if (look.viewport === 'phone') {
        assert.equal(await scrollsSideways(page), false, 'the dashboard fits a phone\'s width (the table may scroll inside it)');
      }
    });
  }
});
