// Signing in with the organisation's OpenID Connect provider.
//
// A provider runs on loopback (support/oidc-provider.mjs: discovery, a
// sign-in page, the token endpoint with client_secret_basic and PKCE, its
// keys). ferry.toml's [oidc] names it, the client secret comes from an
// environment variable of `ferry serve`, and the provider's group
// `release-team` maps to ferry's group `release-managers`, which approves.
// carol has never been to ferry: she clicks the button on /login, signs in
// at the provider, and lands on the page she wanted, as herself, an
// approver by her group. A person the provider refuses is told so.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, LOOKS, screenshot, startBrowser } from '../support/browser.mjs';
import { REFUSING_USER, startOidcProvider } from '../support/oidc-provider.mjs';
import { startServer } from '../support/server.mjs';
import { pathOf } from '../support/ui.mjs';

const CLIENT_ID = 'ferry-ui-tests';
const CLIENT_SECRET = 'a secret: shared with + the provider';

const CONFIG = (issuer) => `
[[environment]]
name = "dev"
tier = "development"
policy = { approvals = 1 }

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"

[oidc]
issuer = "${issuer}"
client_id = "${CLIENT_ID}"
client_secret_env = "FERRY_OIDC_CLIENT_SECRET"
label = "Test provider"

[oidc.groups]
"release-team" = "release-managers"
`;

describe('signing in with an OpenID Connect provider', () => {
  let provider;
  let server;
  let browser;

  before(async () => {
    provider = await startOidcProvider({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      users: { carol: { email: 'carol@example.com', name: 'Carol', groups: ['release-team', 'cooks'] } },
    });
    server = await startServer(undefined, { env: { FERRY_OIDC_CLIENT_SECRET: CLIENT_SECRET } });
    await server.ferryOk(['group', 'create', 'release-managers']);
    await server.ferryOk(['role', 'grant', 'approver', '--group', 'release-managers']);
    await server.apply(CONFIG(provider.issuer));
    await server.ferryOk(['release', 'create', 'api', '--version', '1.0.0']);
    browser = await startBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await provider?.close();
  });

  const newPage = (look = {}) => browser.newPage({ ...look, baseURL: server.url });

  test('the sign-in page offers the provider, in every look', async () => {
    for (const look of LOOKS) {
      const page = await newPage(look);
      await page.goto('/login');
      const button = page.getByRole('link', { name: 'Sign in with Test provider' });
      assert.equal(await button.count(), 1, 'a "Sign in with Test provider" link on /login');
      await checkAccessibility(page);
      await screenshot(page, 'login-oidc');
      await page.close();
    }
  });

  test('carol signs in at the provider and lands where she was going, as an approver', async () => {
    const page = await newPage();
    await page.goto('/services/api/releases/1.0.0');
    assert.equal(pathOf(page), '/login?next=%2Fservices%2Fapi%2Freleases%2F1.0.0');
    await page.getByRole('link', { name: 'Sign in with Test provider' }).click();

    // At the provider.
    await page.getByRole('heading', { name: 'Test provider' }).waitFor();
    assert.ok(page.url().startsWith(`${provider.issuer}/authorize?`), page.url());
    const asked = new URL(page.url()).searchParams;
    assert.equal(asked.get('code_challenge_method'), 'S256');
    assert.equal(asked.get('redirect_uri'), `${server.url}/login/oidc/callback`);
    await checkAccessibility(page);
    await page.getByLabel('Username').fill('carol');
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Back at ferry, signed in, on the page she asked for.
    await page.waitForURL(`${server.url}/services/api/releases/1.0.0`);
    assert.ok((await page.locator('header').textContent()).includes('carol'), 'carol is signed in');
    const approve = page.getByRole('button', { name: 'Approve' });
    assert.ok((await approve.count()) >= 1, 'her group makes her an approver: the Approve button is there');
    assert.ok(
      provider.requests.some((request) => request.method === 'POST' && request.path === '/token'),
      'ferry exchanged the code at the token endpoint',
    );
    await screenshot(page, 'release-signed-in-with-oidc');

    // ferry made her, in the mapped group only, and audited it.
    const groups = JSON.parse((await server.ferryOk(['group', 'list', '--output', 'json'])).stdout);
    const managers = groups.items.find((group) => group.name === 'release-managers');
    assert.deepEqual(managers.members, ['carol']);
    await page.goto('/audit?actor=oidc');
    const trail = await page.locator('main').textContent();
    assert.ok(trail.includes('user.create') && trail.includes('group.add'), trail);
  });

  test('a person the provider refuses is told so and stays signed out', async () => {
    const page = await newPage();
    await page.goto('/login');
    await page.getByRole('link', { name: 'Sign in with Test provider' }).click();
    await page.getByLabel('Username').fill(REFUSING_USER);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.first().waitFor();
    const said = (await alert.first().textContent()).trim();
    assert.ok(said.includes('The provider did not sign you in: The user refused'), said);
    await checkAccessibility(page);
    await page.goto('/');
    assert.equal(pathOf(page), '/login?next=%2F', 'still signed out');
  });
});
