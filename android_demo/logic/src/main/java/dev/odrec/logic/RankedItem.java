package dev.odrec.logic;

import java.util.Locale;

/** One recommended item, best first by {@link #rank()}. Immutable. */
public final class RankedItem {
  private final int rank;
  private final int internalId;
  private final String originalId;
  private final String title;
  private final float score;

  public RankedItem(int rank, int internalId, String originalId, String title, float score) {
    this.rank = rank;
    this.internalId = internalId;
    this.originalId = originalId;
    this.title = title;
    this.score = score;
  }

  /** 1-based position in the list. */
  public int rank() {
    return rank;
  }

  public int internalId() {
    return internalId;
  }

  public String originalId() {
    return originalId;
  }

  /** Display title: the vocab title, or {@code "item <original id>"} when it is empty. */
  public String title() {
    return title;
  }

  public float score() {
    return score;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "#%d %s (internal %d, original %s) score=%.4f",
        rank, title, internalId, originalId, score);
  }
}
