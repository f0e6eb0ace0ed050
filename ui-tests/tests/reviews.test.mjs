// Post-implementation reviews in the web UI: the list of reviews (open ones
// with their due dates, then completed ones), and a failed deployment's page
// with its review's draft and the form that completes it.
//
// The server gets dev; api@1.0.0 was reported failed there with the CLI as
// another tool would, so its deployment has an open review. Every page is
// photographed and checked with axe-core in every look; then the review is
// completed from the deployment's page.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, describeViolations, LOOKS, screenshot, startBrowser } from '../support/browser.mjs';
import { startServer } from '../support/server.mjs';
import { ADMIN_PASSWORD, scrollsSideways, setPassword, signIn } from '../support/ui.mjs';

const CONFIG = `
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"
`;

/** An element's text, its white space collapsed. */
async function text(locator) {
  return (await locator.textContent()).replace(/\s+/g, ' ').trim();
}

describe('post-implementation reviews', () => {
  let server;
  let browser;
  let failed;

  before(async () => {
    server = await startServer();
    await server.apply(CONFIG);
    await setPassword(server, 'admin', ADMIN_PASSWORD);
    await server.ferryOk(['release', 'create', 'api', '--version', '1.0.0']);
    const deployment = await server.json(['promote', 'api@1.0.0', '--to', 'dev']);
    await server.ferryOk(['deploy', 'report', String(deployment.id), '--status', 'failed']);
    failed = deployment.id;
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

  const pages = () => [
    { name: 'reviews', path: '/reviews', ready: 'table#open-reviews' },
    { name: 'deployment-review', path: `/deployments/${failed}`, ready: 'form#review-form' },
  ];

  for (const index of [0, 1]) {
    for (const look of LOOKS) {
      test(`page ${index + 1} of the reviews on a ${look.viewport} in ${look.colorScheme}: screenshot and accessibility`, async (t) => {
        const { name, path, ready } = pages()[index];
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

  test('the list links the open review to its deployment, whose page completes it', async () => {
    const page = await opened('/reviews');
    await page.getByRole('link', { name: 'Reviews' }).first().waitFor();
    const link = page.locator('table#open-reviews').getByRole('link', { name: String(failed) });
    await link.click();
    await page.waitForURL(`**/deployments/${failed}#review`);
    const review = page.getByRole('region', { name: 'Post-implementation review' });
    assert.match(await text(review.locator('p').first()), /^api@1\.0\.0 failed in dev/);
    await page.getByLabel(/^follow-up:/).check();
    await page.getByLabel(/^Notes/).fill('the report came from a broken pipeline');
    await page.getByLabel(/^Follow-up actions/).fill('fix the pipeline\nadd a smoke test');
    const posted = page.waitForResponse((response) => response.request().method() === 'POST');
    const loaded = page.waitForEvent('load');
    await page.getByRole('button', { name: 'Complete the review' }).click();
    assert.equal((await posted).status(), 303);
    await loaded;
    assert.equal(await text(page.getByRole('status').first()), 'Review completed.');
    assert.equal(await page.locator('form#review-form').count(), 0, 'a completed review has no form');
    const list = await opened('/reviews');
    assert.match(await text(list.locator('table#completed-reviews tbody tr').first()), /follow-up admin/);
    const shown = await server.json(['review', 'show', String(failed)]);
    assert.deepEqual(shown.completion.actions, ['fix the pipeline', 'add a smoke test']);
  });
});
