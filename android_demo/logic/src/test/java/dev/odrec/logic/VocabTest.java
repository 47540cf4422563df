package dev.odrec.logic;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import org.junit.Test;

public class VocabTest {
  private static Vocab parse(String text) {
    return Vocab.parse(text.getBytes(StandardCharsets.UTF_8));
  }

  /** Parsing {@code text} fails at {@code lineNumber} (0: the file as a whole), with each part in the message. */
  private static void assertRefusedAtLine(int lineNumber, String text, String... messageParts) {
    VocabFormatException error = assertThrows(VocabFormatException.class, () -> parse(text));
    assertEquals(lineNumber, error.lineNumber());
    for (String part : messageParts) {
      assertTrue(error.getMessage(), error.getMessage().contains(part));
    }
  }

  @Test
  public void mapsBothWays() {
    Vocab vocab = TestArtifacts.vocab();
    assertEquals(6, vocab.size());
    assertEquals("40", vocab.originalId(4));
    assertEquals("Amélie (2001)", vocab.title(4));
    assertEquals(4, vocab.internalId("40"));
    assertEquals(Arrays.asList(2, 5, 1), vocab.internalIds(Arrays.asList("20", "50", "10")));
  }

  @Test
  public void emptyTitleIsKeptAndDisplayedByOriginalId() {
    Vocab vocab = TestArtifacts.vocab();
    assertEquals("", vocab.title(3));
    assertEquals("item 30", vocab.displayName(3));
  }

  @Test
  public void unknownOriginalIdIsRefusedByName() {
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
        () -> TestArtifacts.vocab().internalId("999"));
    assertTrue(error.getMessage(), error.getMessage().contains("'999'"));
  }

  @Test
  public void internalIdOutsideTheCatalogueIsRefused() {
    Vocab vocab = TestArtifacts.vocab();
    assertFalse(vocab.isItem(0));
    assertFalse(vocab.isItem(7));
    assertThrows(IllegalArgumentException.class, () -> vocab.originalId(0));
    assertThrows(IllegalArgumentException.class, () -> vocab.title(7));
  }

  @Test
  public void acceptsCrlfAndAMissingFinalNewline() {
    Vocab vocab = parse("internal_id\toriginal_id\ttitle\r\n1\ta\tA\r\n2\tb\tB");
    assertEquals(2, vocab.size());
    assertEquals("B", vocab.title(2));
  }

  @Test
  public void searchMatchesTitleAndOriginalIdIgnoringCase() {
    Vocab vocab = TestArtifacts.vocab();
    assertEquals(Arrays.asList(1, 6), vocab.search("toy story", 10));
    assertEquals(Arrays.asList(1), vocab.search("toy story", 1));
    assertEquals(Arrays.asList(4), vocab.search("AMÉLIE", 10));
    assertEquals(Arrays.asList(3), vocab.search("30", 10));
    assertEquals(Arrays.asList(1, 2, 3, 4, 5, 6), vocab.search("  ", 10));
    assertEquals(Collections.<Integer>emptyList(), vocab.search("no such film", 10));
  }

  @Test
  public void wrongHeaderNamesLineOne() {
    assertRefusedAtLine(1, "id\toriginal\ttitle\n1\ta\tA\n", "line 1");
  }

  @Test
  public void missingFieldNamesTheLine() {
    assertRefusedAtLine(3, "internal_id\toriginal_id\ttitle\n1\ta\tA\n2\tb\n3\tc\tC\n",
        "line 3", "expected 3 tab-separated fields");
  }

  @Test
  public void extraFieldNamesTheLine() {
    assertRefusedAtLine(2, "internal_id\toriginal_id\ttitle\n1\ta\tA\tB\n");
  }

  @Test
  public void nonIntegerIdNamesTheLine() {
    assertRefusedAtLine(3, "internal_id\toriginal_id\ttitle\n1\ta\tA\nx\tb\tB\n", "not an integer");
  }

  @Test
  public void outOfOrderIdNamesTheLine() {
    assertRefusedAtLine(3, "internal_id\toriginal_id\ttitle\n1\ta\tA\n3\tc\tC\n", "expected 2");
  }

  @Test
  public void duplicateOriginalIdNamesTheLineAndTheFirstUse() {
    assertRefusedAtLine(3, "internal_id\toriginal_id\ttitle\n1\ta\tA\n2\ta\tB\n", "internal_id 1");
  }

  @Test
  public void emptyOriginalIdNamesTheLine() {
    assertRefusedAtLine(2, "internal_id\toriginal_id\ttitle\n1\t\tA\n");
  }

  @Test
  public void blankLineInTheMiddleNamesTheLine() {
    assertRefusedAtLine(3, "internal_id\toriginal_id\ttitle\n1\ta\tA\n\n2\tb\tB\n");
  }

  @Test
  public void headerWithoutItemsIsRefused() {
    assertRefusedAtLine(0, "internal_id\toriginal_id\ttitle\n");
  }

  @Test
  public void invalidUtf8IsRefused() {
    byte[] bytes = TestArtifacts.vocabBytes();
    byte[] broken = Arrays.copyOf(bytes, bytes.length + 1);
    broken[bytes.length] = (byte) 0xff;
    VocabFormatException error = assertThrows(VocabFormatException.class, () -> Vocab.parse(broken));
    assertTrue(error.getMessage(), error.getMessage().contains("UTF-8"));
  }

  @Test
  public void utf8RoundTrip() {
    assertArrayEquals("Amélie (2001)".getBytes(StandardCharsets.UTF_8),
        TestArtifacts.vocab().title(4).getBytes(StandardCharsets.UTF_8));
  }
}
