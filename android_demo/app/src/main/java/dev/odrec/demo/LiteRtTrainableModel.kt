package dev.odrec.demo

import dev.odrec.logic.RecommendOutput
import dev.odrec.logic.ScoringModel
import dev.odrec.logic.Sidecar
import dev.odrec.logic.SignatureSpec
import dev.odrec.logic.TrainableModel
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * The on-device export (`student_fp32_on_device.tflite`, docs/artifacts.md) behind LiteRT's Interpreter: the
 * `recommend`/`score` signatures of [LiteRtScoringModel] plus `train`, `get_weights` and `set_weights`. The state
 * lives in the interpreter's resource variables, shared by every signature of this one interpreter.
 *
 * Not thread-safe, like the interpreter: call it from one thread.
 *
 * @param modelBytes the `.tflite` bytes, already checked against the sidecar's sha256
 * @param sidecar its sidecar, for the state shapes and the trained catalogue size
 */
class LiteRtTrainableModel(modelBytes: ByteArray, private val sidecar: Sidecar) :
    ScoringModel, TrainableModel, AutoCloseable {
    private val scoring = LiteRtScoringModel(modelBytes)

    /** Every signature with its named tensors' shapes and dtypes, for validation. */
    fun signatures(): Map<String, SignatureSpec> = scoring.signatures()

    override fun recommend(history: IntArray): RecommendOutput = scoring.recommend(history)

    /** The trained catalogue's columns only: this app adds no items, so the spare slots stay unused. */
    override fun score(history: IntArray): FloatArray = scoring.score(history).copyOf(sidecar.nItems() + 1)

    override fun train(history: IntArray, target: Int): Float {
        val loss = floatBuffer(1)
        scoring.interpreter.runSignature(
            mapOf<String, Any>(Sidecar.HISTORY to arrayOf(history), TARGET to intArrayOf(target)),
            mapOf<String, Any>(LOSS to loss),
            TRAIN,
        )
        loss.rewind()
        return loss.float
    }

    override fun getWeights(): Map<String, FloatArray> {
        val outputs = sidecar.stateShapes().mapValues { (_, shape) -> floatBuffer(shape.fold(1) { a, b -> a * b }) }
        scoring.interpreter.runSignature(emptyMap<String, Any>(), outputs, GET_WEIGHTS)
        return outputs.mapValues { (_, buffer) ->
            buffer.rewind()
            FloatArray(buffer.capacity() / 4).also { buffer.asFloatBuffer().get(it) }
        }
    }

    override fun setWeights(weights: Map<String, FloatArray>) {
        val inputs = sidecar.stateShapes().keys.associateWith { name ->
            val values = weights.getValue(name)
            floatBuffer(values.size).apply {
                asFloatBuffer().put(values)
                rewind()
            }
        }
        val activeItems = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder())
        scoring.interpreter.runSignature(inputs, mapOf<String, Any>(ACTIVE_ITEMS to activeItems), SET_WEIGHTS)
    }

    override fun close() = scoring.close()

    private companion object {
        const val TRAIN = "train"
        const val GET_WEIGHTS = "get_weights"
        const val SET_WEIGHTS = "set_weights"
        const val TARGET = "target"
        const val LOSS = "loss"
        const val ACTIVE_ITEMS = "active_items"

        fun floatBuffer(count: Int): ByteBuffer = ByteBuffer.allocateDirect(count * 4).order(ByteOrder.nativeOrder())
    }
}
