package dev.odrec.logic;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * JSON text exactly as Python's {@code json.dumps(value, sort_keys=True)} writes it, so that a checksum over it
 * matches the one runtime/personalise.py computes. Only what a saved state's body holds: objects, arrays, strings,
 * integers, booleans and null.
 */
public final class PythonJson {
  private PythonJson() {}

  /**
   * @throws IllegalArgumentException for a number that is not an integer (Python may write its digits differently)
   */
  public static String write(JsonElement value) {
    StringBuilder out = new StringBuilder();
    append(out, value);
    return out.toString();
  }

  private static void append(StringBuilder out, JsonElement value) {
    if (value == null || value.isJsonNull()) {
      out.append("null");
    } else if (value.isJsonObject()) {
      JsonObject object = value.getAsJsonObject();
      List<String> keys = new ArrayList<>();
      for (Map.Entry<String, JsonElement> entry : object.entrySet()) {
        keys.add(entry.getKey());
      }
      Collections.sort(keys);
      out.append('{');
      for (int i = 0; i < keys.size(); i++) {
        out.append(i == 0 ? "" : ", ");
        appendString(out, keys.get(i));
        out.append(": ");
        append(out, object.get(keys.get(i)));
      }
      out.append('}');
    } else if (value.isJsonArray()) {
      JsonArray array = value.getAsJsonArray();
      out.append('[');
      for (int i = 0; i < array.size(); i++) {
        out.append(i == 0 ? "" : ", ");
        append(out, array.get(i));
      }
      out.append(']');
    } else {
      JsonPrimitive primitive = value.getAsJsonPrimitive();
      if (primitive.isBoolean()) {
        out.append(primitive.getAsBoolean() ? "true" : "false");
      } else if (primitive.isString()) {
        appendString(out, primitive.getAsString());
      } else {
        BigDecimal number = primitive.getAsBigDecimal();
        try {
          out.append(number.toBigIntegerExact().toString());
        } catch (ArithmeticException notAnInteger) {
          throw new IllegalArgumentException("PythonJson writes integers only, got " + number, notAnInteger);
        }
      }
    }
  }

  // ensure_ascii: every UTF-16 unit outside printable ASCII as a lower-case \\uXXXX escape.
  private static void appendString(StringBuilder out, String text) {
    out.append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        default:
          if (c < 0x20 || c > 0x7e) {
            String hex = Integer.toHexString(c);
            out.append("\\u");
            for (int pad = hex.length(); pad < 4; pad++) {
              out.append('0');
            }
            out.append(hex);
          } else {
            out.append(c);
          }
      }
    }
    out.append('"');
  }
}
