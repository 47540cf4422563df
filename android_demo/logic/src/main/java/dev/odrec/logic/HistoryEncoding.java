package dev.odrec.logic;

import java.util.List;

/** Encodes a history of internal item ids into the left-padded int32 input of the exported signatures. */
public final class HistoryEncoding {
  /** The internal id that pads the front of a short history; never an item. */
  public static final int PADDING_ID = 0;

  private HistoryEncoding() {}

  /**
   * Encodes a history, oldest first, into the model input.
   *
   * @param internalIds the history, oldest first; every id must be a real item ({@code >= 1})
   * @param maxLen the model's history length {@code L}
   * @return {@code int[L]}: the most recent item at index {@code L - 1}, older items before it, {@link #PADDING_ID}
   *     filling the front; a history longer than {@code L} keeps its most recent {@code L} items
   * @throws IllegalArgumentException if {@code maxLen < 1} or an id is not a real item
   */
  public static int[] encodeLeftPadded(List<Integer> internalIds, int maxLen) {
    if (maxLen < 1) {
      throw new IllegalArgumentException("maxLen must be >= 1, got " + maxLen);
    }
    int[] encoded = new int[maxLen];
    int kept = Math.min(internalIds.size(), maxLen);
    int firstKept = internalIds.size() - kept;
    for (int i = 0; i < kept; i++) {
      Integer id = internalIds.get(firstKept + i);
      if (id == null || id <= PADDING_ID) {
        throw new IllegalArgumentException(
            "history position " + (firstKept + i) + " holds " + id
                + ", which is not an item id (items are 1..n_items, 0 is padding)");
      }
      encoded[maxLen - kept + i] = id;
    }
    return encoded;
  }
}
