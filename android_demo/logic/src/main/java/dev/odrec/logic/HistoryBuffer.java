package dev.odrec.logic;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The items a user tapped, oldest first, truncated to the model's most recent {@code L}. Not thread-safe. */
public final class HistoryBuffer {
  private final int maxLen;
  private final ArrayDeque<Integer> items = new ArrayDeque<>();

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
   * Appends the most recent item, dropping the oldest when the buffer already holds {@code L} items. Repeats are
   * kept: a sequence may visit an item twice.
   *
   * @throws IllegalArgumentException if {@code internalId} is not a real item ({@code < 1})
   */
  public void add(int internalId) {
    if (internalId <= HistoryEncoding.PADDING_ID) {
      throw new IllegalArgumentException(
          "internalId must be an item id >= 1 (0 is padding), got " + internalId);
    }
    if (items.size() == maxLen) {
      items.removeFirst();
    }
    items.addLast(internalId);
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

  /** Returns the left-padded {@code int[L]} model input (see {@link HistoryEncoding#encodeLeftPadded}). */
  public int[] encode() {
    return HistoryEncoding.encodeLeftPadded(new ArrayList<>(items), maxLen);
  }
}
