/**
 * What the end-to-end tests share: Debian's Chromium, launched headless, pages that may reach only the local server,
 * the demo page opened on the committed model, and the tolerance its outputs are held to. scripts/bench_train_step.mjs
 * opens the page with the same helpers. (No tests here; node --test loads it and finds none.)
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { startServer } from '../../scripts/serve.mjs';

export const WEB_DEMO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The committed demo model, which `?model=demo` loads whatever public/user_model/ holds. */
export const MODEL_DIR = path.join(WEB_DEMO_DIR, 'public/model');
export const LOAD_TIMEOUT_MS = 60_000;
// docs/artifacts.md: scores within 1e-4 relative; the absolute floor only matters for values within 1e-2 of zero.
// The personalised state is held to the same: float32 SGD in two runtimes, summed in possibly another order.
const RTOL = 1e-4;
const ATOL = 1e-6;

export async function readJson(file) {
  return JSON.parse(await readFile(file, 'utf-8'));
}

/** Asserts that `actual` has the length of `expected` and each value is within RTOL relative (+ ATOL) of it. */
export function assertClose(actual, expected, context) {
  assert.equal(actual.length, expected.length, `${context}: number of values`);
  actual.forEach((value, i) => {
    const tolerance = RTOL * Math.abs(expected[i]) + ATOL;
    assert.ok(Math.abs(value - expected[i]) <= tolerance,
      `${context}: #${i + 1} is ${value}, expected ${expected[i]} (tolerance ${tolerance})`);
  });
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The closed network here refuses background connections; these flags keep Chromium from trying.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** @returns {Promise<import('playwright-core').Browser>} */
export async function launchChromium() {
  assert.ok(existsSync(CHROMIUM_PATH), `no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/**
 * A page whose uncaught errors and requests to any host but the local server (aborted) are recorded.
 *
 * @returns {Promise<{page: import('playwright-core').Page, pageErrors: string[], offHostRequests: string[]}>}
 */
export async function localPage(browser) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors = [];
  const offHostRequests = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.route('**/*', (route) => {
    const { hostname, protocol } = new URL(route.request().url());
    if (hostname === '127.0.0.1' || protocol === 'data:') {
      return route.continue();
    }
    offHostRequests.push(route.request().url());
    return route.abort();
  });
  return { page, pageErrors, offHostRequests };
}

/**
 * The local server on a free port and Chromium with one local page (see localPage); `close()` stops both.
 *
 * @returns {Promise<{baseUrl: string, browser: import('playwright-core').Browser, page: import('playwright-core').Page,
 *   pageErrors: string[], offHostRequests: string[], close: () => Promise<void>}>}
 */
export async function startDemo() {
  const { server, url: baseUrl } = await startServer(0);
  let browser;
  try {
    browser = await launchChromium();
    const { page, pageErrors, offHostRequests } = await localPage(browser);
    const close = async () => {
      await browser.close();
      server.close();
    };
    return { baseUrl, browser, page, pageErrors, offHostRequests, close };
  } catch (error) {
    await browser?.close();
    server.close();
    throw error;
  }
}

/** Opens the demo page on the committed model and waits until it has loaded it; fails with the page's error. */
export async function openDemo(page, baseUrl) {
  await page.goto(`${baseUrl}?model=demo`);
  await page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]', { timeout: LOAD_TIMEOUT_MS });
  const errorText = await page.textContent('#error');
  assert.equal(await page.getAttribute('#status', 'data-state'), 'ready', `the page did not load the model: ${errorText}`);
}
