package dev.odrec.logic;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;

public class ParityCheckTest {
  private static final String GOLDEN = "{\"model_file\": \"student_fp32.tflite\", \"model_sha256\": \"ab\","
      + " \"top_k\": 2, \"cases\": [{\"history_original_ids\": [\"10\", \"30\"], \"history\": [0, 0, 1, 3],"
      + " \"item_ids\": [6, 2], \"scores\": [3.5, 0.25], \"original_ids\": [\"60\", \"20\"],"
      + " \"history_excluded\": {\"signature\": \"recommend\", \"item_ids\": [6, 2], \"scores\": [3.5, 0.25],"
      + " \"original_ids\": [\"60\", \"20\"]}}]}";

  private static GoldenFile.Case goldenCase() {
    return GoldenFile.parse(GOLDEN).cases().get(0);
  }

  @Test
  public void parsesTheGoldenFile() {
    GoldenFile golden = GoldenFile.parse(GOLDEN);
    assertEquals(2, golden.topK());
    assertEquals("60", golden.cases().get(0).originalIds().get(0));
    assertEquals(3.5f, golden.cases().get(0).scores()[0], 0f);
    assertEquals("recommend", golden.cases().get(0).historyExcludedSignature());
    assertEquals("20", golden.cases().get(0).historyExcluded().originalIds().get(1));
    org.junit.Assert.assertNull(golden.cases().get(0).scoresAllItems());
  }

  @Test
  public void aGoldenCaseWithoutHistoryExcludedIsRefusedByName() {
    String old = GOLDEN.substring(0, GOLDEN.indexOf(", \"history_excluded\"")) + "}]}";
    ArtifactFormatException error =
        org.junit.Assert.assertThrows(ArtifactFormatException.class, () -> GoldenFile.parse(old));
    assertTrue(error.getMessage(), error.getMessage().contains("history_excluded"));
  }

  @Test
  public void identicalOutputsPass() {
    assertTrue(ParityCheck.compare(goldenCase(), new int[] {0, 0, 1, 3}, new int[] {6, 2}, new float[] {3.5f, 0.25f},
        ParityCheck.FP32_RELATIVE_TOLERANCE).isEmpty());
  }

  @Test
  public void scoresWithinTolerancePass() {
    assertTrue(ParityCheck.compare(goldenCase(), new int[] {0, 0, 1, 3}, new int[] {6, 2},
        new float[] {3.5003f, 0.25005f}, ParityCheck.FP32_RELATIVE_TOLERANCE).isEmpty());
  }

  @Test
  public void eachDisagreementIsReported() {
    List<String> problems = ParityCheck.compare(goldenCase(), new int[] {0, 1, 0, 3}, new int[] {2, 6},
        new float[] {3.6f, 0.25f}, ParityCheck.FP32_RELATIVE_TOLERANCE);
    assertEquals(problems.toString(), 3, problems.size());
    assertTrue(problems.get(0), problems.get(0).startsWith("history"));
    assertTrue(problems.get(1), problems.get(1).startsWith("item_ids"));
    assertTrue(problems.get(2), problems.get(2).startsWith("score 0"));
  }

  @Test
  public void toleranceIsRelativeAboveOneAndAbsoluteBelow() {
    assertTrue(ParityCheck.scoreMatches(1000.05f, 1000f, 1e-4));
    assertFalse(ParityCheck.scoreMatches(1000.2f, 1000f, 1e-4));
    assertTrue(ParityCheck.scoreMatches(0.00005f, 0f, 1e-4));
    assertFalse(ParityCheck.scoreMatches(0.0002f, 0f, 1e-4));
  }

  @Test
  public void mismatchedArrayLengthsInAGoldenCaseAreRefused() {
    String broken = GOLDEN.replace("\"scores\": [3.5, 0.25]", "\"scores\": [3.5]");
    org.junit.Assert.assertThrows(ArtifactFormatException.class, () -> GoldenFile.parse(broken));
  }
}
