package dev.odrec.logic;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** Tiny hand-made artifacts for tests that need no model: a 6-item vocab, a sidecar, signatures. */
final class TestArtifacts {
  static final int N_ITEMS = 6;
  static final int MAX_LEN = 4;
  static final int TOP_K = 3;
  static final byte[] MODEL_BYTES = "stand-in for a .tflite flatbuffer".getBytes(StandardCharsets.UTF_8);

  private TestArtifacts() {}

  static String vocabText() {
    return "internal_id\toriginal_id\ttitle\n"
        + "1\t10\tToy Story (1995)\n"
        + "2\t20\tJumanji (1995)\n"
        + "3\t30\t\n"
        + "4\t40\tAmélie (2001)\n"
        + "5\t50\tHeat (1995)\n"
        + "6\t60\tToy Story 2 (1999)\n";
  }

  static byte[] vocabBytes() {
    return vocabText().getBytes(StandardCharsets.UTF_8);
  }

  static Vocab vocab() {
    return Vocab.parse(vocabBytes());
  }

  static JsonArray shape(int... dims) {
    JsonArray array = new JsonArray();
    for (int dim : dims) {
      array.add(dim);
    }
    return array;
  }

  /** A sidecar that agrees with MODEL_BYTES and the vocab, for a model of history length maxLen and top-K topK. */
  static JsonObject sidecarJson(int maxLen, int topK, int nItems) {
    JsonObject root = new JsonObject();
    root.addProperty("model_file", "student_fp32.tflite");
    root.addProperty("sha256", Sha256.hex(MODEL_BYTES));
    root.addProperty("role", "student");
    root.addProperty("variant", "fp32");
    root.addProperty("dataset", "synthetic");
    root.addProperty("n_items", nItems);
    root.addProperty("max_len", maxLen);
    root.addProperty("top_k", topK);
    root.addProperty("padding_side", "left");
    root.addProperty("padding_id", 0);
    root.addProperty("excludes_history", true);
    JsonObject recommend = new JsonObject();
    JsonObject recommendInputs = new JsonObject();
    recommendInputs.add("history", shape(1, maxLen));
    JsonObject recommendOutputs = new JsonObject();
    recommendOutputs.add("item_ids", shape(1, topK));
    recommendOutputs.add("scores", shape(1, topK));
    recommend.add("inputs", recommendInputs);
    recommend.add("outputs", recommendOutputs);
    JsonObject score = new JsonObject();
    JsonObject scoreInputs = new JsonObject();
    scoreInputs.add("history", shape(1, maxLen));
    JsonObject scoreOutputs = new JsonObject();
    scoreOutputs.add("scores", shape(1, nItems + 1));
    score.add("inputs", scoreInputs);
    score.add("outputs", scoreOutputs);
    JsonObject signatures = new JsonObject();
    signatures.add("recommend", recommend);
    signatures.add("score", score);
    root.add("signatures", signatures);
    root.addProperty("vocab_file", "vocab.tsv");
    root.addProperty("vocab_sha256", Sha256.hex(vocabBytes()));
    JsonObject metrics = new JsonObject();
    metrics.addProperty("HR@10", 0.5);
    root.add("metrics", metrics);
    return root;
  }

  static JsonObject sidecarJson() {
    return sidecarJson(MAX_LEN, TOP_K, N_ITEMS);
  }

  static Sidecar sidecar(JsonObject json) {
    return Sidecar.parse(json.toString(), "student_fp32.json");
  }

  /** Signatures as the interpreter would report them for a model of the given sizes. */
  static Map<String, SignatureSpec> modelSignatures(int maxLen, int topK, int nItems) {
    Map<String, TensorSpec> historyInput = new LinkedHashMap<>();
    historyInput.put("history", new TensorSpec(new int[] {1, maxLen}, "int32"));
    Map<String, TensorSpec> recommendOutputs = new LinkedHashMap<>();
    recommendOutputs.put("item_ids", new TensorSpec(new int[] {1, topK}, "int32"));
    recommendOutputs.put("scores", new TensorSpec(new int[] {1, topK}, "float32"));
    Map<String, TensorSpec> scoreOutputs = new LinkedHashMap<>();
    scoreOutputs.put("scores", new TensorSpec(new int[] {1, nItems + 1}, "float32"));
    Map<String, SignatureSpec> signatures = new LinkedHashMap<>();
    signatures.put("recommend", new SignatureSpec(historyInput, recommendOutputs));
    signatures.put("score", new SignatureSpec(historyInput, scoreOutputs));
    return signatures;
  }

  static Map<String, SignatureSpec> modelSignatures() {
    return modelSignatures(MAX_LEN, TOP_K, N_ITEMS);
  }
}
