package dev.odrec.logic;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class OnDevicePersonaliserTest {
  @Rule public final TemporaryFolder folder = new TemporaryFolder();

  /** Records the train calls; each step adds 1 to adapter_scale[0], so the state shows how many ran. */
  static final class FakeTrainable implements TrainableModel {
    final List<int[]> histories = new ArrayList<>();
    final List<Integer> targets = new ArrayList<>();
    Map<String, float[]> weights = PersonalState.zeros(PersonalStateTest.SIDECAR).tensors();

    @Override
    public float train(int[] history, int target) {
      histories.add(history.clone());
      targets.add(target);
      weights.get("adapter_scale")[0] += 1f;
      return 2.5f;
    }

    @Override
    public Map<String, float[]> getWeights() {
      Map<String, float[]> copy = new LinkedHashMap<>();
      for (Map.Entry<String, float[]> entry : weights.entrySet()) {
        copy.put(entry.getKey(), entry.getValue().clone());
      }
      return copy;
    }

    @Override
    public void setWeights(Map<String, float[]> newWeights) {
      weights = new LinkedHashMap<>(newWeights);
    }
  }

  private File stateFile() {
    return new File(folder.getRoot(), "personal_state.json");
  }

  @Test
  public void everyTapAfterTheFirstTrainsOnTheItemsBeforeItAndSaves() throws IOException {
    FakeTrainable model = new FakeTrainable();
    OnDevicePersonaliser personaliser =
        new OnDevicePersonaliser(model, PersonalStateTest.SIDECAR, new FileStateStore(stateFile()));
    assertNull(personaliser.learn(Collections.<Integer>emptyList(), 3));
    assertFalse(stateFile().exists());
    assertEquals(2.5f, personaliser.learn(Arrays.asList(3), 5), 0f);
    assertEquals(2.5f, personaliser.learn(Arrays.asList(3, 5, 1, 2, 6), 4), 0f);
    assertArrayEquals(new int[] {0, 0, 0, 3}, model.histories.get(0));
    assertArrayEquals(new int[] {5, 1, 2, 6}, model.histories.get(1)); // the last L of a longer history
    assertEquals(Arrays.asList(5, 4), model.targets);
    assertEquals(2, personaliser.steps());
    String saved = new String(Files.readAllBytes(stateFile().toPath()), StandardCharsets.UTF_8);
    assertArrayEquals(new float[] {2f, 0f},
        PersonalState.parse(saved, PersonalStateTest.SIDECAR, "file").tensors().get("adapter_scale"), 0f);
  }

  @Test
  public void aSavedStateComesBackInAFreshModelAndResetForgetsIt() throws IOException {
    FakeTrainable first = new FakeTrainable();
    new OnDevicePersonaliser(first, PersonalStateTest.SIDECAR, new FileStateStore(stateFile()))
        .learn(Arrays.asList(1, 2), 3);
    FakeTrainable second = new FakeTrainable();
    OnDevicePersonaliser restored =
        new OnDevicePersonaliser(second, PersonalStateTest.SIDECAR, new FileStateStore(stateFile()));
    assertTrue(restored.restore());
    assertArrayEquals(new float[] {1f, 0f}, second.weights.get("adapter_scale"), 0f);
    restored.reset();
    assertFalse(stateFile().exists());
    assertArrayEquals(new float[] {0f, 0f}, second.weights.get("adapter_scale"), 0f);
    assertFalse(restored.restore());
  }

  @Test
  public void aCorruptedStateIsRefusedAndTheModelKeepsItsState() throws IOException {
    Files.write(stateFile().toPath(), PersonalStateTest.PYTHON_STATE.replace("AACAPwAAIMA=", "AACAPwAAIMB=")
        .getBytes(StandardCharsets.UTF_8));
    FakeTrainable model = new FakeTrainable();
    OnDevicePersonaliser personaliser =
        new OnDevicePersonaliser(model, PersonalStateTest.SIDECAR, new FileStateStore(stateFile()));
    PersonalStateException error = assertThrows(PersonalStateException.class, personaliser::restore);
    assertTrue(error.getMessage(), error.getMessage().contains(stateFile().getPath()));
    assertArrayEquals(new float[2], model.weights.get("adapter_scale"), 0f);
  }

  @Test
  public void targetsOutsideTheCatalogueAndPlainExportsAreRefused() {
    OnDevicePersonaliser personaliser = new OnDevicePersonaliser(new FakeTrainable(), PersonalStateTest.SIDECAR,
        new FileStateStore(stateFile()));
    assertThrows(IllegalArgumentException.class, () -> personaliser.learn(Arrays.asList(1), 0));
    assertThrows(IllegalArgumentException.class,
        () -> personaliser.learn(Arrays.asList(1), TestArtifacts.N_ITEMS + 1));
    IllegalArgumentException plain = assertThrows(IllegalArgumentException.class, () -> new OnDevicePersonaliser(
        new FakeTrainable(), TestArtifacts.sidecar(TestArtifacts.sidecarJson()), new FileStateStore(stateFile())));
    assertTrue(plain.getMessage(), plain.getMessage().contains("--on_device_training"));
  }
}
