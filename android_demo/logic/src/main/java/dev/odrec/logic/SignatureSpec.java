package dev.odrec.logic;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Named inputs and outputs of one signature, from the sidecar or read off the interpreter. Immutable. */
public final class SignatureSpec {
  private final Map<String, TensorSpec> inputs;
  private final Map<String, TensorSpec> outputs;

  public SignatureSpec(Map<String, TensorSpec> inputs, Map<String, TensorSpec> outputs) {
    this.inputs = Collections.unmodifiableMap(new LinkedHashMap<>(inputs));
    this.outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
  }

  /** Input tensors by signature name, e.g. {@code history}. */
  public Map<String, TensorSpec> inputs() {
    return inputs;
  }

  /** Output tensors by signature name, e.g. {@code item_ids}, {@code scores}. */
  public Map<String, TensorSpec> outputs() {
    return outputs;
  }
}
