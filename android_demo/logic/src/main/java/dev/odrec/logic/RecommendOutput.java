package dev.odrec.logic;

/** The two outputs of the {@code recommend} signature for one history (batch row 0). */
public final class RecommendOutput {
  private final int[] itemIds;
  private final float[] scores;

  /**
   * @param itemIds {@code item_ids[0]}, {@code int[K]}
   * @param scores {@code scores[0]}, {@code float[K]}
   */
  public RecommendOutput(int[] itemIds, float[] scores) {
    this.itemIds = itemIds.clone();
    this.scores = scores.clone();
  }

  public int[] itemIds() {
    return itemIds.clone();
  }

  public float[] scores() {
    return scores.clone();
  }
}
