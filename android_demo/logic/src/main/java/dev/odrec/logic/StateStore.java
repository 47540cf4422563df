package dev.odrec.logic;

import java.io.IOException;

/** Where the app keeps the personal state: one document, in the app's own storage; nothing leaves the device. */
public interface StateStore {
  /** @return the saved document, or null when nothing is saved */
  String read() throws IOException;

  /** Replaces the saved document; a reader never sees half of it. */
  void write(String document) throws IOException;

  /** Forgets the saved document (no error when there is none). */
  void delete() throws IOException;

  /** Where the document lives, for messages. */
  String describe();
}
