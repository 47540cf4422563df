package dev.odrec.logic;

/** A {@code vocab.tsv} that breaks the format of docs/artifacts.md; the message names the line. */
public final class VocabFormatException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final int lineNumber;

  public VocabFormatException(int lineNumber, String message) {
    super(lineNumber > 0 ? "vocab.tsv line " + lineNumber + ": " + message : "vocab.tsv: " + message);
    this.lineNumber = lineNumber;
  }

  /** The 1-based line of the file that is wrong (the header is line 1), or 0 for the file as a whole. */
  public int lineNumber() {
    return lineNumber;
  }
}
