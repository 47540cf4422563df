/**
 * What the end-to-end tests share: Debian's Chromium, launched headless, and pages that may reach only the local server.
 * (No tests here; node --test loads it and finds none.)
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

import { chromium } from 'playwright-core';

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
