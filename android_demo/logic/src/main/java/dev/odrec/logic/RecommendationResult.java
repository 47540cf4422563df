package dev.odrec.logic;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The ranked items for one history, with the signature that produced them and how long it took. Immutable. */
public final class RecommendationResult {
  private final List<RankedItem> items;
  private final String signature;
  private final long inferenceNanos;

  public RecommendationResult(List<RankedItem> items, String signature, long inferenceNanos) {
    this.items = Collections.unmodifiableList(new ArrayList<>(items));
    this.signature = signature;
    this.inferenceNanos = inferenceNanos;
  }

  /** An empty result: no history, nothing was run. */
  public static RecommendationResult empty() {
    return new RecommendationResult(Collections.<RankedItem>emptyList(), "", 0L);
  }

  /** Best first. */
  public List<RankedItem> items() {
    return items;
  }

  /** The signature that ran, or empty when nothing ran. */
  public String signature() {
    return signature;
  }

  /** Wall-clock time of the model call alone (no encoding or decoding), in nanoseconds. */
  public long inferenceNanos() {
    return inferenceNanos;
  }
}
