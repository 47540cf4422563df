// Plain Java 17: everything that is not Android UI. build_logic.sh compiles and tests the same sources with javac.
plugins {
    `java-library`
}

tasks.withType<JavaCompile>().configureEach {
    options.release.set(17)
    options.encoding = "UTF-8"
    options.compilerArgs.addAll(listOf("-Xlint:all", "-Werror"))
}

dependencies {
    implementation(libs.gson)
    testImplementation(libs.junit)
}

// The golden tests read the assets the app bundles (synced by sync_assets.py).
val appAssetsDir: File = rootProject.layout.projectDirectory.dir("app/src/main/assets").asFile

tasks.named<Test>("test") {
    systemProperty("odrec.assetsDir", appAssetsDir.absolutePath)
    inputs.files(fileTree(appAssetsDir)).withPropertyName("appAssets")
}
