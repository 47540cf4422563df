/**
 * Copies one model of an export folder (docs/artifacts.md) with its sidecar, vocab.tsv and golden.json for the page.
 *
 * Usage: node scripts/copy_model.mjs EXPORT_DIR [MODEL] [--demo]
 *   MODEL is `<role>_<variant>` (e.g. `student_fp32`, `teacher_fp32`, `rival_<name>_fp32`) or a bare variant
 *   (`fp16` = `student_fp16`);
 *   default `student_fp32`. Fills public/user_model/ (git-ignored: a model trained on private data stays out of
 *   the repository), which the page loads instead of the demo model; delete that folder to go back. `--demo`
 *   replaces the committed demo model in public/model/ instead (scripts/refresh_demo_assets.sh). Either folder gets
 *   a manifest.json naming the sidecar the page loads.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PUBLIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../public');
export const USER_MODEL_DIR = path.join(PUBLIC_DIR, 'user_model');
export const DEMO_MODEL_DIR = path.join(PUBLIC_DIR, 'model');
const KEPT_FILES = new Set(['README.md', '.gitkeep']);
const ROLES = ['student', 'teacher', 'rival']; // rival_<name>_<variant>: to_tflite.py --rivals

/** A problem with the export folder or the arguments; the message says what to do. */
export class CopyModelError extends Error {
  constructor(message) {
    super(`copy_model: ${message}`);
    this.name = 'CopyModelError';
  }
}

function fail(message) {
  throw new CopyModelError(message);
}

async function readOrFail(file, what) {
  try {
    return await readFile(file);
  } catch (error) {
    fail(`cannot read ${what} ${file}: ${error.code ?? error.message}`);
  }
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

// convert/to_tflite.py --on_device_training writes these beside the models (docs/artifacts.md).
const ON_DEVICE_SIDECAR = 'student_fp32_on_device.json';
const GOLDEN_ON_DEVICE = 'golden_on_device.json';

/**
 * The on-device export of a folder, checked, or null when the folder has none.
 *
 * @returns {Promise<{sidecarBytes: Buffer, sidecar: object, modelBytes: Buffer, golden: Buffer|null}|null>}
 * @throws {CopyModelError} if its model or vocab does not hash to its sidecar.
 */
async function readOnDevice(exportDir, vocabBytes) {
  const sidecarBytes = await readFile(path.join(exportDir, ON_DEVICE_SIDECAR)).catch(() => null);
  if (sidecarBytes === null) {
    return null;
  }
  const sidecar = JSON.parse(sidecarBytes.toString('utf-8'));
  const modelBytes = await readOrFail(path.join(exportDir, sidecar.model_file), 'on-device model');
  if (sha256(modelBytes) !== sidecar.sha256) {
    fail(`${sidecar.model_file} does not hash to the sha256 in ${ON_DEVICE_SIDECAR}; re-run the export`);
  }
  if (sha256(vocabBytes) !== sidecar.vocab_sha256) {
    fail(`the vocab does not hash to the vocab_sha256 in ${ON_DEVICE_SIDECAR}; re-run the export`);
  }
  const golden = await readFile(path.join(exportDir, GOLDEN_ON_DEVICE)).catch(() => null);
  if (golden !== null && JSON.parse(golden.toString('utf-8')).model_sha256 !== sidecar.sha256) {
    fail(`${GOLDEN_ON_DEVICE} was computed for another model than ${sidecar.model_file}; re-run the export`);
  }
  return { sidecarBytes, sidecar, modelBytes, golden };
}

/**
 * Copies one model of an export folder, with its sidecar, vocab and golden.json, into the page's model folder; and
 * the on-device export (student_fp32_on_device, golden_on_device.json) when the folder has one, which the page then
 * trains from the user's taps.
 *
 * @param {string} exportDir the folder `convert/to_tflite.py --out` wrote.
 * @param {string} modelArg `<role>_<variant>` or a bare variant (role `student`).
 * @param {string} [destDir] the folder to fill; its previous contents (but README.md, .gitkeep) are removed.
 * @returns {Promise<string[]>} the names of the files written.
 * @throws {CopyModelError} if a file is missing or a hash disagrees with the sidecar.
 */
export async function copyModel(exportDir, modelArg = 'student_fp32', destDir = USER_MODEL_DIR) {
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
  const onDevice = await readOnDevice(exportDir, vocabBytes);

  await mkdir(destDir, { recursive: true });
  for (const entry of await readdir(destDir)) {
    if (!KEPT_FILES.has(entry)) {
      await rm(path.join(destDir, entry), { recursive: true });
    }
  }
  await writeFile(path.join(destDir, sidecarFile), sidecarBytes);
  await writeFile(path.join(destDir, sidecar.model_file), modelBytes);
  await writeFile(path.join(destDir, vocabFile), vocabBytes);
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
    await copyFile(goldenPath, path.join(destDir, 'golden.json'));
    copied.push('golden.json');
  }
  const manifest = { sidecar: sidecarFile };
  if (onDevice !== null) {
    await writeFile(path.join(destDir, ON_DEVICE_SIDECAR), onDevice.sidecarBytes);
    await writeFile(path.join(destDir, onDevice.sidecar.model_file), onDevice.modelBytes);
    copied.push(ON_DEVICE_SIDECAR, onDevice.sidecar.model_file);
    if (onDevice.golden !== null) {
      await writeFile(path.join(destDir, GOLDEN_ON_DEVICE), onDevice.golden);
      copied.push(GOLDEN_ON_DEVICE);
    }
    manifest.on_device_sidecar = ON_DEVICE_SIDECAR;
  }
  await writeFile(path.join(destDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return [...copied, 'manifest.json'];
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const demo = args.includes('--demo');
  const [exportDir, modelArg, ...extra] = args.filter((arg) => arg !== '--demo');
  if (exportDir === undefined || extra.length > 0 || exportDir.startsWith('--')) {
    console.error('usage: node scripts/copy_model.mjs EXPORT_DIR [MODEL] [--demo]  (MODEL e.g. student_fp32, teacher_fp32 or fp16)');
    process.exit(2);
  }
  const destDir = demo ? DEMO_MODEL_DIR : USER_MODEL_DIR;
  try {
    const written = await copyModel(exportDir, modelArg, destDir);
    console.log(`copy_model: ${written.join(', ')} -> ${destDir}`);
    if (!demo) {
      console.log('copy_model: the page now loads this model; to go back to the demo model: rm -r public/user_model (or open ?model=demo)');
    }
  } catch (error) {
    if (!(error instanceof CopyModelError)) {
      throw error;
    }
    console.error(error.message);
    process.exit(1);
  }
}
