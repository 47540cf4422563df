"""The main job on a user's own file, in every format the loaders read: trains with settings read off the
data, exports, reports the baselines beside the models, and ends in a summary whose every file exists.

One run is the command a user types (quiet: no TensorFlow lines in its captured output); the other formats run
the same job in-process from a fresh FlagValues. Tiny settings: one epoch, the fp32 variant only.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from absl import flags

from convert import export_flags, summary
from convert.export_folder import ExportConfig
from distill.synthetic import generate_synthetic
from distill.teacher import BASELINES

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--hidden_dim=8",
    "--num_blocks=1",
    "--epochs=1",
    "--student_epochs=1",
    "--top_k=5",
    "--variants=fp32",
    "--bench_runs=3",
    "--bench_warmup=0",
    "--parity_examples=3",
    "--eval_examples=10",
    "--golden_cases=2",
    "--batch_size=64",
]
# Lines TensorFlow, absl or LiteRT write when nothing filters them (see runtime/quiet.py).
TENSORFLOW_LINE = re.compile(r"^[IWE]\d{4} |tensorflow|absl::|WARNING|XNNPACK|fully_quantize", re.MULTILINE)


def user_sequences() -> dict[str, list[str]]:
    """40 users over 48 items with repeats (so the repeat bonus is chosen) and sku-style ids."""
    generated = generate_synthetic(n_users=40, n_items=48, seed=5, n_clusters=6, min_length=8, max_length=16)
    return {f"user{user}": items for user, items in generated.sequences.items()}


def write_format(folder: Path, fmt: str) -> str:
    """The same interactions in `fmt`; returns the --data value."""
    sequences = user_sequences()
    if fmt == "csv":
        rows = [
            f"{user},{item},{step}" for user, items in sequences.items() for step, item in enumerate(items)
        ]
        (folder / "log.csv").write_text("user,item,timestamp\n" + "\n".join(rows) + "\n")
        return str(folder / "log.csv")
    numeric = {
        item: str(index) for index, item in enumerate(sorted({i for s in sequences.values() for i in s}), 1)
    }
    users = {user: str(index) for index, user in enumerate(sequences, 1)}
    if fmt == "user-item":
        rows = [f"{users[user]} {numeric[item]}" for user, items in sequences.items() for item in items]
        (folder / "user_item.txt").write_text("\n".join(rows) + "\n")
        return str(folder / "user_item.txt")
    if fmt == "movielens":
        rows = [
            f"{users[user]}::{numeric[item]}::4::{1000 + step}"
            for user, items in sequences.items()
            for step, item in enumerate(items)
        ]
        (folder / "ratings.dat").write_text("\n".join(rows) + "\n")
        return str(folder / "ratings.dat")
    sessions = [[numeric[item] for item in items] for items in sequences.values()]
    train, test = sessions[:32], sessions[32:]
    known = {item for session in train for item in session}
    (folder / "train.txt").write_text("\n".join(" ".join(session) for session in train) + "\n")
    examples = [
        " ".join(session[:end]) + "\t" + session[end]
        for session in test
        for end in range(1, len(session))
        if all(item in known for item in session[: end + 1])
    ]
    (folder / "test.tsv").write_text("\n".join(examples) + "\n")
    return f"{folder / 'train.txt'},{folder / 'test.tsv'}"


def check_export(out: Path, report: dict) -> None:
    assert [entry["name"] for entry in report["models"]] == ["teacher_fp32", "student_fp32"]
    for entry in report["models"]:
        assert (out / entry["file"]).is_file() and (out / entry["file"]).with_suffix(".json").is_file()
    assert [entry["name"] for entry in report["baselines"]] == [name for name, _ in BASELINES]
    assert "## Baselines" in (out / "report.md").read_text()


def test_a_csv_file_to_a_phone_in_one_quiet_command(tmp_path):
    data, out = write_format(tmp_path, "csv"), tmp_path / "export"
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "convert/to_tflite.py", f"--data={data}", "--format=csv", f"--out={out}", *TINY],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not TENSORFLOW_LINE.findall(result.stderr), result.stderr[-3000:]
    assert not TENSORFLOW_LINE.findall(result.stdout.replace("python -m runtime", "")), result.stdout[-3000:]
    assert "chosen from the data: repeat_scores True" in result.stdout
    summary = result.stdout[result.stdout.index("Done in") :]
    assert "student_fp32:" in summary and "best baseline" in summary and "p50" in summary
    files = summary[summary.index("Files:") : summary.index("Next")].splitlines()[1:]
    rows = [line.split() for line in files if line.strip()]
    named = [Path(row[1]) for row in rows if row[0] in ("report", "vocab", "golden")]
    assert len(named) == 3 and all((REPO_ROOT / path).is_file() for path in named)
    recommend = next(line for line in summary.splitlines() if "runtime.recommend" in line)
    history = re.search(r"--history '([^']+)'", recommend).group(1).split()
    assert history and all(item.startswith("sku-") for item in history)
    check_export(out, json.loads((out / "report.json").read_text()))


@pytest.mark.parametrize("fmt", ["user-item", "movielens", "sessions"])
def test_every_format_runs_the_main_job(fmt, tmp_path):
    values = flags.FlagValues()
    export_flags.define_flags(values)
    values(
        ["prog", f"--data={write_format(tmp_path, fmt)}", f"--format={fmt}", f"--out={tmp_path / 'x'}", *TINY]
    )
    result, dataset = export_flags.job_from_flags(values)
    check_export(tmp_path / "x", result.report)
    assert result.report["max_len"] <= dataset.n_items - 5
    assert (tmp_path / "x" / "models" / "student" / "config.json").is_file()


@pytest.mark.parametrize(
    ("given", "student", "teacher"),
    [
        ([], ("fp32", "dynamic_int8"), ("fp32", "dynamic_int8")),  # 73 sequences, batch 16: QAT of 5 steps
        (["--qat_epochs=1"], ("fp32", "dynamic_int8", "qat_int8"), ("fp32", "dynamic_int8")),
        (["--variants=fp32,qat_int8"], ("fp32", "qat_int8"), None),
    ],
)
def test_the_variants_come_from_the_data_unless_the_user_names_them(given, student, teacher, tmp_path):
    values = flags.FlagValues()
    export_flags.define_flags(values)
    values(["prog", *given])
    config = ExportConfig(out=tmp_path, variants=tuple(values.variants), batch_size=16)
    chosen = export_flags.variants_from_data(values, config, training_rows=73)
    assert (chosen.variants, chosen.teacher_variants) == (student, teacher)
    left_out = " ".join(chosen.variants_left_out)
    assert ("qat_int8: its fine-tune would be 5 steps" in left_out) == (not given)
    assert ("fp16, full_int8: on 73 training sequences" in left_out) == (teacher is not None)
    assert chosen.role_variants("teacher") == list(teacher or ("fp32",))  # qat_int8 is the student's only


def test_the_summary_names_each_variant_left_out_and_the_flag_that_brings_it_back():
    assert summary.left_out({"models": []}) == []
    lines = summary.left_out({"variants_left_out": ["qat_int8: 5 steps", "teacher fp16: small data"]})
    assert lines == [
        "  left out for this data (--variants names the variants to export):",
        "    qat_int8: 5 steps",
        "    teacher fp16: small data",
    ]
