"""The main job: train the teacher, distil the student, export both (or export given folders), summarise.

`convert/to_tflite.py` turns its flags into the configs here; everything below runs without flags.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from convert.export_folder import (
    MODELS_DIR,
    RIVAL_ROLE,
    ExportConfig,
    check_before_training,
    rival_names,
    run_export,
)
from convert.quantize import variants_for_role
from distill.dataset import SequenceDataset, leave_one_out
from distill.distiller import DistillConfig
from distill.registry import load_dataset
from distill.run_folder import folder_lock
from distill.student import train_student
from distill.synthetic import DEFAULT_ITEMS, DEFAULT_USERS, generate_synthetic
from distill.teacher import train_teacher
from distill.training import TrainConfig
from model.sasrec import SASRecConfig

SYNTHETIC_ITEMS_PER_CLUSTER = 4


@dataclass(frozen=True)
class TrainingPlan:
    """How the job trains its models when no folders are given."""

    teacher: SASRecConfig
    student: SASRecConfig
    teacher_train: TrainConfig
    student_train: TrainConfig
    distill: DistillConfig = DistillConfig()


@dataclass(frozen=True)
class JobResult:
    """What the job wrote, for the summary: the report and where the model folders are."""

    report: dict
    out: Path
    teacher_dir: Path
    student_dir: Path
    seconds: float


def synthetic_dataset(n_users: int, n_items: int, seed: int) -> SequenceDataset:
    """The registry's synthetic dataset, at another size when asked (tests shrink it)."""
    if (n_users, n_items) == (DEFAULT_USERS, DEFAULT_ITEMS):
        return load_dataset("synthetic", seed=seed)
    clusters = max(1, min(20, n_items // SYNTHETIC_ITEMS_PER_CLUSTER))
    generated = generate_synthetic(n_users, n_items, seed=seed, n_clusters=clusters)
    return leave_one_out("synthetic", generated.sequences, generated.titles)


def train_models(
    dataset: SequenceDataset, plan: TrainingPlan, models_dir: Path, overwrite: bool = False
) -> tuple[Path, Path]:
    """Trains the teacher, then distils the student from it; returns both folders (resumes a folder of the
    same settings and data, refuses another unless `overwrite`: see `distill.run_folder`)."""
    teacher_dir, student_dir = models_dir / "teacher", models_dir / "student"
    train_teacher(dataset, plan.teacher, plan.teacher_train, teacher_dir, overwrite=overwrite)
    train_student(
        dataset, teacher_dir, plan.student, plan.distill, plan.student_train, student_dir, overwrite=overwrite
    )
    return teacher_dir, student_dir


def run_job(
    dataset: SequenceDataset,
    config: ExportConfig,
    command: str,
    plan: TrainingPlan | None = None,
    given: tuple[Path, Path] | None = None,
    overwrite: bool = False,
) -> JobResult:
    """Checks what can fail before training, then trains (`plan`) or takes `given` (teacher, student) folders,
    and exports, holding the lock of `config.out` throughout; `config.rivals` are exported beside the student
    either way.

    Raises:
        ValueError: neither or both of `plan` and `given`; a `top_k` or variant the export cannot serve.
        ModelFolderError / RunFolderError: a given folder of other data; an output folder in use or foreign.
    """
    if (plan is None) == (given is None):
        raise ValueError("give either a training plan or the (teacher, student) folders, not both or neither")
    started = time.perf_counter()
    max_len = plan.teacher.max_len if plan is not None else 0
    check_before_training(dataset, config, list(given or ()), max_len)
    with folder_lock(config.out):
        if given is not None:
            teacher_dir, student_dir = given
        else:
            models_dir = config.out / MODELS_DIR
            print(
                f"training on {dataset.name} ({dataset.n_items} items, {len(dataset.train_sequences)} "
                f"sequences) into {models_dir}: teacher up to {plan.teacher_train.epochs} epochs, student "
                f"up to {plan.student_train.epochs} (a folder of the same settings and data resumes)"
            )
            teacher_dir, student_dir = train_models(dataset, plan, models_dir, overwrite)
        teacher, student = config.role_variants("teacher"), config.role_variants("student")
        listed = ", ".join(student)
        if teacher != variants_for_role("teacher", student):
            listed = f"teacher {', '.join(teacher)}; student {listed}"
        if config.rivals:
            rivals = ", ".join(rival_names(config.rivals))
            listed += f"; rivals {rivals}: {', '.join(config.role_variants(RIVAL_ROLE))}"
        print(f"exporting {listed} to {config.out}")
        report = run_export(dataset, teacher_dir, student_dir, config, command)
    return JobResult(report, config.out, teacher_dir, student_dir, time.perf_counter() - started)
