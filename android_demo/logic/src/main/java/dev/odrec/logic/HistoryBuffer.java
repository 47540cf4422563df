package dev.odrec.logic;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Every item a user tapped, oldest first. The model reads the most recent {@code L} ({@link #encode()}); the whole
 * history is what "exclude seen" leaves out ({@link NextItemRecommender}). Not thread-safe.
 */
public final class HistoryBuffer {
  private final int maxLen;
  private final List<Integer> items = new ArrayList<>();

  /**
   * @param maxLen the model's history length {@code L}
   * @throws IllegalArgumentException if {@code maxLen < 1}
   */
  public HistoryBuffer(int maxLen) {
    if (maxLen < 1) {
      throw new IllegalArgumentException("maxLen must be >= 1, got " + maxLen);
    }
    this.maxLen = maxLen;
  }

  /**
   * Appends the most recent item; older items stay (the model input keeps only the last {@code L}). Repeats are
   * kept: a sequence may visit an item twice.
   *
   * @throws IllegalArgumentException if {@code internalId} is not a real item ({@code < 1})
   */
  public void add(int internalId) {
    if (internalId <= HistoryEncoding.PADDING_ID) {
      throw new IllegalArgumentException(
          "internalId must be an item id >= 1 (0 is padding), got " + internalId);
    }
    items.add(internalId);
  }

  public void clear() {
    items.clear();
  }

  public int size() {
    return items.size();
  }

  public boolean isEmpty() {
    return items.isEmpty();
  }

  public int maxLen() {
    return maxLen;
  }

  /** Returns a snapshot of the history, oldest first. */
  public List<Integer> items() {
    return Collections.unmodifiableList(new ArrayList<>(items));
  }

  /** Returns the items before the model's window that it does not hold (see {@link Ranking#itemsOutsideWindow}). */
  public List<Integer> itemsOutsideWindow() {
    return Ranking.itemsOutsideWindow(new ArrayList<>(items), maxLen);
  }

  /** Returns the left-padded {@code int[L]} model input of the most recent {@code L} items. */
  public int[] encode() {
    return HistoryEncoding.encodeLeftPadded(new ArrayList<>(items), maxLen);
  }
}
