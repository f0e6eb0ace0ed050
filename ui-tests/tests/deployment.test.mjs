// A deployment's page, followed in the browser while agents deploy for
// real: the server runs with `--local-agent` (an agent per environment inside
// the server, executing the services' steps as local processes).
//
// Three services, all deployed by the local agent of dev: `counter` prints
// five numbered lines a second apart (its log is followed live, then by
// polling when the events cannot arrive), `sleeper` says it started and
// sleeps (it is cancelled from its page), and `api` echoes its version
// (1.0.0, then 1.1.0, which is rolled back from its page). The admin signs in
// with a password and uses the pages; the CLI promotes as the admin too.
// Each action is looked up in the audit trail afterwards, and the page is
// photographed and checked with axe-core in every look.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, describeViolations, LOOKS, screenshot, startBrowser } from '../support/browser.mjs';
import { startServer } from '../support/server.mjs';
import { ADMIN_PASSWORD, pathOf, scrollsSideways, setPassword, signIn } from '../support/ui.mjs';

/** How long a deployment may take to show what is awaited of it. */
const DEPLOY_TIMEOUT_MS = 30_000;

/** How long `sleeper`'s step sleeps: long enough to open its page and press Cancel. */
const SLEEP_SECONDS = 8;

const CONFIG = `
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "counter"
deploy.targets = { host = "local" }
deploy.steps = [{ name = "count", run = "for i in 1 2 3 4 5; do echo line $i; sleep 1; done", timeout = "30s" }]

[[service]]
name = "sleeper"
deploy.targets = { host = "local" }
deploy.steps = [{ name = "nap", run = "echo napping; sleep ${SLEEP_SECONDS}", timeout = "30s" }]

[[service]]
name = "api"
deploy.targets = { host = "local" }
deploy.steps = [{ name = "install", run = "echo installing $FERRY_VERSION", timeout = "30s" }]
`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An element's text, its white space collapsed. */
async function text(locator) {
  return (await locator.textContent()).replace(/\s+/g, ' ').trim();
}

/** The lines of the page's log, as shown. */
async function logLines(page) {
  return page.locator('#log .line').allTextContents();
}

/** Waits until #status reads `state` (as the page shows it: "rolled back" for rolled_back). */
async function waitForStatus(page, state, timeout = DEPLOY_TIMEOUT_MS) {
  await page
    .waitForFunction((want) => document.getElementById('status')?.textContent.trim() === want, state, { timeout })
    .catch(async (error) => {
      const seen = await page.locator('#status').textContent().catch(() => '(no #status)');
      throw new Error(`#status never read "${state}" in ${timeout / 1000} s (it reads "${seen}"): ${error.message}`);
    });
}

/** Waits until the log holds a line that ends with `ending`. */
async function waitForLine(page, ending, timeout = DEPLOY_TIMEOUT_MS) {
  await page
    .waitForFunction(
      (want) => [...document.querySelectorAll('#log .line')].some((line) => line.textContent.endsWith(want)),
      ending,
      { timeout },
    )
    .catch(async (error) => {
      const lines = await logLines(page).catch(() => []);
      throw new Error(`no line ending with "${ending}" in #log in ${timeout / 1000} s; it holds ${JSON.stringify(lines)}: ${error.message}`);
    });
}

/** The numbers of the `[local count] line N` lines, in the log's order. */
function countedLines(lines) {
  return lines
    .map((line) => /^\[local count\] line (\d+)$/.exec(line))
    .filter(Boolean)
    .map((match) => Number(match[1]));
}

/** Counts the page's top-level navigations (loads and reloads) from now on. */
function countNavigations(page) {
  const seen = { count: 0 };
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) seen.count += 1;
  });
  return seen;
}

/**
 * Clicks `button` (a submit button of a form posting under /deployments/) and
 * waits for the POST's answer and the next document; answers the POST's
 * response (the redirect, when it is one).
 */
async function press(page, button) {
  const posted = page.waitForResponse(
    (response) => response.request().method() === 'POST' && new URL(response.url()).pathname.startsWith('/deployments/'),
  );
  const loaded = page.waitForEvent('load');
  await button.click();
  const response = await posted;
  await loaded;
  return response;
}

describe('a deployment page, deployed by the server\'s own agent', () => {
  let server;
  let browser;
  /** What the stories did, for the audit trail's test. */
  const done = {};

  before(async () => {
    server = await startServer(undefined, { args: ['--local-agent'] });
    await server.apply(CONFIG);
    await server.ferryOk(['release', 'create', 'counter', '--version', '1.0.0']);
    await server.ferryOk(['release', 'create', 'counter', '--version', '1.0.1']);
    await server.ferryOk(['release', 'create', 'counter', '--version', '1.0.2']);
    await server.ferryOk(['release', 'create', 'sleeper', '--version', '1.0.0']);
    await server.ferryOk(['release', 'create', 'api', '--version', '1.0.0']);
    await server.ferryOk(['release', 'create', 'api', '--version', '1.1.0']);
    await setPassword(server, 'admin', ADMIN_PASSWORD);
    // The agent of an environment applied after the start comes within a few
    // seconds: wait for it, so that a promotion starts at once.
    const deadline = Date.now() + DEPLOY_TIMEOUT_MS;
    for (;;) {
      const agents = (await server.json(['agent', 'list', '--env', 'dev'])).items;
      if (agents.some((agent) => agent.name === 'local')) break;
      assert.ok(Date.now() < deadline, `no local agent in dev after ${DEPLOY_TIMEOUT_MS / 1000} s: ${JSON.stringify(agents)}`);
      await sleep(200);
    }
    browser = await startBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A page signed in as the admin, on the dashboard. */
  async function signedIn(look = {}) {
    const page = await browser.newPage({ ...look, baseURL: server.url });
    await signIn(page);
    return page;
  }

  /** `ferry promote RELEASE --to dev`: the new deployment's id. */
  async function promote(release) {
    const deployment = await server.json(['promote', release, '--to', 'dev']);
    assert.equal(typeof deployment.id, 'number', JSON.stringify(deployment));
    return deployment.id;
  }

  /** `ferry promote RELEASE --to dev --wait`, which exits 0 once it succeeded: its id. */
  async function deployed(release) {
    await server.ferryOk(['promote', release, '--to', 'dev', '--wait']);
    const [service, version] = release.split('@');
    const [latest] = (await server.json(['deploy', 'list', '--service', service])).items;
    assert.equal(latest.version, version, JSON.stringify(latest));
    assert.equal(latest.status, 'succeeded', JSON.stringify(latest));
    return latest.id;
  }

  test('follows a running deployment\'s log live until it succeeds, without a reload', async (t) => {
    const page = await signedIn();
    const started = Date.now();
    const id = await promote('counter@1.0.0');
    done.promotion = id;

    const response = await page.goto(`/deployments/${id}`);
    assert.equal(response.status(), 200);
    const html = await response.text();
    const navigations = countNavigations(page);
    assert.equal(await text(page.locator('h1')), `Deployment ${id}: counter@1.0.0 to dev`);
    assert.match(html, /<pre id="log"[^>]*data-live="true"/, 'the page was made while the deployment ran');
    assert.doesNotMatch(html, /line 5/, 'the page was made before the last line was printed');

    const status = page.locator('span#status.state[role="status"]');
    assert.equal(await status.count(), 1, '<span id="status" class="state" role="status">');
    assert.match(await text(status), /^(queued|waiting|running)$/);
    await page.waitForFunction(() => document.getElementById('log-state').textContent === 'Following the log live.');

    await waitForLine(page, 'line 5');
    await waitForStatus(page, 'succeeded');
    const lines = await logLines(page);
    assert.deepEqual(countedLines(lines), [1, 2, 3, 4, 5], `each line once, in order: ${JSON.stringify(lines)}`);
    assert.equal(new Set(lines).size, lines.length, `no line twice: ${JSON.stringify(lines)}`);
    assert.equal(await status.getAttribute('class'), 'state state-succeeded');
    assert.equal(await text(page.locator('#log-state')), 'The deployment has ended (succeeded).');
    assert.equal(navigations.count, 0, 'the page was never reloaded');
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0, 'no Cancel once it ended, live');
    assert.equal(await page.getByRole('button', { name: 'Roll back counter in dev' }).count(), 1, 'Roll back appears, live');

    // Reloaded, the page says the same from the server, and the step's exit
    // code and time are in the targets table.
    await page.reload();
    assert.equal(await text(page.locator('#status')), 'succeeded');
    assert.equal(await page.locator('#log').getAttribute('data-live'), '');
    assert.deepEqual(countedLines(await logLines(page)), [1, 2, 3, 4, 5]);
    const row = page.locator('table.targets tbody tr');
    assert.equal(await row.count(), 1, 'one target: the local agent');
    assert.equal(await text(row.locator('th')), 'local');
    assert.match(await text(row.locator('.step')), /^count: exit 0, \d+\.\d s$/);
    const seconds = Number(/, (\d+\.\d) s$/.exec(await text(row.locator('.step')))[1]);
    assert.ok(seconds >= 4 && seconds < 30, `the step took about five seconds: ${seconds} s`);
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0, 'no Cancel once it ended');
    assert.equal(await page.getByRole('button', { name: 'Roll back counter in dev' }).count(), 1);
    t.diagnostic(`followed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test('a page whose stream a proxy refuses follows the log by polling', async () => {
    const page = await signedIn();
    const refused = [];
    await page.route('**/log/stream**', (route) => {
      refused.push(route.request().url());
      return route.fulfill({ status: 502, contentType: 'text/plain', body: 'Bad Gateway' });
    });
    const polled = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (/^\/deployments\/\d+\/log$/.test(url.pathname)) polled.push(url.pathname + url.search);
    });
    const id = await promote('counter@1.0.1');
    await page.goto(`/deployments/${id}`);
    const navigations = countNavigations(page);
    assert.equal(await page.locator('#log').getAttribute('data-live'), 'true');

    await waitForLine(page, 'line 5');
    await waitForStatus(page, 'succeeded');
    assert.ok(refused.length >= 1, 'the page asked for the stream');
    assert.ok(polled.length >= 2, `then asked for the lines: ${JSON.stringify(polled)}`);
    assert.ok(polled.every((asked) => asked.startsWith(`/deployments/${id}/log?after=`)), JSON.stringify(polled));
    const lines = await logLines(page);
    assert.deepEqual(countedLines(lines), [1, 2, 3, 4, 5], `each line once, in order: ${JSON.stringify(lines)}`);
    assert.equal(new Set(lines).size, lines.length, `no line twice: ${JSON.stringify(lines)}`);
    assert.equal(await text(page.locator('#log-state')), 'The deployment has ended (succeeded).');
    assert.equal(navigations.count, 0, 'the page was never reloaded');
  });

  test('a page whose stream cannot be reached at all follows the log by polling', async (t) => {
    // The script asks for the lines once the stream failed twice in a row
    // (EventSource tries it again every few seconds on its own), or after
    // 35 s without an event: the page's clock is a fake one, moved on by
    // the test, so that either happens at once.
    const page = await signedIn();
    await page.clock.install();
    await page.route('**/log/stream**', (route) => route.abort('connectionrefused'));
    const id = await promote('counter@1.0.2');
    const failed = page.waitForEvent('requestfailed', (request) => new URL(request.url()).pathname === `/deployments/${id}/log/stream`);
    await page.goto(`/deployments/${id}`);
    const navigations = countNavigations(page);
    assert.equal(await page.locator('#log').getAttribute('data-live'), 'true');
    await failed;
    await sleep(1_000);
    t.diagnostic(
      `before the 35 s of silence: ${(await logLines(page)).length} line(s) shown, ` +
        `#log-state "${await text(page.locator('#log-state'))}"`,
    );

    await page.clock.fastForward(35_000);
    const deadline = Date.now() + DEPLOY_TIMEOUT_MS;
    while ((await text(page.locator('#status'))) !== 'succeeded') {
      assert.ok(Date.now() < deadline, `#status never read "succeeded": ${JSON.stringify(await logLines(page))}`);
      assert.match(await text(page.locator('#log-state')), /^Following the log by asking every two seconds\.$|^The deployment has ended/);
      await sleep(300);
      await page.clock.fastForward(2_000);
    }
    const lines = await logLines(page);
    assert.deepEqual(countedLines(lines), [1, 2, 3, 4, 5], `each line once, in order: ${JSON.stringify(lines)}`);
    assert.equal(new Set(lines).size, lines.length, `no line twice: ${JSON.stringify(lines)}`);
    assert.equal(await text(page.locator('#log-state')), 'The deployment has ended (succeeded).');
    assert.equal(navigations.count, 0, 'the page was never reloaded');
  });

  test('cancelling a running deployment from its page', async (t) => {
    const page = await signedIn();
    const started = Date.now();
    const id = await promote('sleeper@1.0.0');
    done.cancellation = id;
    await page.goto(`/deployments/${id}`);
    // Cancelled once its step runs (a queued deployment would be cancelled
    // at once, which is not this story).
    await waitForLine(page, 'napping');
    assert.equal(await text(page.locator('#status')), 'running');

    const cancel = page.getByRole('button', { name: 'Cancel' });
    assert.equal(await cancel.count(), 1, 'the admin has a Cancel button');
    assert.equal(
      await cancel.locator('xpath=ancestor::form[1]').locator('input[type="hidden"][name="csrf"]').count(),
      1,
      'its form holds the session\'s CSRF token',
    );
    const response = await press(page, cancel);
    assert.equal(response.status(), 303);
    // A running batch is never cut short: it stops once the step is done.
    assert.equal(pathOf(page), `/deployments/${id}?done=cancelling`);
    assert.equal(
      await text(page.locator('p.notice[role="status"]')),
      'admin asked to cancel it: it stops after its current batch.',
    );
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0, 'no second Cancel while it stops');
    assert.equal(await text(page.locator('#status')), 'running');
    await checkAccessibility(page);
    await screenshot(page, 'deployment-cancelling');

    // The page follows it to its end.
    await waitForStatus(page, 'cancelled', (SLEEP_SECONDS + 15) * 1000);
    assert.equal(await text(page.locator('#log-state')), 'The deployment has ended (cancelled).');
    await page.goto(`/deployments/${id}`);
    assert.equal(await text(page.locator('#status')), 'cancelled');
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0, 'no Cancel once it ended');
    const shown = await server.json(['deploy', 'show', String(id)]);
    assert.equal(shown.status, 'cancelled', JSON.stringify(shown));
    assert.match(shown.reason ?? '', /cancelled by admin/, JSON.stringify(shown));
    const seconds = (Date.now() - started) / 1000;
    t.diagnostic(`cancelled in ${seconds.toFixed(1)} s`);
    assert.ok(seconds < 25, `the cancellation story took ${seconds.toFixed(1)} s`);
  });

  test('rolling back from the page of the deployment the dashboard links to', async () => {
    await deployed('api@1.0.0');
    const second = await deployed('api@1.1.0');

    const page = await signedIn();
    const cell = page.locator('#matrix td[data-service="api"][data-environment="dev"]');
    assert.match(await text(cell), /1\.1\.0/);
    const badge = cell.locator(`a.state[href="/deployments/${second}"]`);
    assert.equal(await badge.count(), 1, `the state in the api/dev cell links to deployment ${second}: ${await cell.innerHTML()}`);
    const loaded = page.waitForEvent('load');
    await badge.click();
    await loaded;
    assert.equal(pathOf(page), `/deployments/${second}`);
    assert.equal(await text(page.locator('h1')), `Deployment ${second}: api@1.1.0 to dev`);
    assert.equal(await text(page.locator('#status')), 'succeeded');
    assert.ok((await logLines(page)).includes('[local install] installing 1.1.0'), JSON.stringify(await logLines(page)));

    const response = await press(page, page.getByRole('button', { name: 'Roll back api in dev' }));
    assert.equal(response.status(), 303);
    const rollback = Number(/^\/deployments\/(\d+)$/.exec(pathOf(page))?.[1]);
    assert.ok(rollback > second, `the browser lands on the rollback's page: ${pathOf(page)}`);
    done.rollback = { id: rollback, of: second };
    assert.equal(await text(page.locator('h1')), `Deployment ${rollback}: api@1.0.0 to dev`);
    const link = page.locator(`main a[href="/deployments/${second}"]`);
    assert.equal(await link.count(), 1, 'it links to the deployment it rolls back');
    assert.equal(await text(link), `deployment ${second}`);
    assert.equal(await text(link.locator('xpath=..')), `Rolls back deployment ${second}.`);
    assert.equal(await page.getByRole('button', { name: /^Roll back/ }).count(), 0, 'a rollback is not offered for rolling back');

    await waitForStatus(page, 'succeeded');
    await waitForLine(page, 'installing 1.0.0');

    // The dashboard has 1.0.0 in dev again.
    await page.goto('/');
    const now = await text(page.locator('#matrix td[data-service="api"][data-environment="dev"]'));
    assert.match(now, /^1\.0\.0 succeeded\b/, `the api/dev cell holds 1.0.0: "${now}"`);
    assert.equal(
      await page.locator(`#matrix td[data-service="api"][data-environment="dev"] a.state[href="/deployments/${rollback}"]`).count(),
      1,
      'its state links to the rollback',
    );
  });

  test('each action is in the audit trail', async () => {
    assert.ok(done.promotion && done.cancellation && done.rollback, `the stories ran: ${JSON.stringify(done)}`);
    const events = (await server.json(['audit', 'list'])).items;
    const about = (id) => events.filter((event) => event.object === `deployment:${id}`);

    const promoted = about(done.promotion).filter((event) => event.action === 'deployment.create');
    assert.equal(promoted.length, 1, JSON.stringify(about(done.promotion)));
    assert.equal(promoted[0].actor, 'admin');
    assert.equal(promoted[0].details.after.release, 'counter@1.0.0', JSON.stringify(promoted[0]));

    const cancelled = about(done.cancellation);
    const asked = cancelled.filter((event) => event.action === 'deployment.cancel');
    assert.equal(asked.length, 1, `the admin's cancellation: ${JSON.stringify(cancelled)}`);
    assert.equal(asked[0].actor, 'admin');
    assert.equal(asked[0].details.after.cancel_requested_by, 'admin');
    const ended = cancelled.filter((event) => event.action === 'deployment.status' && event.details.after?.status === 'cancelled');
    assert.equal(ended.length, 1, `then its end: ${JSON.stringify(cancelled)}`);

    const rolledBack = about(done.rollback.id).filter((event) => event.action === 'deployment.create');
    assert.equal(rolledBack.length, 1, JSON.stringify(about(done.rollback.id)));
    assert.equal(rolledBack[0].actor, 'admin');
    assert.equal(rolledBack[0].details.after.rollback_of, done.rollback.of, JSON.stringify(rolledBack[0]));
    assert.equal(rolledBack[0].details.after.release, 'api@1.0.0');
  });

  for (const look of LOOKS) {
    test(`a rollback's page on a ${look.viewport} in ${look.colorScheme}: screenshot and accessibility`, async (t) => {
      assert.ok(done.rollback, 'the rollback story ran');
      const page = await signedIn(look);
      await page.goto(`/deployments/${done.rollback.id}`);
      assert.equal(await text(page.locator('#status')), 'succeeded');
      await screenshot(page, 'deployment');
      const { violations } = await checkAccessibility(page);
      if (violations.length > 0) t.diagnostic(`minor or moderate: ${describeViolations(violations)}`);
      if (look.viewport === 'phone') {
        assert.equal(await scrollsSideways(page), false, 'the deployment page fits a phone\'s width');
      }
    });
  }
});
