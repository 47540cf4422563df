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

/**
 * The bundled export, verified: sidecar, vocab and a LiteRT model whose bytes, vocab and signatures agree with the
 * sidecar (docs/artifacts.md). [golden] is null when the APK carries no golden.json.
 */
class ModelAssets private constructor(
    val sidecar: Sidecar,
    val vocab: Vocab,
    val model: LiteRtScoringModel,
    val modelSizeBytes: Long,
    val golden: GoldenFile?,
) : AutoCloseable {

    override fun close() = model.close()

    companion object {
        const val GOLDEN_FILE = "golden.json"
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
                return ModelAssets(sidecar, vocab, model, modelBytes.size.toLong(), golden)
            } catch (error: Throwable) {
                model.close()
                throw error
            }
        }

        private fun findSidecar(assets: AssetManager): String {
            val names = assets.list("").orEmpty().filter { SIDECAR_NAME.matches(it) }.sorted()
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
