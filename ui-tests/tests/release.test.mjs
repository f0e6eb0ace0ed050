// A release's page: for each environment of its lifecycle the gates'
// verdict, and the Approve, Reject and Promote buttons of those whose roles
// allow them.
//
// The server gets dev and prod (prod needs one approval), one service
// deployed by another tool, and api@1.0.0 deployed to dev and reported
// succeeded. Three people use the page, in this order, as a story: vic
// (viewer) only looks and is refused a forged form; omar (deployer) is held
// back while prod still needs an approval; rosa (approver) approves; omar
// promotes. Each of them is in the audit trail afterwards. The page is
// photographed and checked with axe-core in every look twice, as the admin
// sees it (every form shown): before anyone decides (prod blocked) and at
// the end (approved, on its way to prod).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, LOOKS, screenshot, startBrowser } from '../support/browser.mjs';
import { startServer } from '../support/server.mjs';
import { ADMIN_PASSWORD, pathOf, scrollsSideways, setPassword, signIn } from '../support/ui.mjs';

const CONFIG = `
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "prod"
tier = "production"
policy = { approvals = 1 }

[lifecycle.default]
phases = [["dev"], ["prod"]]

[[service]]
name = "api"
`;

const RELEASE = '/services/api/releases/1.0.0';
const ENVIRONMENTS = ['dev', 'prod'];

/** Each person, their role and their web password. */
const PEOPLE = {
  rosa: { role: 'approver', password: 'rosa approves with care, 7' },
  omar: { role: 'deployer', password: 'omar ships on time, always 8' },
  vic: { role: 'viewer', password: 'vic only looks around here 9' },
};

const COMMENT = 'Checked the dev rollout: ready for prod.';

/** An element's text, its white space collapsed. */
async function text(locator) {
  return (await locator.textContent()).replace(/\s+/g, ' ').trim();
}

/** The `<article class="stage">` of `environment`, which must be the only one. */
async function stage(page, environment) {
  const article = page.locator('article.stage').filter({ has: page.locator(`h3#stage-${environment}`) });
  assert.equal(await article.count(), 1, `one <article class="stage"> with <h3 id="stage-${environment}">`);
  return article;
}

/** The buttons a person may press on the page, by their names. */
async function buttonNames(page) {
  return page.locator('main button').evaluateAll((buttons) => buttons.map((b) => b.textContent.replace(/\s+/g, ' ').trim()));
}

/** The deployments, newest first. */
async function deployments(server) {
  return (await server.json(['deploy', 'list'])).items;
}

/**
 * Clicks `button` (a submit button of a form posting to the release) and
 * waits for the POST's answer and the next document; answers the POST's
 * response (the redirect, when it is one).
 */
async function press(page, button) {
  const posted = page.waitForResponse(
    (response) => response.request().method() === 'POST' && new URL(response.url()).pathname.startsWith(`${RELEASE}/`),
  );
  const loaded = page.waitForEvent('load');
  await button.click();
  const response = await posted;
  await loaded;
  return response;
}

describe('a release page', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    await server.apply(CONFIG);
    await server.ferryOk(['release', 'create', 'api', '--version', '1.0.0']);
    const deployment = await server.json(['promote', 'api@1.0.0', '--to', 'dev']);
    const [listed] = (await deployments(server)).filter((d) => d.environment === 'dev');
    assert.equal(listed.id, deployment.id, JSON.stringify(listed));
    await server.ferryOk(['deploy', 'report', String(listed.id), '--status', 'succeeded']);
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

  /** A page signed in as `username`, on the release. */
  async function release(username, look = {}) {
    const page = await signedIn(username, look);
    const response = await page.goto(RELEASE);
    assert.equal(response.status(), 200);
    return page;
  }

  /**
   * A test per look (desktop and phone, light and dark) of the release as
   * the admin sees it: prod's verdict is `verdict`, its buttons `buttons`
   * (the admin created the release, so separation of duties leaves them no
   * Approve or Reject; no Promote once it is on its way), the screenshot
   * is `name`, and axe-core finds nothing serious.
   */
  function everyLook(when, name, verdict, buttons) {
    for (const look of LOOKS) {
      test(`${when}, on a ${look.viewport} in ${look.colorScheme}: screenshot and accessibility`, async () => {
        const page = await release('admin', look);
        assert.equal(await text((await stage(page, 'prod')).locator('.verdict')), verdict);
        assert.deepEqual(
          (await buttonNames(page)).filter((button) => button.endsWith(' prod')),
          buttons,
          'the admin has the buttons that can work',
        );
        await screenshot(page, name);
        await checkAccessibility(page);
        if (look.viewport === 'phone') {
          assert.equal(await scrollsSideways(page), false, 'the release page fits a phone\'s width');
        }
      });
    }
  }

  everyLook('blocked before anyone decides', 'release-blocked', 'Blocked:', ['Promote to prod']);

  test('vic (viewer) opens it from the dashboard and sees prod blocked, with no buttons', async () => {
    const page = await signedIn('vic');
    const link = page.locator('#matrix td[data-service="api"][data-environment="dev"] a', { hasText: '1.0.0' });
    assert.equal(await link.count(), 1, 'the version in the api/dev cell is a link');
    const loaded = page.waitForEvent('load');
    await link.click();
    await loaded;
    assert.equal(pathOf(page), RELEASE);
    assert.equal(await text(page.locator('h1')), 'api@1.0.0');

    const headings = await page.locator('article.stage h3').evaluateAll((all) => all.map((h) => h.id));
    assert.deepEqual(headings, ENVIRONMENTS.map((environment) => `stage-${environment}`), 'a stage per environment, in the lifecycle\'s order');

    const prod = await stage(page, 'prod');
    assert.equal(await text(prod.locator('.verdict')), 'Blocked:');
    const blockers = await prod.locator('ul.blockers > li').evaluateAll((all) => all.map((li) => li.textContent.replace(/\s+/g, ' ').trim()));
    assert.ok(blockers.length > 0, 'prod lists its blockers');
    assert.ok(blockers.some((blocker) => /approv/i.test(blocker)), `a blocker is the missing approval: ${JSON.stringify(blockers)}`);
    assert.ok(blockers.every((blocker) => blocker.length > 0), 'every blocker says something');
    const approval = prod.locator('ul.blockers > li').filter({ hasText: /approv/i }).first();
    assert.match(await text(approval.locator('.clear')), /ferry approve api@1\.0\.0 --env prod/, 'the blocker says how to clear it');
    assert.match(await text(prod), /Risk: /);
    assert.match(await text(prod), /Evidence/);
    assert.match(await text(prod), /Decisions None yet\./);

    const dev = await stage(page, 'dev');
    assert.match(await text(dev), /deployed since/, 'dev says it holds the release');

    // Only the comparison's Compare, which changes nothing (a GET form).
    assert.deepEqual(await buttonNames(page), ['Compare'], 'a viewer has no Approve, Reject or Promote button');
    assert.equal(await page.locator('main form[method="post"]').count(), 0, 'nor any form that changes something');
    assert.equal(await page.getByRole('button', { name: /^(Approve|Reject) for / }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^Promote to / }).count(), 0);
  });

  test('a Promote form forged in vic\'s browser, with vic\'s own CSRF token, is refused with 403', async () => {
    const page = await release('vic');
    const before = await deployments(server);
    const csrf = await page.locator('form[action="/logout"] input[name="csrf"]').inputValue();
    assert.ok(csrf.length >= 16, 'the sign-out form holds the session\'s CSRF token');

    const posted = page.waitForResponse(
      (response) => response.request().method() === 'POST' && new URL(response.url()).pathname === `${RELEASE}/promote`,
    );
    const loaded = page.waitForEvent('load');
    await page.evaluate(({ action, csrf }) => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = action;
      for (const [name, value] of Object.entries({ csrf, environment: 'prod' })) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    }, { action: `${RELEASE}/promote`, csrf });
    const response = await posted;
    await loaded;

    assert.equal(response.status(), 403);
    const alert = page.getByRole('alert');
    assert.equal(await alert.count(), 1);
    const reason = await text(alert);
    assert.match(reason, /vic/, `the refusal names who was refused: "${reason}"`);
    assert.match(reason, /promote/i, `and what they may not do: "${reason}"`);
    await checkAccessibility(page);
    await screenshot(page, 'release-refused');

    assert.deepEqual(await deployments(server), before, 'nothing was deployed');
  });

  test('omar (deployer) may promote, but not to prod before it is approved: 409 with the blocker', async () => {
    const page = await release('omar');
    const prod = await stage(page, 'prod');
    assert.equal(await text(prod.locator('.verdict')), 'Blocked:');
    const promote = prod.getByRole('button', { name: 'Promote to prod' });
    assert.equal(await promote.count(), 1, 'a deployer has the Promote button');
    assert.equal(await prod.getByRole('button', { name: /^(Approve|Reject) for / }).count(), 0, 'but no Approve or Reject');

    const before = await deployments(server);
    const response = await press(page, promote);
    assert.equal(response.status(), 409);
    const reason = await text(page.getByRole('alert'));
    assert.match(reason, /approv/i, `the refusal lists the missing approval: "${reason}"`);
    assert.match(reason, /ferry approve api@1\.0\.0 --env prod/, `and how to clear it: "${reason}"`);
    assert.deepEqual(await deployments(server), before, 'nothing was deployed');
  });

  test('a form whose CSRF token is not the session\'s is refused with 403', async () => {
    const page = await release('omar');
    const before = await deployments(server);
    const prod = await stage(page, 'prod');
    await prod.locator('form.promote input[name="csrf"]').evaluate((input) => { input.value = 'not-this-session-s-token'; });
    const response = await press(page, prod.getByRole('button', { name: 'Promote to prod' }));
    assert.equal(response.status(), 403);
    assert.match(await text(page.getByRole('alert')), /nothing was done/i);
    assert.deepEqual(await deployments(server), before, 'nothing was deployed');
  });

  test('rosa (approver) approves for prod with a comment and sees her decision', async () => {
    const page = await release('rosa');
    const prod = await stage(page, 'prod');
    assert.equal(await prod.getByRole('button', { name: 'Promote to prod' }).count(), 0, 'an approver has no Promote button');
    assert.equal(await page.getByRole('button', { name: /^Promote to / }).count(), 0);
    assert.equal(await prod.getByRole('button', { name: 'Reject for prod' }).count(), 1);

    await prod.getByLabel('Comment').fill(COMMENT);
    const response = await press(page, prod.getByRole('button', { name: 'Approve for prod' }));
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), `${RELEASE}?done=approved`);
    assert.equal(await text(page.getByRole('status')), 'Approved.');

    const decided = await stage(page, 'prod');
    assert.deepEqual(
      await decided.locator('ul.decisions > li').evaluateAll((all) => all.map((li) => li.textContent.replace(/\s+/g, ' ').trim())),
      [`rosa approved: “${COMMENT}”`],
    );
    assert.equal(await page.getByRole('button', { name: /^Promote to / }).count(), 0, 'still no Promote button');
    await checkAccessibility(page);
  });

  test('omar (deployer) sees prod may be promoted, promotes it, and the deployment is on its way', async () => {
    const page = await release('omar');
    const prod = await stage(page, 'prod');
    assert.equal(await text(prod.locator('.verdict')), 'May be promoted.');
    assert.equal(await prod.locator('ul.blockers').count(), 0, 'no blockers left');
    assert.match(await text(prod.locator('ul.decisions')), /rosa approved/);

    const response = await press(page, prod.getByRole('button', { name: 'Promote to prod' }));
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), `${RELEASE}?done=promoted`);
    assert.equal(await text(page.getByRole('status')), 'Promoted: the deployment is on its way.');
    await checkAccessibility(page);

    const toProd = (await deployments(server)).filter((d) => d.environment === 'prod');
    assert.equal(toProd.length, 1, JSON.stringify(toProd));
    assert.equal(toProd[0].service, 'api');
    assert.equal(toProd[0].version, '1.0.0');
    assert.equal(toProd[0].created_by, 'omar');

    // The stage now says so, links to the deployment, and offers no
    // second promotion.
    const onItsWay = await stage(page, 'prod');
    assert.match(await text(onItsWay), new RegExp(`Deployment ${toProd[0].id} is on its way`));
    assert.equal(await onItsWay.getByRole('link', { name: `Deployment ${toProd[0].id}` }).getAttribute('href'), `/deployments/${toProd[0].id}`);
    assert.equal(await onItsWay.getByRole('button', { name: 'Promote to prod' }).count(), 0, 'no second promotion');
  });

  test('every action is in the audit trail', async () => {
    const events = (await server.json(['audit', 'list'])).items;
    const by = (actor, action) => events.filter((event) => event.actor === actor && event.action === action);

    const approvals = by('rosa', 'approval.approve');
    assert.equal(approvals.length, 1, `rosa's approval: ${JSON.stringify(events.filter((e) => e.actor === 'rosa'))}`);

    const promotions = by('omar', 'deployment.create');
    assert.equal(promotions.length, 1, `omar's promotion: ${JSON.stringify(events.filter((e) => e.actor === 'omar'))}`);

    const denied = by('vic', 'access.denied');
    assert.equal(denied.length, 1, `vic's refusal: ${JSON.stringify(events.filter((e) => e.actor === 'vic'))}`);
    assert.equal(denied[0].object, 'service:api@prod');
    assert.equal(denied[0].details.action, 'promote');
  });

  everyLook('approved and on its way to prod', 'release', 'May be promoted.', []);

  test('vic compares dev with prod from the release page: promoting brings 1.0.0', async () => {
    const page = await release('vic');
    const compare = page.locator('section[aria-labelledby="compare-heading"]');
    await compare.getByLabel('From').selectOption('dev');
    await compare.getByLabel('To').selectOption('prod');
    await Promise.all([page.waitForURL(/\/services\/api\/diff\?from=dev&to=prod$/), compare.getByRole('button', { name: 'Compare' }).click()]);
    const result = page.locator('section[aria-labelledby="result-heading"]');
    assert.match(await text(result), /dev runs 1\.0\.0/);
    assert.equal(await result.getByRole('link', { name: '1.0.0' }).count() >= 1, true, 'the release is linked');
  });

  for (const look of LOOKS) {
    test(`the comparison on a ${look.viewport} in ${look.colorScheme}: screenshot and accessibility`, async () => {
      const page = await signedIn('vic', look);
      const response = await page.goto('/services/api/diff?from=dev&to=prod');
      assert.equal(response.status(), 200);
      await checkAccessibility(page);
      await screenshot(page, 'diff');
      await page.close();
    });
  }
});
