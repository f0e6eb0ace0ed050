// Headless Chromium for the tests (Debian's, driven by playwright-core),
// screenshots, and accessibility checks with axe-core.
//
//   const browser = await startBrowser(t);               // closed when `t` ends
//   const page = await browser.newPage({ viewport: 'phone', colorScheme: 'dark', baseURL: server.url });
//   await page.goto('/login');
//   await screenshot(page, 'login');                     // target/screenshots/login-phone-dark.png
//   await checkAccessibility(page);                      // fails on serious or critical violations

import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { REPO } from './server.mjs';

/** The Chromium binary: $CHROMIUM, else Debian's. */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Where screenshots go: always <repo>/target/screenshots/. */
export const SCREENSHOTS = path.join(REPO, 'target', 'screenshots');

/** The axe-core script injected into pages. */
export const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** The impacts that fail a check. */
export const FAILING_IMPACTS = ['serious', 'critical'];

export const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, isMobile: false, hasTouch: false },
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
};

export const COLOR_SCHEMES = ['light', 'dark'];

/** Every viewport with every colour scheme, for screenshots and checks. */
export const LOOKS = Object.keys(VIEWPORTS).flatMap((viewport) =>
  COLOR_SCHEMES.map((colorScheme) => ({ viewport, colorScheme })),
);

// What each page was opened with, for its screenshots' names.
const looks = new WeakMap();

/**
 * Launches headless Chromium. With a test context `t` (a test's or a
 * suite's), it is closed when `t` ends; without one, call `close()`.
 * Answers { browser, newPage, close }.
 */
export async function startBrowser(t) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The tests run as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox'],
  });
  const close = () => browser.close();
  if (t && typeof t.after === 'function') t.after(close);

  /**
   * A page in a context of its own (its own cookies): `viewport` 'desktop'
   * (1280×800) or 'phone' (390×844, mobile, touch), `colorScheme` 'light' or
   * 'dark', `baseURL` for relative `goto`s.
   */
  async function newPage({ viewport = 'desktop', colorScheme = 'light', baseURL } = {}) {
    const device = VIEWPORTS[viewport];
    assert.ok(device, `viewport is one of ${Object.keys(VIEWPORTS).join(', ')}, not ${viewport}`);
    assert.ok(COLOR_SCHEMES.includes(colorScheme), `colorScheme is light or dark, not ${colorScheme}`);
    const context = await browser.newContext({ ...device, colorScheme, baseURL, locale: 'en-US', timezoneId: 'UTC' });
    // Fail in seconds, not Playwright's default half minute, when an element
    // never comes.
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(30_000);
    const page = await context.newPage();
    looks.set(page, { viewport, colorScheme });
    return page;
  }

  return { browser, newPage, close };
}

/**
 * Saves a full-page PNG of `page` as
 * <repo>/target/screenshots/<name>-<viewport>-<scheme>.png; answers its path.
 */
export async function screenshot(page, name) {
  const look = looks.get(page) ?? { viewport: 'desktop', colorScheme: 'light' };
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}-${look.viewport}-${look.colorScheme}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
  return file;
}

let axeSource = null;

/** Makes `window.axe` available in the page's current document. */
async function injectAxe(page) {
  if (await page.evaluate(() => typeof window.axe === 'object')) return;
  // A page whose Content-Security-Policy forbids inline scripts refuses the
  // script tag; the same source evaluated through the DevTools protocol is
  // not subject to it.
  await page.addScriptTag({ path: AXE }).catch(() => {});
  if (await page.evaluate(() => typeof window.axe === 'object')) return;
  axeSource ??= await readFile(AXE, 'utf8');
  await page.evaluate(axeSource);
  assert.ok(await page.evaluate(() => typeof window.axe === 'object'), 'axe-core could not be loaded into the page');
}

/** One line per violation: id, impact, help, nodes and the first one's target. */
export function describeViolations(violations) {
  return violations
    .map((v) => {
      const first = v.nodes[0];
      const target = first ? JSON.stringify(first.target) : '(no node)';
      const more = v.nodes.length > 1 ? ` and ${v.nodes.length - 1} more` : '';
      return `- ${v.id} (${v.impact}): ${v.help} at ${target}${more}`;
    })
    .join('\n');
}

/**
 * Runs axe-core on the page's document and fails on any violation of impact
 * "serious" or "critical", listing each one. Answers axe's results (the
 * minor and moderate violations included).
 */
export async function checkAccessibility(page) {
  await injectAxe(page);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const failing = results.violations.filter((v) => FAILING_IMPACTS.includes(v.impact));
  if (failing.length > 0) {
    const look = looks.get(page);
    const where = look ? ` (${look.viewport}, ${look.colorScheme})` : '';
    assert.fail(`accessibility violations on ${page.url()}${where}:\n${describeViolations(failing)}`);
  }
  return results;
}
