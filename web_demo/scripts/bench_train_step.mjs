/**
 * Benchmark of on-device learning in the browser: how long one `train` step (and, for scale, one `recommend`) of the
 * committed on-device demo model takes in headless Chromium, called through the page's own `Personaliser`
 * (public/lib/personaliser.js) and timed with `performance.now()` inside the page, so no round trip to node counts.
 * A benchmark, not a test: it asserts no speed; it writes its numbers, with where they came from, to
 * bench/results/<dataset>-on-device-browser.json, which bench/NOTES.md quotes.
 *
 * Usage: node web_demo/scripts/bench_train_step.mjs [--steps 200] [--warmup 20] [--out FILE]   (npm run bench:train)
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { MODEL_DIR, WEB_DEMO_DIR, openDemo, readJson, startDemo } from '../test/e2e/browser.mjs';
import { gitCommit, machineInfo } from './provenance.mjs';

const REPO_DIR = path.resolve(WEB_DEMO_DIR, '..');
const DEFAULTS = { steps: '200', warmup: '20' };

/**
 * The q-th percentile with linear interpolation between closest ranks (numpy.percentile's default, which
 * bench/on_device.py uses for Python's `train_step_ms`).
 *
 * @param {number[]} sorted samples in ascending order, at least one.
 * @param {number} q 0..100.
 */
export function percentile(sorted, q) {
  const position = ((sorted.length - 1) * q) / 100;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

/**
 * @param {number[]} samplesMs one duration per call, in milliseconds.
 * @returns {{p50: number, p95: number, mean: number, min: number, n: number}} `min` comes closest to the cost of a
 *     call alone on the CPU; on a shared machine the others include the waits for it.
 */
export function summariseMs(samplesMs) {
  if (samplesMs.length === 0) {
    throw new RangeError('no samples to summarise: --steps must be at least 1');
  }
  const sorted = samplesMs.slice().sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    min: sorted[0],
    n: sorted.length,
  };
}

/**
 * The `train` calls the page makes while a user taps a history: one per item after the first, with the items
 * before it (unpadded, as the page holds them) as the history.
 *
 * @param {{history: number[], target: number}[]} steps golden_on_device.json's `steps` (left-padded histories).
 * @param {number} paddingId the sidecar's `padding_id`.
 * @returns {{history: number[], target: number}[]}
 */
export function trainingCalls(steps, paddingId) {
  return steps.map(({ history, target }) => ({ history: history.filter((id) => id !== paddingId), target }));
}

/** Words joined into a line a POSIX shell reads back as the same words (Python's shlex.join). */
export function shellJoin(words) {
  return words.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\"'\"'")}'`)).join(' ');
}

function positiveInteger(name, text) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`--${name} must be a positive integer, got "${text}"`);
  }
  return value;
}

/**
 * Runs in the page: loads the on-device model through the page's Personaliser (the CPU path app.js uses for it),
 * then times `warmup` untimed and `steps` timed calls of `train`, then of `recommend` on the state trained so far.
 */
async function timeInPage({ sidecarFile, calls, steps, warmup }) {
  const base = document.baseURI;
  const { Personaliser } = await import(new URL('lib/personaliser.js', base).href);
  const { getGlobalLiteRt } = await import('@litertjs/core');
  const personaliser = await Personaliser.load({
    modelDir: new URL('model/', base).href,
    sidecarFile,
    wasmDir: new URL('vendor/@litertjs/core/wasm/', base).href,
    accelerator: 'wasm',
  });
  const signatures = new Set();
  async function time(call) {
    const samples = [];
    for (let i = 0; i < warmup + steps; i++) {
      const start = performance.now();
      await call(calls[i % calls.length]);
      const elapsed = performance.now() - start;
      if (i >= warmup) {
        samples.push(elapsed);
      }
    }
    return samples;
  }
  const train = await time(({ history, target }) => personaliser.train(history, target));
  const recommend = await time(async ({ history, target }) => {
    // The page ranks the history including the item just tapped, with "Exclude seen items" on (its default).
    signatures.add((await personaliser.recommend([...history, target], { excludeSeen: true })).signature);
  });
  return {
    train,
    recommend,
    recommendSignatures: [...signatures],
    accelerator: personaliser.accelerator,
    // Not part of LiteRT.js's typed API: the wasm module's own count, which it passes as CpuOptions.numThreads.
    threads: getGlobalLiteRt().liteRtWasm.getThreadCount(),
    crossOriginIsolated,
  };
}

async function main() {
  const { values } = parseArgs({
    options: { steps: { type: 'string' }, warmup: { type: 'string' }, out: { type: 'string' } },
  });
  const steps = positiveInteger('steps', values.steps ?? DEFAULTS.steps);
  const warmup = positiveInteger('warmup', values.warmup ?? DEFAULTS.warmup);
  const manifest = await readJson(path.join(MODEL_DIR, 'manifest.json'));
  if (!manifest.on_device_sidecar) {
    throw new Error(`${MODEL_DIR}/manifest.json names no on_device_sidecar: refresh the demo model with an on-device export (scripts/refresh_demo_assets.sh)`);
  }
  const sidecar = await readJson(path.join(MODEL_DIR, manifest.on_device_sidecar));
  const golden = await readJson(path.join(MODEL_DIR, 'golden_on_device.json'));
  const modelPath = path.join(MODEL_DIR, sidecar.model_file);
  const modelBytes = await readFile(modelPath);
  const out = path.resolve(values.out ?? path.join(REPO_DIR, `bench/results/${sidecar.dataset}-on-device-browser.json`));

  // The machine may be shared: its 1, 5 and 15 minute load averages before and after say how much.
  const loadBefore = os.loadavg();
  // startDemo opens its page in a new browser context: whatever it stores is dropped when the browser closes.
  const demo = await startDemo();
  let measured;
  let browserVersion;
  const wasmFiles = new Set();
  try {
    demo.page.on('request', (request) => {
      const match = /litert_wasm_\w+\.wasm$/.exec(new URL(request.url()).pathname);
      if (match) {
        wasmFiles.add(match[0]);
      }
    });
    await openDemo(demo.page, demo.baseUrl);
    browserVersion = demo.browser.version();
    measured = await demo.page.evaluate(timeInPage, {
      sidecarFile: manifest.on_device_sidecar, calls: trainingCalls(golden.steps, sidecar.padding_id), steps, warmup,
    });
  } finally {
    await demo.close();
  }

  const litertPackage = await readJson(path.join(WEB_DEMO_DIR, 'node_modules/@litertjs/core/package.json'));
  const record = {
    dataset: sidecar.dataset,
    commit: gitCommit(REPO_DIR),
    machine: machineInfo(),
    load_average: { before: loadBefore, after: os.loadavg() },
    command: shellJoin(['node', path.relative(REPO_DIR, process.argv[1]), ...process.argv.slice(2)]),
    browser: { name: 'chromium', version: browserVersion, headless: true },
    litertjs_version: litertPackage.version,
    model: {
      file: path.relative(REPO_DIR, modelPath),
      sha256: createHash('sha256').update(modelBytes).digest('hex'),
      bytes: modelBytes.length,
    },
    accelerator: measured.accelerator,
    wasm_files: [...wasmFiles],
    threads: measured.threads,
    // performance.now() is coarsened to 0.1 ms in a page that is not cross-origin isolated (Chromium).
    cross_origin_isolated: measured.crossOriginIsolated,
    calls: `golden_on_device.json's ${golden.steps.length} (history, target) pairs, in turn`,
    warmup,
    train_step_ms: summariseMs(measured.train),
    recommend_signatures: measured.recommendSignatures,
    recommend_ms: summariseMs(measured.recommend),
  };
  await writeFile(out, `${JSON.stringify(record, null, 2)}\n`);
  const line = (name, { p50, p95 }) => `${name} p50 ${p50.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms`;
  console.log(`${line('train', record.train_step_ms)}; ${line('recommend', record.recommend_ms)} (n = ${steps}); wrote ${out}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
