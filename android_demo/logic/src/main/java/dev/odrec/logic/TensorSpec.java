package dev.odrec.logic;

import java.util.Arrays;

/** Shape, and dtype where known, of one named tensor of a signature. Immutable. */
public final class TensorSpec {
  private final int[] shape;
  private final String dtype;

  /**
   * @param shape the static shape, e.g. {@code [1, 50]}
   * @param dtype {@code "int32"}, {@code "float32"}, ...; {@code null} where unknown (the sidecar records no dtypes)
   */
  public TensorSpec(int[] shape, String dtype) {
    this.shape = shape.clone();
    this.dtype = dtype;
  }

  public int[] shape() {
    return shape.clone();
  }

  /** The dtype, or {@code null} where unknown. */
  public String dtype() {
    return dtype;
  }

  public boolean hasShape(int... expected) {
    return Arrays.equals(shape, expected);
  }

  @Override
  public String toString() {
    return Arrays.toString(shape) + (dtype == null ? "" : " " + dtype);
  }
}
