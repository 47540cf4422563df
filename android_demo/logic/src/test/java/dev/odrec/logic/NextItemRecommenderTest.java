package dev.odrec.logic;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.Test;

public class NextItemRecommenderTest {
  /** Records what it was asked and answers with fixed outputs. */
  private static final class FakeModel implements ScoringModel {
    int[] lastHistory;
    String lastSignature;

    @Override
    public RecommendOutput recommend(int[] history) {
      lastHistory = history.clone();
      lastSignature = "recommend";
      return new RecommendOutput(new int[] {6, 1, 0}, new float[] {3f, 2f, -1e9f});
    }

    @Override
    public float[] score(int[] history) {
      lastHistory = history.clone();
      lastSignature = "score";
      // Items 5 and 2 (both in the history) score highest: keep-seen must return them.
      return new float[] {-1e9f, 0.1f, 0.8f, 0.2f, 0.3f, 0.9f, 0.4f};
    }
  }

  private static List<Integer> ids(RecommendationResult result) {
    List<Integer> ids = new ArrayList<>();
    for (RankedItem item : result.items()) {
      ids.add(item.internalId());
    }
    return ids;
  }

  /** Runs the recommender over {@code model} for the items tapped in this order (top-K and L of TestArtifacts). */
  private static RecommendationResult recommend(FakeModel model, SeenItemsPolicy policy, int... tapped) {
    HistoryBuffer history = new HistoryBuffer(TestArtifacts.MAX_LEN);
    for (int id : tapped) {
      history.add(id);
    }
    return new NextItemRecommender(TestArtifacts.vocab(), model, TestArtifacts.TOP_K).recommend(history, policy);
  }

  /** The model ran {@code signature} on {@code modelInput}, and the result says so and ranks {@code ids}. */
  private static void assertRan(String signature, int[] modelInput, List<Integer> ids, FakeModel model,
      RecommendationResult result) {
    assertEquals(signature, model.lastSignature);
    assertArrayEquals(modelInput, model.lastHistory);
    assertEquals(ids, ids(result));
    assertEquals(signature, result.signature());
  }

  @Test
  public void excludeSeenRunsRecommendOnTheEncodedHistory() {
    FakeModel model = new FakeModel();
    RecommendationResult result = recommend(model, SeenItemsPolicy.EXCLUDE_SEEN, 5, 2);
    assertRan("recommend", new int[] {0, 0, 5, 2}, Arrays.asList(6, 1), model, result);
    assertTrue(result.inferenceNanos() >= 0);
  }

  @Test
  public void keepSeenRunsScoreAndRanksSeenItemsToo() {
    FakeModel model = new FakeModel();
    RecommendationResult result = recommend(model, SeenItemsPolicy.KEEP_SEEN, 5, 2);
    assertRan("score", new int[] {0, 0, 5, 2}, Arrays.asList(5, 2, 6), model, result);
  }

  @Test
  public void excludeSeenLeavesOutItemsOlderThanTheWindowThroughScore() {
    // L = 4: items 5 and 2 lie before the window; recommend would return item 6 and 1 but cannot see 5 and 2, which
    // score best, so the whole catalogue is ranked here without any history item.
    FakeModel model = new FakeModel();
    RecommendationResult result = recommend(model, SeenItemsPolicy.EXCLUDE_SEEN, 5, 2, 3, 4, 1, 3);
    assertRan("score", new int[] {3, 4, 1, 3}, Arrays.asList(6), model, result);
  }

  @Test
  public void excludeSeenKeepsRecommendWhenOlderItemsRecurInTheWindow() {
    FakeModel model = new FakeModel();
    RecommendationResult result = recommend(model, SeenItemsPolicy.EXCLUDE_SEEN, 5, 2, 3, 4, 5, 2);
    assertRan("recommend", new int[] {3, 4, 5, 2}, Arrays.asList(6, 1), model, result);
  }

  @Test
  public void emptyHistoryRunsNothing() {
    FakeModel model = new FakeModel();
    RecommendationResult result = recommend(model, SeenItemsPolicy.EXCLUDE_SEEN);
    assertTrue(result.items().isEmpty());
    assertNull(model.lastSignature);
  }
}
