// Signing in to the web UI with a password, and signing out.
//
// The admin is given a password with `ferry user password admin`; a wrong
// password is refused on /login, the right one lands on the dashboard (or the
// page that asked for it), signing out ends the session, and an API token is
// never a web session.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, LOOKS, screenshot, startBrowser } from '../support/browser.mjs';
import { startServer } from '../support/server.mjs';
import {
  ADMIN_PASSWORD,
  pathOf,
  redirectOf,
  scrollsSideways,
  setPassword,
  signIn,
  signInForm,
  submitSignIn,
} from '../support/ui.mjs';

const REDIRECTS = [302, 303, 307];

describe('signing in with a password', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    await setPassword(server, 'admin', ADMIN_PASSWORD);
    browser = await startBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const newPage = (look = {}) => browser.newPage({ ...look, baseURL: server.url });

  test('signed out, the dashboard sends the browser to /login?next=%2F', async () => {
    const sent = await redirectOf(server, '/');
    assert.ok(REDIRECTS.includes(sent.status), `GET / answers a redirect, not ${sent.status}`);
    assert.equal(sent.location, '/login?next=%2F');

    const page = await newPage();
    await page.goto('/');
    assert.equal(pathOf(page), '/login?next=%2F');
  });

  test('/login shows the sign-in form', async () => {
    const page = await newPage();
    const response = await page.goto('/login');
    assert.equal(response.status(), 200);
    const form = signInForm(page);
    assert.equal(await form.form.count(), 1, 'one <form method="post" action="/login">');
    assert.equal(await form.username.count(), 1, '<input id="username" name="username">');
    assert.equal(await form.password.count(), 1, '<input id="password" name="password" type="password">');
    assert.equal(await form.submit.count(), 1, '<button type="submit">Sign in</button>');
    assert.equal((await form.submit.textContent()).trim(), 'Sign in');
    const hidden = await form.csrf.evaluateAll((inputs) => inputs.map((input) => input.value));
    assert.ok(hidden.some((value) => value.length >= 16), `a hidden CSRF token in the form: ${JSON.stringify(hidden)}`);
  });

  test('a wrong password is refused on /login with an alert', async () => {
    const page = await newPage();
    await page.goto('/login');
    const response = await submitSignIn(page, { password: 'not the password' });
    assert.equal(new URL(page.url()).pathname, '/login', `a refused sign-in stays on /login (answered ${response.status()})`);
    const alert = page.getByRole('alert');
    await alert.first().waitFor();
    const text = (await alert.first().textContent()).trim();
    assert.ok(text.length > 0, 'the alert says what went wrong');
    await checkAccessibility(page);
    await screenshot(page, 'login-refused');

    // Still signed out.
    await page.goto('/');
    assert.equal(pathOf(page), '/login?next=%2F');
  });

  test('the right password lands on the dashboard with a 303', async () => {
    const page = await newPage();
    await page.goto('/');
    const response = await submitSignIn(page, { password: ADMIN_PASSWORD });
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), '/');
    assert.equal((await page.locator('h1').first().textContent()).trim(), 'Dashboard');
  });

  test('signing in goes back to the page that asked for it', async () => {
    const page = await newPage();
    await page.goto('/?service=api');
    const login = new URL(page.url());
    assert.equal(login.pathname, '/login');
    assert.equal(login.searchParams.get('next'), '/?service=api');
    const response = await submitSignIn(page, { password: ADMIN_PASSWORD });
    assert.equal(response.status(), 303);
    assert.equal(pathOf(page), '/?service=api');
  });

  test('signing out ends the session', async () => {
    const page = await newPage();
    await signIn(page);
    const cookies = await page.context().cookies();
    assert.ok(cookies.length > 0, 'signing in sets a session cookie');

    const signOut = page.locator('form[method="post"][action="/logout"]').getByRole('button', { name: 'Sign out' });
    assert.equal(await signOut.count(), 1, 'a "Sign out" button in <form method="post" action="/logout">');
    const posted = page.waitForResponse(
      (response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/logout',
    );
    const loaded = page.waitForEvent('load');
    await signOut.click();
    assert.ok((await posted).status() < 400, 'signing out is accepted');
    await loaded;
    await page.goto('/');
    assert.equal(pathOf(page), '/login?next=%2F');

    // The session is over on the server too: its old cookie no longer opens
    // the dashboard.
    const replay = await newPage();
    await replay.context().addCookies(cookies);
    await replay.goto('/');
    assert.equal(pathOf(replay), '/login?next=%2F');
  });

  test('an API token is not a web session', async () => {
    const sent = await redirectOf(server, '/', { authorization: `Bearer ${server.token}` });
    assert.ok(REDIRECTS.includes(sent.status), `GET / with only a bearer token answers a redirect, not ${sent.status}`);
    assert.equal(sent.location, '/login?next=%2F');
  });

  for (const look of LOOKS) {
    test(`/login on a ${look.viewport} in ${look.colorScheme}: screenshot and accessibility`, async () => {
      const page = await newPage(look);
      await page.goto('/login');
      await signInForm(page).form.waitFor();
      await screenshot(page, 'login');
      await checkAccessibility(page);
      if (look.viewport === 'phone') {
        assert.equal(await scrollsSideways(page), false, '/login fits a phone\'s width');
      }
    });
  }
});
