package dev.odrec.logic;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** A {@link StateStore} in one file (the app passes a file in its private files folder). java.io only: minSdk 24. */
public final class FileStateStore implements StateStore {
  private final File file;

  public FileStateStore(File file) {
    this.file = file;
  }

  @Override
  public String read() throws IOException {
    try (InputStream in = new FileInputStream(file)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        out.write(buffer, 0, n);
      }
      return new String(out.toByteArray(), StandardCharsets.UTF_8);
    } catch (FileNotFoundException missing) {
      return null;
    }
  }

  @Override
  public void write(String document) throws IOException {
    // Written beside the target, flushed to disk, then renamed over it (atomic within one file system).
    File temporary = new File(file.getPath() + ".tmp");
    try (FileOutputStream out = new FileOutputStream(temporary)) {
      out.write(document.getBytes(StandardCharsets.UTF_8));
      out.getFD().sync();
    }
    if (!temporary.renameTo(file)) {
      throw new IOException("could not replace " + file + " with " + temporary);
    }
  }

  @Override
  public void delete() throws IOException {
    if (file.exists() && !file.delete()) {
      throw new IOException("could not delete " + file);
    }
  }

  @Override
  public String describe() {
    return file.getPath();
  }
}
