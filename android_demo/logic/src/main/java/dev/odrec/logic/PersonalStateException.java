package dev.odrec.logic;

/** A saved personal state that is unreadable, corrupted or saved for another model; the message says what to do. */
public final class PersonalStateException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public PersonalStateException(String message) {
    super(message);
  }
}
