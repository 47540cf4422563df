package dev.odrec.logic;

/**
 * The exported model as the logic sees it: two signatures selected by name. The app implements it with a LiteRT
 * interpreter; tests use a fake.
 */
public interface ScoringModel {
  /**
   * Runs the {@code recommend} signature: top-K in the graph, history and padding excluded.
   *
   * @param history left-padded {@code int[L]}
   */
  RecommendOutput recommend(int[] history);

  /**
   * Runs the {@code score} signature: the whole catalogue, nothing excluded.
   *
   * @param history left-padded {@code int[L]}
   * @return {@code float[n_items + 1]}; column {@code i} is item {@code i}, column 0 padding
   */
  float[] score(int[] history);
}
