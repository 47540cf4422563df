package dev.odrec.logic;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Model, sidecar and vocab do not belong together; {@link #problems()} says each thing that disagrees. */
public final class ArtifactMismatchException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  private final ArrayList<String> problems;

  public ArtifactMismatchException(List<String> problems) {
    super(format(problems));
    this.problems = new ArrayList<>(problems);
  }

  /** One readable sentence per disagreement. */
  public List<String> problems() {
    return Collections.unmodifiableList(problems);
  }

  private static String format(List<String> problems) {
    StringBuilder message = new StringBuilder("the model assets do not agree (" + problems.size() + " problem"
        + (problems.size() == 1 ? "" : "s") + "); re-run android_demo/sync_assets.py on one export folder:");
    for (String problem : problems) {
      message.append("\n- ").append(problem);
    }
    return message.toString();
  }
}
