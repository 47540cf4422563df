/**
 * Fills public/model/ from an export folder (docs/artifacts.md): one model, its sidecar, vocab.tsv and golden.json.
 *
 * Usage: node scripts/copy_model.mjs EXPORT_DIR [MODEL]
 *   MODEL is `<role>_<variant>` (e.g. `student_fp32`, `teacher_fp32`) or a bare variant (`fp16` = `student_fp16`);
 *   default `student_fp32`. Writes public/model/manifest.json naming the sidecar the page loads.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MODEL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../public/model');
const KEPT_FILES = new Set(['README.md', '.gitkeep']);
const ROLES = ['student', 'teacher'];

function fail(message) {
  console.error(`copy_model: ${message}`);
  process.exit(1);
}

async function readOrFail(file, what) {
  try {
    return await readFile(file);
  } catch (error) {
    fail(`cannot read ${what} ${file}: ${error.code ?? error.message}`);
  }
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

async function main() {
  const [exportDir, modelArg = 'student_fp32'] = process.argv.slice(2);
  if (exportDir === undefined) {
    fail('usage: node scripts/copy_model.mjs EXPORT_DIR [MODEL]  (MODEL e.g. student_fp32, teacher_fp32 or fp16)');
  }
  const modelName = ROLES.some((role) => modelArg.startsWith(`${role}_`)) ? modelArg : `student_${modelArg}`;
  const sidecarFile = `${modelName}.json`;
  const sidecarBytes = await readOrFail(path.join(exportDir, sidecarFile), 'sidecar');
  const sidecar = JSON.parse(sidecarBytes.toString('utf-8'));
  const vocabFile = sidecar.vocab_file ?? 'vocab.tsv';
  const modelBytes = await readOrFail(path.join(exportDir, sidecar.model_file), 'model');
  const vocabBytes = await readOrFail(path.join(exportDir, vocabFile), 'vocab');
  // The page checks these too; failing here saves a round trip through the browser.
  if (sha256(modelBytes) !== sidecar.sha256) {
    fail(`${sidecar.model_file} does not hash to the sha256 in ${sidecarFile}; re-run the export`);
  }
  if (sha256(vocabBytes) !== sidecar.vocab_sha256) {
    fail(`${vocabFile} does not hash to the vocab_sha256 in ${sidecarFile}; re-run the export`);
  }

  await mkdir(MODEL_DIR, { recursive: true });
  for (const entry of await readdir(MODEL_DIR)) {
    if (!KEPT_FILES.has(entry)) {
      await rm(path.join(MODEL_DIR, entry), { recursive: true });
    }
  }
  await writeFile(path.join(MODEL_DIR, sidecarFile), sidecarBytes);
  await writeFile(path.join(MODEL_DIR, sidecar.model_file), modelBytes);
  await writeFile(path.join(MODEL_DIR, vocabFile), vocabBytes);
  const copied = [sidecarFile, sidecar.model_file, vocabFile];

  const goldenPath = path.join(exportDir, 'golden.json');
  const golden = await readFile(goldenPath).catch(() => null);
  if (golden === null) {
    console.warn(`copy_model: no golden.json in ${exportDir}; the end-to-end test needs one`);
  } else {
    const goldenModelSha = JSON.parse(golden.toString('utf-8')).model_sha256;
    if (goldenModelSha !== sidecar.sha256) {
      console.warn(`copy_model: golden.json was computed for another model than ${sidecar.model_file}; the end-to-end test will refuse it`);
    }
    await copyFile(goldenPath, path.join(MODEL_DIR, 'golden.json'));
    copied.push('golden.json');
  }
  await writeFile(path.join(MODEL_DIR, 'manifest.json'), `${JSON.stringify({ sidecar: sidecarFile }, null, 2)}\n`);
  console.log(`copy_model: ${copied.join(', ')} and manifest.json -> ${MODEL_DIR}`);
}

await main();
