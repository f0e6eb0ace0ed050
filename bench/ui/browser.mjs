#!/usr/bin/env node
// The browser half of bench/ui/run.py: first contentful paint of the
// dashboard, and how long a deployment's change takes to reach an open
// dashboard. Run by run.py, which writes the configuration:
//
//   node bench/ui/browser.mjs CONFIG.json   →   JSON on stdout
//
// CONFIG: { url, cookie: [name, value] (a signed-in session), token (an API
// token that may create releases, promote and report), chromium, fcpRuns,
// live: [{ service, environment, version }] }.
//
// FCP: the dashboard loaded fcpRuns times (after one load not counted), each
// in a fresh browser context (no cache), desktop 1280×800; the figure is
// performance.getEntriesByName('first-contentful-paint')[0].startTime, with
// the navigation timing beside it.
//
// Live: one page keeps the dashboard open (its EventSource on
// /dashboard/stream connected). For each entry of `live`, the API creates
// the release, then promotes it (the cell shows it queued), reports it
// running, then succeeded. Each change is timed from sending its API call
// (Date.now() here) to the moment a MutationObserver in the page sees the
// cell show it (Date.now() there; same machine, same clock). The page's own
// fetch of `/` (what it does on a `changed` event) is timed beside it.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// playwright-core as locked by the browser tests (cd ui-tests && npm ci).
const require = createRequire(path.join(ROOT, 'ui-tests', 'package.json'));
const { chromium } = require('playwright-core');

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const [cookieName, cookieValue] = config.cookie;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (message) => process.stderr.write(`${message}\n`);

async function newContext(browser) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  await context.addCookies([{ name: cookieName, value: cookieValue, url: config.url }]);
  context.setDefaultTimeout(30_000);
  return context;
}

/** Loads the dashboard in a fresh context: its paint and navigation timing. */
async function loadOnce(browser) {
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    const response = await page.goto(`${config.url}/`, { waitUntil: 'load' });
    if (response.status() !== 200 || new URL(page.url()).pathname !== '/') {
      throw new Error(`the dashboard answered ${response.status()} at ${page.url()}`);
    }
    const timing = await page.evaluate(async () => {
      for (let i = 0; i < 100 && performance.getEntriesByName('first-contentful-paint').length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        fcp: fcp ? fcp.startTime : null,
        requestStart: nav.requestStart,
        responseStart: nav.responseStart,
        responseEnd: nav.responseEnd,
        domContentLoaded: nav.domContentLoadedEventEnd,
        load: nav.loadEventEnd,
        bytes: nav.decodedBodySize,
        rows: document.querySelectorAll('#matrix tbody tr').length,
      };
    });
    if (timing.fcp === null) throw new Error('no first-contentful-paint entry');
    return timing;
  } finally {
    await context.close();
  }
}

async function api(method, url, body) {
  const response = await fetch(`${config.url}${url}`, {
    method,
    headers: { Authorization: `Bearer ${config.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/** Arms a watcher in the page: resolves with Date.now() once the cell shows `version` as `label`. */
async function arm(page, expect) {
  const already = await page.evaluate((expect) => {
    const shows = () => {
      const cell = document.querySelector(
        `td[data-service="${expect.service}"][data-environment="${expect.environment}"]`,
      );
      if (!cell) return false;
      return [...cell.querySelectorAll('a.version')].some((link) => {
        const state = link.nextElementSibling;
        return (
          link.textContent.trim() === expect.version &&
          state !== null &&
          state.textContent.trim() === expect.label &&
          (!expect.current || link.closest('.latest') === null)
        );
      });
    };
    const was = shows();
    window.__seen = new Promise((resolve) => {
      if (shows()) {
        resolve(Date.now());
        return;
      }
      const observer = new MutationObserver(() => {
        if (shows()) {
          observer.disconnect();
          resolve(Date.now());
        }
      });
      observer.observe(document.body, { childList: true, subtree: true, characterData: true });
      setTimeout(() => resolve(null), 20_000);
    });
    return was;
  }, expect);
  if (already) throw new Error(`the cell showed ${expect.version} ${expect.label} before the change`);
}

async function live(browser) {
  const context = await newContext(browser);
  const page = await context.newPage();
  const fetches = []; // the page's own fetches of `/`: { start, end }
  page.on('request', (request) => {
    if (request.resourceType() === 'fetch' && new URL(request.url()).pathname === '/') {
      fetches.push({ request, start: Date.now(), end: null });
    }
  });
  page.on('requestfinished', (request) => {
    const entry = fetches.find((f) => f.request === request);
    if (entry) entry.end = Date.now();
  });
  const streaming = page.waitForResponse((r) => new URL(r.url()).pathname === '/dashboard/stream');
  await page.goto(`${config.url}/`, { waitUntil: 'load' });
  await streaming;
  await sleep(1000);
  const results = [];
  async function change(step, target, expect, call) {
    await arm(page, { ...target, ...expect });
    await sleep(300 + Math.random() * 900); // a random phase against the stream's half-second look
    const sent = Date.now();
    const answer = await call();
    const answered = Date.now();
    const seen = await page.evaluate(() => window.__seen);
    if (seen === null) throw new Error(`${target.service}: the page never showed ${step}`);
    await sleep(200); // the page's fetch's events reach this process after the page has used it
    const fetch = fetches.find((f) => f.start >= sent && f.start <= seen && f.end !== null);
    const result = {
      step,
      service: target.service,
      seen: seen - sent,
      api: answered - sent,
      fetchStart: fetch ? fetch.start - sent : null,
      fetch: fetch ? fetch.end - fetch.start : null,
    };
    say(`  ${target.service} ${step}: in the page after ${result.seen} ms (API ${result.api} ms, page's fetch ` +
      `started after ${result.fetchStart} ms and took ${result.fetch} ms)`);
    results.push(result);
    return answer;
  }
  for (const target of config.live) {
    const { service, environment, version } = target;
    await api('POST', `/api/v1/services/${service}/releases`, { version, notes: 'bench' });
    const deployment = await change('queued', target, { label: 'queued' }, () =>
      api('POST', '/api/v1/promotions', { service, version, environment }),
    );
    await change('running', target, { label: 'running' }, () =>
      api('POST', `/api/v1/deployments/${deployment.id}/report`, { status: 'running' }),
    );
    await change('succeeded', target, { label: 'succeeded', current: true }, () =>
      api('POST', `/api/v1/deployments/${deployment.id}/report`, { status: 'succeeded' }),
    );
  }
  await context.close();
  return results;
}

const browser = await chromium.launch({
  executablePath: config.chromium,
  headless: true,
  // Run as root, where Chromium's sandbox cannot start.
  args: ['--no-sandbox'],
});
try {
  say('browser: first contentful paint');
  await loadOnce(browser); // Chromium's own first start, not counted
  const fcp = [];
  for (let i = 0; i < config.fcpRuns; i++) {
    const timing = await loadOnce(browser);
    say(`  load ${i + 1}: FCP ${timing.fcp.toFixed(0)} ms (request ${timing.requestStart.toFixed(0)}, response ${timing.responseStart.toFixed(0)}–` +
      `${timing.responseEnd.toFixed(0)} ms, load ${timing.load.toFixed(0)} ms, ${timing.rows} rows)`);
    fcp.push(timing);
  }
  say('browser: live updates');
  const changes = await live(browser);
  process.stdout.write(JSON.stringify({ fcp, live: changes }));
} finally {
  await browser.close();
}
