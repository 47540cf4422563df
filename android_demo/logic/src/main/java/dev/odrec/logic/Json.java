package dev.odrec.logic;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.util.ArrayList;
import java.util.List;

/** Strict field access on Gson trees; every failure names the file and the field. Package-private. */
final class Json {
  private Json() {}

  static JsonObject parseObject(String json, String what) {
    JsonElement root;
    try {
      root = JsonParser.parseString(json);
    } catch (JsonParseException e) {
      throw new ArtifactFormatException(what + " is not valid JSON: " + e.getMessage(), e);
    }
    if (!root.isJsonObject()) {
      throw new ArtifactFormatException(what + " must hold a JSON object at the top level");
    }
    return root.getAsJsonObject();
  }

  static JsonElement require(JsonObject object, String field, String what) {
    JsonElement value = object.get(field);
    if (value == null || value.isJsonNull()) {
      throw new ArtifactFormatException(what + " has no field '" + field + "'");
    }
    return value;
  }

  static String string(JsonObject object, String field, String what) {
    JsonElement value = require(object, field, what);
    if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString()) {
      throw new ArtifactFormatException(what + ": '" + field + "' must be a string, got " + value);
    }
    return value.getAsString();
  }

  static boolean bool(JsonObject object, String field, String what) {
    JsonElement value = require(object, field, what);
    if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isBoolean()) {
      throw new ArtifactFormatException(what + ": '" + field + "' must be true or false, got " + value);
    }
    return value.getAsBoolean();
  }

  static int integer(JsonObject object, String field, String what) {
    return asInt(require(object, field, what), what + ": '" + field + "'");
  }

  static JsonObject object(JsonObject object, String field, String what) {
    JsonElement value = require(object, field, what);
    if (!value.isJsonObject()) {
      throw new ArtifactFormatException(what + ": '" + field + "' must be a JSON object, got " + value);
    }
    return value.getAsJsonObject();
  }

  static JsonArray array(JsonObject object, String field, String what) {
    JsonElement value = require(object, field, what);
    if (!value.isJsonArray()) {
      throw new ArtifactFormatException(what + ": '" + field + "' must be a JSON array, got " + value);
    }
    return value.getAsJsonArray();
  }

  static int[] intArray(JsonObject object, String field, String what) {
    JsonArray array = array(object, field, what);
    int[] values = new int[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = asInt(array.get(i), what + ": '" + field + "'[" + i + "]");
    }
    return values;
  }

  static float[] floatArray(JsonObject object, String field, String what) {
    JsonArray array = array(object, field, what);
    float[] values = new float[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) asNumber(array.get(i), what + ": '" + field + "'[" + i + "]");
    }
    return values;
  }

  static List<String> stringList(JsonObject object, String field, String what) {
    JsonArray array = array(object, field, what);
    List<String> values = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      JsonElement element = array.get(i);
      if (!element.isJsonPrimitive() || !element.getAsJsonPrimitive().isString()) {
        throw new ArtifactFormatException(what + ": '" + field + "'[" + i + "] must be a string, got " + element);
      }
      values.add(element.getAsString());
    }
    return values;
  }

  static int[] asIntArray(JsonElement element, String where) {
    if (!element.isJsonArray()) {
      throw new ArtifactFormatException(where + " must be a JSON array of integers, got " + element);
    }
    JsonArray array = element.getAsJsonArray();
    int[] values = new int[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = asInt(array.get(i), where + "[" + i + "]");
    }
    return values;
  }

  static double asNumber(JsonElement element, String where) {
    if (!element.isJsonPrimitive() || !element.getAsJsonPrimitive().isNumber()) {
      throw new ArtifactFormatException(where + " must be a number, got " + element);
    }
    return element.getAsDouble();
  }

  private static int asInt(JsonElement element, String where) {
    if (!element.isJsonPrimitive() || !((JsonPrimitive) element).isNumber()) {
      throw new ArtifactFormatException(where + " must be an integer, got " + element);
    }
    double value = element.getAsDouble();
    if (value != Math.rint(value) || value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
      throw new ArtifactFormatException(where + " must be an integer, got " + element);
    }
    return (int) value;
  }
}
