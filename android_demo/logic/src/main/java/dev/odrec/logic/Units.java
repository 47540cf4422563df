package dev.odrec.logic;

import java.util.Locale;

/** Human-readable sizes and durations for the app's status line. */
public final class Units {
  private Units() {}

  /** @return e.g. {@code "812 B"}, {@code "12.3 KiB"}, {@code "1.50 MiB"} */
  public static String formatBytes(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
    }
    if (bytes < 1024) {
      return bytes + " B";
    }
    if (bytes < 1024L * 1024) {
      return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }
    return String.format(Locale.ROOT, "%.2f MiB", bytes / (1024.0 * 1024.0));
  }

  /** @return e.g. {@code "0.42 ms"}, {@code "12.3 ms"} */
  public static String formatMillis(long nanos) {
    double millis = nanos / 1e6;
    return millis < 10 ? String.format(Locale.ROOT, "%.2f ms", millis) : String.format(Locale.ROOT, "%.1f ms", millis);
  }
}
