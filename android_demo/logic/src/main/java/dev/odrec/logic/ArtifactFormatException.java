package dev.odrec.logic;

/** A sidecar or golden JSON that cannot be read: not JSON, or a field missing or of the wrong type. */
public final class ArtifactFormatException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public ArtifactFormatException(String message) {
    super(message);
  }

  public ArtifactFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
