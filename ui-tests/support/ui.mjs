// What the stories of the web UI share: giving a user a web password with
// the CLI, signing in through the form, and reading where a request is sent.

import assert from 'node:assert/strict';

/** The password the stories give the bootstrap `admin` user. */
export const ADMIN_PASSWORD = 'a long and correct password, 42';

/** `ferry user password NAME`, the new password on standard input. */
export async function setPassword(server, user, password) {
  return server.ferryOk(['user', 'password', user], { stdin: `${password}\n` });
}

/** The sign-in form's parts, by the names the pages promise. */
export function signInForm(page) {
  const form = page.locator('form[method="post"][action="/login"]');
  return {
    form,
    username: form.locator('input#username[name="username"]'),
    password: form.locator('input#password[name="password"][type="password"]'),
    csrf: form.locator('input[type="hidden"]'),
    submit: form.locator('button[type="submit"]', { hasText: 'Sign in' }),
  };
}

/**
 * Fills and sends the sign-in form on the page's current /login page;
 * answers the response to the POST (the redirect, when it is one).
 */
export async function submitSignIn(page, { username = 'admin', password }) {
  const form = signInForm(page);
  await form.username.fill(username);
  await form.password.fill(password);
  const posted = page.waitForResponse(
    (response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/login',
  );
  // The next document to load is the answer's (or where it redirects).
  const loaded = page.waitForEvent('load');
  await form.submit.click();
  const response = await posted;
  await loaded;
  return response;
}

/** Opens /login and signs in; ends on the dashboard. */
export async function signIn(page, { username = 'admin', password = ADMIN_PASSWORD } = {}) {
  await page.goto('/login');
  await submitSignIn(page, { username, password });
  await page.waitForURL((url) => url.pathname === '/');
}

/** Where a request is sent without following it: { status, location } (location as path and query). */
export async function redirectOf(server, path, headers = {}) {
  const response = await fetch(new URL(path, server.url), { redirect: 'manual', headers });
  const location = response.headers.get('location');
  const target = location === null ? null : new URL(location, server.url);
  if (target !== null) {
    assert.equal(target.origin, server.url, `a redirect stays on the server: ${location}`);
  }
  return { status: response.status, location: target === null ? null : target.pathname + target.search };
}

/** The page's path and query. */
export function pathOf(page) {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

/**
 * Whether the page scrolls sideways (wider than its viewport). Measured
 * against the layout viewport (the root's clientWidth): on a phone
 * (`isMobile`), Chromium zooms out to fit a page that is too wide, and
 * window.innerWidth grows with it.
 */
export async function scrollsSideways(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
}
