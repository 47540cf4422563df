package dev.odrec.demo

import android.app.Application
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import dev.odrec.logic.ArtifactFormatException
import dev.odrec.logic.ArtifactMismatchException
import dev.odrec.logic.FileStateStore
import dev.odrec.logic.HistoryBuffer
import dev.odrec.logic.HistoryEncoding
import dev.odrec.logic.NextItemRecommender
import dev.odrec.logic.OnDevicePersonaliser
import dev.odrec.logic.ParityCheck
import dev.odrec.logic.PersonalStateException
import dev.odrec.logic.RankedItem
import dev.odrec.logic.SeenItemsPolicy
import dev.odrec.logic.Units
import dev.odrec.logic.Vocab
import dev.odrec.logic.VocabFormatException
import java.io.File
import java.io.IOException
import java.util.Locale
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** One catalogue entry as the UI shows it. */
data class CatalogueItem(val internalId: Int, val originalId: String, val title: String)

/** Static facts about the bundled model for the header. */
data class ModelInfo(
    val modelFile: String,
    val dataset: String,
    val nItems: Int,
    val maxLen: Int,
    val topK: Int,
    val sizeText: String,
    val metrics: String,
)

/** What the main screen shows; every field is a snapshot. */
data class DemoUiState(
    val model: ModelInfo,
    val query: String = "",
    val catalogue: List<CatalogueItem> = emptyList(),
    val history: List<CatalogueItem> = emptyList(),
    val keepSeen: Boolean = false,
    val recommendations: List<RankedItem> = emptyList(),
    val lastSignature: String? = null,
    val lastLatencyText: String? = null,
    val parity: String? = null,
    val inferenceError: String? = null,
    /** The APK carries an on-device export: the app can learn from taps. */
    val personalAvailable: Boolean = false,
    val personalise: Boolean = false,
    val personalStatus: String? = null,
)

sealed interface DemoState {
    data object Loading : DemoState

    /** Start-up refused the assets; [details] says each thing that is wrong. */
    data class Failed(val title: String, val details: List<String>) : DemoState

    data class Ready(val ui: DemoUiState) : DemoState
}

/**
 * Loads and verifies the bundled export, then turns taps into recommendations. The LiteRT interpreter and the
 * history buffer are not thread-safe, so both are used only on [modelDispatcher], a single background thread.
 */
class DemoViewModel(application: Application) : AndroidViewModel(application) {
    private val modelExecutor: ExecutorService = Executors.newSingleThreadExecutor { runnable ->
        Thread(runnable, "odrec-litert")
    }
    private val modelDispatcher = modelExecutor.asCoroutineDispatcher()

    private val mutableState = MutableStateFlow<DemoState>(DemoState.Loading)
    val state: StateFlow<DemoState> = mutableState.asStateFlow()

    // Written once on modelDispatcher; read on modelDispatcher, and vocab (immutable) also on the main thread.
    @Volatile private var assets: ModelAssets? = null
    private var history: HistoryBuffer? = null
    private var recommender: NextItemRecommender? = null
    private var keepSeen = false

    // On-device learning, when the APK carries an on-device export: state in the app's private files only.
    private var personaliser: OnDevicePersonaliser? = null
    private var personalRecommender: NextItemRecommender? = null
    private var personalise = false

    init {
        viewModelScope.launch(modelDispatcher) { load() }
    }

    fun onQueryChange(query: String) {
        val vocab = assets?.vocab ?: return
        updateReady { it.copy(query = query, catalogue = search(vocab, query)) }
    }

    fun onItemTapped(internalId: Int) {
        viewModelScope.launch(modelDispatcher) {
            val buffer = history ?: return@launch
            val before = buffer.items()
            buffer.add(internalId)
            if (personalise) {
                learn(before, internalId)
            }
            recompute()
        }
    }

    fun onPersonaliseChange(on: Boolean) = onSwitchChange({ it.copy(personalise = on) }) { personalise = on }

    fun onResetPersonalisation() {
        viewModelScope.launch(modelDispatcher) {
            val engine = personaliser ?: return@launch
            val status = try {
                engine.reset()
                "Personalisation reset: the shipped model ranks again, and nothing is saved."
            } catch (error: IOException) {
                "The saved state could not be deleted: ${error.message}"
            }
            updateReady { it.copy(personalStatus = status) }
            recompute()
        }
    }

    fun onClearHistory() {
        viewModelScope.launch(modelDispatcher) {
            val buffer = history ?: return@launch
            buffer.clear()
            recompute()
        }
    }

    fun onKeepSeenChange(keep: Boolean) = onSwitchChange({ it.copy(keepSeen = keep) }) { keepSeen = keep }

    /** A switch moved: the UI shows it at once; [setOnModelThread] then runs on modelDispatcher and ranks again. */
    private fun onSwitchChange(showInUi: (DemoUiState) -> DemoUiState, setOnModelThread: () -> Unit) {
        updateReady(showInUi)
        viewModelScope.launch(modelDispatcher) {
            setOnModelThread()
            recompute()
        }
    }

    override fun onCleared() {
        // Queued behind any inference still running, so the interpreter is never closed under it.
        modelExecutor.execute { assets?.close() }
        modelExecutor.shutdown()
    }

    private fun load() {
        val loaded = try {
            ModelAssets.load(getApplication<Application>().assets)
        } catch (error: Exception) {
            mutableState.value = failure(error)
            return
        } catch (error: UnsatisfiedLinkError) {
            // LiteRT's native library is missing for this ABI: say so instead of crashing.
            mutableState.value = failure(error)
            return
        }
        val sidecar = loaded.sidecar
        assets = loaded
        history = HistoryBuffer(sidecar.maxLen())
        val engine = NextItemRecommender(loaded.vocab, loaded.model, sidecar.topK())
        recommender = engine
        val metrics = sidecar.metrics().entries.joinToString(" · ") { (name, value) ->
            String.format(Locale.ROOT, "%s %.3f", name, value)
        }
        val info = ModelInfo(
            modelFile = sidecar.modelFile(),
            dataset = sidecar.dataset(),
            nItems = sidecar.nItems(),
            maxLen = sidecar.maxLen(),
            topK = sidecar.topK(),
            sizeText = Units.formatBytes(loaded.modelSizeBytes),
            metrics = metrics,
        )
        mutableState.value = DemoState.Ready(DemoUiState(model = info, catalogue = search(loaded.vocab, "")))
        val parity = checkGoldenParity(loaded, engine)
        updateReady { it.copy(parity = parity) }
        loaded.onDevice?.let { onDevice -> startPersonalisation(loaded, onDevice) }
    }

    /** Runs on modelDispatcher: the on-device export and the state saved in the app's files, if it is valid. */
    private fun startPersonalisation(loaded: ModelAssets, onDevice: OnDeviceAssets) {
        val store = FileStateStore(File(getApplication<Application>().filesDir, PERSONAL_STATE_FILE))
        val engine = OnDevicePersonaliser(onDevice.model, onDevice.sidecar, store)
        personaliser = engine
        personalRecommender = NextItemRecommender(loaded.vocab, onDevice.model, onDevice.sidecar.topK())
        val status = try {
            if (engine.restore()) {
                "Personal state restored from this phone."
            } else {
                "Nothing learnt yet: switch on \"Learn from my taps\"."
            }
        } catch (error: PersonalStateException) {
            "Saved personal state refused: ${error.message}"
        } catch (error: IOException) {
            "Saved personal state cannot be read (${error.message}); tap \"Reset personalisation\"."
        }
        updateReady { it.copy(personalAvailable = true, personalStatus = status) }
    }

    /** Runs on modelDispatcher: one train step for a tap, and the state saved. */
    private fun learn(before: List<Int>, target: Int) {
        val engine = personaliser ?: return
        val status = try {
            val loss = engine.learn(before, target) ?: return
            String.format(
                Locale.ROOT,
                "Learnt from %d tap(s) (last loss %.3f); kept on this phone only.",
                engine.steps(),
                loss,
            )
        } catch (error: IOException) {
            "The personal state could not be saved: ${error.message}"
        }
        updateReady { it.copy(personalStatus = status) }
    }

    /** Runs on modelDispatcher. */
    private fun recompute() {
        val vocab = assets?.vocab ?: return
        val buffer = history ?: return
        val shipped = recommender ?: return
        val engine = if (personalise) personalRecommender ?: shipped else shipped
        val historyItems = buffer.items().map { catalogueItem(vocab, it) }
        val policy = if (keepSeen) SeenItemsPolicy.KEEP_SEEN else SeenItemsPolicy.EXCLUDE_SEEN
        try {
            val result = engine.recommend(buffer, policy)
            updateReady { ui ->
                val ran = result.signature().isNotEmpty()
                ui.copy(
                    history = historyItems,
                    recommendations = result.items(),
                    lastSignature = if (ran) result.signature() else ui.lastSignature,
                    lastLatencyText = if (ran) Units.formatMillis(result.inferenceNanos()) else ui.lastLatencyText,
                    inferenceError = null,
                )
            }
        } catch (error: RuntimeException) {
            updateReady {
                it.copy(history = historyItems, recommendations = emptyList(), inferenceError = error.toString())
            }
        }
    }

    /**
     * Re-runs golden.json's histories through this device's LiteRT and compares with what Python's LiteRT returned:
     * the `recommend` output, and what the app shows with seen items excluded (the whole history, also beyond L).
     * Runs on modelDispatcher.
     */
    private fun checkGoldenParity(loaded: ModelAssets, engine: NextItemRecommender): String {
        val golden = loaded.golden ?: return "Golden parity: no golden.json bundled"
        if (!golden.modelSha256().equals(loaded.sidecar.sha256(), ignoreCase = true)) {
            return "Golden parity: golden.json belongs to another model (${golden.modelFile()})"
        }
        val failures = mutableListOf<String>()
        golden.cases().forEachIndexed { index, goldenCase ->
            try {
                val encoded = HistoryEncoding.encodeLeftPadded(
                    loaded.vocab.internalIds(goldenCase.historyOriginalIds()),
                    loaded.sidecar.maxLen(),
                )
                val output = loaded.model.recommend(encoded)
                val problems = ParityCheck.compare(
                    goldenCase, encoded, output.itemIds(), output.scores(), ParityCheck.FP32_RELATIVE_TOLERANCE,
                )
                val buffer = HistoryBuffer(loaded.sidecar.maxLen())
                loaded.vocab.internalIds(goldenCase.historyOriginalIds()).forEach { buffer.add(it) }
                val shown = engine.recommend(buffer, SeenItemsPolicy.EXCLUDE_SEEN).items().map { it.originalId() }
                val expected = goldenCase.historyExcluded().originalIds()
                if (problems.isNotEmpty()) {
                    failures += "case $index: ${problems.first()}"
                } else if (shown != expected) {
                    failures += "case $index: exclude seen shows $shown, Python $expected"
                }
            } catch (error: RuntimeException) {
                failures += "case $index: $error"
            }
        }
        val total = golden.cases().size
        val passed = total - failures.size
        return if (failures.isEmpty()) {
            "Golden parity: $passed/$total cases match Python LiteRT"
        } else {
            "Golden parity: $passed/$total match; ${failures.first()}"
        }
    }

    private fun updateReady(transform: (DemoUiState) -> DemoUiState) {
        mutableState.update { state -> if (state is DemoState.Ready) DemoState.Ready(transform(state.ui)) else state }
    }

    private companion object {
        const val PERSONAL_STATE_FILE = "personal_state.json"

        fun catalogueItem(vocab: Vocab, internalId: Int) =
            CatalogueItem(internalId, vocab.originalId(internalId), vocab.displayName(internalId))

        fun search(vocab: Vocab, query: String): List<CatalogueItem> =
            vocab.search(query, Int.MAX_VALUE).map { catalogueItem(vocab, it) }

        fun failure(error: Throwable): DemoState.Failed = when (error) {
            is ArtifactMismatchException -> DemoState.Failed("The model assets do not agree", error.problems())
            is VocabFormatException -> DemoState.Failed("vocab.tsv is malformed", listOf(error.message.orEmpty()))
            is ArtifactFormatException -> DemoState.Failed("A JSON asset cannot be read", listOf(error.message.orEmpty()))
            is MissingAssetException -> DemoState.Failed("Model assets are missing", listOf(error.message.orEmpty()))
            else -> DemoState.Failed("The model could not be loaded", listOf(error.toString()))
        }
    }
}
