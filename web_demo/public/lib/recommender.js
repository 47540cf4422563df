/**
 * Loads an odrec export (model, sidecar, vocab) into LiteRT.js and runs its `recommend` and `score` signatures.
 */
import { Tensor, isWebGPUSupported, loadAndCompile, loadLiteRt } from '@litertjs/core';

import {
  checkTensorDetails,
  decodeRecommendations,
  encodeHistory,
  itemsOutsideWindow,
  parseVocab,
  toHex,
  topKFromScores,
  validateSidecar,
} from './processing.js';

/** Raised when the files in the model folder disagree with each other; `problems` lists every disagreement. */
export class ModelMismatchError extends Error {
  constructor(problems) {
    super(`The model folder is inconsistent:\n- ${problems.join('\n- ')}`);
    this.name = 'ModelMismatchError';
    this.problems = problems;
  }
}

async function fetchOk(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`could not fetch ${url}: ${error.message}`);
  }
  if (!response.ok) {
    throw new Error(`could not fetch ${url}: HTTP ${response.status}; re-copy the model with scripts/copy_model.mjs EXPORT_DIR`);
  }
  return response;
}

// LiteRT.js loads its wasm once per page (a second loadLiteRt throws); every model shares it.
let liteRtLoaded = null;

function loadLiteRtOnce(wasmDir) {
  liteRtLoaded ??= loadLiteRt(wasmDir);
  return liteRtLoaded;
}

async function sha256Hex(bytes) {
  return toHex(await crypto.subtle.digest('SHA-256', bytes));
}

async function compile(modelBytes, accelerator) {
  // WebGPU where the browser has an adapter, else (or if compiling for it fails) the WASM/XNNPACK CPU path.
  // Each try gets its own copy of the bytes: the runtime may take ownership of the array it is given.
  if (accelerator !== 'wasm' && isWebGPUSupported() && (await navigator.gpu.requestAdapter()) !== null) {
    try {
      return { model: await loadAndCompile(modelBytes.slice(), { accelerator: 'webgpu' }), accelerator: 'webgpu' };
    } catch (error) {
      console.warn(`WebGPU compile failed, falling back to wasm: ${error.message}`);
    }
  }
  return { model: await loadAndCompile(modelBytes.slice(), { accelerator: 'wasm' }), accelerator: 'wasm' };
}

/**
 * A loaded, verified recommender.
 */
export class Recommender {
  constructor({ compiledModel, sidecar, vocab, modelBytes, accelerator }) {
    this.compiledModel = compiledModel;
    this.sidecar = sidecar;
    this.vocab = vocab;
    this.modelBytes = modelBytes;
    this.accelerator = accelerator;
    this.maxLen = sidecar.max_len;
    this.topK = sidecar.top_k;
  }

  /**
   * Fetches and verifies the files of a model folder, then compiles the model.
   *
   * @param {{modelDir: string, sidecarFile: string, wasmDir: string, accelerator?: string}} options URLs of the
   *     model folder and of the LiteRT.js wasm folder, the sidecar's file name, and `wasm` to force the CPU path.
   * @returns {Promise<Recommender>} an instance of the class it is called on (`Personaliser.load` gives a Personaliser).
   * @throws {ModelMismatchError} when hashes, vocab length or signature shapes disagree with the sidecar.
   */
  static async load({ modelDir, sidecarFile, wasmDir, accelerator = 'auto' }) {
    const base = modelDir.endsWith('/') ? modelDir : `${modelDir}/`;
    const sidecar = await (await fetchOk(base + sidecarFile)).json();
    const [modelBuffer, vocabBuffer] = await Promise.all([
      fetchOk(base + sidecar.model_file).then((r) => r.arrayBuffer()),
      fetchOk(base + (sidecar.vocab_file ?? 'vocab.tsv')).then((r) => r.arrayBuffer()),
    ]);
    const vocab = parseVocab(new TextDecoder('utf-8').decode(vocabBuffer));
    const problems = validateSidecar(sidecar, {
      modelSha256: await sha256Hex(modelBuffer),
      vocabSha256: await sha256Hex(vocabBuffer),
      vocabItemCount: vocab.length,
    });
    if (problems.length > 0) {
      throw new ModelMismatchError(problems);
    }

    await loadLiteRtOnce(wasmDir);
    const modelBytes = new Uint8Array(modelBuffer);
    const compiled = await compile(modelBytes, accelerator);
    const recommender = new this({ compiledModel: compiled.model, sidecar, vocab, modelBytes, accelerator: compiled.accelerator });
    recommender.checkSignatures();
    return recommender;
  }

  checkSignatures() {
    const signatures = this.compiledModel.signatures;
    const problems = [];
    for (const [name, spec] of Object.entries(this.sidecar.signatures)) {
      const runner = signatures[name];
      if (runner === undefined) {
        problems.push(`model has no signature ${name} (it has ${Object.keys(signatures).join(', ')})`);
        continue;
      }
      const dtypes = { history: 'int32', item_ids: 'int32', scores: 'float32' };
      problems.push(...checkTensorDetails(name, runner.getInputDetails(), spec.inputs, dtypes));
      problems.push(...checkTensorDetails(name, runner.getOutputDetails(), spec.outputs, dtypes));
    }
    if (problems.length > 0) {
      throw new ModelMismatchError(problems);
    }
  }

  get hasScoreSignature() {
    return this.compiledModel.signatures.score !== undefined;
  }

  async runSignature(name, history) {
    const input = new Tensor(encodeHistory(history, this.maxLen), [1, this.maxLen]);
    let outputs;
    try {
      outputs = await this.compiledModel.run(name, { history: input });
    } finally {
      input.delete();
    }
    const arrays = {};
    for (const [key, tensor] of Object.entries(outputs)) {
      arrays[key] = await tensor.data(); // copies off the GPU if the model ran there
      tensor.delete();
    }
    return arrays;
  }

  /**
   * Recommends the next items for a history.
   *
   * @param {number[]} history internal item ids, oldest first (any length; the model reads the last `max_len`).
   * @param {{excludeSeen: boolean}} options `excludeSeen` leaves out every item of the history: `recommend` does it
   *     in the graph when the model's window holds them all; when older items lie outside it, `score` runs and top-K
   *     is taken here without the whole history. Otherwise `score` runs and only the padding id is left out.
   * @returns {Promise<{rows: {itemId: number, originalId: string, title: string, score: number}[], latencyMs: number,
   *     signature: string}>} best first, with the signature that ran.
   */
  async recommend(history, { excludeSeen }) {
    const start = performance.now();
    let itemIds;
    let scores;
    let signature;
    if (excludeSeen && itemsOutsideWindow(history, this.maxLen).length === 0) {
      signature = 'recommend';
      const out = await this.runSignature(signature, history);
      itemIds = out.item_ids;
      scores = out.scores;
    } else {
      signature = 'score';
      const out = await this.runSignature(signature, history);
      ({ itemIds, scores } = topKFromScores(out.scores, this.topK, excludeSeen ? history : []));
    }
    const latencyMs = performance.now() - start;
    return { rows: decodeRecommendations(itemIds, scores, this.vocab), latencyMs, signature };
  }
}
