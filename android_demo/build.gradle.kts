// Plugins are declared here once and applied in the modules. AGP 9 compiles Kotlin itself (built-in Kotlin), so there
// is no org.jetbrains.kotlin.android plugin; the Compose compiler plugin follows the Kotlin version.
plugins {
    alias(libs.plugins.android.application) apply false
    alias(libs.plugins.kotlin.compose) apply false
}
