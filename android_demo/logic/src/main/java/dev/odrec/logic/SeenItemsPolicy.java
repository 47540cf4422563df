package dev.odrec.logic;

/** Whether items already in the history may be recommended again. */
public enum SeenItemsPolicy {
  /** Runs {@code recommend}, which excludes the history inside the graph. */
  EXCLUDE_SEEN(Sidecar.RECOMMEND),
  /** Runs {@code score} and takes the top-K here, leaving out only padding. */
  KEEP_SEEN(Sidecar.SCORE);

  private final String signature;

  SeenItemsPolicy(String signature) {
    this.signature = signature;
  }

  /** The name of the signature this policy runs. */
  public String signature() {
    return signature;
  }
}
