/**
 * The on-device export (`student_fp32_on_device.tflite`, docs/artifacts.md) in LiteRT.js: recommends like
 * `Recommender`, and learns from the user's taps through its `train` signature. The state lives in the model's
 * variables; `getWeights`/`setWeights` move it in and out so that the page can keep it in localStorage. Nothing is
 * sent anywhere.
 */
import { Tensor } from '@litertjs/core';

import { trainingPair } from './processing.js';
import { ModelMismatchError, Recommender } from './recommender.js';
import { STATE_NAMES, parseState, serialiseState } from './personal_state.js';

const TRAINING_SIGNATURES = ['train', 'get_weights', 'set_weights'];

/** A verified on-device export; one instance holds one user's state. */
export class Personaliser extends Recommender {
  /** Shapes of the state tensors, from the sidecar's `on_device.state`. */
  get stateShapes() {
    return Object.fromEntries(STATE_NAMES.map((name) => [name, this.sidecar.on_device.state[name]]));
  }

  checkSignatures() {
    super.checkSignatures();
    const signatures = this.compiledModel.signatures;
    const problems = [];
    for (const name of TRAINING_SIGNATURES) {
      if (signatures[name] === undefined) {
        problems.push(`model has no signature ${name}: export it with convert/to_tflite.py --on_device_training`);
      }
    }
    if (problems.length === 0) {
      const stateDetails = signatures.set_weights.getInputDetails();
      for (const [name, shape] of Object.entries(this.stateShapes)) {
        const detail = stateDetails.find((d) => d.name === name);
        if (detail === undefined || JSON.stringify(Array.from(detail.shape)) !== JSON.stringify(shape)) {
          problems.push(`model signature set_weights.${name} should be ${JSON.stringify(shape)} per the sidecar's on_device.state`);
        }
      }
    }
    if (problems.length > 0) {
      throw new ModelMismatchError(problems);
    }
  }

  /**
   * One SGD step towards `target` after `history` (the user tapped `target` having seen `history`).
   *
   * @param {number[]} history internal ids, oldest first, at least one.
   * @param {number} target internal id of the tapped item, 1..n_items.
   * @returns {Promise<number>} the loss before the step.
   */
  async train(history, target) {
    const pair = trainingPair(history, target, this.maxLen, this.sidecar.n_items);
    const inputs = {
      history: new Tensor(pair.history, [1, this.maxLen]),
      target: new Tensor(Int32Array.from([pair.target]), [1]),
    };
    let outputs;
    try {
      outputs = await this.compiledModel.run('train', inputs);
    } finally {
      Object.values(inputs).forEach((tensor) => tensor.delete());
    }
    const loss = (await outputs.loss.data())[0];
    outputs.loss.delete();
    return loss;
  }

  /** @returns {Promise<Record<string, Float32Array>>} a copy of every state tensor. */
  async getWeights() {
    const outputs = await this.compiledModel.run('get_weights', {});
    const weights = {};
    for (const [name, tensor] of Object.entries(outputs)) {
      weights[name] = Float32Array.from(await tensor.data());
      tensor.delete();
    }
    return weights;
  }

  /** @param {Record<string, Float32Array>} weights every state tensor, in the sidecar's shapes. */
  async setWeights(weights) {
    const inputs = Object.fromEntries(Object.entries(this.stateShapes).map(([name, shape]) => (
      [name, new Tensor(Float32Array.from(weights[name]), shape)])));
    try {
      const outputs = await this.compiledModel.run('set_weights', inputs);
      Object.values(outputs).forEach((tensor) => tensor.delete());
    } finally {
      Object.values(inputs).forEach((tensor) => tensor.delete());
    }
  }

  /** Back to the shipped model: every state tensor zero. */
  async reset() {
    const zeros = Object.fromEntries(Object.entries(this.stateShapes).map(([name, shape]) => (
      [name, new Float32Array(shape.reduce((a, b) => a * b, 1))])));
    await this.setWeights(zeros);
  }

  /** @returns {Promise<string>} the current state as a saved-state document (runtime/personalise.py's format). */
  async saveState() {
    const weights = await this.getWeights();
    const tensors = Object.fromEntries(Object.entries(this.stateShapes).map(([name, shape]) => (
      [name, { shape, values: weights[name] }])));
    return serialiseState({ modelFile: this.sidecar.model_file, modelSha256: this.sidecar.sha256, tensors });
  }

  /**
   * Restores a saved-state document, or refuses it (and changes nothing).
   *
   * @param {string} text the document.
   * @param {string} where the storage it came from, for messages.
   * @throws {StateError} corrupted, for another model, or of other shapes.
   */
  async loadState(text, where) {
    const { tensors } = await parseState(text, {
      modelFile: this.sidecar.model_file,
      modelSha256: this.sidecar.sha256,
      shapes: this.stateShapes,
      where,
    });
    await this.setWeights(tensors);
  }
}
