/**
 * The on-device personal state as a document (docs/artifacts.md, "Saved state"): the same format and the same refusals
 * as runtime/personalise.py, so a state saved by Python loads here and the other way round. Pure; no DOM, no runtime.
 */

export const STATE_FORMAT = 'odrec-on-device-state';
export const STATE_VERSION = 1;
export const STATE_NAMES = ['adapter_scale', 'adapter_shift', 'item_bias', 'spare_vectors', 'spare_active'];

/** A saved state that is corrupted or belongs to another model; the message says what is wrong and what to do. */
export class StateError extends Error {
  constructor(message) {
    super(message);
    this.name = 'StateError';
  }
}

function escapeString(text) {
  // As Python's json.dumps with ensure_ascii: every code unit outside printable ASCII as \uXXXX (lowercase hex).
  const named = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    const code = text.charCodeAt(i);
    if (named[char] !== undefined) {
      out += named[char];
    } else if (code < 0x20 || code > 0x7e) {
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    } else {
      out += char;
    }
  }
  return `${out}"`;
}

/**
 * JSON text exactly as Python's `json.dumps(value, sort_keys=True)` writes it, for the state's checksum.
 *
 * @param {*} value strings, integers, booleans, null, arrays and plain objects (what a state body holds).
 * @returns {string}
 * @throws {TypeError} for a non-integer number or another type, whose text Python might write differently.
 */
export function pythonJson(value) {
  if (value === null) {
    return 'null';
  }
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new TypeError(`pythonJson writes integers only, got ${value}`);
    }
    return String(value);
  }
  if (typeof value === 'string') {
    return escapeString(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map(pythonJson).join(', ')}]`;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map((key) => `${escapeString(key)}: ${pythonJson(value[key])}`).join(', ')}}`;
  }
  throw new TypeError(`pythonJson cannot write ${Object.prototype.toString.call(value)}`);
}

/**
 * @param {Float32Array} values
 * @returns {string} base64 of the little-endian float32 bytes.
 */
export function float32ToBase64(values) {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setFloat32(i * 4, value, true));
  let binary = '';
  for (const byte of bytes) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary);
}

/**
 * @param {string} text base64 of little-endian float32 bytes.
 * @returns {Float32Array}
 * @throws {Error} when the text is not base64 of a whole number of float32 values.
 */
export function base64ToFloat32(text) {
  const binary = atob(text);
  if (binary.length % 4 !== 0) {
    throw new Error(`${binary.length} bytes is not a whole number of float32 values`);
  }
  const view = new DataView(Uint8Array.from(binary, (char) => char.charCodeAt(0)).buffer);
  return Float32Array.from({ length: binary.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * The saved-state document for a model and its state tensors.
 *
 * @param {{modelFile: string, modelSha256: string, tensors: Record<string, {shape: number[], values: Float32Array}>}}
 *     state the model's file and sha256 and every state tensor.
 * @returns {Promise<string>} JSON text with the checksum `sha256` of the rest.
 */
export async function serialiseState({ modelFile, modelSha256, tensors }) {
  const body = {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    model_file: modelFile,
    model_sha256: modelSha256,
    added_items: {},
    tensors: Object.fromEntries(Object.entries(tensors).map(([name, { shape, values }]) => (
      [name, { shape: Array.from(shape), data: float32ToBase64(values) }]))),
  };
  return JSON.stringify({ ...body, sha256: await sha256Hex(pythonJson(body)) });
}

/**
 * Reads a saved state for one model, refusing it as runtime/personalise.py does.
 *
 * @param {string} text the saved document.
 * @param {{modelFile: string, modelSha256: string, shapes: Record<string, number[]>, where: string}} model the model
 *     the state must fit: its file and sha256 (the sidecar's) and the shape of each state tensor (the sidecar's
 *     `on_device.state`); `where` names the storage in messages.
 * @returns {Promise<{tensors: Record<string, Float32Array>}>}
 * @throws {StateError} unreadable, corrupted (checksum), saved for another model, of other shapes, or holding added
 *     items (this page applies no catalogue updates).
 */
export async function parseState(text, { modelFile, modelSha256, shapes, where }) {
  const fix = 'press "Reset personalisation" to start again from the shipped model';
  let document;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new StateError(`the personal state in ${where} cannot be read (${error.message}); ${fix}`);
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new StateError(`the personal state in ${where} is not a JSON object; ${fix}`);
  }
  const { sha256, ...body } = document;
  if (body.format !== STATE_FORMAT || body.version !== STATE_VERSION) {
    throw new StateError(`the personal state in ${where} is not an odrec on-device state of version ${STATE_VERSION}; ${fix}`);
  }
  let digest;
  try {
    digest = await sha256Hex(pythonJson(body));
  } catch {
    digest = null; // a value Python would not have written: it cannot match
  }
  if (sha256 !== digest) {
    throw new StateError(`the personal state in ${where} is corrupted (its sha256 does not match its content); ${fix}`);
  }
  if (body.model_sha256 !== modelSha256) {
    throw new StateError(`the personal state in ${where} was saved for model ${JSON.stringify(body.model_file)} `
      + `(sha256 ${String(body.model_sha256).slice(0, 16)}...), not ${modelFile} (${modelSha256.slice(0, 16)}...): `
      + `a state only fits the model it was trained on; ${fix}`);
  }
  const tensors = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const tensor = body.tensors?.[name] ?? {};
    let values = null;
    try {
      values = base64ToFloat32(tensor.data ?? '');
    } catch {
      values = null;
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (JSON.stringify(tensor.shape) !== JSON.stringify(shape) || values === null || values.length !== size) {
      throw new StateError(`the personal state in ${where}: ${name} is not of shape ${JSON.stringify(shape)}; ${fix}`);
    }
    tensors[name] = values;
  }
  const added = body.added_items;
  if (added === null || typeof added !== 'object' || Object.keys(added).length > 0) {
    // The page applies no catalogue updates, so a state with added items belongs to another kind of app.
    throw new StateError(`the personal state in ${where} holds added items, which this page does not support; ${fix}`);
  }
  return { tensors };
}
