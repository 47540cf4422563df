package dev.odrec.logic;

import java.util.Collection;
import java.util.Collections;
import java.util.List;

/** Encode the history, run the signature the policy picks, decode: the app's whole recommendation step. */
public final class NextItemRecommender {
  private final Vocab vocab;
  private final ScoringModel model;
  private final int topK;

  /**
   * @param vocab the catalogue of the model's export
   * @param model the two signatures
   * @param topK {@code K}; {@link SeenItemsPolicy#KEEP_SEEN} returns this many, like {@code recommend}
   */
  public NextItemRecommender(Vocab vocab, ScoringModel model, int topK) {
    if (topK < 1) {
      throw new IllegalArgumentException("topK must be >= 1, got " + topK);
    }
    this.vocab = vocab;
    this.model = model;
    this.topK = topK;
  }

  /**
   * @param history the user's items; an empty history returns {@link RecommendationResult#empty()} without running
   *     the model (a history of padding alone carries no signal)
   * @param policy whether seen items may come back; {@link SeenItemsPolicy#EXCLUDE_SEEN} leaves out the whole
   *     history, also the items older than the model's window of {@code L}
   * @return the ranked items, best first
   */
  public RecommendationResult recommend(HistoryBuffer history, SeenItemsPolicy policy) {
    if (history.isEmpty()) {
      return RecommendationResult.empty();
    }
    int[] encoded = history.encode();
    List<RankedItem> items;
    long start = System.nanoTime();
    long elapsed;
    String signature;
    if (policy == SeenItemsPolicy.EXCLUDE_SEEN && history.itemsOutsideWindow().isEmpty()) {
      // The window holds every item of the history: the graph excludes them all.
      signature = Sidecar.RECOMMEND;
      RecommendOutput output = model.recommend(encoded);
      elapsed = System.nanoTime() - start;
      items = Ranking.decodeRecommendOutputs(output.itemIds(), output.scores(), vocab);
    } else {
      // Keep seen, or older items the graph cannot see: rank the whole catalogue and exclude here.
      signature = Sidecar.SCORE;
      float[] scores = model.score(encoded);
      elapsed = System.nanoTime() - start;
      Collection<Integer> excluded =
          policy == SeenItemsPolicy.EXCLUDE_SEEN ? history.items() : Collections.<Integer>emptySet();
      items = Ranking.topKFromScores(scores, topK, vocab, excluded);
    }
    return new RecommendationResult(items, signature, elapsed);
  }
}
