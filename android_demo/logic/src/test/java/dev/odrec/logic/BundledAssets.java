package dev.odrec.logic;

import static org.junit.Assert.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;

/**
 * The app's bundled assets ({@code app/src/main/assets}, or {@code -Dodrec.assetsDir}) as the golden tests read them:
 * a missing file fails the test with how to sync the assets from an export.
 */
final class BundledAssets {
  private static final String SYNC_EXAMPLE = "python android_demo/sync_assets.py --export_dir artifacts/synthetic";

  final File dir = new File(System.getProperty("odrec.assetsDir", "../app/src/main/assets"));
  private final String howToAdd;

  /** @param howToAdd what a missing file needs, e.g. {@code "export with --on_device_training and sync"} */
  BundledAssets(String howToAdd) {
    this.howToAdd = howToAdd;
  }

  byte[] read(String name) throws IOException {
    File file = new File(dir, name);
    if (!file.isFile()) {
      fail(file + " is missing: " + howToAdd + ", e.g.\n  " + SYNC_EXAMPLE);
    }
    return Files.readAllBytes(file.toPath());
  }

  String readText(String name) throws IOException {
    return new String(read(name), StandardCharsets.UTF_8);
  }

  Sidecar sidecar(String name) throws IOException {
    return Sidecar.parse(readText(name), name);
  }

  /** The vocab file the sidecar names. */
  Vocab vocab(Sidecar sidecar) throws IOException {
    return Vocab.parse(read(sidecar.vocabFile()));
  }

  /** {@link ArtifactValidator#fileProblems} for the model and vocab files the sidecar names. */
  List<String> fileProblems(Sidecar sidecar, Vocab vocab) throws IOException {
    return ArtifactValidator.fileProblems(sidecar, read(sidecar.modelFile()), read(sidecar.vocabFile()), vocab);
  }
}
