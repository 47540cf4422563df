package dev.odrec.logic;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Turns model outputs into ranked items: decoding of {@code recommend}, top-K over {@code score}, and the history
 * items that only app code can exclude (runtime/ranking.py and processing.js do the same).
 */
public final class Ranking {
  /**
   * Scores at or below this are sentinels, not model opinions. {@code recommend} writes no mask (it excludes the
   * history by rank, see convert/export.py {@code top_k_excluding_history}); {@code score} holds {@code -1e9} in the
   * padding column of the float variants. Dropping such entries keeps a decoded list free of sentinels.
   */
  public static final float MASKED_SCORE_THRESHOLD = -1e8f;

  private Ranking() {}

  /**
   * The items of a history that its most recent {@code maxLen} items do not hold: {@code recommend} cannot exclude
   * them, since the model reads only that window.
   *
   * @param itemIds internal ids, oldest first, any length
   * @param maxLen the model's history length {@code L}
   * @return distinct ids in order of first appearance; empty when {@code recommend} excludes the whole history
   * @throws IllegalArgumentException if {@code maxLen < 1}
   */
  public static List<Integer> itemsOutsideWindow(List<Integer> itemIds, int maxLen) {
    if (maxLen < 1) {
      throw new IllegalArgumentException("maxLen must be >= 1, got " + maxLen);
    }
    int windowStart = Math.max(0, itemIds.size() - maxLen);
    Set<Integer> window = new HashSet<>(itemIds.subList(windowStart, itemIds.size()));
    Set<Integer> outside = new LinkedHashSet<>();
    for (int id : itemIds.subList(0, windowStart)) {
      if (!window.contains(id)) {
        outside.add(id);
      }
    }
    return new ArrayList<>(outside);
  }

  /**
   * Decodes the outputs of the {@code recommend} signature.
   *
   * @param itemIds {@code item_ids[0]}, {@code int[K]}, best first
   * @param scores {@code scores[0]}, {@code float[K]}
   * @param vocab the catalogue of the same export
   * @return the items in the model's order; padding ({@code 0}) and masked entries ({@code score <=}
   *     {@link #MASKED_SCORE_THRESHOLD}) are dropped, so the list can be shorter than {@code K}
   * @throws IllegalArgumentException if the lengths differ, an id is outside {@code 0..n_items} or a score is NaN
   */
  public static List<RankedItem> decodeRecommendOutputs(int[] itemIds, float[] scores, Vocab vocab) {
    if (itemIds.length != scores.length) {
      throw new IllegalArgumentException("recommend outputs disagree: item_ids has " + itemIds.length
          + " entries, scores has " + scores.length);
    }
    List<RankedItem> items = new ArrayList<>(itemIds.length);
    for (int i = 0; i < itemIds.length; i++) {
      int id = itemIds[i];
      float score = scores[i];
      if (Float.isNaN(score)) {
        throw new IllegalArgumentException("recommend returned NaN as score " + i + " (item " + id + ")");
      }
      if (id == HistoryEncoding.PADDING_ID || score <= MASKED_SCORE_THRESHOLD) {
        continue;
      }
      if (!vocab.isItem(id)) {
        throw new IllegalArgumentException("recommend returned item id " + id + " at position " + i
            + ", outside the vocab's 1.." + vocab.size() + "; model and vocab.tsv are from different exports");
      }
      items.add(new RankedItem(items.size() + 1, id, vocab.originalId(id), vocab.displayName(id), score));
    }
    return items;
  }

  /**
   * Top-K over the full-catalogue output of the {@code score} signature.
   *
   * @param scores {@code scores[0]}, {@code float[n_items + 1]}; column {@code i} is item {@code i}, column 0 padding
   * @param k how many items to return
   * @param vocab the catalogue of the same export
   * @param excludedIds internal ids to leave out (empty to keep seen items); padding is always left out
   * @return up to {@code k} items, higher score first, ties broken by the lower internal id
   * @throws IllegalArgumentException if {@code k < 1}, the width is not {@code n_items + 1} or a score is NaN
   */
  public static List<RankedItem> topKFromScores(float[] scores, int k, Vocab vocab, Collection<Integer> excludedIds) {
    if (k < 1) {
      throw new IllegalArgumentException("k must be >= 1, got " + k);
    }
    if (scores.length != vocab.size() + 1) {
      throw new IllegalArgumentException("score output has " + scores.length + " columns, expected n_items + 1 = "
          + (vocab.size() + 1) + "; model and vocab.tsv are from different exports");
    }
    Set<Integer> excluded = new HashSet<>(excludedIds);
    Comparator<Integer> worstFirst = (a, b) -> {
      int byScore = Float.compare(scores[a], scores[b]);
      return byScore != 0 ? byScore : Integer.compare(b, a);
    };
    PriorityQueue<Integer> best = new PriorityQueue<>(k + 1, worstFirst);
    for (int id = 1; id < scores.length; id++) {
      if (Float.isNaN(scores[id])) {
        throw new IllegalArgumentException("score returned NaN for item " + id);
      }
      if (excluded.contains(id)) {
        continue;
      }
      best.add(id);
      if (best.size() > k) {
        best.poll();
      }
    }
    List<Integer> ids = new ArrayList<>(best);
    Collections.sort(ids, Collections.reverseOrder(worstFirst));
    List<RankedItem> items = new ArrayList<>(ids.size());
    for (int id : ids) {
      items.add(new RankedItem(items.size() + 1, id, vocab.originalId(id), vocab.displayName(id), scores[id]));
    }
    return items;
  }
}
