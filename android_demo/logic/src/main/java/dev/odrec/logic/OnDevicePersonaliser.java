package dev.odrec.logic;

import java.io.IOException;
import java.util.List;

/**
 * Personalisation on the phone: every tap is a next-item example for the on-device export's {@code train}
 * signature, and the learnt state is kept in the app's own storage (nothing is sent anywhere). Not thread-safe:
 * call it from the thread that runs the model.
 */
public final class OnDevicePersonaliser {
  private final TrainableModel model;
  private final Sidecar sidecar;
  private final StateStore store;
  private int steps;

  /**
   * @param model the on-device export's training signatures
   * @param sidecar its sidecar (an {@code on_device} block is required)
   * @param store where the state is saved
   * @throws IllegalArgumentException if the sidecar is not an on-device export's
   */
  public OnDevicePersonaliser(TrainableModel model, Sidecar sidecar, StateStore store) {
    if (!sidecar.isOnDevice()) {
      throw new IllegalArgumentException(sidecar.modelFile() + " is not an on-device export (no on_device block);"
          + " export with python convert/to_tflite.py --on_device_training");
    }
    this.model = model;
    this.sidecar = sidecar;
    this.store = store;
  }

  /**
   * Loads the saved state into the model, if there is one.
   *
   * @return whether a state was loaded
   * @throws PersonalStateException the saved state is refused; the model keeps the state it had
   * @throws IOException the store cannot be read
   */
  public boolean restore() throws IOException {
    String document = store.read();
    if (document == null) {
      return false;
    }
    model.setWeights(PersonalState.parse(document, sidecar, store.describe()).tensors());
    return true;
  }

  /**
   * Learns from one tap: {@code target} was chosen after {@code historyBefore}, then saves the state.
   *
   * @param historyBefore the items before the tap, oldest first; empty means nothing to learn from
   * @param target the tapped item, {@code 1..n_items}
   * @return the loss before the step, or null when the history was empty (nothing ran)
   * @throws IllegalArgumentException if {@code target} is not a trained item
   * @throws IOException the state cannot be saved
   */
  public Float learn(List<Integer> historyBefore, int target) throws IOException {
    if (target < 1 || target > sidecar.nItems()) {
      throw new IllegalArgumentException("target " + target + " must be an item id in 1.." + sidecar.nItems());
    }
    if (historyBefore.isEmpty()) {
      return null;
    }
    float loss = model.train(HistoryEncoding.encodeLeftPadded(historyBefore, sidecar.maxLen()), target);
    steps++;
    save();
    return loss;
  }

  /** Writes the model's current state to the store. */
  public void save() throws IOException {
    store.write(PersonalState.of(sidecar, model.getWeights()).toJson());
  }

  /** Back to the shipped model: zero state, the saved document deleted. */
  public void reset() throws IOException {
    model.setWeights(PersonalState.zeros(sidecar).tensors());
    store.delete();
    steps = 0;
  }

  /** Training steps run since this object was made (or last reset). */
  public int steps() {
    return steps;
  }
}
