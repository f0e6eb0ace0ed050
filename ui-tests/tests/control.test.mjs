// Control in the web UI: locks on the dashboard, releases marked bad after
// a rollback, and deployments that wait for a person.
//
// Two servers. The first has dev and prod (dev → prod) and two services
// deployed by another tool (their deployments are reported with the CLI):
// rosa (release-manager) locks prod from the dashboard, a promotion is
// refused with the `locked` blocker, she unlocks it; api@1.1.0 is rolled
// back from dev with the CLI, its mark shows on its page and on the
// dashboard, and rosa unmarks it. vic (viewer) sees every lock and mark and
// no form, and a form forged in his browser is refused. The second server
// runs `--local-agent` (an agent per environment inside the server): web
// stops at a manual step of group ops, which olga (deployer, in ops)
// continues from the page while dave (deployer, not in ops) only looks; a
// failure of worker under `on_failure = "ask"` offers Retry, Skip and Roll
// back, and is rolled back from the page. Each new or changed page is
// photographed and checked with axe-core in every look.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, describeViolations, LOOKS, screenshot, startBrowser } from '../support/browser.mjs';
import { startServer } from '../support/server.mjs';
import { ADMIN_PASSWORD, pathOf, scrollsSideways, setPassword, signIn } from '../support/ui.mjs';

/** How long a deployment may take to show what is awaited of it. */
const DEPLOY_TIMEOUT_MS = 30_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An element's text, its white space collapsed. */
async function text(locator) {
  return (await locator.textContent()).replace(/\s+/g, ' ').trim();
}

/** The texts of the elements `locator` finds, each collapsed. */
async function texts(locator) {
  return locator.evaluateAll((all) => all.map((element) => element.textContent.replace(/\s+/g, ' ').trim()));
}

/**
 * Clicks `button` (a submit button of a form posting to `path`) and waits
 * for the POST's answer and the next document; answers the POST's response
 * (the redirect, when it is one).
 */
async function press(page, button, path) {
  const posted = page.waitForResponse(
    (response) => response.request().method() === 'POST' && new URL(response.url()).pathname === path,
  );
  const loaded = page.waitForEvent('load');
  await button.click();
  const response = await posted;
  await loaded;
  return response;
}

/** Posts a form built in the page, as a forged one would be; answers the POST's response. */
async function forge(page, action, fields) {
  const posted = page.waitForResponse(
    (response) => response.request().method() === 'POST' && new URL(response.url()).pathname === action,
  );
  const loaded = page.waitForEvent('load');
  await page.evaluate(({ action, fields }) => {
    const form = document.createElement('form');
    form.method = 'post';
    form.action = action;
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    form.submit();
  }, { action, fields });
  const response = await posted;
  await loaded;
  return response;
}

/** The session's CSRF token, from the sign-out form every page has. */
async function csrfOf(page) {
  return page.locator('form[action="/logout"] input[name="csrf"]').inputValue();
}

/** A page test per look: screenshot `name`, axe-core finds nothing serious, a phone needs no sideways scroll. */
async function everyLookCheck(page, name, t) {
  await screenshot(page, name);
  const { violations } = await checkAccessibility(page);
  if (violations.length > 0) t.diagnostic(`minor or moderate: ${describeViolations(violations)}`);
}

const LOCKS_CONFIG = `
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

const PEOPLE = {
  rosa: { role: 'release-manager', password: 'rosa keeps the gates, 11' },
  vic: { role: 'viewer', password: 'vic only looks around here 9' },
};

const INCIDENT = 'Incident 42: the payment provider is down';
const LEAK = '1.1.0 leaks memory under load';
const FIXED = 'The leak was in a setting, fixed since';

describe('locks and bad marks', () => {
  let server;
  let browser;
  /** What the stories did, for the later ones. */
  const done = {};

  /** Promotes `release` to `environment` and reports its deployment `status`: its id. */
  async function deploy(release, environment, status = 'succeeded') {
    const deployment = await server.json(['promote', release, '--to', environment]);
    assert.equal(typeof deployment.id, 'number', JSON.stringify(deployment));
    const reported = await server.json(['deploy', 'report', String(deployment.id), '--status', status]);
    assert.equal(reported.status, status, JSON.stringify(reported));
    return deployment.id;
  }

  before(async () => {
    server = await startServer();
    await server.apply(LOCKS_CONFIG);
    for (const release of ['api@1.0.0', 'api@1.1.0', 'web@1.0.0']) {
      const [service, version] = release.split('@');
      await server.ferryOk(['release', 'create', service, '--version', version]);
    }
    await deploy('api@1.0.0', 'dev');
    await deploy('web@1.0.0', 'dev');
    for (const [name, { role, password }] of Object.entries(PEOPLE)) {
      await server.ferryOk(['user', 'create', name]);
      await server.ferryOk(['role', 'grant', role, '--user', name]);
      await setPassword(server, name, password);
    }
    await setPassword(server, 'admin', ADMIN_PASSWORD);
    browser = await startBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A page signed in as `username`, on the dashboard. */
  async function signedIn(username, look = {}) {
    const page = await browser.newPage({ ...look, baseURL: server.url });
    const password = username === 'admin' ? ADMIN_PASSWORD : PEOPLE[username].password;
    await signIn(page, { username, password });
    return page;
  }

  /** The matrix's column headers, as shown. */
  async function columns(page) {
    return texts(page.locator('#matrix th[scope="col"]'));
  }

  /** The text of the matrix cell of `service` in `environment`. */
  async function cell(page, service, environment) {
    return text(page.locator(`#matrix td[data-service="${service}"][data-environment="${environment}"]`));
  }

  test('vic (viewer) sees nothing locked and no form to lock', async () => {
    const page = await signedIn('vic');
    const section = page.locator('section#locks-of-dashboard');
    assert.equal(await text(section.locator('h2')), 'Locked');
    assert.equal(await text(section.locator('p.none')), 'Nothing is locked.');
    assert.equal(await page.locator('form#lock-form').count(), 0, 'a viewer has no Lock form');
    assert.equal(await page.getByRole('button', { name: /^(Lock|Unlock)\b/ }).count(), 0);
    assert.equal(await text(page.locator('section[aria-labelledby="marked-heading"] p.none')), 'No release is marked bad.');
  });

  test('rosa (release-manager) locks prod from the dashboard, with a reason', async () => {
    const page = await signedIn('rosa');
    const form = page.locator('form#lock-form[method="post"][action="/locks"]');
    assert.equal(await form.count(), 1, 'a release manager has the Lock form');
    assert.equal(await form.locator('input[type="hidden"][name="csrf"]').count(), 1, 'it holds the CSRF token');
    assert.deepEqual(await texts(form.getByLabel('Environment').locator('option')), ['dev', 'prod']);
    assert.deepEqual(await texts(form.getByLabel('Service').locator('option')), ['all services', 'api', 'web']);

    await form.getByLabel('Environment').selectOption('prod');
    await form.getByLabel('Reason').fill(INCIDENT);
    const response = await press(page, form.getByRole('button', { name: 'Lock' }), '/locks');
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), '/?done=locked');
    assert.equal(await text(page.getByRole('status')), 'Locked: the promotions it holds wait until it is unlocked.');

    const listed = page.locator('#locks > li');
    assert.equal(await listed.count(), 1, 'one lock listed');
    assert.match(
      await text(listed.locator('p').first()),
      new RegExp(`^prod, all services: locked by rosa since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC — ${INCIDENT}$`),
    );
    assert.equal(await listed.locator('time[datetime]').count(), 1, 'since when, as a <time>');
    // The column says so in words, not only in colour.
    assert.deepEqual(await columns(page), ['Service', 'dev', 'prod locked']);
    assert.equal(await page.getByRole('button', { name: 'Unlock prod' }).count(), 1, 'she may unlock it');
  });

  test('a promotion to prod is refused with the locked blocker, and the release page says why', async () => {
    const refused = await server.ferry(['promote', 'api@1.0.0', '--to', 'prod']);
    assert.equal(refused.code, 3, `refused by the gates: ${JSON.stringify(refused)}`);
    assert.match(refused.stderr, /locked: prod is locked by rosa since/, refused.stderr);
    assert.ok(refused.stderr.includes(INCIDENT), refused.stderr);
    const check = await server.ferry(['check', 'api@1.0.0', '--to', 'prod', '--output', 'json']);
    const codes = JSON.parse(check.stdout).blockers.map((blocker) => blocker.code);
    assert.deepEqual(codes, ['locked']);

    const page = await signedIn('vic');
    await page.goto('/services/api/releases/1.0.0');
    const prod = page.locator('article.stage').filter({ has: page.locator('h3#stage-prod') });
    assert.equal(await text(prod.locator('.verdict')), 'Blocked:');
    assert.match(await text(prod.locator('ul.blockers')), /prod is locked by rosa since .* ferry unlock prod --reason TEXT/);
  });

  test('vic sees the lock but no Unlock, and an unlock forged in his browser is refused with 403', async () => {
    const page = await signedIn('vic');
    assert.equal(await page.locator('#locks > li').count(), 1);
    assert.equal(await page.locator('form.unlock').count(), 0, 'no Unlock form for a viewer');
    const response = await forge(page, '/locks/unlock', { csrf: await csrfOf(page), environment: 'prod', reason: 'let me' });
    assert.equal(response.status(), 403);
    const refusal = await text(page.getByRole('alert'));
    assert.match(refusal, /vic/, refusal);
    assert.match(refusal, /release-manager/, `it names the role that would allow it: ${refusal}`);
    assert.equal((await server.json(['lock'])).items.length, 1, 'prod is still locked');
  });

  test('locking prod again is refused with 409, saying who holds it', async () => {
    const page = await signedIn('rosa');
    const form = page.locator('form#lock-form');
    await form.getByLabel('Environment').selectOption('prod');
    await form.getByLabel('Reason').fill('twice');
    const response = await press(page, form.getByRole('button', { name: 'Lock' }), '/locks');
    assert.equal(response.status(), 409);
    assert.match(await text(page.getByRole('alert')), /prod is locked already, by rosa/);
  });

  test('rosa locks web alone in dev: its cell says so', async () => {
    const page = await signedIn('rosa');
    const form = page.locator('form#lock-form');
    await form.getByLabel('Environment').selectOption('dev');
    await form.getByLabel('Service').selectOption('web');
    await form.getByLabel('Reason').fill('Migrating its database');
    const response = await press(page, form.getByRole('button', { name: 'Lock' }), '/locks');
    assert.equal(response.status(), 303);
    assert.deepEqual(
      (await texts(page.locator('#locks > li > p'))).map((line) => line.split(':')[0]),
      ['dev, web', 'prod, all services'],
    );
    assert.match(await cell(page, 'web', 'dev'), /^locked 1\.0\.0 succeeded$/);
    assert.doesNotMatch(await cell(page, 'api', 'dev'), /locked/, 'only web is locked in dev');
    assert.deepEqual(await columns(page), ['Service', 'dev', 'prod locked'], 'dev as a whole is not locked');
  });

  for (const look of LOOKS) {
    test(`the dashboard with locks, as rosa sees it, on a ${look.viewport} in ${look.colorScheme}`, async (t) => {
      const page = await signedIn('rosa', look);
      assert.equal(await page.locator('#locks > li').count(), 2);
      await everyLookCheck(page, 'dashboard-locked', t);
      if (look.viewport === 'phone') {
        assert.equal(await scrollsSideways(page), false, 'the dashboard fits a phone\'s width');
      }
    });
  }

  test('rosa unlocks both from the dashboard; the promotion to prod then goes', async () => {
    const page = await signedIn('rosa');
    for (const scope of ['web in dev', 'prod']) {
      const lock = page.locator('#locks > li').filter({ has: page.getByRole('button', { name: `Unlock ${scope}` }) });
      await lock.getByLabel(`Why unlock ${scope}`).fill('It is over');
      const response = await press(page, lock.getByRole('button', { name: `Unlock ${scope}` }), '/locks/unlock');
      assert.equal(response.status(), 303);
      assert.equal(pathOf(page), '/?done=unlocked');
      assert.equal(await text(page.getByRole('status')), 'Unlocked: promotions may go there again.');
    }
    assert.equal(await text(page.locator('section#locks-of-dashboard p.none')), 'Nothing is locked.');
    assert.deepEqual(await columns(page), ['Service', 'dev', 'prod']);
    assert.doesNotMatch(await cell(page, 'web', 'dev'), /locked/);

    const promoted = await server.json(['promote', 'api@1.0.0', '--to', 'prod']);
    assert.equal(promoted.environment, 'prod', JSON.stringify(promoted));
    await server.ferryOk(['deploy', 'report', String(promoted.id), '--status', 'succeeded']);

    const events = (await server.json(['audit', 'list'])).items.filter((event) => event.actor === 'rosa');
    assert.equal(events.filter((event) => event.action === 'lock.create').length, 2, JSON.stringify(events));
    assert.equal(events.filter((event) => event.action === 'lock.remove').length, 2, JSON.stringify(events));
  });

  test('an open dashboard shows a lock made elsewhere once a deployment changes, but not over what someone types', async () => {
    const page = await signedIn('rosa');
    await page.waitForFunction(() => document.getElementById('live').textContent === 'Showing changes as they happen.');
    await server.ferryOk(['lock', 'dev', '--service', 'web', '--reason', 'Locked from the command line']);
    // A deployment recorded: the page asks for itself anew.
    const promoted = await server.json(['promote', 'web@1.0.0', '--to', 'prod']);
    await page.locator('#locks > li[data-environment="dev"][data-service="web"]').waitFor({ timeout: 10_000 });
    assert.match(await cell(page, 'web', 'dev'), /^locked 1\.0\.0 succeeded$/);

    // Someone starts to lock something: their form is left alone while
    // the rest of the page follows.
    await page.locator('form#lock-form').getByLabel('Reason').fill('half typed');
    await server.ferryOk(['unlock', 'dev', '--service', 'web', '--reason', 'It is over']);
    await server.ferryOk(['deploy', 'report', String(promoted.id), '--status', 'succeeded']);
    await page.waitForFunction(
      () => /succeeded/.test(document.querySelector('#matrix td[data-service="web"][data-environment="prod"]')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    assert.equal(await page.locator('form#lock-form').getByLabel('Reason').inputValue(), 'half typed');
    assert.equal(await page.locator('#locks > li').count(), 1, 'the part being typed in is not replaced');
    assert.doesNotMatch(await cell(page, 'web', 'dev'), /locked/, 'the matrix follows');
    await page.reload();
    assert.equal(await text(page.locator('section#locks-of-dashboard p.none')), 'Nothing is locked.');
  });

  test('api@1.1.0 rolled back from dev is marked bad: on the dashboard, in its cell and on its page', async () => {
    done.bad = await deploy('api@1.1.0', 'dev');
    const rollback = await server.json(['rollback', 'api', '--env', 'dev', '--reason', LEAK]);
    assert.equal(rollback.rollback_of, done.bad, JSON.stringify(rollback));
    done.rollback = rollback.id;

    const page = await signedIn('vic');
    const marked = page.locator('ul#marked > li');
    assert.equal(await marked.count(), 1);
    assert.match(await text(marked), new RegExp(`^api@1\\.1\\.0 in dev: ${LEAK} \\(by admin, \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\)$`));
    assert.equal(await marked.getByRole('link', { name: 'api@1.1.0' }).getAttribute('href'), '/services/api/releases/1.1.0');
    // While the rollback is on its way, the cell still shows 1.1.0: marked bad.
    assert.match(await cell(page, 'api', 'dev'), /^1\.1\.0 succeeded marked bad 1\.0\.0 queued$/);

    await server.ferryOk(['deploy', 'report', String(done.rollback), '--status', 'succeeded']);
    await page.reload();
    assert.match(await cell(page, 'api', 'dev'), /^1\.0\.0 succeeded$/, 'once rolled back, dev runs 1.0.0 again');
    assert.equal(await page.locator('ul#marked > li').count(), 1, 'and 1.1.0 stays marked bad');

    const follow = page.waitForEvent('load');
    await marked.getByRole('link', { name: 'api@1.1.0' }).click();
    await follow;
    assert.equal(pathOf(page), '/services/api/releases/1.1.0');
    assert.match(await text(page.locator('p.facts').first()), /marked bad in 1 environment$/);
    const mark = page.locator('ul#marks > li[data-environment="dev"]');
    assert.equal(await mark.count(), 1);
    assert.match(
      await text(mark),
      new RegExp(`^dev: marked bad by admin at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC, when deployment ${done.bad} was rolled back — ${LEAK}$`),
    );
    assert.equal(await mark.getByRole('link', { name: `deployment ${done.bad}` }).getAttribute('href'), `/deployments/${done.bad}`);
    assert.equal(await page.locator('form.unmark').count(), 0, 'a viewer has no Unmark form');
    const dev = page.locator('article.stage').filter({ has: page.locator('h3#stage-dev') });
    assert.match(await text(dev.locator('ul.blockers')), /api@1\.1\.0 was rolled back from dev and marked bad there by admin/);
  });

  for (const look of LOOKS) {
    test(`a release marked bad, as rosa sees it, on a ${look.viewport} in ${look.colorScheme}`, async (t) => {
      const page = await signedIn('rosa', look);
      await page.goto('/services/api/releases/1.1.0');
      assert.equal(await page.getByRole('button', { name: 'Unmark in dev' }).count(), 1);
      await everyLookCheck(page, 'release-marked-bad', t);
      if (look.viewport === 'phone') {
        assert.equal(await scrollsSideways(page), false, 'the release page fits a phone\'s width');
      }
      await page.goto('/');
      await everyLookCheck(page, 'dashboard-marked-bad', t);
      if (look.viewport === 'phone') {
        assert.equal(await scrollsSideways(page), false, 'the dashboard fits a phone\'s width');
      }
    });
  }

  test('an unmark forged in vic\'s browser is refused with 403', async () => {
    const page = await signedIn('vic');
    await page.goto('/services/api/releases/1.1.0');
    const response = await forge(page, '/services/api/releases/1.1.0/unmark', {
      csrf: await csrfOf(page),
      environment: 'dev',
      reason: 'let me',
    });
    assert.equal(response.status(), 403);
    assert.match(await text(page.getByRole('alert')), /vic/);
    assert.equal((await server.json(['release', 'marks', 'api@1.1.0'])).items[0].unmarked_at ?? null, null, 'still marked');
  });

  test('rosa unmarks it from the release page: the mark is kept, lifted, and the dashboard lists none', async () => {
    const page = await signedIn('rosa');
    await page.goto('/services/api/releases/1.1.0');
    const mark = page.locator('ul#marks > li[data-environment="dev"]');
    await mark.getByLabel('Why it is good in dev again').fill(FIXED);
    const response = await press(page, mark.getByRole('button', { name: 'Unmark in dev' }), '/services/api/releases/1.1.0/unmark');
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), '/services/api/releases/1.1.0?done=unmarked');
    assert.equal(await text(page.getByRole('status')), 'Unmarked: it may be promoted there again.');
    const lifted = page.locator('ul#marks > li[data-environment="dev"]');
    assert.match(await text(lifted), /^dev: was marked bad by admin at .* — 1\.1\.0 leaks memory under load /);
    assert.match(
      await text(lifted.locator('.lifted-by')),
      new RegExp(`^Unmarked by rosa at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC — ${FIXED}$`),
    );
    assert.equal(await page.getByRole('button', { name: /^Unmark/ }).count(), 0, 'nothing left to unmark');
    assert.doesNotMatch(await text(page.locator('p.facts').first()), /marked bad/);
    const dev = page.locator('article.stage').filter({ has: page.locator('h3#stage-dev') });
    assert.equal(await dev.locator('ul.blockers').count(), 0, 'dev may take it again');

    await page.goto('/');
    assert.equal(await text(page.locator('section[aria-labelledby="marked-heading"] p.none')), 'No release is marked bad.');
    const events = (await server.json(['audit', 'list'])).items;
    const unmarked = events.filter((event) => event.action === 'release.unmark');
    assert.equal(unmarked.length, 1, JSON.stringify(unmarked));
    assert.equal(unmarked[0].actor, 'rosa');
    assert.equal(unmarked[0].object, 'release:api@1.1.0');
  });
});

const PAUSES_CONFIG = `
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "web"
deploy.targets = { host = "local" }
deploy.steps = [{ name = "install", run = "true" }, { kind = "manual", name = "smoke test", instructions = "Open the site", approvers = "group:ops" }, { name = "switch", run = "true" }]

[[service]]
name = "worker"
deploy.targets = { host = "local" }
deploy.on_failure = "ask"
deploy.steps = [{ name = "install", run = 'test "$FERRY_VERSION" != "1.1.0"' }]
`;

const DEPLOYERS = {
  olga: 'olga runs the smoke tests, 12',
  dave: 'dave deploys but is not ops, 13',
};

describe('deployments that wait for a person', () => {
  let server;
  let browser;
  const done = {};

  before(async () => {
    server = await startServer(undefined, { args: ['--local-agent'] });
    await server.apply(PAUSES_CONFIG);
    for (const service of ['web', 'worker']) {
      for (const version of ['1.0.0', '1.1.0']) {
        await server.ferryOk(['release', 'create', service, '--version', version]);
      }
    }
    for (const [name, password] of Object.entries(DEPLOYERS)) {
      await server.ferryOk(['user', 'create', name]);
      await server.ferryOk(['role', 'grant', 'deployer', '--user', name]);
      await setPassword(server, name, password);
    }
    await server.ferryOk(['group', 'create', 'ops']);
    await server.ferryOk(['group', 'add', 'ops', 'olga']);
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

  /** A page signed in as `username`, on the dashboard. */
  async function signedIn(username, look = {}) {
    const page = await browser.newPage({ ...look, baseURL: server.url });
    const password = username === 'admin' ? ADMIN_PASSWORD : DEPLOYERS[username];
    await signIn(page, { username, password });
    return page;
  }

  /** `ferry deploy show ID` once it waits for a person (or ended): its JSON. */
  async function paused(id) {
    const deadline = Date.now() + DEPLOY_TIMEOUT_MS;
    for (;;) {
      const shown = await server.json(['deploy', 'show', String(id)]);
      if (shown.status === 'waiting' && shown.pause) return shown;
      assert.ok(
        !['succeeded', 'failed', 'rolled_back', 'cancelled'].includes(shown.status),
        `deployment ${id} ended without waiting: ${JSON.stringify(shown)}`,
      );
      assert.ok(Date.now() < deadline, `deployment ${id} never waited: ${JSON.stringify(shown)}`);
      await sleep(200);
    }
  }

  /** Waits until #status reads `state` (as the page shows it). */
  async function waitForStatus(page, state) {
    await page
      .waitForFunction((want) => document.getElementById('status')?.textContent.trim() === want, state, { timeout: DEPLOY_TIMEOUT_MS })
      .catch(async (error) => {
        const seen = await page.locator('#status').textContent().catch(() => '(no #status)');
        throw new Error(`#status never read "${state}" (it reads "${seen}"): ${error.message}`);
      });
  }

  /** The names of the buttons of the decision form. */
  async function decisions(page) {
    return texts(page.locator('form#decide-form button'));
  }

  test('a manual step: olga (ops) sees what to do and a Continue button, live', async () => {
    const page = await signedIn('olga');
    const promoted = await server.json(['promote', 'web@1.0.0', '--to', 'dev']);
    done.manual = promoted.id;
    await page.goto(`/deployments/${done.manual}`);
    // Whether it paused before the page was made or while it is open, the
    // page comes to show the pause without a reload.
    await page.locator('form#decide-form').waitFor({ timeout: DEPLOY_TIMEOUT_MS });
    const shown = await paused(done.manual);
    assert.equal(shown.pause.kind, 'manual', JSON.stringify(shown));
    await waitForStatus(page, 'waiting');

    const pause = page.locator('section#pause');
    assert.equal(await text(pause.locator('h2')), 'Waiting for a decision');
    assert.match(await text(pause), /It waits at the manual step “smoke test” of batch 1/);
    assert.equal(await text(pause.locator('#instructions')), 'Open the site');
    assert.equal(await text(pause.locator('#approvers')), 'Approvers: group:ops');
    assert.deepEqual(await decisions(page), ['Continue', 'Abort']);
    assert.equal(await page.locator('form#decide-form input[type="hidden"][name="csrf"]').count(), 1);
    assert.equal(await page.getByLabel('Comment (optional)').count(), 1);
  });

  test('dave (deployer, not in ops) sees the step but no button, and a forged Continue is refused with 403', async () => {
    const page = await signedIn('dave');
    await page.goto(`/deployments/${done.manual}`);
    assert.equal(await text(page.locator('section#pause #instructions')), 'Open the site');
    assert.equal(await page.locator('form#decide-form').count(), 0, 'no decision form');
    assert.equal(await text(page.locator('section#pause p.hint')), 'Only the step\'s approvers may continue or abort it.');

    const response = await forge(page, `/deployments/${done.manual}/decide`, { csrf: await csrfOf(page), decision: 'continue' });
    assert.equal(response.status(), 403);
    assert.match(await text(page.getByRole('alert')), /dave is not one of the approvers of manual step "smoke test"/);
    assert.equal((await server.json(['deploy', 'show', String(done.manual)])).status, 'waiting', 'it still waits');
  });

  for (const look of LOOKS) {
    test(`a deployment at a manual step, as olga sees it, on a ${look.viewport} in ${look.colorScheme}`, async (t) => {
      const page = await signedIn('olga', look);
      await page.goto(`/deployments/${done.manual}`);
      assert.deepEqual(await decisions(page), ['Continue', 'Abort']);
      await everyLookCheck(page, 'deployment-manual-step', t);
      if (look.viewport === 'phone') {
        assert.equal(await scrollsSideways(page), false, 'the deployment page fits a phone\'s width');
      }
    });
  }

  test('olga continues with a comment: the deployment runs its last step and succeeds', async () => {
    const page = await signedIn('olga');
    await page.goto(`/deployments/${done.manual}`);
    await page.getByLabel('Comment (optional)').fill('Bought a teapot: all good');
    const response = await press(page, page.getByRole('button', { name: 'Continue' }), `/deployments/${done.manual}/decide`);
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), `/deployments/${done.manual}?done=continue`);
    assert.equal(await text(page.locator('p.notice[role="status"]')), 'Continued: the deployment goes on.');
    await waitForStatus(page, 'succeeded');
    await page.locator('section#pause').waitFor({ state: 'detached' });

    await page.reload();
    assert.equal(await page.locator('section#pause').count(), 0, 'it waits for nothing any more');
    // The target's job ran the segment after the step last: its steps are shown.
    const steps = await texts(page.locator('table.targets tbody .step'));
    assert.ok(steps.some((step) => /^switch: exit 0, \d+\.\d s$/.test(step)), JSON.stringify(steps));

    const decided = (await server.json(['audit', 'list'])).items.filter(
      (event) => event.action === 'deployment.decide' && event.object === `deployment:${done.manual}`,
    );
    assert.equal(decided.length, 1, JSON.stringify(decided));
    assert.equal(decided[0].actor, 'olga');
    assert.equal(decided[0].details.after.decision, 'continue');
    assert.equal(decided[0].details.after.comment, 'Bought a teapot: all good');
  });

  test('a failure under on_failure = "ask" offers Retry, Skip and Roll back', async () => {
    await server.ferryOk(['promote', 'worker@1.0.0', '--to', 'dev', '--wait']);
    const promoted = await server.json(['promote', 'worker@1.1.0', '--to', 'dev']);
    done.failure = promoted.id;
    const shown = await paused(done.failure);
    assert.equal(shown.pause.kind, 'failure', JSON.stringify(shown));

    const page = await signedIn('dave');
    await page.goto(`/deployments/${done.failure}`);
    const pause = page.locator('section#pause');
    assert.match(await text(pause), /More targets failed in batch 1 than it tolerates/);
    assert.deepEqual(await texts(pause.locator('#failed-targets li')), ['local']);
    assert.deepEqual(await decisions(page), ['Retry', 'Skip', 'Roll back']);
    assert.equal(await pause.locator('#approvers').count(), 0, 'a failure names no approvers');
  });

  for (const look of LOOKS) {
    test(`a deployment waiting after a failure on a ${look.viewport} in ${look.colorScheme}`, async (t) => {
      const page = await signedIn('dave', look);
      await page.goto(`/deployments/${done.failure}`);
      assert.deepEqual(await decisions(page), ['Retry', 'Skip', 'Roll back']);
      await everyLookCheck(page, 'deployment-failure', t);
      if (look.viewport === 'phone') {
        assert.equal(await scrollsSideways(page), false, 'the deployment page fits a phone\'s width');
      }
    });
  }

  test('dave rolls it back from the page: 1.0.0 goes back and 1.1.0 is marked bad', async () => {
    const page = await signedIn('dave');
    await page.goto(`/deployments/${done.failure}`);
    const response = await press(page, page.getByRole('button', { name: 'Roll back', exact: true }), `/deployments/${done.failure}/decide`);
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), `/deployments/${done.failure}?done=rollback`);
    assert.equal(
      await text(page.locator('p.notice[role="status"]')),
      'Rolling back: the previous release goes back on the targets changed.',
    );

    // The rollback puts 1.0.0 back; the deployment then reads rolled back.
    const deadline = Date.now() + DEPLOY_TIMEOUT_MS;
    let rollback;
    for (;;) {
      rollback = (await server.json(['deploy', 'list', '--service', 'worker'])).items.find(
        (deployment) => deployment.rollback_of === done.failure,
      );
      if (rollback?.status === 'succeeded') break;
      assert.ok(Date.now() < deadline, `no rollback of ${done.failure} succeeded: ${JSON.stringify(rollback)}`);
      await sleep(200);
    }
    assert.equal(rollback.version, '1.0.0');
    await page.goto(`/deployments/${done.failure}`);
    assert.equal(await text(page.locator('#status')), 'rolled back');
    assert.equal(await page.locator('section#pause').count(), 0);
    await page.goto('/');
    assert.match(await text(page.locator('ul#marked')), /^worker@1\.1\.0 in dev: /);
  });
});
