package dev.odrec.logic;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** Lower-case hex SHA-256, the digest the sidecar records for the model and the vocab. */
public final class Sha256 {
  private static final char[] HEX_DIGITS = "0123456789abcdef".toCharArray();

  private Sha256() {}

  /** @return the 64-character lower-case hex SHA-256 of {@code bytes} */
  public static String hex(byte[] bytes) {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      // Every Java platform and every Android release is required to provide SHA-256.
      throw new IllegalStateException("this runtime provides no SHA-256 MessageDigest", e);
    }
    byte[] hash = digest.digest(bytes);
    char[] out = new char[hash.length * 2];
    for (int i = 0; i < hash.length; i++) {
      out[2 * i] = HEX_DIGITS[(hash[i] >> 4) & 0xf];
      out[2 * i + 1] = HEX_DIGITS[hash[i] & 0xf];
    }
    return new String(out);
  }
}
