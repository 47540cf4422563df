package dev.odrec.logic;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.Collections;
import org.junit.Test;

public class HistoryEncodingTest {
  @Test
  public void shortHistoryIsLeftPaddedWithTheMostRecentItemLast() {
    assertArrayEquals(new int[] {0, 0, 3, 5}, HistoryEncoding.encodeLeftPadded(Arrays.asList(3, 5), 4));
  }

  @Test
  public void emptyHistoryIsAllPadding() {
    assertArrayEquals(new int[] {0, 0, 0}, HistoryEncoding.encodeLeftPadded(Collections.<Integer>emptyList(), 3));
  }

  @Test
  public void exactLengthHistoryIsUnchanged() {
    assertArrayEquals(new int[] {4, 1, 2}, HistoryEncoding.encodeLeftPadded(Arrays.asList(4, 1, 2), 3));
  }

  @Test
  public void longHistoryKeepsTheMostRecentItems() {
    assertArrayEquals(new int[] {3, 4, 5}, HistoryEncoding.encodeLeftPadded(Arrays.asList(1, 2, 3, 4, 5), 3));
  }

  @Test
  public void repeatsAreKept() {
    assertArrayEquals(new int[] {0, 2, 2, 1}, HistoryEncoding.encodeLeftPadded(Arrays.asList(2, 2, 1), 4));
  }

  @Test
  public void paddingIdInsideTheHistoryIsRefusedNamingThePosition() {
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
        () -> HistoryEncoding.encodeLeftPadded(Arrays.asList(3, 0, 5), 4));
    assertTrue(error.getMessage(), error.getMessage().contains("position 1"));
  }

  @Test
  public void itemsOlderThanTheWindowAreNotChecked() {
    // Items older than the window are never encoded, so they are not checked either.
    assertArrayEquals(new int[] {5}, HistoryEncoding.encodeLeftPadded(Arrays.asList(-1, 5), 1));
  }

  @Test
  public void nonPositiveMaxLenIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> HistoryEncoding.encodeLeftPadded(Arrays.asList(1), 0));
  }

  @Test
  public void bufferKeepsEveryItemAndEncodesTheMostRecentMaxLen() {
    HistoryBuffer buffer = new HistoryBuffer(3);
    for (int id = 1; id <= 5; id++) {
      buffer.add(id);
    }
    buffer.add(1);
    assertEquals(Arrays.asList(1, 2, 3, 4, 5, 1), buffer.items());
    assertArrayEquals(new int[] {4, 5, 1}, buffer.encode());
    assertEquals(Arrays.asList(2, 3), buffer.itemsOutsideWindow());
  }

  @Test
  public void bufferEncodesLeftPaddedAndClears() {
    HistoryBuffer buffer = new HistoryBuffer(4);
    buffer.add(6);
    buffer.add(2);
    assertArrayEquals(new int[] {0, 0, 6, 2}, buffer.encode());
    buffer.clear();
    assertTrue(buffer.isEmpty());
    assertArrayEquals(new int[] {0, 0, 0, 0}, buffer.encode());
  }

  @Test
  public void bufferRefusesPadding() {
    HistoryBuffer buffer = new HistoryBuffer(4);
    assertThrows(IllegalArgumentException.class, () -> buffer.add(0));
  }

  @Test
  public void bufferItemsAreASnapshot() {
    HistoryBuffer buffer = new HistoryBuffer(2);
    buffer.add(1);
    java.util.List<Integer> snapshot = buffer.items();
    buffer.add(2);
    assertEquals(Arrays.asList(1), snapshot);
  }
}
