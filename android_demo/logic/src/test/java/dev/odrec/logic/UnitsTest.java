package dev.odrec.logic;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class UnitsTest {
  @Test
  public void formatsBytes() {
    assertEquals("812 B", Units.formatBytes(812));
    assertEquals("12.0 KiB", Units.formatBytes(12 * 1024));
    assertEquals("1.50 MiB", Units.formatBytes(3 * 512 * 1024));
  }

  @Test
  public void formatsMillis() {
    assertEquals("0.42 ms", Units.formatMillis(420_000));
    assertEquals("12.3 ms", Units.formatMillis(12_300_000));
  }
}
