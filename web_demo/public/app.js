/**
 * The demo page: catalogue search, history building and live next-item recommendations.
 */
import { displayTitle, formatBytes, pageOf, searchCatalogue, truncateHistory } from './lib/processing.js';
import { Recommender } from './lib/recommender.js';

// The committed demo model, and the git-ignored folder that scripts/copy_model.mjs fills with a user's own export.
const DEMO_MODEL_DIR = new URL('model/', document.baseURI).href;
const USER_MODEL_DIR = new URL('user_model/', document.baseURI).href;
const WASM_DIR = new URL('vendor/@litertjs/core/wasm/', document.baseURI).href;
const CATALOGUE_PAGE_SIZE = 100;

const $ = (id) => document.getElementById(id);

const state = {
  recommender: null,
  history: [],
  cataloguePage: 0,
  // Inference runs one at a time; a request that is overtaken by a newer one is not rendered.
  pending: Promise.resolve(),
  requestCount: 0,
};

function showError(message) {
  $('status').textContent = 'Could not start the demo.';
  $('status').dataset.state = 'error';
  $('error').textContent = message;
  $('error').hidden = false;
}

async function fetchManifest(modelDir) {
  const response = await fetch(`${modelDir}manifest.json`);
  return response.ok ? response.json() : null;
}

/**
 * The model folder and sidecar to load: public/user_model/ when it holds an export (copy_model.mjs), else the demo
 * model; `?model=demo` forces the demo model, `?sidecar=NAME.json` picks another sidecar in the chosen folder.
 */
async function resolveModel() {
  const query = new URLSearchParams(location.search);
  let modelDir = DEMO_MODEL_DIR;
  let manifest = null;
  if (query.get('model') !== 'demo') {
    manifest = await fetchManifest(USER_MODEL_DIR);
    modelDir = manifest === null ? DEMO_MODEL_DIR : USER_MODEL_DIR;
  }
  manifest ??= await fetchManifest(DEMO_MODEL_DIR);
  const sidecarFile = query.get('sidecar') ?? manifest?.sidecar;
  if (!sidecarFile) {
    throw new Error('No model found in public/user_model/ or public/model/ (no manifest.json).\nRun: node scripts/copy_model.mjs EXPORT_DIR [variant]');
  }
  return { modelDir, sidecarFile, isUserModel: modelDir === USER_MODEL_DIR };
}

function renderCatalogue() {
  const matches = searchCatalogue(state.recommender.vocab, $('search').value);
  const page = pageOf(matches, state.cataloguePage, CATALOGUE_PAGE_SIZE);
  state.cataloguePage = page.page;
  const list = $('catalogue');
  list.replaceChildren(...page.items.map((item) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.itemId = String(item.internalId);
    button.textContent = displayTitle(item);
    button.title = `original id ${item.originalId}`;
    const li = document.createElement('li');
    li.append(button);
    return li;
  }));
  const total = state.recommender.vocab.length;
  const of = matches.length === total ? `${total} items` : `${matches.length} of ${total} items match`;
  $('catalogue-count').textContent = page.pageCount > 1 ? `${page.first}–${page.last} of ${of}` : of;
  $('catalogue-prev').disabled = page.page === 0;
  $('catalogue-next').disabled = page.page === page.pageCount - 1;
  $('catalogue-pages').hidden = page.pageCount === 1;
}

function turnCataloguePage(step) {
  state.cataloguePage += step;
  renderCatalogue();
  $('catalogue').scrollTop = 0;
}

function renderHistory() {
  const { vocab, maxLen } = state.recommender;
  const firstInWindow = Math.max(0, state.history.length - maxLen);
  $('history').replaceChildren(...state.history.map((itemId, position) => {
    const li = document.createElement('li');
    li.dataset.itemId = String(itemId);
    li.textContent = displayTitle(vocab[itemId - 1]);
    li.classList.toggle('outside-window', position < firstInWindow);
    return li;
  }));
  $('history').scrollTop = $('history').scrollHeight; // the most recent item, the one the model weighs, in view
  $('history-count').textContent = `${state.history.length} items`;
  const used = truncateHistory(state.history, maxLen).length;
  $('history-note').hidden = used === state.history.length;
  $('history-note').textContent = `The model reads the most recent ${used} of them (max_len = ${maxLen}); `
    + '"Exclude seen items" leaves out all of them.';
}

function renderRecommendations(rows, latencyMs, signature, historyKey) {
  const seen = new Set(state.history);
  $('recommendations').replaceChildren(...rows.map((row, rank) => {
    const tr = document.createElement('tr');
    tr.classList.toggle('seen', seen.has(row.itemId));
    tr.dataset.itemId = String(row.itemId);
    tr.dataset.score = String(row.score); // full precision, for tests; the cell shows it rounded
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.itemId = String(row.itemId);
    button.textContent = row.title;
    const cells = [String(rank + 1), button, row.originalId, row.score.toFixed(4)];
    const classes = ['rank', 'title', 'id', 'score'];
    tr.append(...cells.map((content, i) => {
      const td = document.createElement('td');
      td.className = classes[i];
      td.append(content);
      return td;
    }));
    return tr;
  }));
  const how = signature === 'recommend' ? 'recommend, history excluded in the graph'
    : `score + top-K in JS${$('exclude-seen').checked ? `, all ${seen.size} seen items excluded` : ''}`;
  $('latency').textContent = `Inference: ${latencyMs.toFixed(2)} ms (${how})`;
  $('latency').dataset.signature = signature;
  $('recommendations').dataset.forHistory = historyKey;
}

function historyKey() {
  return `${state.history.join(',')}|${$('exclude-seen').checked ? 'exclude' : 'keep'}`;
}

function refreshRecommendations() {
  const request = ++state.requestCount;
  const history = state.history.slice();
  const excludeSeen = $('exclude-seen').checked;
  const key = historyKey();
  state.pending = state.pending.then(async () => {
    if (request !== state.requestCount) {
      return;
    }
    if (history.length === 0) {
      // An all-padding input has no meaning for a sequential model; ask for a first item instead.
      $('recommendations').replaceChildren();
      $('latency').textContent = 'Tap an item in the catalogue to get recommendations.';
      $('recommendations').dataset.forHistory = key;
      return;
    }
    try {
      const { rows, latencyMs, signature } = await state.recommender.recommend(history, { excludeSeen });
      if (request === state.requestCount) {
        renderRecommendations(rows, latencyMs, signature, key);
      }
    } catch (error) {
      showError(`Inference failed: ${error.message}`);
    }
  });
}

function addToHistory(itemId) {
  state.history.push(itemId);
  renderHistory();
  refreshRecommendations();
}

function onItemClick(event) {
  const button = event.target.closest('button[data-item-id]');
  if (button !== null) {
    addToHistory(Number(button.dataset.itemId));
  }
}

async function main() {
  let source;
  try {
    source = await resolveModel();
    const accelerator = new URLSearchParams(location.search).get('accelerator') ?? 'auto';
    state.recommender = await Recommender.load({ modelDir: source.modelDir, sidecarFile: source.sidecarFile, wasmDir: WASM_DIR, accelerator });
  } catch (error) {
    console.error(error);
    showError(error.message);
    return;
  }
  const { sidecar, modelBytes, accelerator } = state.recommender;
  $('model-name').textContent = `${sidecar.model_file} (${sidecar.role}, ${sidecar.variant}, ${sidecar.dataset})`;
  $('model-size').textContent = `${formatBytes(modelBytes.byteLength)} (${modelBytes.byteLength} bytes)`;
  $('model-size').dataset.bytes = String(modelBytes.byteLength);
  $('model-accelerator').textContent = accelerator === 'webgpu' ? 'LiteRT.js on WebGPU' : 'LiteRT.js on WASM (XNNPACK, CPU)';
  $('model-shapes').textContent = `max_len ${sidecar.max_len}, top_k ${sidecar.top_k}, ${sidecar.n_items} items`;
  $('model-source').textContent = source.isUserModel
    ? 'your export, public/user_model/ (delete that folder, or open ?model=demo, for the demo model)'
    : 'the demo model, public/model/';
  $('model-source').dataset.source = source.isUserModel ? 'user' : 'demo';
  $('model-info').hidden = false;

  $('search').addEventListener('input', () => {
    state.cataloguePage = 0;
    renderCatalogue();
  });
  $('catalogue-prev').addEventListener('click', () => turnCataloguePage(-1));
  $('catalogue-next').addEventListener('click', () => turnCataloguePage(1));
  $('catalogue').addEventListener('click', onItemClick);
  $('recommendations').addEventListener('click', onItemClick);
  $('clear').addEventListener('click', () => {
    state.history = [];
    renderHistory();
    refreshRecommendations();
  });
  $('exclude-seen').addEventListener('change', refreshRecommendations);
  for (const id of ['search', 'clear', 'exclude-seen']) {
    $(id).disabled = false;
  }
  renderCatalogue();
  renderHistory();
  refreshRecommendations();
  await state.pending;
  $('status').textContent = 'Ready. Tap catalogue items to build a history.';
  $('status').dataset.state = 'ready';
}

main();
