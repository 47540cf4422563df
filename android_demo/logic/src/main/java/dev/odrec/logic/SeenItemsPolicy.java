package dev.odrec.logic;

/** Whether items already in the history may be recommended again. */
public enum SeenItemsPolicy {
  /**
   * Leaves out every item of the history: {@code recommend} (exclusion in the graph) while the model's window of
   * {@code L} holds them all, else {@code score} with the exclusion in {@link Ranking#topKFromScores}.
   */
  EXCLUDE_SEEN,
  /** Runs {@code score} and takes the top-K here, leaving out only padding. */
  KEEP_SEEN
}
