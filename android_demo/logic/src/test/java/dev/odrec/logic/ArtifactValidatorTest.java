package dev.odrec.logic;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.Test;

public class ArtifactValidatorTest {
  private static ArtifactMismatchException refusal(Sidecar sidecar, byte[] modelBytes, byte[] vocabBytes,
      Map<String, SignatureSpec> signatures) {
    return assertThrows(ArtifactMismatchException.class, () -> ArtifactValidator.validate(sidecar, modelBytes,
        vocabBytes, Vocab.parse(vocabBytes), signatures));
  }

  private static void assertSingleProblemMentions(ArtifactMismatchException error, String... fragments) {
    assertEquals(error.problems().toString(), 1, error.problems().size());
    for (String fragment : fragments) {
      assertTrue(error.problems().get(0), error.problems().get(0).contains(fragment));
    }
  }

  @Test
  public void parsesEveryField() {
    Sidecar sidecar = TestArtifacts.sidecar(TestArtifacts.sidecarJson());
    assertEquals("student_fp32.tflite", sidecar.modelFile());
    assertEquals(4, sidecar.maxLen());
    assertEquals(3, sidecar.topK());
    assertEquals(6, sidecar.nItems());
    assertEquals("left", sidecar.paddingSide());
    assertTrue(sidecar.excludesHistory());
    assertTrue(sidecar.signatures().get("score").outputs().get("scores").hasShape(1, 7));
    assertEquals(0.5, sidecar.metrics().get("HR@10"), 0.0);
  }

  @Test
  public void agreeingArtifactsPass() {
    ArtifactValidator.validate(TestArtifacts.sidecar(TestArtifacts.sidecarJson()), TestArtifacts.MODEL_BYTES,
        TestArtifacts.vocabBytes(), TestArtifacts.vocab(), TestArtifacts.modelSignatures());
  }

  @Test
  public void wrongModelShaIsRefused() {
    byte[] otherModel = "another flatbuffer".getBytes(StandardCharsets.UTF_8);
    ArtifactMismatchException error = refusal(TestArtifacts.sidecar(TestArtifacts.sidecarJson()), otherModel,
        TestArtifacts.vocabBytes(), TestArtifacts.modelSignatures());
    assertSingleProblemMentions(error, "model sha256", Sha256.hex(otherModel), Sha256.hex(TestArtifacts.MODEL_BYTES));
    assertTrue(error.getMessage(), error.getMessage().contains("sync_assets.py"));
  }

  @Test
  public void wrongMaxLenIsRefused() {
    // A sidecar from an export with L = 9, consistent in itself, beside a model whose history has L = 4.
    Sidecar sidecar = TestArtifacts.sidecar(TestArtifacts.sidecarJson(9, TestArtifacts.TOP_K, TestArtifacts.N_ITEMS));
    ArtifactMismatchException error = refusal(sidecar, TestArtifacts.MODEL_BYTES, TestArtifacts.vocabBytes(),
        TestArtifacts.modelSignatures());
    assertEquals(error.problems().toString(), 2, error.problems().size());  // recommend and score inputs
    for (String problem : error.problems()) {
      assertTrue(problem, problem.startsWith("max_len (L): the sidecar says L = 9"));
      assertTrue(problem, problem.contains("[1, 4]"));
    }
  }

  @Test
  public void wrongTopKIsRefused() {
    Sidecar sidecar = TestArtifacts.sidecar(TestArtifacts.sidecarJson(TestArtifacts.MAX_LEN, 5,
        TestArtifacts.N_ITEMS));
    ArtifactMismatchException error = refusal(sidecar, TestArtifacts.MODEL_BYTES, TestArtifacts.vocabBytes(),
        TestArtifacts.modelSignatures());
    assertEquals(error.problems().toString(), 2, error.problems().size());  // item_ids and scores
    for (String problem : error.problems()) {
      assertTrue(problem, problem.startsWith("top_k (K): the sidecar says 5"));
    }
  }

  @Test
  public void sidecarWhoseSignatureBlockContradictsItsMaxLenIsRefused() {
    JsonObject json = TestArtifacts.sidecarJson();
    json.addProperty("max_len", 5);
    ArtifactMismatchException error = assertThrows(ArtifactMismatchException.class,
        () -> ArtifactValidator.validate(TestArtifacts.sidecar(json), TestArtifacts.MODEL_BYTES,
            TestArtifacts.vocabBytes(), TestArtifacts.vocab(), TestArtifacts.modelSignatures(5, 3, 6)));
    assertTrue(error.getMessage(), error.getMessage().contains("the sidecar's signatures block"));
  }

  @Test
  public void vocabWithWrongShaIsRefused() {
    byte[] otherVocab = TestArtifacts.vocabText().replace("Heat", "Ronin").getBytes(StandardCharsets.UTF_8);
    ArtifactMismatchException error = refusal(TestArtifacts.sidecar(TestArtifacts.sidecarJson()),
        TestArtifacts.MODEL_BYTES, otherVocab, TestArtifacts.modelSignatures());
    assertSingleProblemMentions(error, "vocab sha256", Sha256.hex(otherVocab));
  }

  @Test
  public void vocabWithWrongLengthIsRefused() {
    // The sidecar records the hash of this shorter vocab, so only its length disagrees with n_items.
    byte[] shortVocab = "internal_id\toriginal_id\ttitle\n1\t10\tToy Story (1995)\n".getBytes(StandardCharsets.UTF_8);
    JsonObject json = TestArtifacts.sidecarJson();
    json.addProperty("vocab_sha256", Sha256.hex(shortVocab));
    ArtifactMismatchException error = refusal(TestArtifacts.sidecar(json), TestArtifacts.MODEL_BYTES, shortVocab,
        TestArtifacts.modelSignatures());
    assertSingleProblemMentions(error, "vocab length", "has 1 items", "n_items = 6");
  }

  @Test
  public void modelWithWrongCatalogueWidthIsRefused() {
    ArtifactMismatchException error = refusal(TestArtifacts.sidecar(TestArtifacts.sidecarJson()),
        TestArtifacts.MODEL_BYTES, TestArtifacts.vocabBytes(), TestArtifacts.modelSignatures(4, 3, 8));
    assertSingleProblemMentions(error, "n_items + 1", "[1, 9]", "[1, 7]");
  }

  @Test
  public void missingSignatureIsRefusedByName() {
    Map<String, SignatureSpec> signatures = TestArtifacts.modelSignatures();
    signatures.remove("score");
    ArtifactMismatchException error = refusal(TestArtifacts.sidecar(TestArtifacts.sidecarJson()),
        TestArtifacts.MODEL_BYTES, TestArtifacts.vocabBytes(), signatures);
    assertSingleProblemMentions(error, "no 'score' signature", "[recommend]");
  }

  @Test
  public void wrongDtypeIsRefused() {
    Map<String, SignatureSpec> signatures = TestArtifacts.modelSignatures();
    Map<String, TensorSpec> inputs = new java.util.LinkedHashMap<>();
    inputs.put("history", new TensorSpec(new int[] {1, 4}, "int64"));
    signatures.put("recommend", new SignatureSpec(inputs, signatures.get("recommend").outputs()));
    ArtifactMismatchException error = refusal(TestArtifacts.sidecar(TestArtifacts.sidecarJson()),
        TestArtifacts.MODEL_BYTES, TestArtifacts.vocabBytes(), signatures);
    assertSingleProblemMentions(error, "dtype", "int64", "int32");
  }

  @Test
  public void everyDisagreementIsReportedAtOnce() {
    JsonObject json = TestArtifacts.sidecarJson();
    json.addProperty("padding_side", "right");
    json.addProperty("excludes_history", false);
    ArtifactMismatchException error = refusal(TestArtifacts.sidecar(json), new byte[] {1},
        TestArtifacts.vocabBytes(), TestArtifacts.modelSignatures());
    assertEquals(error.problems().toString(), 3, error.problems().size());
  }

  @Test
  public void missingFieldIsNamed() {
    JsonObject json = TestArtifacts.sidecarJson();
    json.remove("vocab_sha256");
    ArtifactFormatException error = assertThrows(ArtifactFormatException.class, () -> TestArtifacts.sidecar(json));
    assertTrue(error.getMessage(), error.getMessage().contains("'vocab_sha256'"));
  }

  @Test
  public void fractionalIntegerIsRefused() {
    JsonObject json = TestArtifacts.sidecarJson();
    json.addProperty("max_len", 4.5);
    ArtifactFormatException error = assertThrows(ArtifactFormatException.class, () -> TestArtifacts.sidecar(json));
    assertTrue(error.getMessage(), error.getMessage().contains("'max_len' must be an integer"));
  }

  @Test
  public void notJsonIsRefused() {
    assertThrows(ArtifactFormatException.class, () -> Sidecar.parse("{not json", "student_fp32.json"));
  }

  @Test
  public void sha256MatchesAKnownVector() {
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        Sha256.hex("abc".getBytes(StandardCharsets.US_ASCII)));
  }
}
