"""Hostile files through the runtime CLIs, as a user runs them (`python -m runtime.recommend|evaluate|bench`):
the export's model, sidecar and vocab and evaluate's test file, damaged one or two at a time (truncated,
empty, junk, other encodings, compressed, huge numbers, deep JSON, a folder, links to nothing / a folder / a
device, a named pipe). Every command ends in exit 0 with the answer of the intact files, or exit 1 with one
`error:` line naming the damaged file; never a traceback, a crash or a hang. `runtime.personalise` with its
state and catalogue update files is fuzzed the same way in test_personalise.py (it needs an on-device export).
"""

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.sidecar import VOCAB_FILE, sidecar_path
from tests.runtime.cli_files import (
    DAMAGE_KINDS,
    Damage,
    assert_one_line_outcome,
    damaged_copy,
    damages,
    mask_timings,
    run_cli,
)
from tests.runtime.conftest import MODEL_FILE, original_id

TEST_FILE = "test.tsv"
FILES = (MODEL_FILE, sidecar_path(MODEL_FILE).name, VOCAB_FILE, TEST_FILE)
CLIS = ("runtime.recommend", "runtime.evaluate", "runtime.bench")


def _arguments(module: str, folder: Path) -> list[str]:
    model = f"--model={folder / MODEL_FILE}"
    if module == "runtime.recommend":
        return [model, f"--history={original_id(3)} {original_id(5)} {original_id(9)}"]
    if module == "runtime.evaluate":
        return [model, f"--test={folder / TEST_FILE}"]
    return [model, "--runs=2", "--warmup=0", "--num_threads=1"]


@pytest.fixture(scope="module")
def inputs(session_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny export plus a test file of original ids, intact."""
    folder = tmp_path_factory.mktemp("intact") / "export"
    shutil.copytree(session_export, folder)
    examples = [([1, 2], 3), ([4, 5, 6, 7, 8], 9), ([10], 11), ([12, 1, 3], 2)]
    lines = [
        " ".join(original_id(item) for item in prefix) + f"\t{original_id(target)}"
        for prefix, target in examples
    ]
    (folder / TEST_FILE).write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def intact_outputs(inputs: Path) -> dict[str, str | None]:
    """Each command's output on intact files (timings masked); None for the benchmark, whose numbers vary."""
    outputs = {}
    for module in CLIS:
        result = run_cli(module, *_arguments(module, inputs))
        assert result.returncode == 0, result.stderr
        outputs[module] = None if module == "runtime.bench" else mask_timings(result.stdout)
    return outputs


@settings(max_examples=80, deadline=None)
@given(
    module=st.sampled_from(CLIS),
    damaged=st.dictionaries(st.sampled_from(FILES), damages(), min_size=1, max_size=2),
)
def test_fuzz_damaged_files_end_in_the_intact_answer_or_one_error_line(
    inputs, intact_outputs, module, damaged
) -> None:
    with tempfile.TemporaryDirectory(prefix="odrec_fuzz_") as scratch:
        folder = damaged_copy(inputs, Path(scratch), damaged)
        result = run_cli(module, *_arguments(module, folder))
    culprit = next(iter(damaged)) if len(damaged) == 1 else None
    assert_one_line_outcome(result, intact_outputs[module], culprit)


@pytest.mark.parametrize("kind", DAMAGE_KINDS)
@pytest.mark.parametrize("name", FILES[:3])
def test_every_damage_of_every_export_file_is_refused_by_recommend(
    inputs, intact_outputs, name, kind
) -> None:
    """The grid the fuzz samples from, each cell once: a damaged model, sidecar or vocab never passes, except
    line endings in the sidecar (JSON does not care; the model and the vocab are hashed)."""
    with tempfile.TemporaryDirectory(prefix="odrec_grid_") as scratch:
        folder = damaged_copy(inputs, Path(scratch), {name: Damage(kind, fraction=0.3, junk=b"\xff\x00junk")})
        result = run_cli("runtime.recommend", *_arguments("runtime.recommend", folder))
    harmless = name == sidecar_path(MODEL_FILE).name and kind == "crlf"
    assert result.returncode == (0 if harmless else 1), result.stderr
    assert_one_line_outcome(result, intact_outputs["runtime.recommend"], name)
