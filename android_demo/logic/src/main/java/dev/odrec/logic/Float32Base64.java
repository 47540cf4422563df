package dev.odrec.logic;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Base64 of little-endian float32 values, as a saved state stores its tensors. Written out here because
 * {@code java.util.Base64} is missing on Android below API 26 (the app's minSdk is 24).
 */
public final class Float32Base64 {
  private static final char[] ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".toCharArray();

  private Float32Base64() {}

  public static String encode(float[] values) {
    ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float value : values) {
      buffer.putFloat(value);
    }
    byte[] bytes = buffer.array();
    StringBuilder out = new StringBuilder((bytes.length + 2) / 3 * 4);
    for (int i = 0; i < bytes.length; i += 3) {
      int n = (bytes[i] & 0xff) << 16;
      int remaining = bytes.length - i;
      if (remaining > 1) {
        n |= (bytes[i + 1] & 0xff) << 8;
      }
      if (remaining > 2) {
        n |= bytes[i + 2] & 0xff;
      }
      out.append(ALPHABET[(n >> 18) & 63]).append(ALPHABET[(n >> 12) & 63]);
      out.append(remaining > 1 ? ALPHABET[(n >> 6) & 63] : '=');
      out.append(remaining > 2 ? ALPHABET[n & 63] : '=');
    }
    return out.toString();
  }

  /**
   * @throws IllegalArgumentException when {@code text} is not padded base64 of a whole number of float32 values
   */
  public static float[] decode(String text) {
    if (text.length() % 4 != 0) {
      throw new IllegalArgumentException("base64 length " + text.length() + " is not a multiple of 4");
    }
    int padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
    byte[] bytes = new byte[text.length() / 4 * 3 - padding];
    int written = 0;
    for (int i = 0; i < text.length(); i += 4) {
      int n = 0;
      for (int j = 0; j < 4; j++) {
        char c = text.charAt(i + j);
        int digit = c == '=' && i + j >= text.length() - padding ? 0 : digit(c);
        n = (n << 6) | digit;
      }
      for (int shift = 16; shift >= 0 && written < bytes.length; shift -= 8) {
        bytes[written++] = (byte) (n >> shift);
      }
    }
    if (bytes.length % 4 != 0) {
      throw new IllegalArgumentException(bytes.length + " bytes is not a whole number of float32 values");
    }
    ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    float[] values = new float[bytes.length / 4];
    for (int i = 0; i < values.length; i++) {
      values[i] = buffer.getFloat();
    }
    return values;
  }

  private static int digit(char c) {
    if (c >= 'A' && c <= 'Z') {
      return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
      return c - '0' + 52;
    }
    if (c == '+') {
      return 62;
    }
    if (c == '/') {
      return 63;
    }
    throw new IllegalArgumentException("'" + c + "' is not a base64 character");
  }
}
