/**
 * The demo page: catalogue search, history building and live next-item recommendations.
 */
import { displayTitle, formatBytes, pageOf, searchCatalogue, truncateHistory } from './lib/processing.js';
import { StateError } from './lib/personal_state.js';
import { Personaliser } from './lib/personaliser.js';
import { Recommender } from './lib/recommender.js';

// The committed demo model, and the git-ignored folder that scripts/copy_model.mjs fills with a user's own export.
const DEMO_MODEL_DIR = new URL('model/', document.baseURI).href;
const USER_MODEL_DIR = new URL('user_model/', document.baseURI).href;
const WASM_DIR = new URL('vendor/@litertjs/core/wasm/', document.baseURI).href;
const CATALOGUE_PAGE_SIZE = 100;
// The personal state's one place: this browser's localStorage. Nothing the user does leaves the page.
const STATE_KEY = 'odrec.personalState';
const STATE_WHERE = `this browser's localStorage (${STATE_KEY})`;

const $ = (id) => document.getElementById(id);

const state = {
  recommender: null,
  history: [],
  cataloguePage: 0,
  personaliser: null, // the on-device export, when the model folder has one
  stateVersion: 0, // +1 on every train step and reset, so tests can wait for a ranking of a given state
  trainedSteps: 0,
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
  return {
    modelDir,
    sidecarFile,
    onDeviceSidecar: manifest?.on_device_sidecar ?? null,
    isUserModel: modelDir === USER_MODEL_DIR,
  };
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

function renderRecommendations(rows, latencyMs, signature, key) {
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
  const which = key.includes('|personal:') ? 'your personal model' : 'the shipped model';
  $('latency').textContent = `Inference: ${latencyMs.toFixed(2)} ms (${which}, ${how})`;
  $('latency').dataset.signature = signature;
  $('recommendations').dataset.forHistory = key;
}

function personalOn() {
  return state.personaliser !== null && $('personalise').checked;
}

function historyKey(history, excludeSeen, personal) {
  return `${history.join(',')}|${excludeSeen ? 'exclude' : 'keep'}${personal ? `|personal:${state.stateVersion}` : ''}`;
}

function refreshRecommendations() {
  const request = ++state.requestCount;
  const history = state.history.slice();
  const excludeSeen = $('exclude-seen').checked;
  const personal = personalOn();
  state.pending = state.pending.then(async () => {
    if (request !== state.requestCount) {
      return;
    }
    // Read when it runs: a train step queued before this ranking has changed the state by then.
    const key = historyKey(history, excludeSeen, personal);
    if (history.length === 0) {
      // An all-padding input has no meaning for a sequential model; ask for a first item instead.
      $('recommendations').replaceChildren();
      $('latency').textContent = 'Tap an item in the catalogue to get recommendations.';
      $('recommendations').dataset.forHistory = key;
      return;
    }
    try {
      const engine = personal ? state.personaliser : state.recommender;
      const { rows, latencyMs, signature } = await engine.recommend(history, { excludeSeen });
      if (request === state.requestCount) {
        renderRecommendations(rows, latencyMs, signature, key);
      }
    } catch (error) {
      showError(`Inference failed: ${error.message}`);
    }
  });
}

function showPersonalStatus(kind, text) {
  $('personal-status').dataset.state = kind;
  $('personal-status').textContent = text;
}

/** One `train` step in the page: the user tapped `target` after `before`; the new state goes to localStorage. */
function learn(before, target) {
  state.pending = state.pending.then(async () => {
    try {
      const loss = await state.personaliser.train(before, target);
      state.stateVersion++;
      state.trainedSteps++;
      localStorage.setItem(STATE_KEY, await state.personaliser.saveState());
      $('personal-status').dataset.lastLoss = String(loss);
      showPersonalStatus('learning', `Learnt from ${state.trainedSteps} tap(s) in this session (last loss ${loss.toFixed(3)}); `
        + 'the state is kept in this browser only.');
    } catch (error) {
      showError(`On-device training failed: ${error.message}`);
    }
  });
}

function resetPersonalisation() {
  state.pending = state.pending.then(async () => {
    await state.personaliser.reset();
    localStorage.removeItem(STATE_KEY);
    state.stateVersion++;
    state.trainedSteps = 0;
    showPersonalStatus('empty', 'Personalisation reset: the shipped model ranks again, and nothing is saved.');
  });
  refreshRecommendations();
}

/** Loads the saved state into the on-device model, or says why it is refused (the shipped model then ranks). */
async function restorePersonalState() {
  const saved = localStorage.getItem(STATE_KEY);
  if (saved === null) {
    showPersonalStatus('empty', 'Nothing learnt yet: tick "Learn from my taps" and tap items.');
    return;
  }
  try {
    await state.personaliser.loadState(saved, STATE_WHERE);
    showPersonalStatus('restored', `Personal state restored from ${STATE_WHERE}.`);
  } catch (error) {
    if (!(error instanceof StateError)) {
      throw error;
    }
    showPersonalStatus('refused', `Saved personal state refused: ${error.message}`);
  }
}

async function loadPersonaliser(source) {
  try {
    // The CPU path: the training signatures update resource variables between calls.
    state.personaliser = await Personaliser.load({
      modelDir: source.modelDir, sidecarFile: source.onDeviceSidecar, wasmDir: WASM_DIR, accelerator: 'wasm',
    });
    await restorePersonalState();
  } catch (error) {
    console.error(error);
    state.personaliser = null;
    showPersonalStatus('error', `On-device learning is off: ${error.message}`);
  }
  $('personal-panel').hidden = false;
  for (const id of ['personalise', 'reset-personal']) {
    $(id).disabled = state.personaliser === null;
  }
}

function addToHistory(itemId) {
  const before = state.history.slice();
  state.history.push(itemId);
  renderHistory();
  if (personalOn() && before.length > 0) {
    learn(before, itemId);
  }
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
  $('personalise').addEventListener('change', refreshRecommendations);
  $('reset-personal').addEventListener('click', resetPersonalisation);
  for (const id of ['search', 'clear', 'exclude-seen']) {
    $(id).disabled = false;
  }
  if (source.onDeviceSidecar !== null) {
    await loadPersonaliser(source);
  }
  renderCatalogue();
  renderHistory();
  refreshRecommendations();
  await state.pending;
  $('status').textContent = 'Ready. Tap catalogue items to build a history.';
  $('status').dataset.state = 'ready';
}

main();
