/**
 * End-to-end: headless Chromium builds every golden.json history through the UI and checks the displayed top-K.
 *
 * Runs the committed demo model in public/model/ (`?model=demo`, whatever public/user_model/ holds) in Debian's
 * chromium at /usr/bin/chromium (or CHROMIUM_PATH). Saves test-output/screenshot.png, the source of docs/web_demo.png.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { displayTitle, encodeHistory, parseVocab } from '../../public/lib/processing.js';
import {
  assertClose, LOAD_TIMEOUT_MS, MODEL_DIR, openDemo, readJson, startDemo, WEB_DEMO_DIR,
} from './browser.mjs';

const SCREENSHOT = path.join(WEB_DEMO_DIR, 'test-output/screenshot.png');

describe('web demo against golden.json', { timeout: 180_000 }, () => {
  let demo; // the local server, Chromium and its page (startDemo)
  let page;
  let sidecar;
  let golden;
  let vocab;

  before(async () => {
    const manifestPath = path.join(MODEL_DIR, 'manifest.json');
    assert.ok(existsSync(manifestPath),
      `${manifestPath} is missing: fill public/model/ with "node scripts/copy_model.mjs EXPORT_DIR [MODEL]"`);
    const manifest = await readJson(manifestPath);
    sidecar = await readJson(path.join(MODEL_DIR, manifest.sidecar));
    golden = await readJson(path.join(MODEL_DIR, 'golden.json'));
    vocab = parseVocab(await readFile(path.join(MODEL_DIR, sidecar.vocab_file ?? 'vocab.tsv'), 'utf-8'));
    assert.equal(golden.model_sha256, sidecar.sha256,
      `golden.json was computed for ${golden.model_file}, but public/model/ holds ${sidecar.model_file}; copy the model golden.json was made with`);

    // Everything, the LiteRT.js wasm included, must come from the local server.
    demo = await startDemo();
    ({ page } = demo);
    await openDemo(page, demo.baseUrl);
    assert.equal(await page.getAttribute('#model-source', 'data-source'), 'demo');
  });

  after(() => demo?.close());

  async function clearHistory() {
    await page.click('#clear');
    await page.waitForSelector('#history li', { state: 'detached' });
  }

  async function addItemThroughSearch(itemId) {
    const item = vocab[itemId - 1];
    // Type the title like a person would; an empty or ambiguous title falls back to the original id,
    // which the search ranks first when it matches exactly.
    const query = item.title.trim() !== '' ? item.title : item.originalId;
    await page.fill('#search', query);
    let button = page.locator(`#catalogue button[data-item-id="${itemId}"]`);
    if ((await button.count()) === 0) {
      await page.fill('#search', item.originalId);
      button = page.locator(`#catalogue button[data-item-id="${itemId}"]`);
    }
    await button.click();
  }

  async function buildHistory(itemIds, excludeSeen) {
    await clearHistory();
    if ((await page.isChecked('#exclude-seen')) !== excludeSeen) {
      await page.click('#exclude-seen');
    }
    for (const itemId of itemIds) {
      await addItemThroughSearch(itemId);
    }
    const key = `${itemIds.join(',')}|${excludeSeen ? 'exclude' : 'keep'}`;
    await page.waitForSelector(`#recommendations[data-for-history="${key}"]`, { timeout: 30_000 });
    return page.$$eval('#recommendations tr', (rows) => rows.map((row) => ({
      itemId: Number(row.dataset.itemId),
      score: Number(row.dataset.score),
    })));
  }

  function caseHistory(goldenCase) {
    // The full history when golden.json has it (so the page's truncation is exercised), else the encoded input.
    const ids = goldenCase.history_original_ids !== undefined
      ? goldenCase.history_original_ids.map((originalId) => {
        const item = vocab.find((entry) => entry.originalId === originalId);
        assert.ok(item !== undefined, `golden history id ${originalId} is not in vocab.tsv`);
        return item.internalId;
      })
      : goldenCase.history.filter((id) => id !== 0);
    assert.deepEqual(Array.from(encodeHistory(ids, sidecar.max_len)), goldenCase.history,
      'golden history does not re-encode to its own input; the left padding or truncation disagree');
    return ids;
  }

  it('shows the model size and reaches no other host', async () => {
    const modelBytes = await readFile(path.join(MODEL_DIR, sidecar.model_file));
    assert.equal(Number(await page.getAttribute('#model-size', 'data-bytes')), modelBytes.byteLength);
    assert.deepEqual(demo.offHostRequests, []);
  });

  it('reproduces every golden top-K with every seen item excluded, histories longer than max_len included', async () => {
    assert.ok(golden.cases.length > 0, 'golden.json has no cases');
    const long = golden.cases.filter((goldenCase) => goldenCase.history_original_ids.length > sidecar.max_len);
    assert.ok(long.length > 0, 'golden.json has no history longer than max_len');
    for (const [index, goldenCase] of golden.cases.entries()) {
      const history = caseHistory(goldenCase);
      const rows = await buildHistory(history, true);
      const expected = goldenCase.history_excluded;
      const context = `golden case ${index} (${history.length} items)`;
      assert.deepEqual(rows.map((row) => row.itemId), expected.item_ids, `${context}: item ids`);
      assertClose(rows.map((row) => row.score), expected.scores, `${context}: scores`);
      assert.equal(await page.getAttribute('#latency', 'data-signature'), expected.signature, `${context}: signature`);
      assert.match(await page.textContent('#latency'), /Inference: \d+\.\d+ ms/);
      const seen = new Set(history);
      assert.deepEqual(rows.filter((row) => seen.has(row.itemId)), [], `${context}: a seen item is recommended`);
      assert.equal(await page.locator('#recommendations tr.seen').count(), 0);
    }
    // What the model alone returns for the long cases (golden item_ids, window excluded) holds older history items.
    assert.ok(long.every((goldenCase) => goldenCase.original_ids.some((id) => goldenCase.history_original_ids.includes(id))));
  });

  it('keeps seen items when asked (score + top-K in JS), agreeing with recommend on the unseen ones', async () => {
    // Among the full-catalogue top-K, the unseen items are the best unseen items: a prefix of `recommend`'s answer.
    const goldenCase = golden.cases.reduce((a, b) => (b.history.filter(Boolean).length > a.history.filter(Boolean).length ? b : a));
    const history = caseHistory(goldenCase);
    const rows = await buildHistory(history, false);
    assert.equal(rows.length, golden.top_k);
    rows.slice(1).forEach((row, i) => assert.ok(row.score <= rows[i].score, 'scores must be best first'));
    const seen = new Set(goldenCase.history.filter((id) => id !== 0)); // what `recommend` excluded: the last L only
    const unseen = rows.filter((row) => !seen.has(row.itemId));
    assert.deepEqual(unseen.map((row) => row.itemId), goldenCase.item_ids.slice(0, unseen.length));
    assertClose(unseen.map((row) => row.score), goldenCase.scores.slice(0, unseen.length), 'keep seen: scores');
    assert.equal(await page.getAttribute('#latency', 'data-signature'), 'score');
    assert.deepEqual(demo.pageErrors, []);
  });

  it('pages and searches the catalogue past its first 100 items', async () => {
    await page.fill('#search', '');
    const shown = () => page.$$eval('#catalogue button', (buttons) => buttons.map((b) => Number(b.dataset.itemId)));
    assert.deepEqual(await shown(), vocab.slice(0, 100).map((item) => item.internalId));
    await page.click('#catalogue-next');
    assert.deepEqual(await shown(), vocab.slice(100, 200).map((item) => item.internalId));
    assert.match(await page.textContent('#catalogue-count'), new RegExp(`^101–200 of ${vocab.length} items`));
    await page.click('#catalogue-prev');
    assert.equal((await shown())[0], vocab[0].internalId);
    const last = vocab[vocab.length - 1];
    await page.fill('#search', last.originalId);
    assert.equal((await shown())[0], last.internalId);
    assert.equal(await page.textContent(`#catalogue button[data-item-id="${last.internalId}"]`), displayTitle(last));
  });

  it('shows names and takes the screenshot for docs/web_demo.png', async () => {
    // A history of a few names is what a person reads; the longest case shows the window note and the exclusion.
    const goldenCase = golden.cases[1];
    const history = caseHistory(goldenCase);
    const rows = await buildHistory(history, true);
    const titles = await page.$$eval('#recommendations td.title', (cells) => cells.map((cell) => cell.textContent));
    assert.deepEqual(titles, rows.map((row) => displayTitle(vocab[row.itemId - 1])));
    const historyTitles = await page.$$eval('#history li', (items) => items.map((item) => item.textContent));
    assert.deepEqual(historyTitles, history.map((id) => displayTitle(vocab[id - 1])));
    await page.fill('#search', '');
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('loads a model from public/user_model/ in preference to the demo model, and says how to go back', async () => {
    // Served here from public/model/'s files so that the test writes nothing into the user's folder.
    const userPage = await demo.browser.newPage();
    const files = new Set(await readdir(MODEL_DIR));
    await userPage.route('**/user_model/*', async (route) => {
      const name = path.basename(new URL(route.request().url()).pathname);
      if (!files.has(name)) {
        return route.fulfill({ status: 404, body: 'not found' });
      }
      return route.fulfill({ body: await readFile(path.join(MODEL_DIR, name)) });
    });
    const modelRequests = [];
    userPage.on('request', (request) => modelRequests.push(new URL(request.url()).pathname));
    await userPage.goto(demo.baseUrl);
    await userPage.waitForSelector('#status[data-state="ready"]', { timeout: LOAD_TIMEOUT_MS });
    assert.equal(await userPage.getAttribute('#model-source', 'data-source'), 'user');
    assert.match(await userPage.textContent('#model-source'), /public\/user_model\/.*\?model=demo/);
    assert.ok(modelRequests.includes(`/user_model/${sidecar.model_file}`));
    assert.ok(!modelRequests.includes(`/model/${sidecar.model_file}`));
    await userPage.close();
  });

  it('refuses a model whose bytes do not match the sidecar, with a readable error', async () => {
    const tampered = await demo.browser.newPage();
    await tampered.route(`**/model/${sidecar.model_file}`, async (route) => {
      const response = await route.fetch();
      const body = Buffer.from(await response.body());
      body[body.length - 1] ^= 0xff;
      await route.fulfill({ response, body });
    });
    await tampered.goto(`${demo.baseUrl}?model=demo`);
    await tampered.waitForSelector('#status[data-state="error"]', { timeout: LOAD_TIMEOUT_MS });
    const message = await tampered.textContent('#error');
    assert.match(message, new RegExp(`${sidecar.model_file.replace('.', '\\.')}: sha256 is [0-9a-f]{64} but the sidecar says ${sidecar.sha256}`));
    await tampered.close();
  });
});
