/**
 * Unit tests for public/lib/personal_state.js against documents and digests written by runtime/personalise.py.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  StateError,
  base64ToFloat32,
  float32ToBase64,
  parseState,
  pythonJson,
  serialiseState,
} from '../../public/lib/personal_state.js';

// Written by runtime/personalise.py: json.dumps({**body, "sha256": _state_digest(body)}) for this body.
const PYTHON_STATE = '{"format": "odrec-on-device-state", "version": 1, "model_file": "m.tflite", "model_sha256": '
  + '"abababababababababababababababababababababababababababababababab", "added_items": {}, "tensors": '
  + '{"adapter_scale": {"shape": [2], "data": "AACAPwAAIMA="}, "spare_vectors": {"shape": [1, 2], "data": '
  + '"AAAAPwAAQEA="}}, "sha256": "97d6bffa13866abb97324504c12326fff90293ddd88ad42c33cfb470004bdccb"}';
const MODEL = {
  modelFile: 'm.tflite',
  modelSha256: 'ab'.repeat(32),
  shapes: { adapter_scale: [2], spare_vectors: [1, 2] },
  where: 'test storage',
};

describe('pythonJson', () => {
  it('writes what json.dumps(sort_keys=True) writes, escapes included', () => {
    // Python: json.dumps({"title": "Café — \"q\"\t", "n": [1, 22]}, sort_keys=True)
    assert.equal(pythonJson({ title: 'Café — "q"\t', n: [1, 22] }), '{"n": [1, 22], "title": "Caf\\u00e9 \\u2014 \\"q\\"\\t"}');
    assert.equal(pythonJson({ b: null, a: [true, false, {}] }), '{"a": [true, false, {}], "b": null}');
  });

  it('refuses numbers it cannot write as Python would', () => {
    assert.throws(() => pythonJson({ x: 1.5 }), /integers only/);
  });
});

describe('float32 base64', () => {
  it('is little-endian float32, as numpy writes it', () => {
    assert.equal(float32ToBase64(Float32Array.from([1.0, -2.5])), 'AACAPwAAIMA=');
    assert.deepEqual(Array.from(base64ToFloat32('AAAAPwAAQEA=')), [0.5, 3.0]);
  });

  it('refuses a byte count that is not whole float32 values', () => {
    assert.throws(() => base64ToFloat32('AAAA'), /not a whole number of float32 values/);
  });
});

describe('parseState', () => {
  it('accepts a state Python saved for this model', async () => {
    const { tensors } = await parseState(PYTHON_STATE, MODEL);
    assert.deepEqual(Array.from(tensors.adapter_scale), [1.0, -2.5]);
    assert.deepEqual(Array.from(tensors.spare_vectors), [0.5, 3.0]);
  });

  it('writes what it reads, with the checksum Python computes', async () => {
    const { tensors } = await parseState(PYTHON_STATE, MODEL);
    const text = await serialiseState({
      modelFile: MODEL.modelFile,
      modelSha256: MODEL.modelSha256,
      tensors: { adapter_scale: { shape: [2], values: tensors.adapter_scale }, spare_vectors: { shape: [1, 2], values: tensors.spare_vectors } },
    });
    assert.equal(JSON.parse(text).sha256, JSON.parse(PYTHON_STATE).sha256);
  });

  const refusals = [
    ['unreadable', 'not json', /cannot be read/],
    ['corrupted', PYTHON_STATE.replace('AACAPwAAIMA=', 'AACAPwAAIMB='), /is corrupted \(its sha256 does not match/],
    ['of another format', PYTHON_STATE.replace('odrec-on-device-state', 'other'), /not an odrec on-device state of version 1/],
  ];
  for (const [what, text, message] of refusals) {
    it(`refuses a state that is ${what}, saying how to start again`, async () => {
      await assert.rejects(parseState(text, MODEL), (error) => error instanceof StateError
        && message.test(error.message) && /Reset personalisation/.test(error.message) && /test storage/.test(error.message));
    });
  }

  it('refuses a state saved for another model, naming both', async () => {
    await assert.rejects(parseState(PYTHON_STATE, { ...MODEL, modelFile: 'other.tflite', modelSha256: 'cd'.repeat(32) }),
      /saved for model "m.tflite" \(sha256 abababababababab\.\.\.\), not other.tflite \(cdcdcdcdcdcdcdcd\.\.\.\)/);
  });

  it('refuses tensors of other shapes', async () => {
    await assert.rejects(parseState(PYTHON_STATE, { ...MODEL, shapes: { adapter_scale: [3], spare_vectors: [1, 2] } }),
      /adapter_scale is not of shape \[3\]/);
  });
});
