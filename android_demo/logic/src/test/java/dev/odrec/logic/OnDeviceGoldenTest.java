package dev.odrec.logic;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * golden_on_device.json from the Python LiteRT harness, read from the app's assets: the app's taps make the same
 * sequence of {@code train} calls, and the state Python saved loads here (same checksum, same refusals). The JVM
 * cannot run the model; the browser test replays the calls through LiteRT.js.
 */
public class OnDeviceGoldenTest {
  @Rule public final TemporaryFolder folder = new TemporaryFolder();

  private static final BundledAssets ASSETS = new BundledAssets("export with --on_device_training and sync");
  private static Sidecar sidecar;
  private static Vocab vocab;
  private static JsonObject golden;

  @BeforeClass
  public static void loadAssets() throws IOException {
    sidecar = ASSETS.sidecar("student_fp32_on_device.json");
    vocab = ASSETS.vocab(sidecar);
    golden = JsonParser.parseString(ASSETS.readText("golden_on_device.json")).getAsJsonObject();
  }

  @Test
  public void theOnDeviceExportAgreesWithItsSidecar() throws IOException {
    List<String> problems = ASSETS.fileProblems(sidecar, vocab);
    assertTrue(problems.toString(), problems.isEmpty());
    assertTrue(sidecar.isOnDevice());
    assertEquals(sidecar.sha256(), golden.get("model_sha256").getAsString());
  }

  /** Answers train with Python's losses, in order, and records what the app asked. */
  private static final class GoldenReplay implements TrainableModel {
    final List<int[]> histories = new ArrayList<>();
    final List<Integer> targets = new ArrayList<>();
    private final JsonArray steps = golden.getAsJsonArray("steps");
    private Map<String, float[]> weights = PersonalState.zeros(sidecar).tensors();

    @Override
    public float train(int[] history, int target) {
      histories.add(history);
      targets.add(target);
      return steps.get(targets.size() - 1).getAsJsonObject().get("loss").getAsFloat();
    }

    @Override
    public Map<String, float[]> getWeights() {
      return new LinkedHashMap<>(weights);
    }

    @Override
    public void setWeights(Map<String, float[]> newWeights) {
      weights = new LinkedHashMap<>(newWeights);
    }
  }

  @Test
  public void tappingTheGoldenHistoryMakesPythonsTrainCalls() throws IOException {
    GoldenReplay model = new GoldenReplay();
    OnDevicePersonaliser personaliser =
        new OnDevicePersonaliser(model, sidecar, new FileStateStore(folder.newFile("state.json")));
    HistoryBuffer history = new HistoryBuffer(sidecar.maxLen());
    for (JsonElement originalId : golden.getAsJsonArray("history_original_ids")) {
      int tapped = vocab.internalId(originalId.getAsString());
      personaliser.learn(history.items(), tapped);
      history.add(tapped);
    }
    JsonArray steps = golden.getAsJsonArray("steps");
    assertEquals(steps.size(), model.targets.size());
    assertEquals(steps.size(), personaliser.steps());
    for (int i = 0; i < steps.size(); i++) {
      JsonObject step = steps.get(i).getAsJsonObject();
      assertArrayEquals("step " + i, Json.intArray(step, "history", "step " + i), model.histories.get(i));
      assertEquals("step " + i, step.get("target").getAsInt(), (int) model.targets.get(i));
    }
  }

  @Test
  public void theStatePythonSavedLoadsWithItsChecksum() {
    String saved = golden.getAsJsonObject("state_after").toString();
    PersonalState state = PersonalState.parse(saved, sidecar, "golden_on_device.json");
    assertEquals(golden.getAsJsonObject("state_after").get("sha256"),
        JsonParser.parseString(state.toJson()).getAsJsonObject().get("sha256"));
    boolean learnt = false;
    for (float value : state.tensors().get("adapter_shift")) {
      learnt |= value != 0f;
    }
    assertTrue("the golden steps left adapter_shift at zero", learnt);
    JsonObject other = golden.getAsJsonObject("state_after").deepCopy();
    other.addProperty("model_sha256", "0".repeat(64));
    other.remove("sha256");
    other.addProperty("sha256", PersonalState.digest(other));
    PersonalStateException error = org.junit.Assert.assertThrows(PersonalStateException.class,
        () -> PersonalState.parse(other.toString(), sidecar, "golden_on_device.json"));
    assertTrue(error.getMessage(), error.getMessage().contains("saved for model"));
  }

  @Test
  public void theAppCannotSendAnything() throws IOException {
    // Nothing the user does leaves the phone: the manifest asks for no network permission at all.
    File manifest = new File(ASSETS.dir, "../AndroidManifest.xml");
    String text = new String(Files.readAllBytes(manifest.toPath()), StandardCharsets.UTF_8);
    assertFalse(text.contains("android.permission.INTERNET"));
    assertFalse(text.contains("uses-permission"));
  }
}
