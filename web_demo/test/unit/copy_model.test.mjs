/**
 * Unit tests for scripts/copy_model.mjs on a tiny fake export folder in a temporary directory.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { copyModel, DEMO_MODEL_DIR, USER_MODEL_DIR } from '../../scripts/copy_model.mjs';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

describe('copyModel', () => {
  let exportDir;
  let destDir;
  const modelBytes = Buffer.from('not really a flatbuffer');
  const vocabBytes = Buffer.from('internal_id\toriginal_id\ttitle\n1\ta\tA\n');

  async function writeSidecar(name, overrides = {}) {
    const sidecar = {
      model_file: `${name}.tflite`, sha256: sha256(modelBytes), vocab_file: 'vocab.tsv', vocab_sha256: sha256(vocabBytes),
      ...overrides,
    };
    await writeFile(path.join(exportDir, `${name}.json`), JSON.stringify(sidecar));
    await writeFile(path.join(exportDir, `${name}.tflite`), modelBytes);
  }

  beforeEach(async () => {
    exportDir = await mkdtemp(path.join(tmpdir(), 'odrec-export-'));
    destDir = await mkdtemp(path.join(tmpdir(), 'odrec-model-'));
    await writeFile(path.join(exportDir, 'vocab.tsv'), vocabBytes);
    await writeFile(path.join(exportDir, 'golden.json'), JSON.stringify({ model_sha256: sha256(modelBytes), cases: [] }));
    await writeFile(path.join(destDir, 'README.md'), 'kept');
    await writeFile(path.join(destDir, 'stale.tflite'), 'old');
  });

  afterEach(async () => {
    await rm(exportDir, { recursive: true });
    await rm(destDir, { recursive: true });
  });

  it('copies the model, sidecar, vocab and golden, names the sidecar in manifest.json, removes stale files', async () => {
    await writeSidecar('student_fp16');
    await copyModel(exportDir, 'fp16', destDir);
    assert.deepEqual((await readdir(destDir)).sort(),
      ['README.md', 'golden.json', 'manifest.json', 'student_fp16.json', 'student_fp16.tflite', 'vocab.tsv']);
    assert.deepEqual(JSON.parse(await readFile(path.join(destDir, 'manifest.json'), 'utf-8')), { sidecar: 'student_fp16.json' });
    assert.deepEqual(await readFile(path.join(destDir, 'student_fp16.tflite')), modelBytes);
  });

  it('copies the on-device export beside the model and names it in manifest.json', async () => {
    await writeSidecar('student_fp32');
    const onDeviceBytes = Buffer.from('an on-device flatbuffer');
    await writeFile(path.join(exportDir, 'student_fp32_on_device.tflite'), onDeviceBytes);
    await writeFile(path.join(exportDir, 'student_fp32_on_device.json'), JSON.stringify({
      model_file: 'student_fp32_on_device.tflite', sha256: sha256(onDeviceBytes), vocab_sha256: sha256(vocabBytes),
    }));
    await writeFile(path.join(exportDir, 'golden_on_device.json'), JSON.stringify({ model_sha256: sha256(onDeviceBytes) }));
    await copyModel(exportDir, 'student_fp32', destDir);
    const files = await readdir(destDir);
    for (const name of ['student_fp32_on_device.tflite', 'student_fp32_on_device.json', 'golden_on_device.json']) {
      assert.ok(files.includes(name), name);
    }
    assert.deepEqual(JSON.parse(await readFile(path.join(destDir, 'manifest.json'), 'utf-8')),
      { sidecar: 'student_fp32.json', on_device_sidecar: 'student_fp32_on_device.json' });
  });

  it('refuses an on-device model that does not hash to its sidecar', async () => {
    await writeSidecar('student_fp32');
    await writeFile(path.join(exportDir, 'student_fp32_on_device.tflite'), Buffer.from('changed'));
    await writeFile(path.join(exportDir, 'student_fp32_on_device.json'), JSON.stringify({
      model_file: 'student_fp32_on_device.tflite', sha256: '0'.repeat(64), vocab_sha256: sha256(vocabBytes),
    }));
    await assert.rejects(copyModel(exportDir, 'student_fp32', destDir), /student_fp32_on_device\.tflite does not hash/);
  });

  it('takes a role-qualified name as is', async () => {
    await writeSidecar('teacher_fp32');
    await copyModel(exportDir, 'teacher_fp32', destDir);
    assert.ok((await readdir(destDir)).includes('teacher_fp32.tflite'));
    await writeSidecar('rival_student-dense-fast_fp32');
    await copyModel(exportDir, 'rival_student-dense-fast_fp32', destDir);
    assert.ok((await readdir(destDir)).includes('rival_student-dense-fast_fp32.tflite'));
  });

  it('refuses a model that does not hash to its sidecar, copying nothing', async () => {
    await writeSidecar('student_fp32', { sha256: '0'.repeat(64) });
    await assert.rejects(copyModel(exportDir, 'student_fp32', destDir), /student_fp32\.tflite does not hash/);
    assert.ok((await readdir(destDir)).includes('stale.tflite'));
  });

  it('fills a git-ignored folder by default, and only --demo the committed one', () => {
    // A user's export, possibly trained on private data, must stay one `git commit -a` away from the repository.
    const ignored = (file) => {
      try {
        execFileSync('git', ['check-ignore', '-q', file], { cwd: path.dirname(USER_MODEL_DIR) });
        return true;
      } catch {
        return false;
      }
    };
    assert.equal(path.basename(USER_MODEL_DIR), 'user_model');
    assert.ok(ignored(path.join(USER_MODEL_DIR, 'student_fp32.tflite')));
    assert.ok(ignored(path.join(USER_MODEL_DIR, 'manifest.json')));
    assert.ok(!ignored(path.join(DEMO_MODEL_DIR, 'student_fp32.tflite')));
  });

  it('names the missing sidecar', async () => {
    await assert.rejects(copyModel(exportDir, 'dynamic_int8', destDir), /cannot read sidecar .*student_dynamic_int8\.json/);
  });
});
