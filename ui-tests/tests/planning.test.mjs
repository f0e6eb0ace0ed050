// A release's plan page: the milestones on a time line with today among
// them, the tasks with their dates, and the forms that move a task, add a
// task or a milestone, record a milestone reached and set the go-live date;
// and a service's page walking its whole deployment history.
//
// The server gets dev and staging and a plan template, `standard`, which
// `api` names: a new release of api gets its plan from it, dated from
// `ferry release create … --go-live`. api@1.0.0 goes live in three days, so
// the code freeze (a week before) is past and overdue, and the QA sign-off
// (for the group qa, required before dev) holds dev until it is done.
// vic, a viewer in the group qa, moves that task through the form as its
// assignee; the admin (who manages plans) does the rest. `web` has no
// template: its release has no plan, and it is deployed (by another tool,
// which reports) more often than the service page lists at once.

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
name = "staging"
tier = "staging"

[lifecycle.default]
phases = [["dev"], ["staging"]]

[[plan_template]]
name = "standard"
milestones = [
  { name = "code freeze", at = "-7d" },
  { name = "QA sign-off", at = "-1d" },
  { name = "go-live", at = "0d" },
]
tasks = [
  { title = "Freeze the branch", assignee = "admin", due = "-7d" },
  { title = "QA sign-off", assignee = "group:qa", due = "-1d", required_before = "dev" },
  { title = "Announce the release", assignee = "rosa", due = "0d", link = "https://wiki.example.com/announce" },
]

[[service]]
name = "api"
plan_template = "standard"

[[service]]
name = "web"
`;

const PLAN = '/services/api/releases/1.0.0/plan';
const VIC_PASSWORD = 'vic signs off on quality 5';

/** How many deployments the service page lists at once. */
const LISTED = 50;

const DAY_MS = 86_400_000;

/** The day `offset` days from today (UTC), as the page writes it: 2027-03-10. */
function day(offset) {
  const now = new Date();
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(midnight + offset * DAY_MS).toISOString().slice(0, 10);
}

const GO_LIVE = day(3);

/** An element's text, its white space collapsed. */
async function text(locator) {
  return (await locator.textContent()).replace(/\s+/g, ' ').trim();
}

/** The texts of the elements `locator` finds, each collapsed. */
async function texts(locator) {
  return locator.evaluateAll((all) => all.map((element) => element.textContent.replace(/\s+/g, ' ').trim()));
}

/** The `<li class="task">` titled `title`, which must be the only one. */
async function task(page, title) {
  const item = page.locator('#tasks > li.task').filter({ has: page.getByRole('heading', { name: title, exact: true }) });
  assert.equal(await item.count(), 1, `one task titled "${title}"`);
  return item;
}

/** The time line's `<li>` named `name`. */
async function point(page, name) {
  const item = page.locator('#timeline > li').filter({ has: page.locator('.name', { hasText: new RegExp(`^${name}$`) }) });
  assert.equal(await item.count(), 1, `one point "${name}" on the time line`);
  return item;
}

/**
 * Clicks `button` (a submit button of a form that posts) and waits for the
 * POST's answer and the next document; answers the POST's response (the
 * redirect, when it is one).
 */
async function press(page, button) {
  const posted = page.waitForResponse((response) => response.request().method() === 'POST');
  const loaded = page.waitForEvent('load');
  await button.click();
  const response = await posted;
  await loaded;
  return response;
}

/** Follows a link as a person would, waiting for the next document. */
async function follow(page, link) {
  const loaded = page.waitForEvent('load');
  await link.click();
  await loaded;
}

describe('a release plan and a service\'s whole history', () => {
  let server;
  let browser;
  /** web's deployments, newest first. */
  let history = [];

  before(async () => {
    server = await startServer();
    await server.apply(CONFIG);
    await server.ferryOk(['release', 'create', 'api', '--version', '1.0.0', '--go-live', GO_LIVE]);
    await server.ferryOk(['release', 'create', 'web', '--version', '1.0.0']);
    await server.ferryOk(['user', 'create', 'vic']);
    await server.ferryOk(['role', 'grant', 'viewer', '--user', 'vic']);
    await server.ferryOk(['group', 'create', 'qa']);
    await server.ferryOk(['group', 'add', 'qa', 'vic']);
    await setPassword(server, 'vic', VIC_PASSWORD);
    await setPassword(server, 'admin', ADMIN_PASSWORD);
    // More deployments of web than its page lists at once.
    for (let i = 0; i < LISTED + 2; i += 1) {
      const deployment = await server.json(['promote', 'web@1.0.0', '--to', 'dev']);
      await server.ferryOk(['deploy', 'report', String(deployment.id), '--status', 'succeeded']);
      history.unshift(deployment.id);
    }
    browser = await startBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A page signed in as `username` (the admin unless told), on the dashboard. */
  async function signedIn(look = {}, username = 'admin') {
    const page = await browser.newPage({ ...look, baseURL: server.url });
    const password = username === 'admin' ? ADMIN_PASSWORD : VIC_PASSWORD;
    await signIn(page, { username, password });
    return page;
  }

  /** A page signed in as `username` on `path`, which answers 200. */
  async function opened(path, look = {}, username = 'admin') {
    const page = await signedIn(look, username);
    const response = await page.goto(path);
    assert.equal(response.status(), 200, `GET ${path}`);
    return page;
  }

  /** `ferry check api@1.0.0 --to dev --output json`: its exit code and the blockers' codes. */
  async function check() {
    const run = await server.ferry(['check', 'api@1.0.0', '--to', 'dev', '--output', 'json']);
    const verdict = JSON.parse(run.stdout);
    return { code: run.code, blockers: verdict.blockers.map((blocker) => blocker.code) };
  }

  test('the release page links to its plan: milestones on a time line with today, and the tasks with their dates', async () => {
    const page = await opened('/services/api/releases/1.0.0');
    const link = page.locator('p#plan').getByRole('link', { name: 'Release plan' });
    assert.equal(await link.getAttribute('href'), PLAN);
    assert.match(await text(page.locator('p#plan')), new RegExp(`go-live ${GO_LIVE} · 3 of 3 tasks open · \\d+ overdue`));
    await follow(page, link);
    assert.equal(pathOf(page), PLAN);
    assert.equal(await text(page.locator('h1')), 'Plan of api@1.0.0');
    assert.equal(await text(page.locator('#owner')), 'admin');
    assert.equal(await text(page.locator('#go-live')), GO_LIVE);
    assert.equal(await page.locator('#go-live time').getAttribute('datetime'), `${GO_LIVE}T00:00:00+00:00`);

    // By date, today among them: after the code freeze, before the rest.
    assert.deepEqual(await texts(page.locator('#timeline > li .name')), ['code freeze', 'Today', 'QA sign-off', 'go-live']);
    assert.deepEqual(
      await texts(page.locator('#timeline > li .when time')),
      [day(-4), day(0), day(2), GO_LIVE],
      'each with its date',
    );
    const today = page.locator('#timeline > li#today');
    assert.equal(await today.getAttribute('aria-current'), 'date');
    const freeze = await point(page, 'code freeze');
    assert.equal(await text(freeze.locator('.status')), 'not reached overdue', 'overdue in words, not only in colour');
    assert.equal(await text(freeze.locator('.relative')), '4 days ago');
    const signOff = await point(page, 'QA sign-off');
    assert.equal(await text(signOff.locator('.status')), 'not reached');
    assert.equal(await text(signOff.locator('.relative')), 'in 2 days');

    // Tasks by due date, each with its assignee, date, state and more.
    assert.deepEqual(
      await texts(page.locator('#tasks > li.task h3')),
      ['Freeze the branch', 'QA sign-off', 'Announce the release'],
    );
    const frozen = await task(page, 'Freeze the branch');
    assert.equal(await text(frozen.locator('.task-state .state')), 'todo');
    assert.equal(await text(frozen.locator('.task-state .flag-overdue')), 'overdue');
    assert.equal(await text(frozen.locator('.due')), day(-4));
    const qa = await task(page, 'QA sign-off');
    assert.equal(await text(qa.locator('.assignee')), 'group:qa');
    assert.equal(await text(qa.locator('.due')), day(2));
    assert.equal(await text(qa.locator('.required-before')), 'dev');
    assert.equal(await qa.locator('.flag-overdue').count(), 0, 'not overdue');
    const announce = await task(page, 'Announce the release');
    assert.equal(await text(announce.locator('.assignee')), 'rosa');
    assert.equal(await text(announce.locator('.due')), GO_LIVE);
    assert.equal(await announce.locator('.link a').getAttribute('href'), 'https://wiki.example.com/announce');
    assert.equal(await text(page.locator('#overdue')), '2 overdue', 'the code freeze and the branch');
    await screenshot(page, 'plan-overdue');

    // The admin manages plans: every form.
    for (const name of ['Set the go-live date', 'Add the task', 'Add the milestone']) {
      assert.equal(await page.getByRole('button', { name }).count(), 1, name);
    }
    assert.equal(await page.getByRole('button', { name: 'Mark reached' }).count(), 3);
  });

  test('the QA sign-off holds dev: ferry check and the release page say so', async () => {
    const before = await check();
    assert.equal(before.code, 3, 'blocked');
    assert.deepEqual(before.blockers, ['task-required']);
    const page = await opened('/services/api/releases/1.0.0');
    const dev = page.locator('article.stage').filter({ has: page.locator('h3#stage-dev') });
    assert.equal(await text(dev.locator('.verdict')), 'Blocked:');
    assert.match(await text(dev.locator('ul.blockers')), /task \d+ "QA sign-off" of the plan must be done before dev/);
  });

  test('vic, of the group qa, starts and finishes the QA sign-off through the form; the blocker clears', async () => {
    const page = await opened(PLAN, {}, 'vic');
    // Only the task assigned to vic's group may be moved by vic.
    const qa = await task(page, 'QA sign-off');
    assert.deepEqual(await texts(qa.getByRole('button')), ['Start', 'Mark done', 'Skip']);
    for (const title of ['Freeze the branch', 'Announce the release']) {
      assert.equal(await (await task(page, title)).getByRole('button').count(), 0, `vic may not move "${title}"`);
    }
    for (const name of ['Set the go-live date', 'Add the task', 'Add the milestone', 'Mark reached']) {
      assert.equal(await page.getByRole('button', { name }).count(), 0, `vic has no "${name}"`);
    }

    let response = await press(page, qa.getByRole('button', { name: 'Start' }));
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), `${PLAN}?done=started`);
    assert.equal(await text(page.getByRole('status')), 'Task started.');
    let moved = await task(page, 'QA sign-off');
    assert.equal(await text(moved.locator('.task-state .state')), 'in progress');
    assert.match(await text(moved.locator('.updated')), /^Last changed by vic at /);
    assert.deepEqual(await texts(moved.getByRole('button')), ['Mark done', 'Skip', 'Reopen']);
    assert.equal((await check()).code, 3, 'in progress is not done');

    response = await press(page, moved.getByRole('button', { name: 'Mark done' }));
    assert.equal(response.status(), 303);
    assert.equal(await text(page.getByRole('status')), 'Task done.');
    moved = await task(page, 'QA sign-off');
    assert.equal(await text(moved.locator('.task-state .state')), 'done');
    assert.deepEqual(await texts(moved.getByRole('button')), ['Reopen'], 'a finished task may be reopened, with a reason');
    await checkAccessibility(page);

    const after = await check();
    assert.equal(after.code, 0, 'ferry check: nothing holds dev any more');
    assert.deepEqual(after.blockers, []);
    await page.goto('/services/api/releases/1.0.0');
    const dev = page.locator('article.stage').filter({ has: page.locator('h3#stage-dev') });
    assert.equal(await text(dev.locator('.verdict')), 'May be promoted.');
    assert.equal(await dev.locator('ul.blockers').count(), 0);

    const events = (await server.json(['audit', 'list', '--actor', 'vic'])).items.filter((e) => e.action === 'plan.task.move');
    assert.equal(events.length, 2, JSON.stringify(events));
  });

  test('vic may not move someone else\'s task, even with a forged form: 403', async () => {
    const page = await opened(PLAN, {}, 'vic');
    const csrf = await page.locator('form[action="/logout"] input[name="csrf"]').inputValue();
    const { id } = (await server.json(['plan', 'show', 'api@1.0.0'])).tasks.find((t) => t.title === 'Announce the release');
    const posted = page.waitForResponse((response) => response.request().method() === 'POST');
    const loaded = page.waitForEvent('load');
    await page.evaluate(({ action, csrf }) => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = action;
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = 'csrf';
      input.value = csrf;
      form.append(input);
      document.body.append(form);
      form.submit();
    }, { action: `/tasks/${id}/start`, csrf });
    const response = await posted;
    await loaded;
    assert.equal(response.status(), 403);
    assert.match(await text(page.getByRole('alert')), /vic may not move task \d+: it is not assigned to them \(rosa\)/);
    const still = (await server.json(['plan', 'show', 'api@1.0.0'])).tasks.find((t) => t.id === id);
    assert.equal(still.state, 'todo');
  });

  test('the admin skips a task with a reason, adds a task and a milestone, marks the code freeze reached and moves the go-live', async () => {
    const page = await opened(PLAN);
    let announce = await task(page, 'Announce the release');
    await announce.getByLabel('Reason to skip').fill('Announced together with web 1.0.0');
    let response = await press(page, announce.getByRole('button', { name: 'Skip' }));
    assert.equal(response.status(), 303);
    assert.equal(await text(page.getByRole('status')), 'Task skipped.');
    announce = await task(page, 'Announce the release');
    assert.equal(await text(announce.locator('.task-state .state')), 'skipped');
    assert.equal(await text(announce.locator('.reason')), 'Announced together with web 1.0.0');

    const form = page.locator('form#add-task');
    await form.getByLabel('Title').fill('Rotate the keys');
    await form.getByLabel('Assignee').fill('group:ops');
    await form.getByLabel('Due').fill(day(1));
    await form.getByLabel('Required before').selectOption('staging');
    await form.getByLabel('Link').fill('https://wiki.example.com/keys');
    response = await press(page, form.getByRole('button', { name: 'Add the task' }));
    assert.equal(response.status(), 303);
    assert.equal(await text(page.getByRole('status')), 'Task added.');
    const keys = await task(page, 'Rotate the keys');
    assert.equal(await text(keys.locator('.due')), day(1));
    assert.equal(await text(keys.locator('.required-before')), 'staging');
    assert.equal(await text(keys.locator('.assignee')), 'group:ops');

    const milestone = page.locator('form#add-milestone');
    await milestone.getByLabel('Name').fill('load test');
    await milestone.getByLabel('Date').fill(day(1));
    response = await press(page, milestone.getByRole('button', { name: 'Add the milestone' }));
    assert.equal(response.status(), 303);
    assert.deepEqual(await texts(page.locator('#timeline > li .name')), ['code freeze', 'Today', 'load test', 'QA sign-off', 'go-live']);

    response = await press(page, (await point(page, 'code freeze')).getByRole('button', { name: 'Mark reached' }));
    assert.equal(response.status(), 303);
    assert.equal(await text(page.getByRole('status')), 'Milestone reached.');
    const freeze = await point(page, 'code freeze');
    assert.match(await text(freeze.locator('.status')), new RegExp(`^reached ${day(0)} \\d\\d:\\d\\d UTC by admin$`));
    assert.equal(await freeze.locator('.flag-overdue').count(), 0, 'reached is not overdue');

    // A week later: the template's dates follow, the ones added by hand stay.
    await page.locator('#go-live-date').fill(day(10));
    response = await press(page, page.getByRole('button', { name: 'Set the go-live date' }));
    assert.equal(response.status(), 303);
    assert.match(await text(page.getByRole('status')), /^Go-live date set/);
    assert.equal(await text(page.locator('#go-live')), day(10));
    assert.deepEqual(await texts(page.locator('#timeline > li .name')), ['Today', 'load test', 'code freeze', 'QA sign-off', 'go-live']);
    assert.equal(await text((await point(page, 'code freeze')).locator('time').first()), day(3));
    assert.equal(await text((await point(page, 'load test')).locator('time').first()), day(1));
    assert.equal(await text((await task(page, 'QA sign-off')).locator('.due')), day(9));

    const plan = await server.json(['plan', 'show', 'api@1.0.0']);
    assert.equal(plan.go_live, `${day(10)}T00:00:00Z`);
    assert.equal(plan.tasks.length, 4);
  });

  test('a release without a plan says so, and its plan page answers 404 with a sentence', async () => {
    const page = await opened('/services/web/releases/1.0.0');
    assert.equal(await text(page.locator('p#plan')), 'It has no release plan (ferry plan create web@1.0.0 makes one).');
    const response = await page.goto('/services/web/releases/1.0.0/plan');
    assert.equal(response.status(), 404);
    assert.equal(
      await text(page.getByRole('alert')),
      'web@1.0.0 has no plan; make one with `ferry plan create web@1.0.0`',
    );
    await checkAccessibility(page);
  });

  test('the service page lists the newest deployments, and "Older deployments" walks back to the first', async () => {
    const page = await opened('/services/web');
    const ids = async () => (await texts(page.locator('table#deployments > tbody > tr > th'))).map(Number);
    assert.deepEqual(await ids(), history.slice(0, LISTED), 'the newest first');
    assert.equal(await page.getByRole('link', { name: 'Newest deployments' }).count(), 0);
    const older = page.getByRole('link', { name: 'Older deployments' });
    assert.equal(await older.getAttribute('rel'), 'next');
    await follow(page, older);
    const url = new URL(page.url());
    assert.equal(url.pathname, '/services/web');
    assert.equal(url.searchParams.get('before'), String(history[LISTED - 1]), 'kept in the address');
    assert.deepEqual(await ids(), history.slice(LISTED), 'the rest, down to the first');
    assert.equal(await page.getByRole('link', { name: 'Older deployments' }).count(), 0, 'and no further');
    await follow(page, page.getByRole('link', { name: 'Newest deployments' }));
    assert.deepEqual(await ids(), history.slice(0, LISTED));
  });

  // Every look of the plan (as its manager sees it, every form shown) and
  // of an older page of the service's deployments.
  const PAGES = [
    { name: 'plan', path: PLAN, ready: '#timeline' },
    { name: 'service-older', path: null, ready: 'table#deployments' },
  ];
  for (const { name, path, ready } of PAGES) {
    for (const look of LOOKS) {
      test(`${name} on a ${look.viewport} in ${look.colorScheme}: screenshot and accessibility`, async (t) => {
        const page = await opened(path ?? `/services/web?before=${history[LISTED - 1]}`, look);
        await page.locator(ready).waitFor();
        await screenshot(page, name);
        const { violations } = await checkAccessibility(page);
        if (violations.length > 0) t.diagnostic(`minor or moderate: ${describeViolations(violations)}`);
        if (look.viewport === 'phone') {
          assert.equal(await scrollsSideways(page), false, `${name} fits a phone's width`);
        }
      });
    }
  }
});
