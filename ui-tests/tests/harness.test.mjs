// The harness itself: a real ferry serve starts and stops, the CLI reaches it,
// Chromium opens its pages, screenshots are written, axe-core runs and fails
// on what it should. Independent of the web UI's pages.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { checkAccessibility, screenshot, startBrowser } from '../support/browser.mjs';
import { freePort, startServer } from '../support/server.mjs';

const ACCESSIBLE = '<html lang="en"><head><title>t</title></head><body><main><h1>t</h1></main></body></html>';

// An image without a text alternative and an unnamed button: critical
// violations (image-alt, button-name).
const INACCESSIBLE =
  '<html lang="en"><head><title>t</title></head><body><main><h1>t</h1>' +
  '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><button></button></main></body></html>';

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

test('freePort answers a port nobody listens on', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  assert.equal(await listening(port), false);
});

test('a server starts, answers the CLI, and is gone with its folder once stopped', async () => {
  const server = await startServer();
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(server.token, /^ferry_/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);

    // The CLI talks to this server as the bootstrap admin.
    const me = await server.json(['whoami']);
    assert.equal(JSON.stringify(me).includes('admin'), true, JSON.stringify(me));

    // A bad token is refused: the token option is what the CLI sends.
    const refused = await server.ferry(['whoami'], { token: 'ferry_not_a_token' });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /^error:/m);

    // A configuration read from standard input.
    await server.ferryOk(['apply', '-f', '-'], {
      stdin: [
        '[[environment]]', 'name = "dev"', 'tier = "development"',
        '[lifecycle.default]', 'phases = [["dev"]]',
        '[[service]]', 'name = "api"', '',
      ].join('\n'),
    });
    const created = await server.json(['release', 'create', 'api', '--version', '1.0.0']);
    assert.equal(created.version, '1.0.0', JSON.stringify(created));
    assert.equal(existsSync(server.dataDir), true);
  } finally {
    await server.stop();
  }
  assert.equal(await listening(server.port), false, 'the server no longer listens');
  assert.equal(existsSync(server.dataDir), false, 'its data directory is removed');
});

test('a server that cannot start fails the test with what it printed', async () => {
  await assert.rejects(startServer(undefined, { args: ['--no-such-flag'] }), (error) => {
    assert.match(error.message, /stopped before it was ready/);
    assert.match(error.message, /--- stderr ---[\s\S]*--no-such-flag/);
    return true;
  });
});

test('the server and the CLI never see the caller\'s FERRY_* variables', async (t) => {
  // Each would break the run if it got through: another database, another
  // server, a bad token.
  const leaks = {
    FERRY_DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none',
    FERRY_LOG_FORMAT: 'json',
    FERRY_AGENT_TOKEN: 'ferry_agent_nothing',
  };
  const saved = Object.fromEntries(Object.keys(leaks).map((key) => [key, process.env[key]]));
  Object.assign(process.env, leaks);
  t.after(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  const server = await startServer(t);
  assert.doesNotMatch(server.log().stderr, /^\{/m, 'the log is text, not JSON');
  await server.ferryOk(['status']);
});

describe('in Chromium', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    browser = await startBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('opens /healthz and takes a screenshot', async () => {
    const page = await browser.newPage({ baseURL: server.url });
    const response = await page.goto('/healthz');
    assert.equal(response.status(), 200);
    const file = await screenshot(page, 'harness-healthz');
    assert.equal(path.basename(file), 'harness-healthz-desktop-light.png');
    const png = await readFile(file);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  });

  test('a phone in dark mode is a narrow, touch, dark page with its own screenshot name', async () => {
    const page = await browser.newPage({ viewport: 'phone', colorScheme: 'dark' });
    const seen = () => page.evaluate(() => ({
      width: window.innerWidth,
      dark: matchMedia('(prefers-color-scheme: dark)').matches,
      touch: navigator.maxTouchPoints > 0,
    }));
    // A mobile browser lays out a page that does not ask for the device's
    // width 980 pixels wide, as phones do.
    await page.setContent(ACCESSIBLE);
    assert.deepEqual(await seen(), { width: 980, dark: true, touch: true });
    await page.setContent(ACCESSIBLE.replace('<title>', '<meta name="viewport" content="width=device-width, initial-scale=1"><title>'));
    assert.deepEqual(await seen(), { width: 390, dark: true, touch: true });
    const file = await screenshot(page, 'harness-trivial');
    assert.equal(path.basename(file), 'harness-trivial-phone-dark.png');
    assert.ok((await stat(file)).size > 0);
  });

  test('axe-core passes a trivial accessible page', async () => {
    const page = await browser.newPage();
    await page.setContent(ACCESSIBLE);
    const results = await checkAccessibility(page);
    assert.ok(results.passes.length > 0, 'axe ran its rules');
  });

  test('axe-core fails an inaccessible page, naming each violation', async () => {
    const page = await browser.newPage();
    await page.setContent(INACCESSIBLE);
    await assert.rejects(checkAccessibility(page), (error) => {
      assert.equal(error.code, 'ERR_ASSERTION');
      assert.match(error.message, /- image-alt \(critical\): .+ at \["img"\]/);
      assert.match(error.message, /- button-name \(critical\): .+ at \["button"\]/);
      return true;
    });
  });

  test('axe-core runs on a page whose Content-Security-Policy forbids inline scripts', async () => {
    const page = await browser.newPage();
    await page.route('http://csp.test/', (route) =>
      route.fulfill({
        contentType: 'text/html',
        headers: { 'content-security-policy': "default-src 'self'; script-src 'self'" },
        body: ACCESSIBLE,
      }),
    );
    await page.goto('http://csp.test/');
    const results = await checkAccessibility(page);
    assert.ok(results.passes.length > 0);
  });
});
