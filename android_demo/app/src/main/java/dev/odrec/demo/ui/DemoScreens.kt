package dev.odrec.demo.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.PaddingValues
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.width
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.LazyRow
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.AssistChip
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Surface
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.text.style.TextOverflow
import androidx.compose.ui.unit.dp
import androidx.lifecycle.viewmodel.compose.viewModel
import dev.odrec.demo.CatalogueItem
import dev.odrec.demo.DemoState
import dev.odrec.demo.DemoUiState
import dev.odrec.demo.DemoViewModel
import dev.odrec.demo.R
import dev.odrec.logic.RankedItem

/** Picks the screen for the current state: loading, refused assets, or the demo. */
@Composable
fun DemoApp(viewModel: DemoViewModel = viewModel()) {
    val state by viewModel.state.collectAsState()
    Scaffold(modifier = Modifier.fillMaxSize()) { innerPadding ->
        val modifier = Modifier
            .fillMaxSize()
            .padding(innerPadding)
        when (val current = state) {
            DemoState.Loading -> LoadingScreen(modifier)
            is DemoState.Failed -> ErrorScreen(current, modifier)
            is DemoState.Ready -> DemoScreen(
                ui = current.ui,
                onQueryChange = viewModel::onQueryChange,
                onItemTapped = viewModel::onItemTapped,
                onClearHistory = viewModel::onClearHistory,
                onKeepSeenChange = viewModel::onKeepSeenChange,
                onPersonaliseChange = viewModel::onPersonaliseChange,
                onResetPersonalisation = viewModel::onResetPersonalisation,
                modifier = modifier,
            )
        }
    }
}

@Composable
private fun LoadingScreen(modifier: Modifier) {
    Column(
        modifier = modifier,
        verticalArrangement = Arrangement.Center,
        horizontalAlignment = Alignment.CenterHorizontally,
    ) {
        CircularProgressIndicator()
        Text(stringResource(R.string.loading), modifier = Modifier.padding(top = 16.dp))
    }
}

/** Start-up refused the assets: say what disagrees and how to fix it, instead of running a mismatched model. */
@Composable
private fun ErrorScreen(failure: DemoState.Failed, modifier: Modifier) {
    Column(
        modifier = modifier
            .verticalScroll(rememberScrollState())
            .padding(24.dp),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        Text(failure.title, style = MaterialTheme.typography.headlineSmall, color = MaterialTheme.colorScheme.error)
        failure.details.forEach { detail ->
            Text("• $detail", style = MaterialTheme.typography.bodyMedium)
        }
        Text(
            stringResource(R.string.error_hint),
            style = MaterialTheme.typography.bodySmall,
            fontFamily = FontFamily.Monospace,
        )
    }
}

@Composable
private fun DemoScreen(
    ui: DemoUiState,
    onQueryChange: (String) -> Unit,
    onItemTapped: (Int) -> Unit,
    onClearHistory: () -> Unit,
    onKeepSeenChange: (Boolean) -> Unit,
    onPersonaliseChange: (Boolean) -> Unit,
    onResetPersonalisation: () -> Unit,
    modifier: Modifier,
) {
    Column(modifier = modifier.padding(horizontal = 16.dp)) {
        ModelHeader(ui)
        SeenItemsControls(ui.keepSeen, onKeepSeenChange, onClearHistory, historyEmpty = ui.history.isEmpty())
        if (ui.personalAvailable) {
            PersonalControls(ui, onPersonaliseChange, onResetPersonalisation)
        }
        OutlinedTextField(
            value = ui.query,
            onValueChange = onQueryChange,
            label = { Text(stringResource(R.string.search_label)) },
            singleLine = true,
            modifier = Modifier.fillMaxWidth(),
        )
        LazyColumn(
            modifier = Modifier.fillMaxSize(),
            contentPadding = PaddingValues(vertical = 8.dp),
        ) {
            item(key = "history") { HistorySection(ui, onItemTapped) }
            item(key = "recommendations-title") {
                SectionTitle(stringResource(R.string.recommendations_title))
            }
            if (ui.inferenceError != null) {
                item(key = "inference-error") {
                    Text(
                        stringResource(R.string.inference_error, ui.inferenceError),
                        color = MaterialTheme.colorScheme.error,
                    )
                }
            } else if (ui.recommendations.isEmpty()) {
                item(key = "recommendations-empty") {
                    Text(stringResource(R.string.recommendations_empty), style = MaterialTheme.typography.bodySmall)
                }
            }
            items(ui.recommendations, key = { "rec-${it.internalId()}" }) { item ->
                RecommendationRow(item, onClick = { onItemTapped(item.internalId()) })
            }
            item(key = "catalogue-title") {
                SectionTitle(stringResource(R.string.catalogue_title, ui.catalogue.size))
            }
            items(ui.catalogue, key = { "cat-${it.internalId}" }) { item ->
                CatalogueRow(item, onClick = { onItemTapped(item.internalId) })
            }
        }
    }
}

@Composable
private fun ModelHeader(ui: DemoUiState) {
    val model = ui.model
    Column(modifier = Modifier.padding(vertical = 8.dp)) {
        Text(stringResource(R.string.app_name), style = MaterialTheme.typography.titleLarge)
        Text(
            stringResource(R.string.model_summary, model.modelFile, model.dataset, model.nItems, model.maxLen, model.topK),
            style = MaterialTheme.typography.bodySmall,
        )
        Text(stringResource(R.string.model_size, model.sizeText), style = MaterialTheme.typography.bodySmall)
        if (model.metrics.isNotEmpty()) {
            Text(model.metrics, style = MaterialTheme.typography.bodySmall)
        }
        Text(
            if (ui.lastSignature != null && ui.lastLatencyText != null) {
                stringResource(R.string.latency, ui.lastSignature, ui.lastLatencyText)
            } else {
                stringResource(R.string.latency_none)
            },
            style = MaterialTheme.typography.bodyMedium,
        )
        ui.parity?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
    }
}

@Composable
private fun SeenItemsControls(
    keepSeen: Boolean,
    onKeepSeenChange: (Boolean) -> Unit,
    onClearHistory: () -> Unit,
    historyEmpty: Boolean,
) {
    Row(verticalAlignment = Alignment.CenterVertically, modifier = Modifier.fillMaxWidth()) {
        Switch(checked = keepSeen, onCheckedChange = onKeepSeenChange)
        Spacer(Modifier.width(8.dp))
        Text(stringResource(R.string.keep_seen), modifier = Modifier.weight(1f))
        TextButton(onClick = onClearHistory, enabled = !historyEmpty) {
            Text(stringResource(R.string.clear_history))
        }
    }
    Text(stringResource(R.string.keep_seen_hint), style = MaterialTheme.typography.bodySmall)
}

/** On-device learning: a switch, a reset button and what happened to the saved state. */
@Composable
private fun PersonalControls(
    ui: DemoUiState,
    onPersonaliseChange: (Boolean) -> Unit,
    onResetPersonalisation: () -> Unit,
) {
    Row(verticalAlignment = Alignment.CenterVertically, modifier = Modifier.fillMaxWidth()) {
        Switch(checked = ui.personalise, onCheckedChange = onPersonaliseChange)
        Spacer(Modifier.width(8.dp))
        Text(stringResource(R.string.personalise), modifier = Modifier.weight(1f))
        TextButton(onClick = onResetPersonalisation) {
            Text(stringResource(R.string.reset_personalisation))
        }
    }
    Text(stringResource(R.string.personalise_hint), style = MaterialTheme.typography.bodySmall)
    ui.personalStatus?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
}

@Composable
private fun HistorySection(ui: DemoUiState, onItemTapped: (Int) -> Unit) {
    Column {
        SectionTitle(stringResource(R.string.history_title, ui.history.size, ui.model.maxLen))
        if (ui.history.isEmpty()) {
            Text(stringResource(R.string.history_empty), style = MaterialTheme.typography.bodySmall)
        } else {
            LazyRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                // Repeats are allowed in a history, so the position is part of the key.
                items(ui.history.size, key = { position -> "hist-$position-${ui.history[position].internalId}" }) { position ->
                    val item = ui.history[position]
                    AssistChip(
                        onClick = { onItemTapped(item.internalId) },
                        label = { Text(item.title, maxLines = 1, overflow = TextOverflow.Ellipsis) },
                    )
                }
            }
        }
    }
}

@Composable
private fun SectionTitle(text: String) {
    Column(modifier = Modifier.padding(top = 16.dp, bottom = 4.dp)) {
        Text(text, style = MaterialTheme.typography.titleMedium)
        HorizontalDivider()
    }
}

@Composable
private fun RecommendationRow(item: RankedItem, onClick: () -> Unit) {
    ItemRow(
        leading = "${item.rank()}.",
        title = item.title(),
        subtitle = stringResource(R.string.item_subtitle, item.originalId()),
        trailing = stringResource(R.string.score, item.score()),
        onClick = onClick,
    )
}

@Composable
private fun CatalogueRow(item: CatalogueItem, onClick: () -> Unit) {
    ItemRow(
        leading = null,
        title = item.title,
        subtitle = stringResource(R.string.item_subtitle, item.originalId),
        trailing = null,
        onClick = onClick,
    )
}

@Composable
private fun ItemRow(leading: String?, title: String, subtitle: String, trailing: String?, onClick: () -> Unit) {
    Surface(modifier = Modifier.fillMaxWidth().clickable(onClick = onClick)) {
        Row(
            verticalAlignment = Alignment.CenterVertically,
            modifier = Modifier.padding(vertical = 8.dp),
        ) {
            if (leading != null) {
                Box(modifier = Modifier.width(36.dp)) {
                    Text(leading, style = MaterialTheme.typography.bodyMedium)
                }
            }
            Column(modifier = Modifier.weight(1f)) {
                Text(title, style = MaterialTheme.typography.bodyLarge, maxLines = 1, overflow = TextOverflow.Ellipsis)
                Text(subtitle, style = MaterialTheme.typography.bodySmall)
            }
            if (trailing != null) {
                Text(trailing, style = MaterialTheme.typography.bodyMedium, fontFamily = FontFamily.Monospace)
            }
        }
    }
}
