package dev.odrec.logic;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.Test;

public class RankingTest {
  private final Vocab vocab = TestArtifacts.vocab();

  private static List<Integer> ids(List<RankedItem> items) {
    List<Integer> ids = new ArrayList<>();
    for (RankedItem item : items) {
      ids.add(item.internalId());
    }
    return ids;
  }

  @Test
  public void decodesRecommendOutputsInModelOrderWithTitles() {
    List<RankedItem> items = Ranking.decodeRecommendOutputs(new int[] {5, 1, 3}, new float[] {2.5f, 1.0f, -0.5f},
        vocab);
    assertEquals(Arrays.asList(5, 1, 3), ids(items));
    assertEquals(1, items.get(0).rank());
    assertEquals("50", items.get(0).originalId());
    assertEquals("Heat (1995)", items.get(0).title());
    assertEquals(2.5f, items.get(0).score(), 0f);
    assertEquals("item 30", items.get(2).title());
    assertEquals(3, items.get(2).rank());
  }

  @Test
  public void decodingDropsPaddingAndMaskedEntries() {
    List<RankedItem> items = Ranking.decodeRecommendOutputs(new int[] {2, 0, 4}, new float[] {1f, -1e9f, -1e9f},
        vocab);
    assertEquals(Arrays.asList(2), ids(items));
  }

  @Test
  public void decodingRefusesIdsOutsideTheVocab() {
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
        () -> Ranking.decodeRecommendOutputs(new int[] {7}, new float[] {1f}, vocab));
    assertTrue(error.getMessage(), error.getMessage().contains("item id 7"));
  }

  @Test
  public void decodingRefusesMismatchedLengths() {
    assertThrows(IllegalArgumentException.class,
        () -> Ranking.decodeRecommendOutputs(new int[] {1, 2}, new float[] {1f}, vocab));
  }

  @Test
  public void topKTakesTheHighestScoresAndNeverPadding() {
    // Column 0 is padding; the model writes -1e9 there, here it is the largest value to prove it is skipped.
    float[] scores = {100f, 0.1f, 0.9f, 0.5f, 0.7f, 0.3f, 0.8f};
    List<RankedItem> items = Ranking.topKFromScores(scores, 3, vocab, Collections.<Integer>emptySet());
    assertEquals(Arrays.asList(2, 6, 4), ids(items));
    assertEquals(0.9f, items.get(0).score(), 0f);
    assertEquals(Arrays.asList(1, 2, 3), Arrays.asList(items.get(0).rank(), items.get(1).rank(), items.get(2).rank()));
  }

  @Test
  public void topKBreaksTiesByLowerId() {
    float[] scores = {-1e9f, 1f, 2f, 2f, 1f, 2f, 0f};
    assertEquals(Arrays.asList(2, 3, 5, 1),
        ids(Ranking.topKFromScores(scores, 4, vocab, Collections.<Integer>emptySet())));
  }

  @Test
  public void topKLeavesOutExcludedIds() {
    float[] scores = {-1e9f, 0.1f, 0.9f, 0.5f, 0.7f, 0.3f, 0.8f};
    assertEquals(Arrays.asList(6, 3), ids(Ranking.topKFromScores(scores, 2, vocab, Arrays.asList(2, 4))));
  }

  @Test
  public void topKLargerThanTheCatalogueReturnsEveryItem() {
    float[] scores = {-1e9f, 6f, 5f, 4f, 3f, 2f, 1f};
    assertEquals(Arrays.asList(1, 2, 3, 4, 5, 6),
        ids(Ranking.topKFromScores(scores, 50, vocab, Collections.<Integer>emptySet())));
  }

  @Test
  public void topKRefusesAWidthThatIsNotNItemsPlusOne() {
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
        () -> Ranking.topKFromScores(new float[6], 2, vocab, Collections.<Integer>emptySet()));
    assertTrue(error.getMessage(), error.getMessage().contains("n_items + 1 = 7"));
  }

  @Test
  public void topKRefusesNaN() {
    float[] scores = {-1e9f, 1f, Float.NaN, 0f, 0f, 0f, 0f};
    assertThrows(IllegalArgumentException.class,
        () -> Ranking.topKFromScores(scores, 2, vocab, Collections.<Integer>emptySet()));
  }

  @Test
  public void itemsOutsideWindowAreDistinctInFirstAppearanceOrder() {
    assertEquals(Collections.<Integer>emptyList(), Ranking.itemsOutsideWindow(Arrays.asList(1, 2, 3), 3));
    assertEquals(Arrays.asList(5, 1), Ranking.itemsOutsideWindow(Arrays.asList(5, 1, 5, 2, 3), 2));
    // 4 is also in the window, so recommend already excludes it.
    assertEquals(Arrays.asList(7), Ranking.itemsOutsideWindow(Arrays.asList(4, 7, 4, 9), 2));
    assertThrows(IllegalArgumentException.class, () -> Ranking.itemsOutsideWindow(Arrays.asList(1), 0));
  }
}
