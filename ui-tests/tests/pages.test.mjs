// The web UI's other main pages: the audit trail, a service's page,
// administration, an invitation, and the lists beside the dashboard's
// matrix.
//
// The server gets dev and prod and two lifecycles: dev → prod for api and
// web, dev alone for docs. Set up with the CLI as another tool would:
// api@1.0.0 succeeded in dev (so it waits to move on to prod), api@1.1.0
// failed in dev (so it reached nowhere yet), web@2.0.0 is running in dev
// (under way); a normal change request is submitted, another left in draft. People: rosa (approver, and in the group releasers, which
// deploys in dev) uses her API token, vic (viewer) signs in with a password,
// carol and dana are invited to set theirs. An agent web-1 has a token but
// never came. The audit story creates, approves and promotes docs@0.1.0 with
// the CLI and finds each step on the page. Every page is photographed and
// checked with axe-core in every look.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, describeViolations, LOOKS, screenshot, startBrowser } from '../support/browser.mjs';
import { startServer } from '../support/server.mjs';
import {
  ADMIN_PASSWORD,
  pathOf,
  scrollsSideways,
  setPassword,
  signIn,
  signInForm,
  submitSignIn,
} from '../support/ui.mjs';

const CONFIG = `
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "prod"
tier = "production"

[lifecycle.default]
phases = [["dev"], ["prod"]]

[lifecycle.quick]
phases = [["dev"]]

[[service]]
name = "api"

[[service]]
name = "web"

[[service]]
name = "docs"
lifecycle = "quick"
`;

const VIC_PASSWORD = 'vic only looks around here 9';
const CAROL_PASSWORD = 'carol chose this one herself, 3';

const CHANGE = 'Rotate the TLS certificates';

/** A day and a minute, as the pages write them. */
const MINUTE = /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/;

/** An element's text, its white space collapsed. */
async function text(locator) {
  return (await locator.textContent()).replace(/\s+/g, ' ').trim();
}

/** The texts of the elements `locator` finds, each collapsed. */
async function texts(locator) {
  return locator.evaluateAll((all) => all.map((element) => element.textContent.replace(/\s+/g, ' ').trim()));
}

/** Each row of the table `selector`'s body as its cells' texts, the row header first. */
async function rows(page, selector) {
  return page
    .locator(`${selector} > tbody > tr`)
    .evaluateAll((all) => all.map((tr) => [...tr.cells].map((cell) => cell.textContent.replace(/\s+/g, ' ').trim())));
}

/** The links of the main navigation, by their names. */
async function navigation(page) {
  return texts(page.getByRole('navigation', { name: 'Main' }).getByRole('link'));
}

/** Follows a link as a person would, waiting for the next document. */
async function follow(page, link) {
  const loaded = page.waitForEvent('load');
  await link.click();
  await loaded;
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

/** Sends the audit trail's search form with `fields` filled in; answers the GET's response. */
async function search(page, fields) {
  const form = page.locator('form#filters');
  for (const [name, value] of Object.entries(fields)) await form.locator(`input[name="${name}"]`).fill(value);
  const answered = page.waitForResponse(
    (response) => response.request().method() === 'GET' && new URL(response.url()).pathname === '/audit',
  );
  const loaded = page.waitForEvent('load');
  await form.getByRole('button', { name: 'Search' }).click();
  const response = await answered;
  await loaded;
  return response;
}

describe('the other pages', () => {
  let server;
  let browser;
  /** rosa's API token (`ferry user create` prints it). */
  let rosaToken;
  /** The deployments of the setup, by what they deployed. */
  const deployments = {};
  /** dana's invitation, opened (never used) for the screenshots. */
  let danaInvitation;

  /** `ferry promote RELEASE --to ENV`, then reported `status`: the deployment's id. */
  async function deploy(release, environment, status) {
    const deployment = await server.json(['promote', release, '--to', environment]);
    assert.equal(typeof deployment.id, 'number', JSON.stringify(deployment));
    await server.ferryOk(['deploy', 'report', String(deployment.id), '--status', status]);
    return deployment.id;
  }

  before(async () => {
    server = await startServer();
    await server.apply(CONFIG);
    await server.ferryOk(['release', 'create', 'api', '--version', '1.0.0']);
    await server.ferryOk(['release', 'create', 'api', '--version', '1.1.0']);
    await server.ferryOk(['release', 'create', 'web', '--version', '2.0.0']);
    deployments['api@1.0.0'] = await deploy('api@1.0.0', 'dev', 'succeeded');
    deployments['api@1.1.0'] = await deploy('api@1.1.0', 'dev', 'failed');
    deployments['web@2.0.0'] = await deploy('web@2.0.0', 'dev', 'running');

    const rosa = await server.ferryOk(['user', 'create', 'rosa']);
    rosaToken = /^(ferry_\w+)$/m.exec(rosa.stdout)?.[1];
    assert.ok(rosaToken, `ferry user create prints the first token: ${rosa.stdout}`);
    await server.ferryOk(['role', 'grant', 'approver', '--user', 'rosa']);
    await server.ferryOk(['group', 'create', 'releasers']);
    await server.ferryOk(['group', 'add', 'releasers', 'rosa']);
    await server.ferryOk(['role', 'grant', 'deployer', '--group', 'releasers', '--env', 'dev']);
    await server.ferryOk(['user', 'create', 'vic']);
    await server.ferryOk(['role', 'grant', 'viewer', '--user', 'vic']);
    await setPassword(server, 'vic', VIC_PASSWORD);
    await server.ferryOk(['user', 'create', 'carol']);
    await server.ferryOk(['user', 'create', 'dana']);
    danaInvitation = (await server.json(['user', 'invite', 'dana'])).url;

    await server.ferryOk(['agent', 'token', 'create', '--env', 'dev', '--name', 'web-1']);

    const change = await server.json(['change', 'create', '--title', CHANGE, '--type', 'normal', '--service', 'api', '--env', 'prod']);
    await server.ferryOk(['change', 'submit', String(change.id)]);
    await server.ferryOk(['change', 'create', '--title', 'Still a draft', '--type', 'normal', '--service', 'web', '--env', 'prod']);

    await setPassword(server, 'admin', ADMIN_PASSWORD);
    browser = await startBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A page signed in as the admin (or `username` with `password`), on the dashboard. */
  async function signedIn(look = {}, { username = 'admin', password = ADMIN_PASSWORD } = {}) {
    const page = await browser.newPage({ ...look, baseURL: server.url });
    await signIn(page, { username, password });
    return page;
  }

  /** A page signed in as the admin on `path`, which answers 200. */
  async function opened(path, look = {}) {
    const page = await signedIn(look);
    const response = await page.goto(path);
    assert.equal(response.status(), 200, `GET ${path}`);
    return page;
  }

  // The audit trail.

  test('the audit trail, from the navigation: every event, newest first', async () => {
    const page = await signedIn();
    await follow(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit trail' }));
    assert.equal(pathOf(page), '/audit');
    assert.equal(await text(page.locator('h1')), 'Audit trail');
    assert.equal(await text(page.locator('table#events > caption')), 'Newest first');
    assert.deepEqual(
      await texts(page.locator('table#events > thead th')),
      ['#', 'Time', 'Actor', 'Action', 'Object', 'Details'],
    );

    const shown = await rows(page, 'table#events');
    const seqs = shown.map(([seq]) => Number(seq));
    assert.ok(seqs.every((seq, i) => i === 0 || seq < seqs[i - 1]), `newest first: ${JSON.stringify(seqs)}`);
    // The CLI lists the same events, the newest first too: this sign-in on top.
    const events = (await server.json(['audit', 'list'])).items;
    assert.deepEqual(
      shown.slice(0, 5).map(([seq, , actor, action, object]) => [Number(seq), actor, action, object]),
      events.slice(0, 5).map((event) => [event.seq, event.actor, event.action, event.object]),
    );
    assert.deepEqual(shown[0].slice(2, 5), ['admin', 'session.start', 'user:admin']);
    const time = page.locator('table#events > tbody > tr').first().locator('time');
    assert.equal(await time.getAttribute('datetime'), events[0].time);
    assert.ok(shown.some(([, , , action, object]) => action === 'release.create' && object === 'release:api@1.0.0'));
  });

  test('the search form keeps its filters in the address, and action=session.* shows only sessions', async () => {
    const page = await opened('/audit');
    assert.equal(await page.locator('form#filters[method="get" i][action="/audit"][role="search"]').count(), 1);

    let response = await search(page, { actor: 'admin', action: 'session.*' });
    assert.equal(response.status(), 200);
    const url = new URL(page.url());
    assert.equal(url.pathname, '/audit');
    assert.equal(url.searchParams.get('actor'), 'admin');
    assert.equal(url.searchParams.get('action'), 'session.*');
    assert.equal(await page.locator('#audit-actor').inputValue(), 'admin');
    assert.equal(await page.locator('#audit-action').inputValue(), 'session.*');
    const sessions = await rows(page, 'table#events');
    assert.ok(sessions.length >= 1, 'the admin\'s sessions are listed');
    for (const [seq, , actor, action, object] of sessions) {
      assert.match(action, /^session\./, `event ${seq} is a session's: ${action}`);
      assert.equal(actor, 'admin');
      assert.equal(object, 'user:admin');
    }

    // Every field at once, each kept.
    const fields = { actor: 'admin', action: 'release.*', object: 'api@1.0.0', since: '2000-01-01T00:00:00Z' };
    response = await search(page, fields);
    assert.equal(response.status(), 200);
    for (const [name, value] of Object.entries(fields)) {
      assert.equal(new URL(page.url()).searchParams.get(name), value, `?${name}= in the address`);
      assert.equal(await page.locator(`#audit-${name}`).inputValue(), value, `#audit-${name} keeps its value`);
    }
    assert.deepEqual(
      (await rows(page, 'table#events')).map(([, , actor, action, object]) => [actor, action, object]),
      [['admin', 'release.create', 'release:api@1.0.0']],
    );

    // Opened from the address, the same.
    await page.goto('/audit?action=session.*');
    assert.equal(await page.locator('#audit-action').inputValue(), 'session.*');
    assert.ok((await rows(page, 'table#events')).every(([, , , action]) => action.startsWith('session.')));
  });

  test('a since that is no time is refused with 422 and an alert naming since', async () => {
    const page = await opened('/audit');
    const response = await search(page, { since: 'yesterday' });
    assert.equal(response.status(), 422);
    assert.equal(new URL(page.url()).searchParams.get('since'), 'yesterday');
    assert.equal(await page.locator('#audit-since').inputValue(), 'yesterday', 'the field keeps what was typed');
    const alert = page.getByRole('alert');
    assert.equal(await alert.count(), 1);
    const reason = await text(alert);
    assert.match(reason, /\bsince\b/, `the alert names the field: "${reason}"`);
    assert.match(reason, /yesterday/, `and what was wrong in it: "${reason}"`);
    assert.equal(await page.locator('table#events').count(), 0, 'no events under a refused search');
    await checkAccessibility(page);
    await screenshot(page, 'audit-refused');
  });

  test('Verify the chain now: intact, every event counted', async () => {
    const page = await opened('/audit');
    const button = page.getByRole('button', { name: 'Verify the chain now' });
    assert.equal(
      await button.locator('xpath=ancestor::form[1]').locator('input[type="hidden"][name="csrf"]').count(),
      1,
      'its form holds the session\'s CSRF token',
    );
    const response = await press(page, button, '/audit/verify');
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), '/audit');
    const chain = page.locator('p#chain[role="status"]');
    const verdict = await text(chain);
    const counted = /^Intact: all (\d+) events verified at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.$/.exec(verdict);
    assert.ok(counted, `#chain reads "Intact: all N events verified at …": "${verdict}"`);
    const [[newest]] = await rows(page, 'table#events');
    assert.equal(Number(counted[1]), Number(newest), 'N is every event there is: the newest one\'s number');
    assert.equal(await chain.getAttribute('class'), 'verdict-allowed');
  });

  test('a release created, approved and promoted with the CLI is on the page, step by step', async () => {
    const page = await opened('/audit');
    const [[before]] = await rows(page, 'table#events');

    await server.ferryOk(['release', 'create', 'docs', '--version', '0.1.0']);
    await server.ferryOk(['approve', 'docs@0.1.0', '--env', 'dev', '--comment', 'Read it through.'], { token: rosaToken });
    const id = await deploy('docs@0.1.0', 'dev', 'succeeded');

    await page.reload();
    const shown = await rows(page, 'table#events');
    const story = shown.filter(([seq]) => Number(seq) > Number(before));
    assert.deepEqual(
      story.map(([, , actor, action, object]) => [actor, action, object]).filter(([, action]) => action !== 'deployment.status'),
      [
        ['admin', 'deployment.create', `deployment:${id}`],
        ['rosa', 'approval.approve', 'release:docs@0.1.0'],
        ['admin', 'release.create', 'release:docs@0.1.0'],
      ],
      'newest first, the promotion above the approval above the release',
    );
    const reports = story.filter(([, , , action]) => action === 'deployment.status');
    assert.ok(reports.length >= 1, 'the report is there too');
    assert.ok(reports.every(([, , actor, , object]) => actor === 'admin' && object === `deployment:${id}`), JSON.stringify(reports));
    assert.equal(story[0][3], 'deployment.status', 'the report is the newest');
    const approval = story.find(([, , , action]) => action === 'approval.approve');
    assert.match(approval[5], /Read it through\./, `the approval's details hold its comment: ${approval[5]}`);
  });

  // A service's page.

  test('a service\'s page, from the dashboard\'s row header: phases, releases and deployments', async () => {
    const page = await signedIn();
    await follow(page, page.locator('#matrix th[scope="row"] a', { hasText: /^api$/ }));
    assert.equal(pathOf(page), '/services/api');
    assert.equal(await text(page.locator('h1')), 'api');
    assert.equal(await text(page.locator('#lifecycle-heading')), 'Lifecycle default');

    // The lifecycle's phases in order, each environment with its version.
    const phases = page.locator('ol.phases > li.phase');
    assert.deepEqual(await texts(phases), ['dev 1.0.0', 'prod —']);
    const inDev = phases.first().locator('a.version');
    assert.equal(await inDev.getAttribute('href'), '/services/api/releases/1.0.0');

    // Releases newest first, with the furthest environment each reached.
    const releases = await rows(page, 'table#releases');
    assert.deepEqual(releases.map(([version, reached]) => [version, reached]), [['1.1.0', 'nowhere yet'], ['1.0.0', 'dev']]);
    for (const [, , , created] of releases) assert.match(created, MINUTE);
    assert.deepEqual(
      await page.locator('table#releases > tbody th a').evaluateAll((all) => all.map((a) => a.getAttribute('href'))),
      ['/services/api/releases/1.1.0', '/services/api/releases/1.0.0'],
    );

    // Deployments newest first, with their outcomes, each linking to its page.
    const failed = deployments['api@1.1.0'];
    const succeeded = deployments['api@1.0.0'];
    assert.deepEqual(
      (await rows(page, 'table#deployments')).map((cells) => cells.slice(0, 4)),
      [[String(failed), '1.1.0', 'dev', 'failed'], [String(succeeded), '1.0.0', 'dev', 'succeeded']],
    );
    const outcomes = page.locator('table#deployments > tbody .state');
    assert.deepEqual(await outcomes.evaluateAll((all) => all.map((s) => s.className)), ['state state-failed', 'state state-succeeded']);
    const link = page.locator('table#deployments > tbody > tr').first().getByRole('link', { name: String(failed) });
    assert.equal(await link.getAttribute('href'), `/deployments/${failed}`);
    await follow(page, link);
    assert.equal(pathOf(page), `/deployments/${failed}`);
    assert.equal(await text(page.locator('h1')), `Deployment ${failed}: api@1.1.0 to dev`);
  });

  test('an unknown service answers 404', async () => {
    const page = await signedIn();
    const response = await page.goto('/services/nosuch');
    assert.equal(response.status(), 404);
    assert.match(await text(page.getByRole('alert')), /nosuch/);
  });

  // Administration.

  test('Administration, from the navigation: users with their groups and grants, and the groups', async () => {
    const page = await signedIn();
    assert.ok((await navigation(page)).includes('Administration'), 'an administrator has the link');
    await follow(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Administration' }));
    assert.equal(pathOf(page), '/admin');
    assert.equal(await text(page.locator('h1')), 'Administration');

    assert.deepEqual(await rows(page, 'table#users'), [
      ['admin', '', '', 'admin (administrator)', 'enabled'],
      ['carol', '', '', '', 'enabled'],
      ['dana', '', '', '', 'enabled'],
      ['rosa', '', 'releasers', 'deployer in dev (group releasers); approver', 'enabled'],
      ['vic', '', '', 'viewer', 'enabled'],
    ]);
    assert.deepEqual(await texts(page.locator('ul#groups > li')), ['releasers: members: rosa; grants: deployer in dev']);
  });

  test('an agent never seen, revoked with its button; the CLI agrees', async () => {
    const page = await opened('/admin');
    assert.deepEqual(await rows(page, 'table#agents'), [['web-1', 'dev', '', 'never', 'Revoke web-1']]);
    const revoke = page.locator('table#agents').getByRole('button', { name: 'Revoke web-1' });
    const [agent] = (await server.json(['agent', 'list'])).items;
    assert.equal(agent.name, 'web-1');
    assert.equal(agent.revoked_at, null);

    const response = await press(page, revoke, `/admin/agents/${agent.id}/revoke`);
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), '/admin');
    assert.equal(new URL(page.url()).hash, '#agents-heading', 'back at the agents');
    assert.deepEqual(await rows(page, 'table#agents'), [['web-1', 'dev', '', 'never', 'revoked']]);
    assert.equal(await page.getByRole('button', { name: /^Revoke / }).count(), 0, 'no second Revoke');

    const [revoked] = (await server.json(['agent', 'list'])).items;
    assert.equal(revoked.id, agent.id);
    assert.ok(revoked.revoked_at, `ferry agent list says it is revoked: ${JSON.stringify(revoked)}`);
    const events = (await server.json(['audit', 'list'])).items.filter((event) => event.object === `agent:${agent.id}`);
    assert.deepEqual(events.map((event) => [event.actor, event.action]).slice(0, 1), [['admin', 'agent.revoke']], JSON.stringify(events));
  });

  test('every API token, with whom it belongs to and when it was last used', async () => {
    const page = await opened('/admin');
    const tokens = await rows(page, 'table#tokens');
    const [bootstrap] = tokens.filter(([, name]) => name === 'bootstrap');
    assert.ok(bootstrap, JSON.stringify(tokens));
    const [, , user, prefix, used, expires, state] = bootstrap;
    assert.equal(user, 'admin');
    assert.ok(prefix.length >= 6 && server.token.startsWith(prefix), `shows how the token starts, not all of it: ${prefix}`);
    assert.match(used, MINUTE, 'the CLI used it');
    assert.deepEqual([expires, state], ['never', 'live']);
    assert.deepEqual(
      tokens.filter(([, , owner]) => owner === 'vic').map((cells) => [cells[1], cells[4], cells[5], cells[6]]),
      [['first', 'never', 'never', 'live']],
      'vic\'s first token, never used',
    );
    assert.equal((await page.locator('table#tokens').textContent()).includes(server.token), false, 'no secret on the page');
  });

  test('a viewer has no Administration link and is refused /admin with 403', async () => {
    const page = await signedIn({}, { username: 'vic', password: VIC_PASSWORD });
    const links = await navigation(page);
    assert.ok(links.includes('Dashboard') && links.includes('Audit trail'), JSON.stringify(links));
    assert.equal(links.includes('Administration'), false, `no Administration for vic: ${JSON.stringify(links)}`);
    assert.equal(await page.locator('a[href="/admin"]').count(), 0);

    const response = await page.goto('/admin');
    assert.equal(response.status(), 403);
    assert.equal(await text(page.getByRole('alert')), 'Administration is for administrators (the admin role).');
    assert.equal(await page.locator('table#users, table#agents, table#tokens').count(), 0);
    await checkAccessibility(page);
    await screenshot(page, 'admin-refused');
  });

  // An invitation.

  test('carol sets her password with her invitation, signs in, and the link works only once', async () => {
    const { url, user } = await server.json(['user', 'invite', 'carol']);
    assert.equal(user, 'carol');
    assert.match(url, new RegExp(`^${server.url}/invitations/\\S+$`), url);

    // A fresh browser, signed in as nobody.
    const page = await browser.newPage({ baseURL: server.url });
    let response = await page.goto(url);
    assert.equal(response.status(), 200);
    assert.equal(await text(page.locator('h1')), 'Set your password, carol');
    assert.deepEqual(await navigation(page), [], 'no navigation for someone signed out');
    const form = page.locator('form[method="post"]');
    assert.equal(await form.locator('input#password[type="password"][autocomplete="new-password"]').count(), 1);
    assert.equal(await form.locator('input#again[type="password"][autocomplete="new-password"]').count(), 1);
    const submit = form.getByRole('button', { name: 'Set the password' });
    const invitation = new URL(url).pathname;

    // Two different passwords are refused, and nothing is used up.
    await page.locator('#password').fill(CAROL_PASSWORD);
    await page.locator('#again').fill(`${CAROL_PASSWORD}!`);
    response = await press(page, submit, invitation);
    assert.equal(response.status(), 422);
    assert.equal(await text(page.getByRole('alert')), 'The two passwords differ: type the same one twice.');
    await checkAccessibility(page);

    await page.locator('#password').fill(CAROL_PASSWORD);
    await page.locator('#again').fill(CAROL_PASSWORD);
    response = await press(page, submit, invitation);
    assert.equal(response.status(), 303);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(await text(page.locator('p.notice[role="status"]')), 'Your password is set: sign in with it.');
    assert.equal(await signInForm(page).form.count(), 1);

    response = await submitSignIn(page, { username: 'carol', password: CAROL_PASSWORD });
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), '/');
    assert.equal(await text(page.locator('.who')), 'carol');
    assert.equal((await navigation(page)).includes('Administration'), false);

    // The link is used up, for her and for anyone else.
    const again = await browser.newPage({ baseURL: server.url });
    response = await again.goto(url);
    assert.equal(response.status(), 404);
    const reason = await text(again.getByRole('alert'));
    assert.match(reason, /used already or expired/, reason);
    assert.equal(await again.locator('input#password').count(), 0, 'no form any more');
    await checkAccessibility(again);
    await screenshot(again, 'invitation-used');
  });

  // The dashboard's lists.

  test('the dashboard lists what is under way, what waits to move on, and the changes to decide', async () => {
    const page = await signedIn();
    const running = deployments['web@2.0.0'];

    assert.equal(await text(page.locator('#moving-heading')), 'Under way');
    assert.deepEqual(await texts(page.locator('ul#moving > li')), ['web@2.0.0 to dev running']);
    const moving = page.locator('ul#moving > li').first();
    assert.equal(await moving.getByRole('link').getAttribute('href'), `/deployments/${running}`);
    assert.equal(await moving.locator('.state').getAttribute('class'), 'state state-running');

    assert.equal(await text(page.locator('#pending-heading')), 'Waiting to move on');
    const pending = await texts(page.locator('ul#pending > li'));
    assert.equal(pending.length, 1, JSON.stringify(pending));
    assert.ok(pending[0].startsWith('api@1.0.0: in dev, not yet in prod'), `api@1.0.0 waits for prod: "${pending[0]}"`);
    const waiting = page.locator('ul#pending > li').first();
    assert.equal(await waiting.getByRole('link', { name: 'api@1.0.0' }).getAttribute('href'), '/services/api/releases/1.0.0');
    // Nothing holds it back: prod asks for nothing more.
    assert.equal(await text(waiting.locator('span.may')), '— may be promoted');
    assert.equal(await waiting.locator('span.blocked').count(), 0);

    assert.equal(await text(page.locator('#changes-heading')), 'Changes needing a decision');
    assert.deepEqual(await texts(page.locator('ul#changes > li')), [`#1 ${CHANGE} (api in prod, submitted)`], 'the draft waits for no one');
  });

  // Every page in every look.

  test('on a phone, the sideways check sees a page wider than the phone', async () => {
    // Chromium zooms a phone's page out to fit what is too wide: the check
    // must still see it, or every phone check below would pass regardless.
    const page = await browser.newPage({ viewport: 'phone', baseURL: server.url });
    await page.goto('/login');
    assert.equal(await scrollsSideways(page), false, '/login fits a phone');
    await page.evaluate(() => {
      const wide = document.createElement('div');
      wide.id = 'too-wide';
      wide.style.width = '600px';
      wide.textContent = 'wider than a phone';
      document.body.append(wide);
    });
    assert.equal(await scrollsSideways(page), true, 'a 600 px wide element makes a 390 px phone scroll sideways');
  });

  const PAGES = [
    { name: 'audit', path: '/audit', ready: 'table#events' },
    { name: 'service', path: '/services/api', ready: 'table#deployments' },
    { name: 'admin', path: '/admin', ready: 'table#tokens' },
    { name: 'dashboard-lists', path: '/', ready: 'ul#changes' },
    { name: 'invitation', path: null, ready: 'input#again' },
  ];

  for (const { name, path, ready } of PAGES) {
    for (const look of LOOKS) {
      test(`${path ?? 'an invitation'} on a ${look.viewport} in ${look.colorScheme}: screenshot and accessibility`, async (t) => {
        let page;
        if (path === null) {
          page = await browser.newPage({ ...look, baseURL: server.url });
          const response = await page.goto(danaInvitation);
          assert.equal(response.status(), 200);
        } else {
          page = await opened(path, look);
        }
        await page.locator(ready).waitFor();
        await screenshot(page, name);
        const { violations } = await checkAccessibility(page);
        if (violations.length > 0) t.diagnostic(`minor or moderate: ${describeViolations(violations)}`);
        if (look.viewport === 'phone') {
          const [wide, viewport] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
          assert.equal(
            await scrollsSideways(page),
            false,
            `${path ?? 'an invitation'} fits a phone's width (tables may scroll inside it): ${wide} px wide on a ${viewport} px phone`,
          );
        }
      });
    }
  }
});
