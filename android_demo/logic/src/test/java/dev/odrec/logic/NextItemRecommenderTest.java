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

  @Test
  public void excludeSeenRunsRecommendOnTheEncodedHistory() {
    FakeModel model = new FakeModel();
    RecommendationResult result = recommend(model, SeenItemsPolicy.EXCLUDE_SEEN, 5, 2);
    assertEquals("recommend", model.lastSignature);
    assertArrayEquals(new int[] {0, 0, 5, 2}, model.lastHistory);
    assertEquals(Arrays.asList(6, 1), ids(result));
    assertEquals("recommend", result.signature());
    assertTrue(result.inferenceNanos() >= 0);
  }

  @Test
  public void keepSeenRunsScoreAndRanksSeenItemsToo() {
    FakeModel model = new FakeModel();
    RecommendationResult result = recommend(model, SeenItemsPolicy.KEEP_SEEN, 5, 2);
    assertEquals("score", model.lastSignature);
    assertArrayEquals(new int[] {0, 0, 5, 2}, model.lastHistory);
    assertEquals(Arrays.asList(5, 2, 6), ids(result));
    assertEquals("score", result.signature());
  }

  @Test
  public void excludeSeenLeavesOutItemsOlderThanTheWindowThroughScore() {
    // L = 4: items 5 and 2 lie before the window; recommend would return item 6 and 1 but cannot see 5 and 2, which
    // score best, so the whole catalogue is ranked here without any history item.
    FakeModel model = new FakeModel();
    RecommendationResult result = recommend(model, SeenItemsPolicy.EXCLUDE_SEEN, 5, 2, 3, 4, 1, 3);
    assertEquals("score", model.lastSignature);
    assertArrayEquals(new int[] {3, 4, 1, 3}, model.lastHistory);
    assertEquals(Arrays.asList(6), ids(result));
    assertEquals("score", result.signature());
  }

  @Test
  public void excludeSeenKeepsRecommendWhenOlderItemsRecurInTheWindow() {
    FakeModel model = new FakeModel();
    RecommendationResult result = recommend(model, SeenItemsPolicy.EXCLUDE_SEEN, 5, 2, 3, 4, 5, 2);
    assertEquals("recommend", model.lastSignature);
    assertEquals(Arrays.asList(6, 1), ids(result));
  }

  @Test
  public void emptyHistoryRunsNothing() {
    FakeModel model = new FakeModel();
    RecommendationResult result = recommend(model, SeenItemsPolicy.EXCLUDE_SEEN);
    assertTrue(result.items().isEmpty());
    assertNull(model.lastSignature);
  }
}
