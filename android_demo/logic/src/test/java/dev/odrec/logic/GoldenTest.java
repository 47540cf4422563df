package dev.odrec.logic;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Golden cases from the Python LiteRT harness, read from the app's assets: the JVM encodes every golden history to
 * the same input and decodes the golden outputs to the same ranked ids. (The JVM cannot run the model here; the
 * on-device parity check in the app and the browser test cover model execution.)
 */
public class GoldenTest {
  private static final BundledAssets ASSETS = new BundledAssets("sync the app's assets from an export first");
  private static Sidecar sidecar;
  private static Vocab vocab;
  private static GoldenFile golden;

  private static String singleSidecarName() {
    List<String> names = new ArrayList<>();
    String[] files = ASSETS.dir.list();
    for (String name : files == null ? new String[0] : files) {
      // The on-device export's sidecar sits beside the model's (OnDeviceGoldenTest reads it).
      if (name.startsWith("student_") && name.endsWith(".json") && !name.endsWith("_on_device.json")) {
        names.add(name);
      }
    }
    Collections.sort(names);
    if (names.size() != 1) {
      fail("expected exactly one student_<variant>.json in " + ASSETS.dir + ", found " + names
          + "; sync the assets with android_demo/sync_assets.py");
    }
    return names.get(0);
  }

  @BeforeClass
  public static void loadAssets() throws IOException {
    golden = GoldenFile.parse(ASSETS.readText("golden.json"));
    sidecar = ASSETS.sidecar(singleSidecarName());
    vocab = ASSETS.vocab(sidecar);
  }

  @Test
  public void assetsAgreeWithTheirSidecar() throws IOException {
    List<String> problems = ASSETS.fileProblems(sidecar, vocab);
    assertTrue(problems.toString(), problems.isEmpty());
  }

  @Test
  public void goldenBelongsToTheBundledModel() {
    assertEquals(sidecar.modelFile(), golden.modelFile());
    assertEquals(sidecar.sha256().toLowerCase(java.util.Locale.ROOT),
        golden.modelSha256().toLowerCase(java.util.Locale.ROOT));
    assertEquals(sidecar.topK(), golden.topK());
    assertFalse("golden.json has no cases", golden.cases().isEmpty());
  }

  @Test
  public void everyGoldenHistoryEncodesToTheGoldenInput() {
    for (int i = 0; i < golden.cases().size(); i++) {
      GoldenFile.Case goldenCase = golden.cases().get(i);
      HistoryBuffer buffer = new HistoryBuffer(sidecar.maxLen());
      for (int internalId : vocab.internalIds(goldenCase.historyOriginalIds())) {
        buffer.add(internalId);
      }
      assertArrayEquals("case " + i + " " + goldenCase.historyOriginalIds(), goldenCase.history(), buffer.encode());
      assertArrayEquals("case " + i, goldenCase.history(),
          HistoryEncoding.encodeLeftPadded(vocab.internalIds(goldenCase.historyOriginalIds()), sidecar.maxLen()));
    }
  }

  @Test
  public void decodingTheGoldenOutputsGivesTheGoldenRanking() {
    for (int i = 0; i < golden.cases().size(); i++) {
      GoldenFile.Case goldenCase = golden.cases().get(i);
      List<RankedItem> items = Ranking.decodeRecommendOutputs(goldenCase.itemIds(), goldenCase.scores(), vocab);
      int[] decodedIds = new int[items.size()];
      List<String> decodedOriginalIds = new ArrayList<>();
      for (int rank = 0; rank < items.size(); rank++) {
        decodedIds[rank] = items.get(rank).internalId();
        decodedOriginalIds.add(items.get(rank).originalId());
        assertEquals("case " + i + " rank " + rank, goldenCase.scores()[rank], items.get(rank).score(), 0f);
      }
      assertArrayEquals("case " + i, goldenCase.itemIds(), decodedIds);
      assertEquals("case " + i, goldenCase.originalIds(), decodedOriginalIds);
    }
  }

  @Test
  public void goldenOutputsAreBestFirstAndExcludeTheHistory() {
    for (int i = 0; i < golden.cases().size(); i++) {
      GoldenFile.Case goldenCase = golden.cases().get(i);
      float[] scores = goldenCase.scores();
      for (int rank = 1; rank < scores.length; rank++) {
        assertTrue("case " + i + " scores not sorted at " + rank, scores[rank - 1] >= scores[rank]);
      }
      List<Integer> history = new ArrayList<>();
      for (int id : goldenCase.history()) {
        history.add(id);
      }
      for (int id : goldenCase.itemIds()) {
        assertTrue("case " + i + ": padding recommended", id != HistoryEncoding.PADDING_ID);
        if (!goldenCase.historyOriginalIds().isEmpty()) {
          assertFalse("case " + i + ": item " + id + " is in the history", history.contains(id));
        }
      }
    }
  }

  /** Answers with what Python's LiteRT returned for one golden case; refuses any other input. */
  private static final class GoldenReplay implements ScoringModel {
    private final GoldenFile.Case goldenCase;

    GoldenReplay(GoldenFile.Case goldenCase) {
      this.goldenCase = goldenCase;
    }

    @Override
    public RecommendOutput recommend(int[] history) {
      assertArrayEquals(goldenCase.history(), history);
      return new RecommendOutput(goldenCase.itemIds(), goldenCase.scores());
    }

    @Override
    public float[] score(int[] history) {
      assertArrayEquals(goldenCase.history(), history);
      float[] scores = goldenCase.scoresAllItems();
      if (scores == null) {
        fail("the app ran score for a history Python answered with recommend: " + goldenCase.historyOriginalIds());
      }
      return scores;
    }
  }

  @Test
  public void excludeSeenLeavesOutTheWholeHistoryAsPythonDoes() {
    // The app's recommendation step on each golden history, over the model outputs Python recorded: the history
    // longer than L must drop its older items too (golden.json puts recommend's best items there).
    int longer = 0;
    for (int i = 0; i < golden.cases().size(); i++) {
      GoldenFile.Case goldenCase = golden.cases().get(i);
      HistoryBuffer buffer = new HistoryBuffer(sidecar.maxLen());
      for (int internalId : vocab.internalIds(goldenCase.historyOriginalIds())) {
        buffer.add(internalId);
      }
      longer += buffer.size() > sidecar.maxLen() ? 1 : 0;
      RecommendationResult result = new NextItemRecommender(vocab, new GoldenReplay(goldenCase), sidecar.topK())
          .recommend(buffer, SeenItemsPolicy.EXCLUDE_SEEN);
      GoldenFile.Ranked expected = goldenCase.historyExcluded();
      List<String> originalIds = new ArrayList<>();
      for (RankedItem item : result.items()) {
        originalIds.add(item.originalId());
        assertFalse("case " + i + ": seen item " + item.originalId(),
            goldenCase.historyOriginalIds().contains(item.originalId()));
      }
      assertEquals("case " + i, expected.originalIds(), originalIds);
      assertEquals("case " + i, goldenCase.historyExcludedSignature(), result.signature());
      for (int rank = 0; rank < result.items().size(); rank++) {
        assertTrue("case " + i + " rank " + rank, ParityCheck.scoreMatches(result.items().get(rank).score(),
            expected.scores()[rank], ParityCheck.FP32_RELATIVE_TOLERANCE));
      }
    }
    assertTrue("golden.json has no history longer than max_len", longer > 0);
  }

  @Test
  public void originalIdsNeverLookLikeInternalIds() {
    // The demo's ids are "sku-<digits>", so an internal id shown or looked up as an original id cannot pass.
    for (int id = 0; id <= vocab.size(); id++) {
      assertFalse("original id " + id + " is also an internal id", vocab.containsOriginalId(String.valueOf(id)));
    }
  }

  @Test
  public void goldenOutputsPassTheParityCheckAgainstThemselves() {
    // Guards ParityCheck against a tolerance bug on the real score magnitudes of this export.
    for (GoldenFile.Case goldenCase : golden.cases()) {
      assertEquals(Collections.<String>emptyList(), ParityCheck.compare(goldenCase, goldenCase.history(),
          goldenCase.itemIds(), goldenCase.scores(), ParityCheck.FP32_RELATIVE_TOLERANCE));
    }
  }
}
