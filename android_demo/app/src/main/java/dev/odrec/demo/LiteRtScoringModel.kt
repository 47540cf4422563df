package dev.odrec.demo

import dev.odrec.logic.RecommendOutput
import dev.odrec.logic.ScoringModel
import dev.odrec.logic.SignatureSpec
import dev.odrec.logic.Sidecar
import dev.odrec.logic.TensorSpec
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.Locale
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.Tensor

/**
 * The exported flatbuffer behind LiteRT's [Interpreter], driven only through its signatures by name
 * (`recommend`, `score`) and their named tensors, never through positional tensor indices.
 *
 * Not thread-safe, like the interpreter: call it from one thread.
 *
 * @param modelBytes the `.tflite` bytes, already checked against the sidecar's sha256
 * @param numThreads CPU threads for the interpreter
 */
class LiteRtScoringModel(modelBytes: ByteArray, numThreads: Int = DEFAULT_THREADS) : ScoringModel, AutoCloseable {
    // The interpreter reads the model from this buffer for its whole life: it must be direct and stay referenced.
    private val modelBuffer: ByteBuffer = ByteBuffer.allocateDirect(modelBytes.size)
        .order(ByteOrder.nativeOrder())
        .apply {
            put(modelBytes)
            rewind()
        }

    // Internal: LiteRtTrainableModel runs the training signatures of an on-device export on this same interpreter.
    internal val interpreter = Interpreter(modelBuffer, Interpreter.Options().setNumThreads(numThreads))

    // Read lazily, after ArtifactValidator has checked the shapes these rely on.
    private val topK: Int by lazy {
        interpreter.getOutputTensorFromSignature(Sidecar.ITEM_IDS, Sidecar.RECOMMEND).shape()[1]
    }
    private val scoreWidth: Int by lazy {
        interpreter.getOutputTensorFromSignature(Sidecar.SCORES, Sidecar.SCORE).shape()[1]
    }

    /** Every signature of the flatbuffer with its named tensors' shapes and dtypes, for validation. */
    fun signatures(): Map<String, SignatureSpec> =
        interpreter.signatureKeys.associateWith { key ->
            SignatureSpec(
                interpreter.getSignatureInputs(key).associateWith { name ->
                    tensorSpec(interpreter.getInputTensorFromSignature(name, key))
                },
                interpreter.getSignatureOutputs(key).associateWith { name ->
                    tensorSpec(interpreter.getOutputTensorFromSignature(name, key))
                },
            )
        }

    override fun recommend(history: IntArray): RecommendOutput {
        val itemIds = arrayOf(IntArray(topK))
        val scores = arrayOf(FloatArray(topK))
        interpreter.runSignature(
            mapOf<String, Any>(Sidecar.HISTORY to arrayOf(history)),
            mapOf<String, Any>(Sidecar.ITEM_IDS to itemIds, Sidecar.SCORES to scores),
            Sidecar.RECOMMEND,
        )
        return RecommendOutput(itemIds[0], scores[0])
    }

    override fun score(history: IntArray): FloatArray {
        val scores = arrayOf(FloatArray(scoreWidth))
        interpreter.runSignature(
            mapOf<String, Any>(Sidecar.HISTORY to arrayOf(history)),
            mapOf<String, Any>(Sidecar.SCORES to scores),
            Sidecar.SCORE,
        )
        return scores[0]
    }

    override fun close() {
        interpreter.close()
    }

    private companion object {
        const val DEFAULT_THREADS = 2

        fun tensorSpec(tensor: Tensor): TensorSpec = TensorSpec(tensor.shape(), dtypeName(tensor.dataType()))

        // The names the sidecar and ArtifactValidator use (numpy's).
        fun dtypeName(dataType: DataType): String = when (dataType) {
            DataType.INT32 -> "int32"
            DataType.FLOAT32 -> "float32"
            DataType.INT64 -> "int64"
            else -> dataType.name.lowercase(Locale.ROOT)
        }
    }
}
