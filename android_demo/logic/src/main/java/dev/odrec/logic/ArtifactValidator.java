package dev.odrec.logic;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Refuses a model, sidecar and vocab that do not belong together (docs/artifacts.md): model bytes that do not hash to
 * the sidecar's {@code sha256}, a vocab that does not hash to {@code vocab_sha256} or has not {@code n_items} lines,
 * and signatures whose shapes disagree with {@code max_len} ({@code L}), {@code top_k} ({@code K}) or
 * {@code n_items}.
 */
public final class ArtifactValidator {
  private ArtifactValidator() {}

  /**
   * Checks everything at once and reports every disagreement, not only the first.
   *
   * @param sidecar the parsed sidecar
   * @param modelBytes the {@code .tflite} bytes the app is about to load
   * @param vocabBytes the {@code vocab.tsv} bytes
   * @param vocab the parsed {@code vocab.tsv}
   * @param modelSignatures the signatures read off the interpreter, by name
   * @throws ArtifactMismatchException listing each thing that disagrees
   */
  public static void validate(Sidecar sidecar, byte[] modelBytes, byte[] vocabBytes, Vocab vocab,
      Map<String, SignatureSpec> modelSignatures) {
    List<String> problems = new ArrayList<>();
    problems.addAll(fileProblems(sidecar, modelBytes, vocabBytes, vocab));
    problems.addAll(signatureProblems(sidecar, modelSignatures));
    if (!problems.isEmpty()) {
      throw new ArtifactMismatchException(problems);
    }
  }

  /**
   * The checks that need no interpreter: hashes, vocab length, padding convention, and the sidecar's own
   * {@code signatures} block against its {@code max_len}, {@code top_k} and {@code n_items}.
   *
   * @return one sentence per disagreement; empty when all agree
   */
  public static List<String> fileProblems(Sidecar sidecar, byte[] modelBytes, byte[] vocabBytes, Vocab vocab) {
    List<String> problems = new ArrayList<>();
    String modelSha = Sha256.hex(modelBytes);
    if (!modelSha.equals(sidecar.sha256().toLowerCase(Locale.ROOT))) {
      problems.add("model sha256: " + sidecar.modelFile() + " hashes to " + modelSha + " but the sidecar records "
          + sidecar.sha256());
    }
    String vocabSha = Sha256.hex(vocabBytes);
    if (!vocabSha.equals(sidecar.vocabSha256().toLowerCase(Locale.ROOT))) {
      problems.add("vocab sha256: " + sidecar.vocabFile() + " hashes to " + vocabSha + " but the sidecar records "
          + sidecar.vocabSha256());
    }
    if (vocab.size() != sidecar.nItems()) {
      problems.add("vocab length: " + sidecar.vocabFile() + " has " + vocab.size() + " items but the sidecar says"
          + " n_items = " + sidecar.nItems());
    }
    if (!"left".equals(sidecar.paddingSide())) {
      problems.add("padding_side: the sidecar says '" + sidecar.paddingSide() + "', this app encodes 'left'");
    }
    if (sidecar.paddingId() != HistoryEncoding.PADDING_ID) {
      problems.add("padding_id: the sidecar says " + sidecar.paddingId() + ", this app pads with "
          + HistoryEncoding.PADDING_ID);
    }
    if (!sidecar.excludesHistory()) {
      problems.add("excludes_history: the sidecar says false, but the app's 'exclude seen' mode relies on"
          + " 'recommend' excluding the history in the graph");
    }
    if (sidecar.maxLen() < 1 || sidecar.topK() < 1 || sidecar.nItems() < 1) {
      problems.add("sizes: max_len, top_k and n_items must be >= 1, the sidecar says " + sidecar.maxLen() + ", "
          + sidecar.topK() + ", " + sidecar.nItems());
    }
    problems.addAll(compareSignatures(sidecar, sidecar.signatures(), "the sidecar's signatures block"));
    return problems;
  }

  /**
   * Compares the signatures read off the interpreter with the sidecar's {@code max_len}, {@code top_k} and
   * {@code n_items}.
   *
   * @return one sentence per disagreement; empty when all agree
   */
  public static List<String> signatureProblems(Sidecar sidecar, Map<String, SignatureSpec> modelSignatures) {
    return compareSignatures(sidecar, modelSignatures, "the model");
  }

  private static List<String> compareSignatures(Sidecar sidecar, Map<String, SignatureSpec> signatures, String who) {
    List<String> problems = new ArrayList<>();
    int maxLen = sidecar.maxLen();
    int topK = sidecar.topK();
    // Spare item slots of an on-device export are score columns too (docs/artifacts.md).
    int scoreWidth = sidecar.nItems() + 1 + sidecar.spareItems();
    SignatureSpec recommend = signatureWithHistoryInput(problems, who, signatures, Sidecar.RECOMMEND, maxLen);
    if (recommend != null) {
      checkOutput(problems, who, Sidecar.RECOMMEND, recommend, Sidecar.ITEM_IDS, "int32",
          new int[] {1, topK}, "top_k (K)", topK);
      checkOutput(problems, who, Sidecar.RECOMMEND, recommend, Sidecar.SCORES, "float32",
          new int[] {1, topK}, "top_k (K)", topK);
    }
    SignatureSpec score = signatureWithHistoryInput(problems, who, signatures, Sidecar.SCORE, maxLen);
    if (score != null) {
      checkOutput(problems, who, Sidecar.SCORE, score, Sidecar.SCORES, "float32",
          new int[] {1, scoreWidth}, "n_items + 1", scoreWidth);
    }
    return problems;
  }

  /**
   * The signature {@code signatureName} with its {@code history} input checked (both signatures take the same input).
   *
   * @return the signature, or null when {@code signatures} lacks it (a problem is added then)
   */
  private static SignatureSpec signatureWithHistoryInput(List<String> problems, String who,
      Map<String, SignatureSpec> signatures, String signatureName, int maxLen) {
    SignatureSpec signature = signatures.get(signatureName);
    if (signature == null) {
      problems.add(who + " has no '" + signatureName + "' signature (it has " + signatures.keySet() + ")");
    } else {
      checkInputs(problems, who, signatureName, signature, maxLen);
    }
    return signature;
  }

  private static void checkInputs(List<String> problems, String who, String signatureName, SignatureSpec signature,
      int maxLen) {
    if (!signature.inputs().keySet().equals(Collections.singleton(Sidecar.HISTORY))) {
      problems.add(who + ": '" + signatureName + "' must take exactly one input '" + Sidecar.HISTORY + "', it takes "
          + signature.inputs().keySet());
    }
    TensorSpec history = signature.inputs().get(Sidecar.HISTORY);
    if (history == null) {
      return;
    }
    if (!history.hasShape(1, maxLen)) {
      problems.add("max_len (L): the sidecar says L = " + maxLen + " but " + who + "'s '" + signatureName
          + "' input '" + Sidecar.HISTORY + "' has shape " + Arrays.toString(history.shape()) + ", expected [1, "
          + maxLen + "]");
    }
    checkDtype(problems, who, signatureName, "input", Sidecar.HISTORY, history, "int32");
  }

  private static void checkOutput(List<String> problems, String who, String signatureName, SignatureSpec signature,
      String tensorName, String dtype, int[] expectedShape, String sizeName, int sizeValue) {
    TensorSpec tensor = signature.outputs().get(tensorName);
    if (tensor == null) {
      problems.add(who + ": '" + signatureName + "' has no output '" + tensorName + "' (outputs: "
          + signature.outputs().keySet() + ")");
      return;
    }
    if (!tensor.hasShape(expectedShape)) {
      problems.add(sizeName + ": the sidecar says " + sizeValue + " but " + who + "'s '" + signatureName
          + "' output '" + tensorName + "' has shape " + Arrays.toString(tensor.shape()) + ", expected "
          + Arrays.toString(expectedShape));
    }
    checkDtype(problems, who, signatureName, "output", tensorName, tensor, dtype);
  }

  private static void checkDtype(List<String> problems, String who, String signatureName, String kind,
      String tensorName, TensorSpec tensor, String expected) {
    if (tensor.dtype() != null && !expected.equals(tensor.dtype())) {
      problems.add("dtype: " + who + "'s '" + signatureName + "' " + kind + " '" + tensorName + "' is "
          + tensor.dtype() + ", expected " + expected);
    }
  }
}
