package dev.odrec.demo

import android.content.res.AssetManager
import dev.odrec.logic.ArtifactMismatchException
import dev.odrec.logic.ArtifactValidator
import dev.odrec.logic.GoldenFile
import dev.odrec.logic.Sidecar
import dev.odrec.logic.Vocab
import java.io.FileNotFoundException

/** An asset the app needs is not in the APK; the message names it and how to add it. */
class MissingAssetException(message: String) : IllegalStateException(message)

/** The on-device export bundled beside the model, verified like it: it learns from the user's taps. */
class OnDeviceAssets(val sidecar: Sidecar, val model: LiteRtTrainableModel, val modelSizeBytes: Long)

/**
 * The bundled export, verified: sidecar, vocab and a LiteRT model whose bytes, vocab and signatures agree with the
 * sidecar (docs/artifacts.md). [golden] is null when the APK carries no golden.json, [onDevice] when it carries no
 * `student_fp32_on_device.tflite` (then the app does not personalise).
 */
class ModelAssets private constructor(
    val sidecar: Sidecar,
    val vocab: Vocab,
    val model: LiteRtScoringModel,
    val modelSizeBytes: Long,
    val golden: GoldenFile?,
    val onDevice: OnDeviceAssets?,
) : AutoCloseable {

    override fun close() {
        model.close()
        onDevice?.model?.close()
    }

    companion object {
        const val GOLDEN_FILE = "golden.json"
        const val ON_DEVICE_SIDECAR = "student_fp32_on_device.json"
        private val SIDECAR_NAME = Regex("""student_[a-z0-9_]+\.json""")

        /**
         * Reads and validates the assets; runs on a background thread (hashing and interpreter creation).
         *
         * @throws MissingAssetException if the sidecar, model or vocab is missing
         * @throws ArtifactMismatchException if model, sidecar and vocab disagree, listing each disagreement
         * @throws dev.odrec.logic.VocabFormatException if vocab.tsv is malformed, naming the line
         * @throws dev.odrec.logic.ArtifactFormatException if a JSON file lacks a field
         */
        fun load(assets: AssetManager): ModelAssets {
            val sidecarName = findSidecar(assets)
            val sidecar = Sidecar.parse(assets.readText(sidecarName), sidecarName)
            val modelBytes = assets.readBytes(sidecar.modelFile())
            val vocabBytes = assets.readBytes(sidecar.vocabFile())
            val vocab = Vocab.parse(vocabBytes)
            // Hashes first: a mismatched or truncated flatbuffer never reaches native code.
            val fileProblems = ArtifactValidator.fileProblems(sidecar, modelBytes, vocabBytes, vocab)
            if (fileProblems.isNotEmpty()) {
                throw ArtifactMismatchException(fileProblems)
            }
            val model = LiteRtScoringModel(modelBytes)
            try {
                val signatureProblems = ArtifactValidator.signatureProblems(sidecar, model.signatures())
                if (signatureProblems.isNotEmpty()) {
                    throw ArtifactMismatchException(signatureProblems)
                }
                val golden = if (assets.hasRootFile(GOLDEN_FILE)) {
                    GoldenFile.parse(assets.readText(GOLDEN_FILE))
                } else {
                    null
                }
                val onDevice =
                    if (assets.hasRootFile(ON_DEVICE_SIDECAR)) loadOnDevice(assets, vocabBytes, vocab) else null
                return ModelAssets(sidecar, vocab, model, modelBytes.size.toLong(), golden, onDevice)
            } catch (error: Throwable) {
                model.close()
                throw error
            }
        }

        /** The on-device export, checked like the model: hashes first, then its signatures. */
        private fun loadOnDevice(assets: AssetManager, vocabBytes: ByteArray, vocab: Vocab): OnDeviceAssets {
            val sidecar = Sidecar.parse(assets.readText(ON_DEVICE_SIDECAR), ON_DEVICE_SIDECAR)
            val modelBytes = assets.readBytes(sidecar.modelFile())
            val fileProblems = ArtifactValidator.fileProblems(sidecar, modelBytes, vocabBytes, vocab)
            if (fileProblems.isNotEmpty()) {
                throw ArtifactMismatchException(fileProblems)
            }
            val model = LiteRtTrainableModel(modelBytes, sidecar)
            try {
                val problems = ArtifactValidator.signatureProblems(sidecar, model.signatures())
                if (problems.isNotEmpty()) {
                    throw ArtifactMismatchException(problems)
                }
                return OnDeviceAssets(sidecar, model, modelBytes.size.toLong())
            } catch (error: Throwable) {
                model.close()
                throw error
            }
        }

        private fun findSidecar(assets: AssetManager): String {
            // The on-device export's sidecar sits beside the model's and is loaded on its own.
            val names = assets.list("").orEmpty()
                .filter { SIDECAR_NAME.matches(it) && it != ON_DEVICE_SIDECAR }
                .sorted()
            return names.singleOrNull() ?: throw MissingAssetException(
                if (names.isEmpty()) {
                    "no student_<variant>.json sidecar in the APK's assets"
                } else {
                    "several sidecars in the APK's assets ($names); sync exactly one model"
                },
            )
        }

        private fun AssetManager.hasRootFile(name: String): Boolean = list("").orEmpty().contains(name)

        private fun AssetManager.readBytes(name: String): ByteArray =
            try {
                open(name).use { it.readBytes() }
            } catch (error: FileNotFoundException) {
                throw MissingAssetException("asset '$name' named by the sidecar is not in the APK")
            }

        private fun AssetManager.readText(name: String): String = String(readBytes(name), Charsets.UTF_8)
    }
}
