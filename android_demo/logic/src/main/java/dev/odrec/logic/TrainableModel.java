package dev.odrec.logic;

import java.util.Map;

/**
 * The training signatures of an on-device export (docs/artifacts.md), selected by name. The app implements it with
 * a LiteRT interpreter; tests use a fake.
 */
public interface TrainableModel {
  /**
   * Runs {@code train}: one SGD step towards {@code target} after the left-padded {@code int[L]} history.
   *
   * @return the loss before the step
   */
  float train(int[] history, int target);

  /** Runs {@code get_weights}: every state tensor by name, flattened. */
  Map<String, float[]> getWeights();

  /** Runs {@code set_weights} with every state tensor by name, flattened. */
  void setWeights(Map<String, float[]> weights);
}
