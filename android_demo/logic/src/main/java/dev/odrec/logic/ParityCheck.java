package dev.odrec.logic;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Compares what this runtime's {@code recommend} returned with a golden case from the Python harness. */
public final class ParityCheck {
  /** docs/artifacts.md: ids exactly, scores within 1e-4 relative (fp32). */
  public static final double FP32_RELATIVE_TOLERANCE = 1e-4;

  private ParityCheck() {}

  /**
   * Whether {@code actual} is within {@code relativeTolerance} of {@code expected}. The tolerance is relative to
   * {@code max(|expected|, 1)}, so scores near zero are compared with an absolute floor instead of demanding
   * agreement in digits that float32 does not carry.
   */
  public static boolean scoreMatches(float actual, float expected, double relativeTolerance) {
    double scale = Math.max(Math.abs((double) expected), 1.0);
    return Math.abs((double) actual - expected) <= relativeTolerance * scale;
  }

  /**
   * @param goldenCase the golden case
   * @param encodedHistory what this runtime encoded from {@code history_original_ids}
   * @param itemIds what this runtime's {@code recommend} returned as {@code item_ids[0]}
   * @param scores what it returned as {@code scores[0]}
   * @param relativeTolerance see {@link #scoreMatches}
   * @return one sentence per disagreement; empty when the case passes
   */
  public static List<String> compare(GoldenFile.Case goldenCase, int[] encodedHistory, int[] itemIds, float[] scores,
      double relativeTolerance) {
    List<String> problems = new ArrayList<>();
    if (!Arrays.equals(encodedHistory, goldenCase.history())) {
      problems.add("history " + goldenCase.historyOriginalIds() + " encodes to " + Arrays.toString(encodedHistory)
          + ", golden has " + Arrays.toString(goldenCase.history()));
    }
    if (!Arrays.equals(itemIds, goldenCase.itemIds())) {
      problems.add("item_ids " + Arrays.toString(itemIds) + ", golden has " + Arrays.toString(goldenCase.itemIds()));
    }
    float[] expected = goldenCase.scores();
    if (scores.length != expected.length) {
      problems.add("scores has " + scores.length + " entries, golden has " + expected.length);
    } else {
      for (int i = 0; i < scores.length; i++) {
        if (!scoreMatches(scores[i], expected[i], relativeTolerance)) {
          problems.add(String.format(Locale.ROOT, "score %d is %.6g, golden has %.6g (tolerance %.1g relative)",
              i, scores[i], expected[i], relativeTolerance));
        }
      }
    }
    return problems;
  }
}
