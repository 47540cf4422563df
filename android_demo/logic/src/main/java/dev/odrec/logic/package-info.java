/**
 * Plain-JVM logic of the odrec Android demo: everything that is not Android UI.
 *
 * <p>History buffering and left-padded encoding, {@code vocab.tsv} parsing and id mapping, sidecar and golden-file
 * parsing and validation, decoding of the {@code recommend} outputs and top-K over the {@code score} outputs. The
 * contract these classes implement is {@code docs/artifacts.md}.
 *
 * <p>Android compatibility: the app runs this code on minSdk 24, so it sticks to APIs that exist there or that D8
 * desugars (no {@code List.of}, {@code String.isBlank}, {@code HexFormat}, {@code Stream.toList}, records).
 * {@code android_demo/build_logic.sh} greps for those.
 */
package dev.odrec.logic;
