package dev.odrec.logic;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.Test;

/** The saved-state document against what runtime/personalise.py writes, and its refusals. */
public class PersonalStateTest {
  // Written by runtime/personalise.py: json.dumps({**body, "sha256": _state_digest(body)}) for this body.
  static final String PYTHON_STATE = "{\"format\": \"odrec-on-device-state\", \"version\": 1, \"model_file\": "
      + "\"m.tflite\", \"model_sha256\": \"abababababababababababababababababababababababababababababababab\", "
      + "\"added_items\": {}, \"tensors\": {\"adapter_scale\": {\"shape\": [2], \"data\": \"AACAPwAAIMA=\"}, "
      + "\"spare_vectors\": {\"shape\": [1, 2], \"data\": \"AAAAPwAAQEA=\"}}, "
      + "\"sha256\": \"97d6bffa13866abb97324504c12326fff90293ddd88ad42c33cfb470004bdccb\"}";

  /** An on-device sidecar for model "m.tflite" whose state is adapter_scale [2] and spare_vectors [1, 2]. */
  static Sidecar sidecar(String sha256) {
    JsonObject root = TestArtifacts.sidecarJson(TestArtifacts.MAX_LEN, TestArtifacts.TOP_K, TestArtifacts.N_ITEMS);
    root.addProperty("model_file", "m.tflite");
    root.addProperty("sha256", sha256);
    root.getAsJsonObject("signatures").getAsJsonObject("score").getAsJsonObject("outputs")
        .add("scores", TestArtifacts.shape(1, TestArtifacts.N_ITEMS + 2));
    JsonObject onDevice = new JsonObject();
    onDevice.addProperty("spare_items", 1);
    JsonObject state = new JsonObject();
    state.add("adapter_scale", TestArtifacts.shape(2));
    state.add("spare_vectors", TestArtifacts.shape(1, 2));
    onDevice.add("state", state);
    root.add("on_device", onDevice);
    return Sidecar.parse(root.toString(), "m.json");
  }

  static final Sidecar SIDECAR = sidecar("ab".repeat(32));

  @Test
  public void pythonJsonWritesWhatJsonDumpsWrites() {
    // Python: json.dumps({"title": "Café — \"q\"\t", "n": [1, 22]}, sort_keys=True)
    JsonObject value = new JsonObject();
    value.addProperty("title", "Café — \"q\"\t");
    JsonArray numbers = new JsonArray();
    numbers.add(1);
    numbers.add(22);
    value.add("n", numbers);
    assertEquals("{\"n\": [1, 22], \"title\": \"Caf\\u00e9 \\u2014 \\\"q\\\"\\t\"}", PythonJson.write(value));
    assertThrows(IllegalArgumentException.class, () -> PythonJson.write(new JsonPrimitive(1.5)));
  }

  @Test
  public void float32Base64IsLittleEndianAsNumpyWritesIt() {
    assertEquals("AACAPwAAIMA=", Float32Base64.encode(new float[] {1.0f, -2.5f}));
    assertArrayEquals(new float[] {0.5f, 3.0f}, Float32Base64.decode("AAAAPwAAQEA="), 0f);
    assertArrayEquals(new float[] {1.0f, -2.5f, 7f}, Float32Base64.decode(Float32Base64.encode(
        new float[] {1.0f, -2.5f, 7f})), 0f);
    assertThrows(IllegalArgumentException.class, () -> Float32Base64.decode("AAAA"));
  }

  @Test
  public void aStatePythonSavedIsAcceptedAndWrittenBackWithTheSameChecksum() {
    PersonalState state = PersonalState.parse(PYTHON_STATE, SIDECAR, "test storage");
    assertArrayEquals(new float[] {1.0f, -2.5f}, state.tensors().get("adapter_scale"), 0f);
    assertArrayEquals(new float[] {0.5f, 3.0f}, state.tensors().get("spare_vectors"), 0f);
    JsonObject written = JsonParser.parseString(state.toJson()).getAsJsonObject();
    JsonObject python = JsonParser.parseString(PYTHON_STATE).getAsJsonObject();
    assertEquals(python.get("sha256"), written.get("sha256"));
    assertEquals(python, written);
  }

  private static String refusal(String text, Sidecar sidecar) {
    PersonalStateException error =
        assertThrows(PersonalStateException.class, () -> PersonalState.parse(text, sidecar, "test storage"));
    assertTrue(error.getMessage(), error.getMessage().contains("test storage"));
    assertTrue(error.getMessage(), error.getMessage().contains("Reset personalisation"));
    return error.getMessage();
  }

  @Test
  public void corruptedUnreadableAndForeignStatesAreRefusedWithWhatToDo() {
    assertTrue(refusal("not json {", SIDECAR).contains("cannot be read"));
    assertTrue(refusal("[1]", SIDECAR).contains("not a JSON object"));
    assertTrue(refusal(PYTHON_STATE.replace("AACAPwAAIMA=", "AACAPwAAIMB="), SIDECAR).contains("is corrupted"));
    assertTrue(refusal(PYTHON_STATE.replace("\"version\": 1", "\"version\": 2"), SIDECAR)
        .contains("not an odrec on-device state of version 1"));
    String other = refusal(PYTHON_STATE, sidecar("cd".repeat(32)));
    assertTrue(other, other.contains("saved for model m.tflite (sha256 abababababababab...)"));
  }

  @Test
  public void statesOfOtherShapesAreRefused() {
    JsonObject body = JsonParser.parseString(PYTHON_STATE).getAsJsonObject();
    body.remove("sha256");
    body.getAsJsonObject("tensors").getAsJsonObject("adapter_scale").add("shape", TestArtifacts.shape(1, 2));
    body.addProperty("sha256", PersonalState.digest(body));
    assertTrue(refusal(body.toString(), SIDECAR).contains("adapter_scale is not of shape [2]"));
  }

  @Test
  public void zerosAndOfCheckSizes() {
    Map<String, float[]> zeros = PersonalState.zeros(SIDECAR).tensors();
    assertArrayEquals(new float[2], zeros.get("spare_vectors"), 0f);
    Map<String, float[]> wrong = new LinkedHashMap<>(zeros);
    wrong.put("adapter_scale", new float[3]);
    assertThrows(IllegalArgumentException.class, () -> PersonalState.of(SIDECAR, wrong));
  }
}
