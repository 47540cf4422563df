/**
 * End-to-end: personalisation in the page. Headless Chromium taps golden_on_device.json's history with "Learn from my
 * taps" on; the page's `train` calls (LiteRT.js) must reach the state and the top 10 that Python's LiteRT reached, keep
 * the state in localStorage across a reload, forget it on reset, and refuse a corrupted or foreign saved state.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parseState, serialiseState } from '../../public/lib/personal_state.js';
import { displayTitle, parseVocab } from '../../public/lib/processing.js';
import { assertClose, MODEL_DIR, openDemo, readJson, startDemo } from './browser.mjs';

const STATE_KEY = 'odrec.personalState';

describe('personalisation in the browser against golden_on_device.json', { timeout: 300_000 }, () => {
  let demo; // the local server, Chromium and its page (startDemo)
  let page;
  let sidecar;
  let golden;
  let vocab;
  let model;

  before(async () => {
    const manifest = await readJson(path.join(MODEL_DIR, 'manifest.json'));
    assert.ok(manifest.on_device_sidecar, 'public/model/manifest.json names no on_device_sidecar: export with --on_device_training');
    sidecar = await readJson(path.join(MODEL_DIR, manifest.on_device_sidecar));
    golden = await readJson(path.join(MODEL_DIR, 'golden_on_device.json'));
    vocab = parseVocab(await readFile(path.join(MODEL_DIR, sidecar.vocab_file), 'utf-8'));
    assert.equal(golden.model_sha256, sidecar.sha256, 'golden_on_device.json belongs to another model');
    model = { modelFile: sidecar.model_file, modelSha256: sidecar.sha256, shapes: sidecar.on_device.state, where: 'test' };
    demo = await startDemo();
    ({ page } = demo);
  });

  after(() => demo?.close());

  const open = () => openDemo(page, demo.baseUrl);

  async function tap(originalId) {
    const item = vocab.find((entry) => entry.originalId === originalId);
    await page.fill('#search', item.originalId);
    await page.click(`#catalogue button[data-item-id="${item.internalId}"]`);
  }

  async function shownTop(n) {
    return page.$$eval('#recommendations tr', (rows, count) => rows.slice(0, count).map((row) => ({
      itemId: Number(row.dataset.itemId),
      score: Number(row.dataset.score),
    })), n);
  }

  async function waitForKey(steps) {
    const ids = golden.history_original_ids.map((id) => vocab.find((entry) => entry.originalId === id).internalId);
    await page.waitForSelector(`#recommendations[data-for-history="${ids.join(',')}|exclude|personal:${steps}"]`, { timeout: 60_000 });
  }

  it('learns from taps as Python does: same losses, state and top 10', async () => {
    await open();
    await page.evaluate((key) => localStorage.removeItem(key), STATE_KEY);
    await open();
    assert.equal(await page.isVisible('#personal-panel'), true);
    await page.check('#personalise');
    for (const originalId of golden.history_original_ids) {
      await tap(originalId);
    }
    await waitForKey(golden.steps.length);
    const lastLoss = Number(await page.getAttribute('#personal-status', 'data-last-loss'));
    assertClose([lastLoss], [golden.steps[golden.steps.length - 1].loss], 'last loss');
    const saved = await page.evaluate((key) => localStorage.getItem(key), STATE_KEY);
    const { tensors } = await parseState(saved, model); // a valid document for this model
    const { tensors: expected } = await parseState(JSON.stringify(golden.state_after), model);
    for (const name of Object.keys(expected)) {
      assertClose(Array.from(tensors[name]), Array.from(expected[name]), name);
    }
    const top = await shownTop(golden.top_n);
    assert.deepEqual(top.map((row) => row.itemId), golden.after.item_ids);
    assertClose(top.map((row) => row.score), golden.after.scores, 'top scores');
    const titles = await page.$$eval('#recommendations td.title', (cells) => cells.map((cell) => cell.textContent));
    assert.deepEqual(titles.slice(0, golden.top_n), golden.after.item_ids.map((id) => displayTitle(vocab[id - 1])));
  });

  it('keeps the state in this browser across a reload, and forgets it on reset', async () => {
    // One tap trains nothing (no item before it), so the page ranks with the state exactly as it was restored.
    const first = golden.history_original_ids[0];
    const firstId = vocab.find((entry) => entry.originalId === first).internalId;
    await open();
    assert.match(await page.textContent('#personal-status'), /restored/);
    await page.check('#personalise');
    await tap(first);
    await page.waitForSelector(`#recommendations[data-for-history="${firstId}|exclude|personal:0"]`);
    let top = await shownTop(golden.top_n);
    assert.deepEqual(top.map((row) => row.itemId), golden.first_item_after.item_ids);
    assertClose(top.map((row) => row.score), golden.first_item_after.scores, 'restored scores');
    await page.click('#reset-personal');
    assert.equal(await page.evaluate((key) => localStorage.getItem(key), STATE_KEY), null);
    await page.waitForSelector(`#recommendations[data-for-history="${firstId}|exclude|personal:1"]`);
    top = await shownTop(golden.top_n);
    assert.deepEqual(top.map((row) => row.itemId), golden.first_item_before.item_ids, 'the shipped model ranks again');
  });

  for (const [what, damage, message] of [
    ['corrupted', async (doc) => {
      const state = JSON.parse(doc);
      const data = state.tensors.adapter_shift.data;
      state.tensors.adapter_shift.data = (data[0] === 'A' ? 'B' : 'A') + data.slice(1); // one float changed
      return JSON.stringify(state);
    }, /is corrupted/],
    ['saved for another model', async (doc) => {
      const tensors = Object.fromEntries(Object.entries((await parseState(doc, model)).tensors).map(([name, values]) => (
        [name, { shape: sidecar.on_device.state[name], values }])));
      return serialiseState({ modelFile: 'student_fp32_on_device.tflite', modelSha256: 'cd'.repeat(32), tensors });
    }, /saved for model "student_fp32_on_device.tflite" \(sha256 cdcdcdcdcdcdcdcd\.\.\.\)/],
    ['unreadable', async () => '{not json', /cannot be read/],
  ]) {
    it(`refuses a saved state that is ${what}, with a clear message, and runs the shipped model`, async () => {
      const document = await damage(JSON.stringify(golden.state_after));
      await page.evaluate(([key, value]) => localStorage.setItem(key, value), [STATE_KEY, document]);
      await open();
      assert.equal(await page.getAttribute('#personal-status', 'data-state'), 'refused');
      const text = await page.textContent('#personal-status');
      assert.match(text, message);
      assert.match(text, /Reset personalisation/);
      // Nothing was loaded: the personal model ranks as the shipped one (a single tap trains nothing).
      const first = golden.history_original_ids[0];
      const firstId = vocab.find((entry) => entry.originalId === first).internalId;
      await page.check('#personalise');
      await tap(first);
      await page.waitForSelector(`#recommendations[data-for-history="${firstId}|exclude|personal:0"]`);
      const top = await shownTop(golden.top_n);
      assert.deepEqual(top.map((row) => row.itemId), golden.first_item_before.item_ids);
      await page.click('#reset-personal');
      assert.equal(await page.evaluate((key) => localStorage.getItem(key), STATE_KEY), null);
    });
  }

  it('sent nothing anywhere', () => {
    assert.deepEqual(demo.offHostRequests, []);
    assert.deepEqual(demo.pageErrors, []);
  });
});
