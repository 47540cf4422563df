package dev.odrec.logic;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** {@code golden.json}: histories and the top-K the Python LiteRT harness returned for them. Immutable. */
public final class GoldenFile {
  /** A ranked list as golden.json stores it: ids, scores and original ids, best first. Immutable. */
  public static final class Ranked {
    private final int[] itemIds;
    private final float[] scores;
    private final List<String> originalIds;

    Ranked(JsonObject object, String where) {
      itemIds = Json.intArray(object, "item_ids", where);
      scores = Json.floatArray(object, "scores", where);
      originalIds = Collections.unmodifiableList(Json.stringList(object, "original_ids", where));
      if (itemIds.length != scores.length || itemIds.length != originalIds.size()) {
        throw new ArtifactFormatException(where + ": item_ids, scores and original_ids must have one entry per"
            + " item, got " + itemIds.length + ", " + scores.length + " and " + originalIds.size());
      }
    }

    public int[] itemIds() {
      return itemIds.clone();
    }

    public float[] scores() {
      return scores.clone();
    }

    public List<String> originalIds() {
      return originalIds;
    }
  }

  /** One golden history and what the Python LiteRT harness returned for it. Immutable. */
  public static final class Case {
    private final List<String> historyOriginalIds;
    private final int[] history;
    private final Ranked recommended;
    private final Ranked historyExcluded;
    private final String historyExcludedSignature;
    private final float[] scoresAllItems;

    Case(JsonObject object, String where) {
      historyOriginalIds = Collections.unmodifiableList(Json.stringList(object, "history_original_ids", where));
      history = Json.intArray(object, "history", where);
      recommended = new Ranked(object, where);
      if (!object.has("history_excluded")) {
        throw new ArtifactFormatException(where + " has no field 'history_excluded' (golden.json of an older export);"
            + " re-export with python convert/to_tflite.py and sync again");
      }
      JsonObject excluded = Json.object(object, "history_excluded", where);
      historyExcluded = new Ranked(excluded, where + ".history_excluded");
      historyExcludedSignature = Json.string(excluded, "signature", where + ".history_excluded");
      scoresAllItems = object.has("scores_all_items") ? Json.floatArray(object, "scores_all_items", where) : null;
    }

    /** The history as original ids, oldest first. */
    public List<String> historyOriginalIds() {
      return historyOriginalIds;
    }

    /** The encoded, left-padded {@code int[L]} input. */
    public int[] history() {
      return history.clone();
    }

    /** What {@code recommend} returned as {@code item_ids[0]}. */
    public int[] itemIds() {
      return recommended.itemIds();
    }

    /** What {@code recommend} returned as {@code scores[0]}. */
    public float[] scores() {
      return recommended.scores();
    }

    /** {@link #itemIds()} mapped through the vocab. */
    public List<String> originalIds() {
      return recommended.originalIds();
    }

    /** The top-K with every item of {@link #historyOriginalIds()} excluded: what the app shows with "exclude seen". */
    public Ranked historyExcluded() {
      return historyExcluded;
    }

    /** The signature Python ran for {@link #historyExcluded()}: {@code recommend} or {@code score}. */
    public String historyExcludedSignature() {
      return historyExcludedSignature;
    }

    /** The full {@code score} row ({@code float[n_items + 1]}) of a history longer than {@code L}, else null. */
    public float[] scoresAllItems() {
      return scoresAllItems == null ? null : scoresAllItems.clone();
    }
  }

  private final String modelFile;
  private final String modelSha256;
  private final int topK;
  private final List<Case> cases;

  private GoldenFile(JsonObject root, String what) {
    modelFile = Json.string(root, "model_file", what);
    modelSha256 = Json.string(root, "model_sha256", what);
    topK = Json.integer(root, "top_k", what);
    JsonArray caseArray = Json.array(root, "cases", what);
    List<Case> parsed = new ArrayList<>(caseArray.size());
    for (int i = 0; i < caseArray.size(); i++) {
      JsonElement element = caseArray.get(i);
      String where = what + ": cases[" + i + "]";
      if (!element.isJsonObject()) {
        throw new ArtifactFormatException(where + " must be a JSON object");
      }
      parsed.add(new Case(element.getAsJsonObject(), where));
    }
    cases = Collections.unmodifiableList(parsed);
  }

  /**
   * @param json the text of {@code golden.json}
   * @throws ArtifactFormatException naming the case and field that is missing or of the wrong type
   */
  public static GoldenFile parse(String json) {
    return new GoldenFile(Json.parseObject(json, "golden.json"), "golden.json");
  }

  public String modelFile() {
    return modelFile;
  }

  public String modelSha256() {
    return modelSha256;
  }

  public int topK() {
    return topK;
  }

  public List<Case> cases() {
    return cases;
  }
}
