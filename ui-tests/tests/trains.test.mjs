// Release trains in the browser while agents deploy for real: the server
// runs with `--local-agent` (an agent per environment inside the server).
//
// staging, then prod; three services whose step says what it installs, and
// whose health check fails for worker 2.x in prod. 1.0.0 of each runs in
// both environments; the train spring holds 2.0.0 of each, in the order
// api, worker, web. The admin uses the pages: the list, the train's page
// with each member's gate check for the environment chosen, a promotion
// into prod refused while no member has been in staging (every blocker
// named with its member), a promotion into staging that succeeds member by
// member, and one into prod where worker fails and api is rolled back. The
// train autumn has a plan of its own, shown on its plan page. Every page is
// photographed and checked with axe-core in every look.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, describeViolations, LOOKS, screenshot, startBrowser } from '../support/browser.mjs';
import { startServer } from '../support/server.mjs';
import { ADMIN_PASSWORD, pathOf, scrollsSideways, setPassword, signIn } from '../support/ui.mjs';

/** How long a run or a deployment may take to end. */
const RUN_TIMEOUT_MS = 90_000;

const STEP = `[{ name = "install", run = 'echo "installing $FERRY_SERVICE $FERRY_VERSION"', timeout = "30s" }]`;

const CONFIG = `
[[environment]]
name = "staging"
tier = "staging"

[[environment]]
name = "prod"
tier = "production"

[lifecycle.default]
phases = [["staging"], ["prod"]]

[[plan_template]]
name = "train"
milestones = [
  { name = "code freeze", at = "-7d" },
  { name = "go-live", at = "0d" },
]
tasks = [
  { title = "Write the announcement", assignee = "admin", due = "-2d" },
]

[[service]]
name = "api"
deploy.targets = { host = "local" }
deploy.steps = ${STEP}

[[service]]
name = "worker"
deploy.targets = { host = "local" }
deploy.steps = ${STEP}
deploy.health = { command = '''case "$FERRY_ENVIRONMENT $FERRY_VERSION" in "prod 2."*) echo "queue unreachable"; exit 1;; esac''', retries = 0 }

[[service]]
name = "web"
deploy.targets = { host = "local" }
deploy.steps = ${STEP}
`;

const SERVICES = ['api', 'worker', 'web'];
const MEMBERS = SERVICES.map((service) => `${service}@2.0.0`);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The day `offset` days from today (UTC): 2027-03-10. */
function day(offset) {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + offset * 86_400_000)
    .toISOString()
    .slice(0, 10);
}

/** An element's text, its white space collapsed. */
async function text(locator) {
  return (await locator.textContent()).replace(/\s+/g, ' ').trim();
}

/** The texts of the elements `locator` finds, each collapsed. */
async function texts(locator) {
  return locator.evaluateAll((all) => all.map((element) => element.textContent.replace(/\s+/g, ' ').trim()));
}

/** Each row of the table `locator`'s body as its cells' texts, the row header first. */
async function rows(locator) {
  return locator
    .locator(':scope > tbody > tr')
    .evaluateAll((all) => all.map((tr) => [...tr.cells].map((cell) => cell.textContent.replace(/\s+/g, ' ').trim())));
}

/** Follows a link (or sends a GET form) as a person would, waiting for the next document. */
async function follow(page, link) {
  const loaded = page.waitForEvent('load');
  await link.click();
  await loaded;
}

/**
 * Clicks `button` (a submit button of a form that posts) and waits for the
 * POST's answer and the next document; answers the POST's response.
 */
async function press(page, button) {
  const posted = page.waitForResponse((response) => response.request().method() === 'POST');
  const loaded = page.waitForEvent('load');
  await button.click();
  const response = await posted;
  await loaded;
  return response;
}

describe('release trains, deployed by the server\'s own agents', () => {
  let server;
  let browser;
  /** What the stories did, for the later ones. */
  const done = {};

  before(async () => {
    server = await startServer(undefined, { args: ['--local-agent'] });
    await server.apply(CONFIG);
    await setPassword(server, 'admin', ADMIN_PASSWORD);
    // The agents of environments applied after the start come within a few
    // seconds: wait for them, so that promotions start at once.
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    for (;;) {
      const agents = (await server.json(['agent', 'list'])).items;
      const environments = agents.filter((agent) => agent.name === 'local').map((agent) => agent.environment);
      if (environments.includes('staging') && environments.includes('prod')) break;
      assert.ok(Date.now() < deadline, `no local agents in staging and prod: ${JSON.stringify(agents)}`);
      await sleep(200);
    }
    for (const service of SERVICES) {
      for (const version of ['1.0.0', '2.0.0']) {
        await server.ferryOk(['release', 'create', service, '--version', version]);
      }
      for (const environment of ['staging', 'prod']) {
        await server.ferryOk(['promote', `${service}@1.0.0`, '--to', environment, '--wait']);
      }
    }
    await server.ferryOk([
      'train', 'create', 'spring',
      '--release', 'web@2.0.0', '--release', 'api@2.0.0', '--release', 'worker@2.0.0',
      '--order', 'api,worker,web',
    ]);
    await server.ferryOk([
      'train', 'create', 'autumn',
      '--release', 'api@2.0.0', '--release', 'web@2.0.0',
      '--template', 'train', '--go-live', day(14),
    ]);
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

  /** A page signed in as the admin on `path`, which answers 200. */
  async function opened(path, look = {}) {
    const page = await signedIn(look);
    const response = await page.goto(path);
    assert.equal(response.status(), 200, `GET ${path}`);
    return page;
  }

  /** The `<article>` of the member check of `release`. */
  function memberCheck(page, release) {
    return page.locator('#checks > article.member-check').filter({ has: page.getByRole('heading', { name: release, exact: true }) });
  }

  /** Reloads `path` until its newest run's status is `status`; answers that run's `<li>`. */
  async function waitForRun(page, path, status) {
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    for (;;) {
      await page.goto(path);
      const run = page.locator('#runs > li.run').first();
      const seen = await run.getAttribute('data-status');
      if (seen === status) return run;
      if (Date.now() > deadline) {
        const shown = await server.json(['train', 'show', 'spring']);
        throw new Error(`the newest run is ${seen}, not ${status}, after ${RUN_TIMEOUT_MS / 1000} s: ${JSON.stringify(shown.runs[0])}`);
      }
      await sleep(500);
    }
  }

  /** The deployments, newest first. */
  async function deployments() {
    return (await server.json(['deploy', 'list'])).items;
  }

  test('Trains, from the navigation: each train\'s members in order and its latest run', async () => {
    const page = await signedIn();
    await follow(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Trains' }));
    assert.equal(pathOf(page), '/trains');
    assert.equal(await text(page.locator('h1')), 'Trains');
    assert.deepEqual(await rows(page.locator('table#trains')), [
      ['autumn', 'api@2.0.0web@2.0.0', 'never promoted'],
      ['spring', 'api@2.0.0worker@2.0.0web@2.0.0', 'never promoted'],
    ]);
    assert.deepEqual(
      await texts(page.locator('table#trains > tbody > tr').nth(1).locator('ol.members > li')),
      MEMBERS,
      'in the order they deploy',
    );
    await follow(page, page.getByRole('link', { name: 'spring', exact: true }));
    assert.equal(pathOf(page), '/trains/spring');
    assert.equal(await text(page.locator('h1')), 'Train spring');
  });

  test('a train\'s page: members in order, and each member\'s gate check for the environment chosen', async () => {
    const page = await opened('/trains/spring');
    assert.deepEqual(await texts(page.locator('ol#members > li')), MEMBERS);
    assert.equal(await page.locator('ol#members > li a').first().getAttribute('href'), '/services/api/releases/2.0.0');
    assert.match(await text(page.locator('p.facts')), /it has no plan$/);

    // The lifecycle's first environment first: every member may go there.
    assert.equal(await page.locator('select#environment').inputValue(), 'staging');
    assert.equal(await text(page.locator('#check-heading')), 'Into staging');
    assert.equal(await text(page.locator('#verdict')), 'Every member may be promoted into staging.');
    assert.deepEqual(await texts(page.locator('#checks > article h3')), MEMBERS);
    for (const release of MEMBERS) {
      assert.equal(await text(memberCheck(page, release).locator('.verdict')), 'May be promoted.', release);
    }
    assert.equal(await page.getByRole('button', { name: 'Promote the train to staging' }).count(), 1);

    // prod, chosen with the select, is kept in the address.
    await page.locator('select#environment').selectOption('prod');
    await follow(page, page.getByRole('button', { name: 'Check' }));
    assert.equal(pathOf(page), '/trains/spring?environment=prod');
    assert.equal(await page.locator('select#environment').inputValue(), 'prod');
    assert.equal(await text(page.locator('#verdict')), 'Blocked: one blocked member holds the whole train.');
    for (const release of MEMBERS) {
      const check = memberCheck(page, release);
      assert.equal(await text(check.locator('.verdict')), 'Blocked:', release);
      assert.ok((await text(check.locator('ul.blockers'))).includes(`${release} has not yet succeeded in staging`), release);
    }
  });

  test('promoting into prod while the gates hold its members is refused: 409, every blocker named with its member', async () => {
    const page = await opened('/trains/spring?environment=prod');
    const before = await deployments();
    const response = await press(page, page.getByRole('button', { name: 'Promote the train to prod' }));
    assert.equal(response.status(), 409);
    const alert = page.locator('#refused[role="alert"]');
    assert.equal(await alert.count(), 1);
    assert.match(await text(alert.locator('p')), /^train spring may not enter prod: \d+ gate\(s\) block its members$/);
    const blockers = await texts(alert.locator('ul.blockers > li'));
    for (const release of MEMBERS) {
      assert.ok(
        blockers.some((blocker) => blocker.startsWith(`${release}: ${release} has not yet succeeded in staging`)),
        `${release}'s blocker, named with it: ${JSON.stringify(blockers)}`,
      );
    }
    assert.ok(blockers.every((blocker) => MEMBERS.some((release) => blocker.startsWith(`${release}: `))), 'every blocker names its member');
    assert.equal(await alert.locator('ul.blockers .clear').count(), blockers.length, 'each with how to clear it');
    await checkAccessibility(page);
    await screenshot(page, 'train-refused');
    assert.deepEqual(await deployments(), before, 'nothing was deployed');
  });

  test('promoted into staging from the page: the members deploy one after the other and the run succeeds', async () => {
    const page = await opened('/trains/spring?environment=staging');
    const response = await press(page, page.getByRole('button', { name: 'Promote the train to staging' }));
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), '/trains/spring?environment=staging&done=promoted');
    assert.equal(await text(page.getByRole('status')), 'Promoted: the train is on its way into staging, one member after the other.');
    assert.equal(await page.getByRole('button', { name: /^Promote the train/ }).count(), 0, 'one run at a time');

    const run = await waitForRun(page, '/trains/spring?environment=staging', 'succeeded');
    const shown = (await server.json(['train', 'show', 'spring'])).runs[0];
    assert.equal(shown.status, 'succeeded');
    assert.equal(await text(run.locator('h3')), `Run ${shown.id} into staging: succeeded`);
    const table = run.locator('table.run-members');
    assert.deepEqual(
      await rows(table),
      shown.members.map((member) => [member.release, `${member.deployment} succeeded`, 'none']),
    );
    assert.deepEqual(shown.members.map((member) => member.release), MEMBERS);
    const ids = shown.members.map((member) => member.deployment);
    assert.ok(ids[0] < ids[1] && ids[1] < ids[2], `in order: ${ids}`);
    assert.deepEqual(
      await table.locator('td.deployment a').evaluateAll((all) => all.map((a) => a.getAttribute('href'))),
      ids.map((id) => `/deployments/${id}`),
    );
    assert.equal(await page.getByRole('button', { name: 'Promote the train to staging' }).count(), 1, 'it may go again');
    done.staging = shown.id;
  });

  test('promoted into prod, worker fails its health check: the run fails and api is put back', async () => {
    const page = await opened('/trains/spring?environment=prod');
    assert.equal(await text(page.locator('#verdict')), 'Every member may be promoted into prod.');
    const response = await press(page, page.getByRole('button', { name: 'Promote the train to prod' }));
    assert.equal(response.status(), 303);

    const run = await waitForRun(page, '/trains/spring?environment=prod', 'failed');
    const shown = (await server.json(['train', 'show', 'spring'])).runs[0];
    assert.equal(await text(run.locator('h3')), `Run ${shown.id} into prod: failed`);
    const worker = shown.members.find((member) => member.release === 'worker@2.0.0');
    assert.match(
      await text(run.locator('p.reason')),
      new RegExp(`^worker@2\\.0\\.0 failed \\(deployment ${worker.deployment}\\); rolled back .*api@2\\.0\\.0`),
    );
    const [api, , web] = shown.members;
    assert.deepEqual(await rows(run.locator('table.run-members')), [
      ['api@2.0.0', `${api.deployment} succeeded`, `${api.rollback} ${api.rollback_status.replace('_', ' ')}`],
      ['worker@2.0.0', `${worker.deployment} ${worker.status.replace('_', ' ')}`, `${worker.rollback} ${worker.rollback_status.replace('_', ' ')}`],
      ['web@2.0.0', 'not started', 'none'],
    ]);
    assert.equal(web.deployment, null, 'web never went');
    assert.ok(api.rollback, `api was rolled back: ${JSON.stringify(api)}`);
    assert.equal(
      await run.locator('td.rollback a').first().getAttribute('href'),
      `/deployments/${api.rollback}`,
      'the rollback is linked',
    );

    // Newest first: the failed run above the one into staging.
    assert.deepEqual(
      await page.locator('#runs > li.run').evaluateAll((all) => all.map((li) => li.id)),
      [`run-${shown.id}`, `run-${done.staging}`],
    );
    const list = await opened('/trains');
    assert.equal((await rows(list.locator('table#trains')))[1][2].replace(/ \d{4}-.*$/, ''), `run ${shown.id} into prod: failed`);
  });

  test('a train with a plan of its own links to it: milestones and tasks', async () => {
    const page = await opened('/trains/autumn');
    const link = page.getByRole('link', { name: 'Its plan' });
    assert.equal(await link.getAttribute('href'), '/trains/autumn/plan');
    await follow(page, link);
    assert.equal(await text(page.locator('h1')), 'Plan of train autumn');
    assert.deepEqual(await texts(page.locator('p.crumbs a')), ['Trains', 'autumn']);
    assert.deepEqual(await texts(page.locator('#timeline > li .name')), ['Today', 'code freeze', 'go-live']);
    assert.equal(await text(page.locator('#go-live')), day(14));
    assert.deepEqual(await texts(page.locator('#tasks > li.task h3')), ['Write the announcement']);
    assert.equal(await text(page.locator('#tasks .due')), day(12));

    const missing = await page.goto('/trains/spring/plan');
    assert.equal(missing.status(), 404);
    assert.match(await text(page.getByRole('alert')), /^train spring has no plan/);
  });

  const PAGES = [
    { name: 'trains', path: '/trains', ready: 'table#trains' },
    { name: 'train', path: '/trains/spring?environment=prod', ready: '#runs' },
    { name: 'train-plan', path: '/trains/autumn/plan', ready: '#timeline' },
  ];
  for (const { name, path, ready } of PAGES) {
    for (const look of LOOKS) {
      test(`${path} on a ${look.viewport} in ${look.colorScheme}: screenshot and accessibility`, async (t) => {
        const page = await opened(path, look);
        await page.locator(ready).waitFor();
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
