/**
 * Pure pre- and post-processing for the odrec recommender (docs/artifacts.md); no DOM, no runtime, runs in Node too.
 */

export const PADDING_ID = 0;
export const VOCAB_HEADER = ['internal_id', 'original_id', 'title'];

// Scores at or below this are never real recommendations. `recommend` writes no mask: it excludes the history by rank
// (convert/export.py, top_k_excluding_history); `score` holds -1e9 in the padding column of the float variants. The
// check keeps a decoded list free of such sentinels should an export ever return one.
export const MASKED_SCORE_THRESHOLD = -1e8;

/**
 * Encodes a history for the `history` input: most recent `maxLen` items, left-padded with the padding id.
 *
 * @param {number[]} itemIds internal item ids, oldest first; each in `1..nItems`.
 * @param {number} maxLen `L`, the fixed input length of the model.
 * @returns {Int32Array} `[L]`, the most recent item at index `L - 1`, zeros in front.
 * @throws {RangeError} if `maxLen` is not a positive integer or an id is not a positive int32.
 */
export function encodeHistory(itemIds, maxLen) {
  if (!Number.isInteger(maxLen) || maxLen <= 0) {
    throw new RangeError(`maxLen must be a positive integer, got ${maxLen}`);
  }
  for (const id of itemIds) {
    if (!Number.isInteger(id) || id <= PADDING_ID || id > 0x7fffffff) {
      throw new RangeError(`history item ids must be positive int32 internal ids, got ${id}; map original ids through vocab.tsv first`);
    }
  }
  const recent = truncateHistory(itemIds, maxLen);
  const encoded = new Int32Array(maxLen); // zero-filled: padding id 0 in front
  encoded.set(recent, maxLen - recent.length);
  return encoded;
}

/**
 * Keeps the most recent `maxLen` items of a history.
 *
 * @param {number[]} itemIds oldest first.
 * @param {number} maxLen `L`.
 * @returns {number[]} at most `maxLen` items, oldest first.
 */
export function truncateHistory(itemIds, maxLen) {
  return itemIds.length > maxLen ? itemIds.slice(itemIds.length - maxLen) : itemIds.slice();
}

/**
 * The items of a history that its most recent `maxLen` items do not hold: `recommend` cannot exclude them, since
 * the model reads only that window (runtime/ranking.py, Ranking.java do the same).
 *
 * @param {number[]} itemIds internal ids, oldest first, any length.
 * @param {number} maxLen `L`.
 * @returns {number[]} distinct ids in order of first appearance; empty when `recommend` excludes the whole history.
 */
export function itemsOutsideWindow(itemIds, maxLen) {
  if (!Number.isInteger(maxLen) || maxLen <= 0) {
    throw new RangeError(`maxLen must be a positive integer, got ${maxLen}`);
  }
  const window = new Set(truncateHistory(itemIds, maxLen));
  const outside = new Set();
  for (const id of itemIds.slice(0, Math.max(0, itemIds.length - maxLen))) {
    if (!window.has(id)) {
      outside.add(id);
    }
  }
  return [...outside];
}

/**
 * One next-item example for the on-device `train` signature: the user tapped `target` after `history`.
 *
 * @param {number[]} history internal ids before the tap, oldest first; at least one.
 * @param {number} target the tapped item's internal id, `1..nItems`.
 * @param {number} maxLen `L`.
 * @param {number} nItems the trained catalogue's size.
 * @returns {{history: Int32Array, target: number}} the encoded `[L]` history and the target.
 * @throws {RangeError} for an empty history or a target outside the catalogue.
 */
export function trainingPair(history, target, maxLen, nItems) {
  if (history.length === 0) {
    throw new RangeError('a training pair needs at least one item before the target');
  }
  if (!Number.isInteger(target) || target < 1 || target > nItems) {
    throw new RangeError(`target must be an item id in 1..${nItems}, got ${target}`);
  }
  return { history: encodeHistory(history, maxLen), target };
}

/**
 * Parses vocab.tsv: a header line, then one line per item in internal id order `1..n_items`.
 *
 * @param {string} text the decoded UTF-8 contents of vocab.tsv.
 * @returns {{internalId: number, originalId: string, title: string}[]} entry `i` holds internal id `i + 1`.
 * @throws {Error} on a wrong header, a line without three columns or ids that are not contiguous from 1.
 */
export function parseVocab(text) {
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines.length > 0 && lines[lines.length - 1] === '') {
    lines.pop(); // the final newline
  }
  const header = (lines[0] ?? '').split('\t');
  if (header.join('\t') !== VOCAB_HEADER.join('\t')) {
    throw new Error(`vocab.tsv: header must be "${VOCAB_HEADER.join('<TAB>')}", got "${header.join('<TAB>')}"`);
  }
  const items = [];
  for (let lineIndex = 1; lineIndex < lines.length; lineIndex++) {
    const columns = lines[lineIndex].split('\t');
    if (columns.length !== 3) {
      throw new Error(`vocab.tsv line ${lineIndex + 1}: expected 3 tab-separated columns, got ${columns.length}`);
    }
    const [internalText, originalId, title] = columns;
    const internalId = Number(internalText);
    if (internalText.trim() === '' || internalId !== lineIndex) {
      throw new Error(`vocab.tsv line ${lineIndex + 1}: internal_id must be ${lineIndex} (ids are contiguous from 1), got "${internalText}"`);
    }
    items.push({ internalId, originalId, title });
  }
  return items;
}

/**
 * The text to show for an item: its title, or its original id where the title is empty.
 *
 * @param {{originalId: string, title: string}} item a vocab entry.
 * @returns {string}
 */
export function displayTitle(item) {
  return item.title.trim() === '' ? `item ${item.originalId}` : item.title;
}

/**
 * Finds catalogue items whose title or original id contains the query, case-insensitively.
 *
 * Exact matches come first, then prefix matches, then other substrings, each group in internal id order, so an
 * item found by its full original id or title is always within the limit.
 *
 * @param {{internalId: number, originalId: string, title: string}[]} items the parsed vocab.
 * @param {string} query free text; empty matches everything.
 * @param {number} [limit] the most items to return; all matches by default.
 * @returns {{internalId: number, originalId: string, title: string}[]}
 */
export function searchCatalogue(items, query, limit = Infinity) {
  const needle = query.trim().toLowerCase();
  if (needle === '') {
    return items.slice(0, limit);
  }
  const groups = [[], [], []]; // exact, prefix, substring
  for (const item of items) {
    const fields = [item.originalId.toLowerCase(), item.title.toLowerCase()];
    if (fields.some((field) => field === needle)) {
      groups[0].push(item);
    } else if (fields.some((field) => field.startsWith(needle))) {
      groups[1].push(item);
    } else if (fields.some((field) => field.includes(needle))) {
      groups[2].push(item);
    }
  }
  return groups.flat().slice(0, limit);
}

/**
 * One page of a list, the page number clamped to the pages there are.
 *
 * @param {Array} items the whole list (e.g. every search match).
 * @param {number} page 0-based page asked for.
 * @param {number} pageSize items per page, a positive integer.
 * @returns {{items: Array, page: number, pageCount: number, first: number, last: number}} the page's items, its
 *     clamped number, the number of pages (at least 1) and the 1-based positions of its first and last item
 *     (0 and 0 for an empty list).
 */
export function pageOf(items, page, pageSize) {
  if (!Number.isInteger(pageSize) || pageSize <= 0) {
    throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
  }
  const pageCount = Math.max(1, Math.ceil(items.length / pageSize));
  const clamped = Math.min(Math.max(0, Math.trunc(Number(page) || 0)), pageCount - 1);
  const start = clamped * pageSize;
  const slice = items.slice(start, start + pageSize);
  return { items: slice, page: clamped, pageCount, first: slice.length ? start + 1 : 0, last: start + slice.length };
}

/**
 * Checks a sidecar against the bytes it describes (docs/artifacts.md, "Sidecar").
 *
 * @param {object} sidecar the parsed `<model>.json`.
 * @param {{modelSha256: string, vocabSha256: string, vocabItemCount: number}} observed the hex sha256 of the model
 *     and vocab bytes as fetched, and the number of item lines in vocab.tsv.
 * @returns {string[]} one readable message per disagreement; empty when the sidecar holds.
 */
export function validateSidecar(sidecar, observed) {
  const problems = [];
  const requireInteger = (key) => {
    if (!Number.isInteger(sidecar[key]) || sidecar[key] <= 0) {
      problems.push(`sidecar ${key} must be a positive integer, got ${JSON.stringify(sidecar[key])}`);
      return false;
    }
    return true;
  };
  const hasItems = requireInteger('n_items');
  const hasMaxLen = requireInteger('max_len');
  const hasTopK = requireInteger('top_k');
  if (typeof sidecar.sha256 !== 'string' || sidecar.sha256.toLowerCase() !== observed.modelSha256) {
    problems.push(`model ${sidecar.model_file}: sha256 is ${observed.modelSha256} but the sidecar says ${sidecar.sha256}; re-copy the model and its sidecar from the same export`);
  }
  if (typeof sidecar.vocab_sha256 !== 'string' || sidecar.vocab_sha256.toLowerCase() !== observed.vocabSha256) {
    problems.push(`${sidecar.vocab_file ?? 'vocab.tsv'}: sha256 is ${observed.vocabSha256} but the sidecar says ${sidecar.vocab_sha256}; re-copy vocab.tsv from the same export`);
  }
  if (hasItems && observed.vocabItemCount !== sidecar.n_items) {
    problems.push(`vocab.tsv has ${observed.vocabItemCount} items but the sidecar says n_items = ${sidecar.n_items}`);
  }
  if (sidecar.padding_side !== undefined && sidecar.padding_side !== 'left') {
    problems.push(`sidecar padding_side must be "left", got ${JSON.stringify(sidecar.padding_side)}`);
  }
  if (sidecar.padding_id !== undefined && sidecar.padding_id !== PADDING_ID) {
    problems.push(`sidecar padding_id must be ${PADDING_ID}, got ${JSON.stringify(sidecar.padding_id)}`);
  }
  const signatures = sidecar.signatures ?? {};
  const expectShape = (path, actual, expected) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      problems.push(`sidecar signatures.${path} must be ${JSON.stringify(expected)} (from max_len, top_k, n_items), got ${JSON.stringify(actual)}`);
    }
  };
  if (hasMaxLen && hasTopK) {
    expectShape('recommend.inputs.history', signatures.recommend?.inputs?.history, [1, sidecar.max_len]);
    expectShape('recommend.outputs.item_ids', signatures.recommend?.outputs?.item_ids, [1, sidecar.top_k]);
    expectShape('recommend.outputs.scores', signatures.recommend?.outputs?.scores, [1, sidecar.top_k]);
  }
  if (hasMaxLen && hasItems && signatures.score !== undefined) {
    // An on-device export's spare item slots are score columns too (docs/artifacts.md).
    const spare = sidecar.on_device?.spare_items ?? 0;
    expectShape('score.inputs.history', signatures.score?.inputs?.history, [1, sidecar.max_len]);
    expectShape('score.outputs.scores', signatures.score?.outputs?.scores, [1, sidecar.n_items + 1 + spare]);
  }
  return problems;
}

/**
 * Checks the signature the runtime reports against the shapes the sidecar promises.
 *
 * @param {string} name the signature name, e.g. `recommend`.
 * @param {{name: string, dtype: string, shape: ArrayLike<number>}[]} details input or output details from the runtime.
 * @param {Record<string, number[]>} expected tensor name -> shape from the sidecar.
 * @param {Record<string, string>} dtypes tensor name -> dtype the contract fixes (`int32`, `float32`).
 * @returns {string[]} one readable message per disagreement.
 */
export function checkTensorDetails(name, details, expected, dtypes) {
  const problems = [];
  for (const [tensorName, shape] of Object.entries(expected)) {
    const detail = details.find((d) => d.name === tensorName);
    if (detail === undefined) {
      problems.push(`model signature ${name} has no tensor ${tensorName} (it has ${details.map((d) => d.name).join(', ') || 'none'})`);
      continue;
    }
    const actual = Array.from(detail.shape);
    if (JSON.stringify(actual) !== JSON.stringify(shape)) {
      problems.push(`model signature ${name}.${tensorName} has shape ${JSON.stringify(actual)} but the sidecar says ${JSON.stringify(shape)}`);
    }
    if (dtypes[tensorName] !== undefined && detail.dtype !== dtypes[tensorName]) {
      problems.push(`model signature ${name}.${tensorName} has dtype ${detail.dtype}, expected ${dtypes[tensorName]}`);
    }
  }
  return problems;
}

/**
 * Top-K over full-catalogue scores (the `score` signature), ties broken by the lower id as TFLite's TOPK_V2 does.
 *
 * @param {ArrayLike<number>} scores `[n_items + 1]`, column `i` = item `i`.
 * @param {number} k how many to keep.
 * @param {Iterable<number>} [excludedIds] ids never returned; the padding id is always excluded.
 * @returns {{itemIds: number[], scores: number[]}} best first, at most `k` each.
 */
export function topKFromScores(scores, k, excludedIds = []) {
  const excluded = new Set(excludedIds);
  excluded.add(PADDING_ID);
  // A bounded, sorted buffer keeps this O(n * k) without sorting the whole catalogue.
  const bestIds = [];
  const bestScores = [];
  for (let id = 0; id < scores.length; id++) {
    if (excluded.has(id)) {
      continue;
    }
    const score = scores[id];
    if (Number.isNaN(score)) {
      continue;
    }
    if (bestIds.length === k && score <= bestScores[k - 1]) {
      continue;
    }
    let position = bestIds.length;
    while (position > 0 && bestScores[position - 1] < score) {
      position--;
    }
    bestIds.splice(position, 0, id);
    bestScores.splice(position, 0, score);
    if (bestIds.length > k) {
      bestIds.pop();
      bestScores.pop();
    }
  }
  return { itemIds: bestIds, scores: bestScores };
}

/**
 * Turns model output into display rows, dropping padding, out-of-range ids and masked scores.
 *
 * @param {ArrayLike<number>} itemIds `[K]` internal ids, best first.
 * @param {ArrayLike<number>} scores `[K]` matching scores.
 * @param {{internalId: number, originalId: string, title: string}[]} vocab the parsed vocab.
 * @returns {{itemId: number, originalId: string, title: string, score: number}[]} best first.
 */
export function decodeRecommendations(itemIds, scores, vocab) {
  if (itemIds.length !== scores.length) {
    throw new Error(`item_ids and scores must have the same length, got ${itemIds.length} and ${scores.length}`);
  }
  const rows = [];
  for (let i = 0; i < itemIds.length; i++) {
    const itemId = itemIds[i];
    const score = scores[i];
    if (itemId <= PADDING_ID || itemId > vocab.length || score <= MASKED_SCORE_THRESHOLD) {
      continue;
    }
    const item = vocab[itemId - 1];
    rows.push({ itemId, originalId: item.originalId, title: displayTitle(item), score });
  }
  return rows;
}

/**
 * Hex encoding of a digest, as the sidecar stores sha256 values.
 *
 * @param {ArrayBuffer} digest raw bytes.
 * @returns {string} lowercase hex.
 */
export function toHex(digest) {
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * A human-readable byte count.
 *
 * @param {number} bytes a size.
 * @returns {string} e.g. `8.7 KiB`.
 */
export function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
