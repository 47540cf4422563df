/**
 * Unit tests for public/lib/processing.js; expected values are written out by hand, no model involved.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  checkTensorDetails,
  decodeRecommendations,
  displayTitle,
  encodeHistory,
  formatBytes,
  itemsOutsideWindow,
  pageOf,
  parseVocab,
  searchCatalogue,
  toHex,
  topKFromScores,
  truncateHistory,
  validateSidecar,
} from '../../public/lib/processing.js';

const VOCAB_TEXT = 'internal_id\toriginal_id\ttitle\n1\t12\tHeat (1995)\n2\t7\t\n3\t40\tHeathers\n4\t120\tUp\n';
const VOCAB = parseVocab(VOCAB_TEXT);

describe('encodeHistory', () => {
  it('left-pads a short history with zeros, most recent last', () => {
    assert.deepEqual(Array.from(encodeHistory([3, 5], 4)), [0, 0, 3, 5]);
  });

  it('keeps the most recent L items of a long history', () => {
    assert.deepEqual(Array.from(encodeHistory([1, 2, 3, 4, 5, 6], 4)), [3, 4, 5, 6]);
  });

  it('returns int32 of length L, all padding for an empty history', () => {
    const encoded = encodeHistory([], 3);
    assert.ok(encoded instanceof Int32Array);
    assert.deepEqual(Array.from(encoded), [0, 0, 0]);
  });

  it('keeps repeated items', () => {
    assert.deepEqual(Array.from(encodeHistory([2, 2, 1], 4)), [0, 2, 2, 1]);
  });

  for (const bad of [0, -1, 1.5, NaN, 2 ** 31]) {
    it(`rejects item id ${bad}`, () => {
      assert.throws(() => encodeHistory([1, bad], 4), /positive int32 internal ids/);
    });
  }

  for (const bad of [0, -2, 2.5]) {
    it(`rejects maxLen ${bad}`, () => {
      assert.throws(() => encodeHistory([1], bad), /maxLen must be a positive integer/);
    });
  }
});

describe('truncateHistory', () => {
  it('does not alias its input', () => {
    const history = [1, 2];
    const kept = truncateHistory(history, 5);
    kept.push(3);
    assert.deepEqual(history, [1, 2]);
  });
});

describe('parseVocab', () => {
  it('parses ids, original ids and titles, empty title included', () => {
    assert.deepEqual(VOCAB, [
      { internalId: 1, originalId: '12', title: 'Heat (1995)' },
      { internalId: 2, originalId: '7', title: '' },
      { internalId: 3, originalId: '40', title: 'Heathers' },
      { internalId: 4, originalId: '120', title: 'Up' },
    ]);
  });

  it('accepts a missing final newline and CRLF line ends', () => {
    const text = 'internal_id\toriginal_id\ttitle\r\n1\ta\tA\r\n2\tb\tB';
    assert.deepEqual(parseVocab(text).map((item) => item.title), ['A', 'B']);
  });

  it('parses a header-only vocab as empty', () => {
    assert.deepEqual(parseVocab('internal_id\toriginal_id\ttitle\n'), []);
  });

  it('rejects a wrong header', () => {
    assert.throws(() => parseVocab('id\toriginal_id\ttitle\n1\ta\tA\n'), /header must be/);
  });

  it('rejects ids that are not contiguous from 1', () => {
    assert.throws(() => parseVocab('internal_id\toriginal_id\ttitle\n1\ta\tA\n3\tc\tC\n'), /line 3: internal_id must be 2/);
  });

  it('rejects a line without three columns', () => {
    assert.throws(() => parseVocab('internal_id\toriginal_id\ttitle\n1\ta\n'), /line 2: expected 3/);
  });
});

describe('displayTitle', () => {
  it('falls back to the original id for an empty title', () => {
    assert.equal(displayTitle(VOCAB[1]), 'item 7');
    assert.equal(displayTitle(VOCAB[0]), 'Heat (1995)');
  });
});

describe('searchCatalogue', () => {
  const ids = (items) => items.map((item) => item.internalId);

  it('matches titles case-insensitively, prefix before substring', () => {
    assert.deepEqual(ids(searchCatalogue(VOCAB, 'heat', 10)), [1, 3]);
    assert.deepEqual(ids(searchCatalogue(VOCAB, 'EAT', 10)), [1, 3]);
  });

  it('puts an exact original id first', () => {
    // "12" is item 1's original id exactly and a prefix of item 4's "120".
    assert.deepEqual(ids(searchCatalogue(VOCAB, '12', 10)), [1, 4]);
    assert.deepEqual(ids(searchCatalogue(VOCAB, '120', 10)), [4]);
  });

  it('returns everything for an empty query, up to the limit', () => {
    assert.deepEqual(ids(searchCatalogue(VOCAB, '  ', 3)), [1, 2, 3]);
  });

  it('applies the limit after ranking', () => {
    assert.deepEqual(ids(searchCatalogue(VOCAB, 'up', 1)), [4]);
  });

  it('returns every match without a limit', () => {
    const many = Array.from({ length: 250 }, (_, i) => ({ internalId: i + 1, originalId: `sku-${i}`, title: `jazz album ${i + 1}` }));
    assert.equal(searchCatalogue(many, 'jazz').length, 250);
    assert.deepEqual(ids(searchCatalogue(many, 'jazz album 250')), [250]);
  });
});

describe('pageOf', () => {
  const items = Array.from({ length: 250 }, (_, i) => i + 1);

  it('cuts pages of the given size with 1-based first and last positions', () => {
    assert.deepEqual(pageOf(items, 1, 100), { items: items.slice(100, 200), page: 1, pageCount: 3, first: 101, last: 200 });
    assert.deepEqual(pageOf(items, 2, 100), { items: items.slice(200), page: 2, pageCount: 3, first: 201, last: 250 });
  });

  it('clamps the page number to the pages there are', () => {
    assert.equal(pageOf(items, 7, 100).page, 2);
    assert.equal(pageOf(items, -1, 100).page, 0);
  });

  it('has one empty page for an empty list', () => {
    assert.deepEqual(pageOf([], 3, 100), { items: [], page: 0, pageCount: 1, first: 0, last: 0 });
  });

  it('rejects a page size that is not a positive integer', () => {
    assert.throws(() => pageOf(items, 0, 0), /pageSize must be a positive integer, got 0/);
  });
});

describe('itemsOutsideWindow', () => {
  it('is empty when the window holds the whole history', () => {
    assert.deepEqual(itemsOutsideWindow([1, 2, 3], 3), []);
    assert.deepEqual(itemsOutsideWindow([], 3), []);
  });

  it('lists the older items, distinct, in order of first appearance', () => {
    assert.deepEqual(itemsOutsideWindow([5, 1, 5, 2, 3], 2), [5, 1]);
  });

  it('leaves out an older item that is also in the window', () => {
    assert.deepEqual(itemsOutsideWindow([4, 7, 4, 9], 2), [7]);
  });

  it('rejects a bad maxLen', () => {
    assert.throws(() => itemsOutsideWindow([1], 0), /maxLen must be a positive integer/);
  });
});

describe('topKFromScores over a history longer than maxLen', () => {
  it('excludes every history item, those outside the window too', () => {
    const scores = [-1e9, 9, 8, 7, 6, 5, 4];
    const history = [1, 2, 3, 4]; // maxLen 2: items 1 and 2 lie outside the window
    assert.deepEqual(itemsOutsideWindow(history, 2), [1, 2]);
    assert.deepEqual(topKFromScores(scores, 2, history).itemIds, [5, 6]);
  });
});

describe('validateSidecar', () => {
  const sidecar = {
    model_file: 'student_fp32.tflite',
    sha256: 'ab'.repeat(32),
    n_items: 4,
    max_len: 3,
    top_k: 2,
    padding_side: 'left',
    padding_id: 0,
    signatures: {
      recommend: { inputs: { history: [1, 3] }, outputs: { item_ids: [1, 2], scores: [1, 2] } },
      score: { inputs: { history: [1, 3] }, outputs: { scores: [1, 5] } },
    },
    vocab_file: 'vocab.tsv',
    vocab_sha256: 'cd'.repeat(32),
  };
  const observed = { modelSha256: 'ab'.repeat(32), vocabSha256: 'cd'.repeat(32), vocabItemCount: 4 };

  it('accepts a consistent sidecar', () => {
    assert.deepEqual(validateSidecar(sidecar, observed), []);
  });

  it('reports a model hash mismatch with both hashes', () => {
    const problems = validateSidecar(sidecar, { ...observed, modelSha256: 'ef'.repeat(32) });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /student_fp32\.tflite: sha256 is (ef)+ but the sidecar says (ab)+/);
  });

  it('reports a vocab hash mismatch', () => {
    assert.match(validateSidecar(sidecar, { ...observed, vocabSha256: '00'.repeat(32) })[0], /vocab\.tsv: sha256/);
  });

  it('reports a vocab length mismatch', () => {
    assert.deepEqual(validateSidecar(sidecar, { ...observed, vocabItemCount: 5 }), [
      'vocab.tsv has 5 items but the sidecar says n_items = 4',
    ]);
  });

  it('reports signature shapes that disagree with max_len, top_k and n_items', () => {
    const bad = structuredClone(sidecar);
    bad.signatures.recommend.inputs.history = [1, 50];
    bad.signatures.score.outputs.scores = [1, 4];
    const problems = validateSidecar(bad, observed);
    assert.equal(problems.length, 2);
    assert.match(problems[0], /recommend\.inputs\.history must be \[1,3\]/);
    assert.match(problems[1], /score\.outputs\.scores must be \[1,5\]/);
  });

  it('reports a missing or non-integer field', () => {
    const { max_len: _, ...noMaxLen } = sidecar;
    assert.match(validateSidecar(noMaxLen, observed)[0], /max_len must be a positive integer/);
  });

  it('reports right padding', () => {
    assert.match(validateSidecar({ ...sidecar, padding_side: 'right' }, observed)[0], /padding_side must be "left"/);
  });
});

describe('checkTensorDetails', () => {
  const details = [
    { name: 'item_ids', dtype: 'int32', shape: new Int32Array([1, 2]) },
    { name: 'scores', dtype: 'float32', shape: new Int32Array([1, 2]) },
  ];
  const dtypes = { item_ids: 'int32', scores: 'float32' };

  it('accepts matching names, shapes and dtypes', () => {
    assert.deepEqual(checkTensorDetails('recommend', details, { item_ids: [1, 2], scores: [1, 2] }, dtypes), []);
  });

  it('reports a missing tensor, a wrong shape and a wrong dtype', () => {
    const problems = checkTensorDetails('recommend', [{ ...details[0], dtype: 'float32' }, details[1]],
      { item_ids: [1, 2], scores: [1, 3], logits: [1] }, dtypes);
    assert.deepEqual(problems, [
      'model signature recommend.item_ids has dtype float32, expected int32',
      'model signature recommend.scores has shape [1,2] but the sidecar says [1,3]',
      'model signature recommend has no tensor logits (it has item_ids, scores)',
    ]);
  });
});

describe('topKFromScores', () => {
  it('returns the best k ids and scores, best first, never padding', () => {
    const scores = Float32Array.from([-1e9, 0.5, 2.0, -0.25, 1.0]);
    assert.deepEqual(topKFromScores(scores, 3), { itemIds: [2, 4, 1], scores: [2.0, 1.0, 0.5] });
  });

  it('breaks ties by the lower id', () => {
    assert.deepEqual(topKFromScores([-1e9, 1, 3, 3, 1, 3], 4).itemIds, [2, 3, 5, 1]);
  });

  it('excludes the given ids and padding even if padding scores best', () => {
    assert.deepEqual(topKFromScores([9, 1, 2, 3], 2, [3]).itemIds, [2, 1]);
  });

  it('returns fewer than k when the catalogue is smaller', () => {
    assert.deepEqual(topKFromScores([-1e9, 4, 5], 5), { itemIds: [2, 1], scores: [5, 4] });
  });
});

describe('decodeRecommendations', () => {
  it('maps ids to titles and original ids, keeping order and scores', () => {
    assert.deepEqual(decodeRecommendations(Int32Array.from([3, 2]), Float32Array.from([2.5, 1.5]), VOCAB), [
      { itemId: 3, originalId: '40', title: 'Heathers', score: 2.5 },
      { itemId: 2, originalId: '7', title: 'item 7', score: 1.5 },
    ]);
  });

  it('drops padding, out-of-range ids and masked scores', () => {
    const rows = decodeRecommendations([4, 0, 9, 1], [1.0, 0.5, 0.4, -1e9], VOCAB);
    assert.deepEqual(rows.map((row) => row.itemId), [4]);
  });

  it('rejects outputs of different lengths', () => {
    assert.throws(() => decodeRecommendations([1, 2], [1.0], VOCAB), /same length/);
  });
});

describe('toHex', () => {
  it('hex-encodes a WebCrypto digest as the sidecar stores it', async () => {
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc'));
    assert.equal(toHex(digest), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(toHex(Uint8Array.from([0, 15, 255]).buffer), '000fff');
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(8888), '8.7 KiB');
    assert.equal(formatBytes(3 * 1024 * 1024), '3.0 MiB');
  });
});
