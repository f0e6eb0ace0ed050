// The pages that tell how delivery goes and who is told: delivery metrics
// (the DORA figures of each service and environment, and a service's
// charts week by week), incidents (opened and resolved from the page) and
// calendar feeds (an address made for a calendar program, fetched as a
// program would, then revoked).
//
// The server gets dev and prod; api was deployed to dev three times with
// the CLI as another tool would report it: two successes and a failure, so
// its change failure rate there is one in three. Every page is photographed
// and checked with axe-core in every look.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, describeViolations, LOOKS, screenshot, startBrowser } from '../support/browser.mjs';
import { startServer } from '../support/server.mjs';
import { ADMIN_PASSWORD, pathOf, scrollsSideways, setPassword, signIn } from '../support/ui.mjs';

const CONFIG = `
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "prod"
tier = "production"

[lifecycle.default]
phases = [["dev"], ["prod"]]

[[service]]
name = "api"

[[service]]
name = "web"
`;

/** An element's text, its white space collapsed. */
async function text(locator) {
  return (await locator.textContent()).replace(/\s+/g, ' ').trim();
}

/** Clicks a form's submit button and waits for the POST's answer and the next document. */
async function press(page, button) {
  const posted = page.waitForResponse((response) => response.request().method() === 'POST');
  const loaded = page.waitForEvent('load');
  await button.click();
  const response = await posted;
  await loaded;
  return response;
}

describe('delivery metrics, incidents and calendar feeds', () => {
  let server;
  let browser;
  let failed;

  before(async () => {
    server = await startServer();
    await server.apply(CONFIG);
    await setPassword(server, 'admin', ADMIN_PASSWORD);
    for (const [version, status] of [['1.0.0', 'succeeded'], ['1.1.0', 'failed'], ['1.2.0', 'succeeded']]) {
      await server.ferryOk(['release', 'create', 'api', '--version', version]);
      const deployment = await server.json(['promote', `api@${version}`, '--to', 'dev']);
      await server.ferryOk(['deploy', 'report', String(deployment.id), '--status', status]);
      if (status === 'failed') failed = deployment.id;
    }
    browser = await startBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function opened(path, look = {}) {
    const page = await browser.newPage({ ...look, baseURL: server.url });
    await signIn(page, { username: 'admin', password: ADMIN_PASSWORD });
    const response = await page.goto(path);
    assert.equal(response.status(), 200, `GET ${path}`);
    return page;
  }

  test('the metrics page shows each service in each environment with its figures, bands and definitions', async () => {
    const page = await opened('/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Metrics' }).click();
    await page.waitForURL('**/dora');
    assert.equal(await text(page.locator('h1')), 'Delivery metrics');
    const row = page.locator('table#dora tbody tr').filter({ has: page.locator('th', { hasText: 'api' }) }).filter({ has: page.locator('td', { hasText: /^dev$/ }) });
    assert.equal(await row.count(), 1, 'api in dev has a row');
    const cells = await row.locator('td').allTextContents();
    assert.match(cells[1], /^2 \(0\.\d\d a day\)/, `two successes: ${cells[1]}`);
    assert.match(cells[3], /^33 % \(1 of 3\) medium|^33 % \(1 of 3\) low/, `one failure in three: ${cells[3]}`);
    assert.equal((await row.locator('td').nth(5).textContent()).trim(), '0', 'the failure was restored by the next success');
    // Every service in every environment of its lifecycle.
    assert.equal(await page.locator('table#dora tbody tr').count(), 4);
    // Each figure's definition is on the page.
    assert.deepEqual(
      await page.locator('dl.definitions dt').allTextContents(),
      ['deployment frequency', 'lead time for changes', 'change failure rate', 'time to restore'],
    );
  });

  test('a service\'s charts draw each week as a bar that names its figure', async () => {
    const page = await opened('/dora');
    await page.getByRole('link', { name: 'api', exact: true }).first().click();
    await page.waitForURL('**/dora?service=api*');
    const charts = page.locator('section.charts');
    assert.equal(await charts.count(), 2, 'one section for dev and one for prod');
    const dev = charts.filter({ has: page.getByRole('heading', { name: 'api in dev, week by week' }) });
    const frequency = dev.getByRole('img', { name: 'Successful deployments, week by week' });
    assert.equal(await frequency.count(), 1);
    const bars = frequency.locator('g.bar');
    assert.equal(await bars.count(), 12, 'twelve weeks');
    // This week's bar says two deployments, and is the tallest.
    const thisWeek = bars.last();
    assert.match(await thisWeek.locator('title').textContent(), /: 2$/);
    const height = Number(await thisWeek.locator('rect.fill').getAttribute('height'));
    assert.ok(height > 100, `the tallest bar fills the chart: ${height}`);
    const failures = dev.getByRole('img', { name: 'Change failure rate, week by week' });
    assert.match(await failures.locator('g.bar').last().locator('title').textContent(), /: 33%$/);
    assert.match(await failures.locator('desc').textContent(), /none finished/, 'weeks without deployments say so');
  });

  test('a bad filter is said on the page, not a server error', async () => {
    const page = await opened('/dora?weeks=400&service=api');
    assert.match(await text(page.getByRole('alert')), /"400" is not a number of weeks: expected 1 to 52/);
    assert.equal(await page.locator('section.charts').first().getByRole('img').count(), 4);
  });

  test('an incident opened from the page counts against its deployment, and is resolved from it', async () => {
    const page = await opened('/incidents');
    assert.equal(await text(page.locator('#open-incidents, p.empty').first()), 'No incident is open.');
    await page.getByLabel('Service').selectOption('api');
    await page.getByLabel('Environment').fill('dev');
    await page.getByLabel('Deployment (optional)').fill(String(failed));
    await page.getByLabel('What happened').fill('checkout errors after 1.1.0');
    const response = await press(page, page.getByRole('button', { name: 'Open the incident' }));
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), '/incidents?done=opened');
    assert.equal(await text(page.getByRole('status')), 'The incident is open.');
    const item = page.locator('#open-incidents > li');
    assert.equal(await item.count(), 1);
    assert.match(await text(item), /checkout errors after 1\.1\.0 — api in dev, against deployment \d+\. Opened by admin/);
    assert.equal(await item.getByRole('link').getAttribute('href'), `/deployments/${failed}`);
    // The CLI sees it.
    const listed = await server.json(['incident', 'list', '--open']);
    assert.equal(listed.items.length, 1);
    assert.equal(listed.items[0].deployment, failed);

    await item.getByLabel('How it was resolved').fill('reverted the config');
    await press(page, item.getByRole('button', { name: /Resolve incident/ }));
    assert.equal(await text(page.getByRole('status')), 'The incident is resolved.');
    assert.equal(await page.locator('#open-incidents > li').count(), 0);
    const resolved = page.locator('table#resolved-incidents tbody tr');
    assert.equal(await resolved.count(), 1);
    const cells = await resolved.locator('th, td').allTextContents();
    assert.equal(cells[0], '1: checkout errors after 1.1.0');
    assert.equal(cells[2], String(failed));
    assert.equal(cells.at(-1), 'reverted the config');
  });

  test('an incident in an environment there is not is refused with the reason, and nothing is opened', async () => {
    const page = await opened('/incidents');
    await page.getByLabel('Service').selectOption('web');
    await page.getByLabel('Environment').fill('nowhere');
    await page.getByLabel('What happened').fill('x');
    const response = await press(page, page.getByRole('button', { name: 'Open the incident' }));
    assert.equal(response.status(), 404);
    assert.match(await text(page.locator('main')), /nowhere/);
    const listed = await server.json(['incident', 'list', '--open']);
    assert.equal(listed.items.length, 0);
  });

  test('a calendar feed made on the page is an address a calendar program reads, until it is revoked', async () => {
    const page = await opened('/calendar');
    await page.getByRole('link', { name: 'Subscribe from a calendar program' }).click();
    await page.waitForURL('**/calendar/feeds');
    await page.getByLabel(/^Name/).fill('outlook');
    const response = await press(page, page.getByRole('button', { name: 'Make a feed' }));
    assert.equal(response.status(), 201);
    const address = await page.getByLabel('Address').inputValue();
    assert.match(address, new RegExp(`^${server.url}/calendar\\.ics\\?token=ferry_cal_`));
    // A calendar program sends no cookie and no token header.
    const fetched = await fetch(address);
    assert.equal(fetched.status, 200);
    assert.match(fetched.headers.get('content-type'), /^text\/calendar/);
    assert.match(await fetched.text(), /^BEGIN:VCALENDAR/);
    // Listed without its secret; revoked from the page.
    await page.goto('/calendar/feeds');
    const row = page.locator('table#feeds tbody tr').filter({ hasText: 'outlook' });
    assert.equal(await row.count(), 1);
    assert.equal((await text(row)).includes(address.split('token=')[1]), false, 'the secret is not listed');
    await press(page, row.getByRole('button', { name: /Revoke feed/ }));
    assert.match(await text(page.getByRole('status')), /revoked/);
    assert.equal((await fetch(address)).status, 401);
  });

  test('an administrator sees each webhook\'s deliveries, how they fared, and sends one again', async () => {
    // Nothing listens there: each attempt fails, and is tried again later.
    const created = await server.json(['webhook', 'create', '--url', 'http://127.0.0.1:9/hook', '--events', 'release.created']);
    const id = created.webhook.id;
    await server.ferryOk(['release', 'create', 'web', '--version', '9.0.0']);
    const page = await opened('/admin');
    await page.getByRole('link', { name: 'Webhooks and their deliveries' }).click();
    await page.waitForURL('**/admin/webhooks');
    const row = page.locator('table#webhooks tbody tr');
    assert.equal(await row.count(), 1);
    assert.deepEqual(
      (await row.locator('th, td').allTextContents()).slice(0, 4),
      [`${id}: http://127.0.0.1:9/hook`, 'cloudevents', 'release.created', 'everything'],
    );
    await row.getByRole('link').click();
    await page.waitForURL(`**/admin/webhooks/${id}`);
    // The worker tries within a second or so; the page shows the failure.
    let delivery;
    for (let tries = 0; tries < 50; tries += 1) {
      delivery = page.locator('table#deliveries tbody tr');
      if (await delivery.count() === 1 && /cannot connect/.test(await text(delivery))) break;
      await page.waitForTimeout(200);
      await page.reload();
    }
    const cells = await delivery.locator('th, td').allTextContents();
    assert.match(cells[1], /^dev\.ferry\.release\.created\.v1/);
    assert.equal(cells[2].trim(), 'pending');
    assert.equal(cells[3].trim(), '1');
    assert.match(cells[4], /cannot connect/);
    assert.match(cells[5], /^next attempt /);
    const response = await press(page, delivery.getByRole('button', { name: /Send now/ }));
    assert.equal(response.status(), 303);
    assert.match(await text(page.getByRole('status')), /^Delivery \d+ is sent again now\.$/);
    const trail = await server.json(['audit', 'list', '--action', 'webhook.redeliver']);
    assert.equal(trail.items.length, 1);
  });

  test('webhooks are for those who manage them', async () => {
    await server.ferryOk(['user', 'create', 'vic']);
    await server.ferryOk(['role', 'grant', 'viewer', '--user', 'vic']);
    await setPassword(server, 'vic', 'vic only looks around here 9');
    const page = await browser.newPage({ baseURL: server.url });
    await signIn(page, { username: 'vic', password: 'vic only looks around here 9' });
    const response = await page.goto('/admin/webhooks');
    assert.equal(response.status(), 403);
  });

  const PAGES = [
    { name: 'dora', path: '/dora?service=api', ready: 'svg.chart' },
    { name: 'incidents', path: '/incidents', ready: 'h1' },
    { name: 'calendar-feeds', path: '/calendar/feeds', ready: 'h1' },
    { name: 'webhooks', path: '/admin/webhooks', ready: 'table#webhooks' },
    { name: 'webhook', path: '/admin/webhooks/1', ready: 'table#deliveries' },
  ];

  for (const { name, path, ready } of PAGES) {
    for (const look of LOOKS) {
      test(`${path} on a ${look.viewport} in ${look.colorScheme}: screenshot and accessibility`, async (t) => {
        const page = await opened(path, look);
        await page.locator(ready).first().waitFor();
        await screenshot(page, name);
        const { violations } = await checkAccessibility(page);
        if (violations.length > 0) t.diagnostic(`minor or moderate: ${describeViolations(violations)}`);
        if (look.viewport === 'phone') {
          assert.equal(await scrollsSideways(page), false, `${path} fits a phone's width`);
        }
      });
    }
  }
});
