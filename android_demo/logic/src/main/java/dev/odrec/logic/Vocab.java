package dev.odrec.logic;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The catalogue of {@code vocab.tsv}: internal id {@code 1..n_items} to original id and title, and back. */
public final class Vocab {
  /** The exact header line of {@code vocab.tsv}. */
  public static final String HEADER = "internal_id\toriginal_id\ttitle";

  // Index 0 is the padding slot, so internal ids index these lists directly.
  private final List<String> originalIds;
  private final List<String> titles;
  private final List<String> searchKeys;
  private final Map<String, Integer> internalIdByOriginalId;

  private Vocab(List<String> originalIds, List<String> titles) {
    this.originalIds = originalIds;
    this.titles = titles;
    this.searchKeys = new ArrayList<>(titles.size());
    this.internalIdByOriginalId = new HashMap<>();
    for (int id = 0; id < originalIds.size(); id++) {
      searchKeys.add((titles.get(id) + "\t" + originalIds.get(id)).toLowerCase(Locale.ROOT));
      if (id > 0) {
        internalIdByOriginalId.put(originalIds.get(id), id);
      }
    }
  }

  /**
   * Parses the bytes of a {@code vocab.tsv}.
   *
   * @param bytes the file's bytes (UTF-8; a trailing newline and CRLF line ends are accepted)
   * @return the catalogue
   * @throws VocabFormatException naming the line when the header, a field count, an id's order or uniqueness, or the
   *     encoding is wrong, or when there is no item at all
   */
  public static Vocab parse(byte[] bytes) {
    String text;
    try {
      CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes));
      text = chars.toString();
    } catch (CharacterCodingException e) {
      throw new VocabFormatException(0, "is not valid UTF-8 (" + e + ")");
    }
    if (text.startsWith("\uFEFF")) {
      text = text.substring(1);
    }
    if (text.endsWith("\n")) {
      text = text.substring(0, text.length() - 1);
    }
    String[] lines = text.split("\n", -1);
    if (!stripCarriageReturn(lines[0]).equals(HEADER)) {
      throw new VocabFormatException(1, "expected the header '" + HEADER.replace("\t", "<TAB>") + "', got '"
          + abbreviate(lines[0]) + "'");
    }
    List<String> originalIds = new ArrayList<>(lines.length);
    List<String> titles = new ArrayList<>(lines.length);
    originalIds.add("");
    titles.add("");
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int lineNumber = i + 1;
      String line = stripCarriageReturn(lines[i]);
      if (line.isEmpty()) {
        throw new VocabFormatException(lineNumber, "is empty; every item needs internal_id<TAB>original_id<TAB>title");
      }
      String[] fields = line.split("\t", -1);
      if (fields.length != 3) {
        throw new VocabFormatException(lineNumber, "expected 3 tab-separated fields (internal_id, original_id, title),"
            + " got " + fields.length + ": '" + abbreviate(line) + "'");
      }
      int expectedId = i;
      int internalId;
      try {
        internalId = Integer.parseInt(fields[0].trim());
      } catch (NumberFormatException e) {
        throw new VocabFormatException(lineNumber, "internal_id '" + abbreviate(fields[0]) + "' is not an integer");
      }
      if (internalId != expectedId) {
        throw new VocabFormatException(lineNumber, "internal_id " + internalId + " is out of order, expected "
            + expectedId + " (ids are contiguous 1..n_items in file order)");
      }
      String originalId = fields[1];
      if (originalId.trim().isEmpty()) {
        throw new VocabFormatException(lineNumber, "original_id is empty");
      }
      Integer previous = seen.put(originalId, internalId);
      if (previous != null) {
        throw new VocabFormatException(lineNumber, "original_id '" + abbreviate(originalId)
            + "' is already used by internal_id " + previous);
      }
      originalIds.add(originalId);
      titles.add(fields[2]);
    }
    if (originalIds.size() == 1) {
      throw new VocabFormatException(0, "has a header but no item lines");
    }
    return new Vocab(Collections.unmodifiableList(originalIds), Collections.unmodifiableList(titles));
  }

  private static String stripCarriageReturn(String line) {
    return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
  }

  private static String abbreviate(String text) {
    String visible = text.replace("\t", "<TAB>");
    return visible.length() <= 80 ? visible : visible.substring(0, 77) + "...";
  }

  /** Number of items, {@code n_items}; internal ids are {@code 1..size()}. */
  public int size() {
    return originalIds.size() - 1;
  }

  public boolean isItem(int internalId) {
    return internalId >= 1 && internalId <= size();
  }

  /** @throws IllegalArgumentException if {@code internalId} is not in {@code 1..n_items} */
  public String originalId(int internalId) {
    return originalIds.get(checkItem(internalId));
  }

  /** The title, possibly empty. @throws IllegalArgumentException if {@code internalId} is not an item */
  public String title(int internalId) {
    return titles.get(checkItem(internalId));
  }

  /** The title, or {@code "item <original id>"} when the title is empty. */
  public String displayName(int internalId) {
    String title = title(internalId);
    return title.trim().isEmpty() ? "item " + originalId(internalId) : title;
  }

  /** @return whether {@code originalId} is in the catalogue */
  public boolean containsOriginalId(String originalId) {
    return internalIdByOriginalId.containsKey(originalId);
  }

  /**
   * @throws IllegalArgumentException naming the id if {@code originalId} is not in the catalogue
   */
  public int internalId(String originalId) {
    Integer id = internalIdByOriginalId.get(originalId);
    if (id == null) {
      throw new IllegalArgumentException("original id '" + originalId + "' is not in vocab.tsv (" + size()
          + " items); was the history recorded against another export?");
    }
    return id;
  }

  /** Maps a history of original ids, oldest first, to internal ids. @throws IllegalArgumentException on an unknown id */
  public List<Integer> internalIds(List<String> originalIdHistory) {
    List<Integer> ids = new ArrayList<>(originalIdHistory.size());
    for (String originalId : originalIdHistory) {
      ids.add(internalId(originalId));
    }
    return ids;
  }

  /**
   * Finds items whose title or original id contains {@code query}, ignoring case.
   *
   * @param query free text; blank matches every item
   * @param limit the most ids to return
   * @return matching internal ids in catalogue order
   */
  public List<Integer> search(String query, int limit) {
    String needle = query == null ? "" : query.trim().toLowerCase(Locale.ROOT);
    List<Integer> matches = new ArrayList<>();
    for (int id = 1; id <= size() && matches.size() < limit; id++) {
      if (needle.isEmpty() || searchKeys.get(id).contains(needle)) {
        matches.add(id);
      }
    }
    return matches;
  }

  private int checkItem(int internalId) {
    if (!isItem(internalId)) {
      throw new IllegalArgumentException(
          "internal id " + internalId + " is not an item of vocab.tsv (1.." + size() + ")");
    }
    return internalId;
  }
}
