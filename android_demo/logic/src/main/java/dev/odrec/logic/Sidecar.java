package dev.odrec.logic;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The sidecar {@code <role>_<variant>.json} written beside every flatbuffer (docs/artifacts.md). Immutable. */
public final class Sidecar {
  /** Signature that ranks in the graph and excludes the history. */
  public static final String RECOMMEND = "recommend";
  /** Signature that scores the whole catalogue, excluding nothing. */
  public static final String SCORE = "score";
  public static final String HISTORY = "history";
  public static final String ITEM_IDS = "item_ids";
  public static final String SCORES = "scores";

  private final String modelFile;
  private final String sha256;
  private final String role;
  private final String variant;
  private final String dataset;
  private final int nItems;
  private final int maxLen;
  private final int topK;
  private final String paddingSide;
  private final int paddingId;
  private final boolean excludesHistory;
  private final Map<String, SignatureSpec> signatures;
  private final String vocabFile;
  private final String vocabSha256;
  private final Map<String, Double> metrics;
  private final int spareItems;
  private final Map<String, int[]> stateShapes;

  private Sidecar(JsonObject root, String what) {
    modelFile = Json.string(root, "model_file", what);
    sha256 = Json.string(root, "sha256", what);
    role = Json.string(root, "role", what);
    variant = Json.string(root, "variant", what);
    dataset = Json.string(root, "dataset", what);
    nItems = Json.integer(root, "n_items", what);
    maxLen = Json.integer(root, "max_len", what);
    topK = Json.integer(root, "top_k", what);
    paddingSide = Json.string(root, "padding_side", what);
    paddingId = Json.integer(root, "padding_id", what);
    excludesHistory = Json.bool(root, "excludes_history", what);
    vocabFile = Json.string(root, "vocab_file", what);
    vocabSha256 = Json.string(root, "vocab_sha256", what);
    Map<String, SignatureSpec> parsedSignatures = new LinkedHashMap<>();
    for (Map.Entry<String, JsonElement> entry : Json.object(root, "signatures", what).entrySet()) {
      String where = what + ": signatures." + entry.getKey();
      if (!entry.getValue().isJsonObject()) {
        throw new ArtifactFormatException(where + " must be a JSON object");
      }
      JsonObject signature = entry.getValue().getAsJsonObject();
      parsedSignatures.put(entry.getKey(), new SignatureSpec(
          shapes(Json.object(signature, "inputs", where), where + ".inputs"),
          shapes(Json.object(signature, "outputs", where), where + ".outputs")));
    }
    signatures = Collections.unmodifiableMap(parsedSignatures);
    Map<String, Double> parsedMetrics = new LinkedHashMap<>();
    JsonElement metricsElement = root.get("metrics");
    if (metricsElement != null && metricsElement.isJsonObject()) {
      for (Map.Entry<String, JsonElement> entry : metricsElement.getAsJsonObject().entrySet()) {
        if (entry.getValue().isJsonPrimitive() && entry.getValue().getAsJsonPrimitive().isNumber()) {
          parsedMetrics.put(entry.getKey(), entry.getValue().getAsDouble());
        }
      }
    }
    metrics = Collections.unmodifiableMap(parsedMetrics);
    Map<String, int[]> parsedState = new LinkedHashMap<>();
    JsonElement onDevice = root.get("on_device");
    if (onDevice == null) {
      spareItems = 0;
    } else {
      String where = what + ": on_device";
      if (!onDevice.isJsonObject()) {
        throw new ArtifactFormatException(where + " must be a JSON object");
      }
      spareItems = Json.integer(onDevice.getAsJsonObject(), "spare_items", where);
      for (Map.Entry<String, JsonElement> entry : Json.object(onDevice.getAsJsonObject(), "state", where).entrySet()) {
        parsedState.put(entry.getKey(), Json.asIntArray(entry.getValue(), where + ".state." + entry.getKey()));
      }
    }
    stateShapes = Collections.unmodifiableMap(parsedState);
  }

  private static Map<String, TensorSpec> shapes(JsonObject tensors, String where) {
    Map<String, TensorSpec> specs = new LinkedHashMap<>();
    for (Map.Entry<String, JsonElement> entry : tensors.entrySet()) {
      specs.put(entry.getKey(), new TensorSpec(Json.asIntArray(entry.getValue(), where + "." + entry.getKey()), null));
    }
    return specs;
  }

  /** Spare item slots of an on-device export ({@code on_device.spare_items}); 0 for a plain export. */
  public int spareItems() {
    return spareItems;
  }

  /** Whether this is an on-device export (it has an {@code on_device} block). */
  public boolean isOnDevice() {
    return spareItems > 0;
  }

  /** State tensor name to shape ({@code on_device.state}), in the sidecar's order; empty for a plain export. */
  public Map<String, int[]> stateShapes() {
    Map<String, int[]> copy = new LinkedHashMap<>();
    for (Map.Entry<String, int[]> entry : stateShapes.entrySet()) {
      copy.put(entry.getKey(), entry.getValue().clone());
    }
    return copy;
  }

  /**
   * Parses a sidecar.
   *
   * @param json the sidecar's text
   * @param fileName used in error messages, e.g. {@code student_fp32.json}
   * @throws ArtifactFormatException naming the field that is missing or of the wrong type
   */
  public static Sidecar parse(String json, String fileName) {
    return new Sidecar(Json.parseObject(json, fileName), fileName);
  }

  public String modelFile() {
    return modelFile;
  }

  /** Lower-case hex SHA-256 of the {@code .tflite} bytes, as recorded. */
  public String sha256() {
    return sha256;
  }

  public String role() {
    return role;
  }

  public String variant() {
    return variant;
  }

  public String dataset() {
    return dataset;
  }

  /** Number of catalogue items; internal ids are {@code 1..nItems()}. */
  public int nItems() {
    return nItems;
  }

  /** History length {@code L} of the {@code history} input. */
  public int maxLen() {
    return maxLen;
  }

  /** {@code K}, the number of items {@code recommend} returns. */
  public int topK() {
    return topK;
  }

  public String paddingSide() {
    return paddingSide;
  }

  public int paddingId() {
    return paddingId;
  }

  public boolean excludesHistory() {
    return excludesHistory;
  }

  /** The signatures as the sidecar declares them, by name. */
  public Map<String, SignatureSpec> signatures() {
    return signatures;
  }

  public String vocabFile() {
    return vocabFile;
  }

  public String vocabSha256() {
    return vocabSha256;
  }

  /** Offline metrics such as {@code HR@10}; empty when the sidecar has none. */
  public Map<String, Double> metrics() {
    return metrics;
  }
}
