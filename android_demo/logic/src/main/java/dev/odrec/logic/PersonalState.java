package dev.odrec.logic;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The learnt state of an on-device export as a document: the format of runtime/personalise.py (docs/artifacts.md,
 * "Saved state"), with the same refusals, so a state saved by Python loads here and the other way round. Immutable.
 */
public final class PersonalState {
  public static final String FORMAT = "odrec-on-device-state";
  public static final int VERSION = 1;
  /** What the app tells a user whose saved state is refused. */
  public static final String FIX = "tap \"Reset personalisation\" to start again from the shipped model";

  private final String modelFile;
  private final String modelSha256;
  private final Map<String, int[]> shapes;
  private final Map<String, float[]> tensors;

  private PersonalState(Sidecar sidecar, Map<String, float[]> tensors) {
    this.modelFile = sidecar.modelFile();
    this.modelSha256 = sidecar.sha256();
    this.shapes = sidecar.stateShapes();
    Map<String, float[]> copy = new LinkedHashMap<>();
    for (Map.Entry<String, float[]> entry : tensors.entrySet()) {
      copy.put(entry.getKey(), entry.getValue().clone());
    }
    this.tensors = Collections.unmodifiableMap(copy);
  }

  /**
   * The state of a model's variables.
   *
   * @param sidecar the on-device export's sidecar (its {@code on_device.state} gives the shapes)
   * @param tensors every state tensor by name, flattened
   * @throws IllegalArgumentException if a tensor is missing or of another size
   */
  public static PersonalState of(Sidecar sidecar, Map<String, float[]> tensors) {
    for (Map.Entry<String, int[]> entry : sidecar.stateShapes().entrySet()) {
      float[] values = tensors.get(entry.getKey());
      if (values == null || values.length != size(entry.getValue())) {
        throw new IllegalArgumentException("state tensor " + entry.getKey() + " must hold " + size(entry.getValue())
            + " values (shape " + Arrays.toString(entry.getValue()) + "), got "
            + (values == null ? "none" : String.valueOf(values.length)));
      }
    }
    return new PersonalState(sidecar, tensors);
  }

  /** The shipped model's state: every tensor zero. */
  public static PersonalState zeros(Sidecar sidecar) {
    Map<String, float[]> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, int[]> entry : sidecar.stateShapes().entrySet()) {
      tensors.put(entry.getKey(), new float[size(entry.getValue())]);
    }
    return of(sidecar, tensors);
  }

  /**
   * Reads a saved state for the model of {@code sidecar}, refusing it as runtime/personalise.py does.
   *
   * @param text the saved document
   * @param sidecar the on-device export's sidecar
   * @param where the file it came from, for messages
   * @throws PersonalStateException unreadable, corrupted (checksum), saved for another model, or of other shapes
   */
  public static PersonalState parse(String text, Sidecar sidecar, String where) {
    JsonObject document;
    try {
      JsonElement element = JsonParser.parseString(text);
      if (!element.isJsonObject()) {
        throw new PersonalStateException("the personal state in " + where + " is not a JSON object; " + FIX);
      }
      document = element.getAsJsonObject();
    } catch (JsonParseException | IllegalStateException error) {
      throw new PersonalStateException(
          "the personal state in " + where + " cannot be read (" + error.getMessage() + "); " + FIX);
    }
    JsonObject body = document.deepCopy();
    JsonElement checksum = body.remove("sha256");
    if (!FORMAT.equals(stringOrNull(body, "format")) || !isInteger(body.get("version"), VERSION)) {
      throw new PersonalStateException("the personal state in " + where
          + " is not an odrec on-device state of version " + VERSION + "; " + FIX);
    }
    String digest;
    try {
      digest = digest(body);
    } catch (IllegalArgumentException notPythonJson) {
      digest = null; // a value Python would not have written: it cannot match
    }
    if (checksum == null || !checksum.isJsonPrimitive() || !checksum.getAsString().equals(digest)) {
      throw new PersonalStateException("the personal state in " + where
          + " is corrupted (its sha256 does not match its content); " + FIX);
    }
    String savedFor = stringOrNull(body, "model_sha256");
    if (!sidecar.sha256().equals(savedFor)) {
      throw new PersonalStateException("the personal state in " + where + " was saved for model "
          + stringOrNull(body, "model_file") + " (sha256 " + prefix(savedFor) + "...), not " + sidecar.modelFile()
          + " (" + prefix(sidecar.sha256()) + "...): a state only fits the model it was trained on; " + FIX);
    }
    JsonElement tensorsElement = body.get("tensors");
    JsonObject tensorObjects = tensorsElement != null && tensorsElement.isJsonObject()
        ? tensorsElement.getAsJsonObject() : new JsonObject();
    Map<String, float[]> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, int[]> entry : sidecar.stateShapes().entrySet()) {
      String name = entry.getKey();
      float[] values = tensorValues(tensorObjects.get(name), entry.getValue());
      if (values == null) {
        throw new PersonalStateException("the personal state in " + where + ": " + name + " is not of shape "
            + Arrays.toString(entry.getValue()) + "; " + FIX);
      }
      tensors.put(name, values);
    }
    JsonElement added = body.get("added_items");
    if (added == null || !added.isJsonObject() || added.getAsJsonObject().size() != 0) {
      // The app adds no items (no catalogue updates); a state with added items is for another kind of app.
      throw new PersonalStateException("the personal state in " + where
          + " holds added items, which this app does not support; " + FIX);
    }
    return new PersonalState(sidecar, tensors);
  }

  /** The document runtime/personalise.py writes: the body plus {@code sha256}, the checksum of the body. */
  public String toJson() {
    JsonObject body = new JsonObject();
    body.addProperty("format", FORMAT);
    body.addProperty("version", VERSION);
    body.addProperty("model_file", modelFile);
    body.addProperty("model_sha256", modelSha256);
    body.add("added_items", new JsonObject());
    JsonObject tensorObjects = new JsonObject();
    for (Map.Entry<String, float[]> entry : tensors.entrySet()) {
      JsonObject tensor = new JsonObject();
      JsonArray shape = new JsonArray();
      for (int dim : shapes.get(entry.getKey())) {
        shape.add(dim);
      }
      tensor.add("shape", shape);
      tensor.addProperty("data", Float32Base64.encode(entry.getValue()));
      tensorObjects.add(entry.getKey(), tensor);
    }
    body.add("tensors", tensorObjects);
    body.addProperty("sha256", digest(body));
    return body.toString();
  }

  /** The hex sha256 of {@code json.dumps(body, sort_keys=True)}, as Python computes it. */
  public static String digest(JsonObject body) {
    return Sha256.hex(PythonJson.write(body).getBytes(StandardCharsets.UTF_8));
  }

  /** Every state tensor, flattened; the caller gets copies. */
  public Map<String, float[]> tensors() {
    Map<String, float[]> copy = new LinkedHashMap<>();
    for (Map.Entry<String, float[]> entry : tensors.entrySet()) {
      copy.put(entry.getKey(), entry.getValue().clone());
    }
    return copy;
  }

  public String modelSha256() {
    return modelSha256;
  }

  private static float[] tensorValues(JsonElement element, int[] shape) {
    if (element == null || !element.isJsonObject()) {
      return null;
    }
    JsonObject tensor = element.getAsJsonObject();
    JsonElement shapeElement = tensor.get("shape");
    JsonElement data = tensor.get("data");
    if (shapeElement == null || !shapeElement.isJsonArray() || data == null || !data.isJsonPrimitive()) {
      return null;
    }
    List<Integer> savedShape = new ArrayList<>();
    for (JsonElement dim : shapeElement.getAsJsonArray()) {
      if (!isInteger(dim, null)) {
        return null;
      }
      savedShape.add(dim.getAsInt());
    }
    List<Integer> expected = new ArrayList<>();
    for (int dim : shape) {
      expected.add(dim);
    }
    if (!savedShape.equals(expected)) {
      return null;
    }
    float[] values;
    try {
      values = Float32Base64.decode(data.getAsString());
    } catch (IllegalArgumentException notBase64) {
      return null;
    }
    return values.length == size(shape) ? values : null;
  }

  private static boolean isInteger(JsonElement element, Integer expected) {
    if (element == null || !element.isJsonPrimitive() || !element.getAsJsonPrimitive().isNumber()) {
      return false;
    }
    try {
      int value = element.getAsBigDecimal().intValueExact();
      return expected == null || value == expected;
    } catch (ArithmeticException notAnInt) {
      return false;
    }
  }

  private static String stringOrNull(JsonObject object, String field) {
    JsonElement element = object.get(field);
    return element != null && element.isJsonPrimitive() && element.getAsJsonPrimitive().isString()
        ? element.getAsString() : null;
  }

  private static String prefix(String sha) {
    return sha == null ? "none" : sha.substring(0, Math.min(16, sha.length()));
  }

  private static int size(int[] shape) {
    int size = 1;
    for (int dim : shape) {
      size *= dim;
    }
    return size;
  }
}
