"""Run one benchmark stage and write its results file.

    python -m bench.run --stage teacher --dataset tmall    # -> bench/results/tmall-teacher.json
    python -m bench.run --stage student --dataset tmall    # -> bench/results/tmall-student.json
    python -m bench.run --stage sampled --dataset tmall    # -> bench/results/tmall-sampled.json
    python -m bench.run --stage teacher-ablation --dataset tmall  # -> tmall-teacher-ablation.json
    python -m bench.run --stage baselines --dataset tmall  # -> bench/results/tmall-baselines.json
    python -m bench.run --stage speed --dataset ml-1m      # -> bench/results/ml-1m-speed.json

Runs resume: a stage whose model folders already hold finished training only re-evaluates them, so a long run
can be interrupted and the same command given again. A model folder of other settings or data, or one without
a `run.json` (from an older version), is refused; `--overwrite` deletes its contents and trains again
(distill/run_folder.py).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

from absl import app, flags

from bench.presets import (
    EXCLUDE_HISTORY,
    FAST_DISTILLATION,
    STUDENTS,
    TABLES,
    TEACHER_VARIANTS,
    TEACHERS,
    equal_budget_rival_of,
)
from distill.cli_flags import errors_as_one_line
from distill.distiller import DistillConfig
from distill.model_io import load_model
from distill.pipeline import training_batches
from distill.registry import load_dataset
from distill.student import build_distiller, train_student
from distill.teacher import evaluate_baselines, item_counts, train_teacher, training_sequences
from distill.teacher_cache import build_teacher_cache
from distill.training import TrainConfig, make_optimizer
from model.equal_budget import count_parameters, dense_config_with_budget
from model.keras_setup import keras
from model.sasrec import SASRec, SASRecConfig
from runtime.atomic import atomic_write_text
from runtime.metrics import head_item_mask
from runtime.provenance import run_record

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def provenance(dataset, config: dict, train_config: dict, exclude_history: bool) -> dict:
    return {
        **run_record(),
        "dataset": dataset.name,
        "split": dataset.split,
        "data_summary": dataset.summary(),
        "exclude_history": exclude_history,
        "config": config,
        "train_config": train_config,
    }


def teacher_config(dataset, name: str, epochs: int | None = None) -> tuple[SASRecConfig, TrainConfig]:
    """The preset of `name`; `epochs` caps training (a run stopped early is then evaluated as it stands)."""
    backbone, train_config = TEACHERS[name]
    if epochs is not None:
        train_config = dataclasses.replace(train_config, epochs=epochs)
    return SASRecConfig(n_items=dataset.n_items, **backbone), train_config


def run_teacher(
    name: str, runs_dir: Path, data_dir: str | None, epochs: int | None = None, overwrite: bool = False
) -> dict:
    """Trains (or resumes, or re-evaluates) the preset's teacher in `runs_dir/<name>/teacher`; `overwrite`
    deletes what that folder holds first (`distill.run_folder.claim_run_folder`)."""
    dataset = load_dataset(name, data_dir=data_dir)
    config, train_config = teacher_config(dataset, name, epochs)
    exclude_history = name in EXCLUDE_HISTORY
    teacher_dir = runs_dir / name / "teacher"
    metrics = train_teacher(
        dataset, config, train_config, teacher_dir, exclude_history=exclude_history, overwrite=overwrite
    )
    result = provenance(dataset, config.to_dict(), train_config.to_dict(), exclude_history)
    result["models"] = metrics["models"]
    result["parameters"] = metrics["parameters"]
    return result


def run_teacher_ablation(
    name: str,
    runs_dir: Path,
    data_dir: str | None,
    variants: Sequence[str],
    epochs: int | None = None,
    overwrite: bool = False,
) -> dict:
    """The preset teacher (if the teacher stage trained it) beside each variant of TEACHER_VARIANTS, every one
    trained with the preset's schedule into runs_dir/<name>/<variant>; entries as in the teacher stage."""
    dataset = load_dataset(name, data_dir=data_dir)
    config, train_config = teacher_config(dataset, name, epochs)
    exclude_history = name in EXCLUDE_HISTORY
    entries = []
    preset_metrics = runs_dir / name / "teacher" / "metrics.json"
    if preset_metrics.is_file():
        metrics = json.loads(preset_metrics.read_text())
        entries.append(next(entry for entry in metrics["models"] if entry["role"] == "teacher"))
    for variant in variants:
        overrides = dict(TEACHER_VARIANTS[variant])
        variant_train_config = dataclasses.replace(train_config, **overrides.pop("train", {}))
        variant_config = dataclasses.replace(config, **overrides)
        metrics = train_teacher(
            dataset,
            variant_config,
            variant_train_config,
            runs_dir / name / variant,
            exclude_history=exclude_history,
            with_baselines=False,
            overwrite=overwrite,
        )
        entry = next(entry for entry in metrics["models"] if entry["role"] == "teacher")
        entries.append(
            {
                **entry,
                "name": variant,
                "config": variant_config.to_dict(),
                "train_config": variant_train_config.to_dict(),
            }
        )
    result = provenance(dataset, config.to_dict(), train_config.to_dict(), exclude_history)
    result["models"] = entries
    return result


def run_baselines(name: str, data_dir: str | None) -> dict:
    """The teacher stage's learn-nothing baselines alone (minutes, no training): each sees the last max_len
    items of a prefix, as the preset's teacher does, under the same protocol."""
    dataset = load_dataset(name, data_dir=data_dir)
    config, train_config = teacher_config(dataset, name)
    exclude_history = name in EXCLUDE_HISTORY
    head_mask = head_item_mask(dataset.train_sequences, dataset.n_items)
    result = provenance(dataset, config.to_dict(), train_config.to_dict(), exclude_history)
    result["models"] = evaluate_baselines(dataset, head_mask, exclude_history, config.max_len)
    return result


def student_config_for(name: str, config: SASRecConfig, variant: str) -> SASRecConfig:
    """The preset student of `variant`: an STP-TT table of the preset's size (on the teacher's backbone, or
    at the width the table's entry names), or the dense rival with that STP-TT student's parameter count."""
    table = STUDENTS[variant][0]
    rival_of = equal_budget_rival_of(table)
    if rival_of is not None:
        shape = TABLES[name][rival_of]
        stp_tt = SASRecConfig.from_dict({**config.to_dict(), "item_table": "stp_tt", **shape})
        return dense_config_with_budget(stp_tt, count_parameters(stp_tt))
    return SASRecConfig.from_dict({**config.to_dict(), "item_table": "stp_tt", **TABLES[name][table]})


def refused_variants(name: str, variants: Sequence[str]) -> str | None:
    """Why the student stage cannot train `variants` on `name` (an unknown variant, or one whose table
    TABLES[name] lacks), found before the first of them trains for hours; None when it can."""
    unknown = sorted(set(variants) - set(STUDENTS))
    if unknown:
        return f"unknown {unknown}; choose from {sorted(STUDENTS)}"
    tables = TABLES.get(name, {})
    needed = {
        variant: equal_budget_rival_of(STUDENTS[variant][0]) or STUDENTS[variant][0] for variant in variants
    }
    lacking = [variant for variant, table in needed.items() if table not in tables]
    if lacking:
        return (
            f"{lacking} need a table that TABLES[{name!r}] (bench/presets.py) lacks; it has {sorted(tables)}"
        )
    return None


def run_students(
    name: str,
    runs_dir: Path,
    data_dir: str | None,
    variants: Sequence[str],
    epochs: int | None = None,
    timed_steps: int = 0,
    overwrite: bool = False,
) -> dict:
    """Trains (or re-evaluates) each student variant (`overwrite`: afresh, deleting its folder's contents);
    with `timed_steps`, then times a distillation step of every variant back to back in this process
    (`seconds_per_step`)."""
    dataset = load_dataset(name, data_dir=data_dir)
    config, train_config = teacher_config(dataset, name, epochs)
    teacher_dir = runs_dir / name / "teacher"
    teacher_metrics = json.loads((teacher_dir / "metrics.json").read_text())
    exclude_history = name in EXCLUDE_HISTORY
    result = provenance(dataset, config.to_dict(), train_config.to_dict(), exclude_history)
    result["teacher_dir"] = str(teacher_dir)
    result["models"] = [entry for entry in teacher_metrics["models"] if entry["role"] == "teacher"]
    for variant in variants:
        table, distill_config = STUDENTS[variant]
        student_config = student_config_for(name, config, variant)
        metrics = train_student(
            dataset,
            teacher_dir,
            student_config,
            distill_config,
            train_config,
            runs_dir / name / variant,
            name=variant,
            exclude_history=exclude_history,
            overwrite=overwrite,
        )
        entry = metrics["models"][0]
        if equal_budget_rival_of(table) is not None:
            fields = ("item_table", "hidden_dim", "ffn_dim")
            entry["table"] = {key: getattr(student_config, key) for key in fields}
        else:
            entry["table"] = TABLES[name][table]
        entry["parameters"] = metrics["parameters"]["student"]
        result["models"].append(entry)
        write_result(f"{name}-student", result)  # after every student, so a partial ladder is kept
    if timed_steps:
        teacher = load_model(teacher_dir)  # frozen: one copy serves every variant's Distiller
        result["seconds_per_step"] = {
            variant: distillation_seconds_per_step(
                dataset,
                teacher,
                student_config_for(name, config, variant),
                STUDENTS[variant][1],
                train_config,
                timed_steps,
            )
            for variant in variants
        }
        write_result(f"{name}-student", result)
    return result


def seconds_per_step(model: keras.Model, batches, steps: int, warmup: int = 5) -> float:
    """Mean wall time of one training step of a compiled model (forward, loss, backward, Adam) on real
    batches, after warm-up. Callers time the models they compare back to back in one process, on the same
    batches, so that ratios do not depend on what else the machine was doing during the long runs."""
    train_function = model.make_train_function()
    iterator = iter(batches.epochs(0, 1 + (warmup + steps) // batches.steps_per_epoch))
    for _ in range(warmup):
        train_function(iterator)["loss"].numpy()
    start = time.perf_counter()
    for _ in range(steps):
        train_function(iterator)["loss"].numpy()
    return (time.perf_counter() - start) / steps


def real_batches(dataset, config: SASRecConfig, train_config: TrainConfig):
    """The training batches of `dataset` as training sees them (teacher and student alike)."""
    return training_batches(
        training_sequences(dataset, config), config.max_len, train_config.batch_size, train_config.seed
    )


def teacher_seconds_per_step(dataset, config: SASRecConfig, train_config: TrainConfig, steps: int) -> float:
    keras.utils.set_random_seed(train_config.seed)
    model = SASRec(config).build_for_inference()
    model.set_item_counts(item_counts(dataset.train_sequences, dataset.n_items))
    model.compile(optimizer=make_optimizer(train_config))
    return seconds_per_step(model, real_batches(dataset, config, train_config), steps)


def distillation_seconds_per_step(
    dataset,
    teacher: SASRec,
    student_config: SASRecConfig,
    distill_config,
    train_config,
    steps: int,
    row_extras=None,
) -> float:
    """`row_extras`: the teacher cache's `batch_rows`, when the variant reads its teacher from the cache."""
    keras.utils.set_random_seed(train_config.seed)
    distiller = build_distiller(dataset, teacher, student_config, distill_config, train_config)
    batches = real_batches(dataset, student_config, train_config)
    if row_extras is not None:
        batches = dataclasses.replace(batches, row_extras=row_extras)
    return seconds_per_step(distiller, batches, steps)


# The speed stage's distillation variants, every one with all four terms (CE, KD, CL, predictive): the
# ladder's full student (KD over the whole catalogue, live teacher); KD over the teacher's top 100 items plus
# the tail bucket, live and from the cache; sampled distillation (the student's sampled softmax, KD over the
# teacher's top 100 alone), live and from the cache; the same losses with the student's table reconstructed
# once per step (`materialize_table`, "once"); and the fast preset, which also samples the predictive term
# (`sampled_pred`): the student never scores the catalogue.
SPEED_TOP_K = FAST_DISTILLATION.kd_top_k


def speed_variants() -> dict[str, DistillConfig]:
    full = STUDENTS["student-full"][1]
    top_k = dataclasses.replace(full, kd_top_k=SPEED_TOP_K)
    sampled = dataclasses.replace(top_k, sampled=True)
    once = dataclasses.replace(sampled, materialize_table=True)
    return {
        "student-full": full,
        "student-full-topk-live": dataclasses.replace(top_k, cache_teacher=False),
        "student-full-topk-cached": top_k,
        "student-full-sampled-live": dataclasses.replace(sampled, cache_teacher=False),
        "student-full-sampled-cached": sampled,
        "student-full-sampled-once-cached": once,
        "student-full-fast-cached": FAST_DISTILLATION,
    }


def run_speed(
    name: str,
    data_dir: str | None,
    steps: int,
    rounds: int = 2,
    variants: dict[str, DistillConfig] | None = None,
) -> dict:
    """A teacher step against every distillation variant's step, timed back to back in this process on the
    real batches (the best of `rounds` rounds, so a burst of other work on the machine counts once at most),
    and the one-off cost of the teacher cache. Weights are freshly initialised: a step's time does not depend
    on them. An epoch is `steps_per_epoch` steps plus a validation pass that teacher and student share.
    `variants` defaults to `speed_variants()`."""
    dataset = load_dataset(name, data_dir=data_dir)
    config, train_config = teacher_config(dataset, name)
    keras.utils.set_random_seed(train_config.seed)
    teacher = SASRec(config).build_for_inference()
    teacher.set_item_counts(item_counts(dataset.train_sequences, dataset.n_items))
    student_config = student_config_for(name, config, "student-full")
    batches = real_batches(dataset, student_config, train_config)
    variants = variants if variants is not None else speed_variants()
    # One in-memory cache per (k, temperature), shared by the variants that read it, as students share it on
    # disk; nothing is written (the weights are throwaway).
    caches, built = {}, {}
    for variant, distill_config in variants.items():
        if not distill_config.uses_teacher_cache:
            continue
        key = (distill_config.kd_top_k, distill_config.temperature)
        if key not in built:
            start = time.perf_counter()
            cache = build_teacher_cache(teacher, batches, *key)
            built[key] = {
                "build_seconds": time.perf_counter() - start,
                "mib": sum(array.nbytes for array in cache.arrays().values()) / 2**20,
                "row_extras": cache.batch_rows,
            }
        caches[variant] = built[key]
    timings: dict[str, list[float]] = {"teacher": [], **{variant: [] for variant in variants}}
    for _ in range(rounds):
        timings["teacher"].append(teacher_seconds_per_step(dataset, config, train_config, steps))
        for variant, distill_config in variants.items():
            extras = caches.get(variant, {}).get("row_extras")
            timings[variant].append(
                distillation_seconds_per_step(
                    dataset, teacher, student_config, distill_config, train_config, steps, extras
                )
            )
    result = provenance(dataset, config.to_dict(), train_config.to_dict(), name in EXCLUDE_HISTORY)
    best = {variant: min(values) for variant, values in timings.items()}
    result.update(
        timed_steps=steps,
        rounds=rounds,
        steps_per_epoch=batches.steps_per_epoch,
        seconds_per_step=best,
        seconds_per_step_rounds=timings,
        ratio_to_teacher={variant: seconds / best["teacher"] for variant, seconds in best.items()},
        teacher_cache={
            variant: {key: value for key, value in cache.items() if key != "row_extras"}
            for variant, cache in caches.items()
        },
        distill_configs={variant: config.to_dict() for variant, config in variants.items()},
    )
    return result


def run_sampled(
    name: str,
    runs_dir: Path,
    data_dir: str | None,
    epochs: int | None,
    steps: int,
    overwrite: bool = False,
) -> dict:
    """Full softmax against logQ-corrected sampled softmax (popularity negatives), same backbone: test
    metrics of both and the time of a training step of each.

    The `teacher` stage already trained the preset's loss (runs_dir/<name>/teacher); this trains the other one
    (teacher-sampled or teacher-full; `overwrite`: afresh).
    """
    dataset = load_dataset(name, data_dir=data_dir)
    config, train_config = teacher_config(dataset, name, epochs)
    configs = {
        "full": dataclasses.replace(config, loss="full"),
        "sampled": dataclasses.replace(config, loss="sampled", negative_sampler="popularity"),
    }
    entries = {}
    for loss, loss_config in configs.items():
        if loss == config.loss:
            metrics = json.loads((runs_dir / name / "teacher" / "metrics.json").read_text())
        else:
            folder = runs_dir / name / f"teacher-{loss}"
            metrics = train_teacher(
                dataset, loss_config, train_config, folder, with_baselines=False, overwrite=overwrite
            )
        entry = next(entry for entry in metrics["models"] if entry["role"] == "teacher")
        entries[loss] = {**entry, "name": f"teacher-{loss}-softmax"}
    result = provenance(dataset, configs["sampled"].to_dict(), train_config.to_dict(), exclude_history=False)
    result["models"] = [entries["full"], entries["sampled"]]
    result["seconds_per_step"] = {
        loss: teacher_seconds_per_step(dataset, loss_config, train_config, steps)
        for loss, loss_config in configs.items()
    }
    result["num_negatives"] = configs["sampled"].num_negatives
    return result


def write_result(name: str, result: dict) -> Path:
    path = RESULTS_DIR / f"{name}.json"
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def run_stage(values: flags.FlagValues) -> Path | None:
    """The stage the flags name; returns the results file it wrote (the student stage writes its own)."""
    name, runs_dir, overwrite = values.dataset, Path(values.runs_dir), values.overwrite
    if values.stage == "teacher":
        return write_result(
            f"{name}-teacher", run_teacher(name, runs_dir, values.data_dir, values.epochs, overwrite)
        )
    if values.stage == "teacher-ablation":
        result = run_teacher_ablation(
            name, runs_dir, values.data_dir, values.teacher_variants, values.epochs, overwrite
        )
        return write_result(f"{name}-teacher-ablation", result)
    if values.stage == "baselines":
        return write_result(f"{name}-baselines", run_baselines(name, values.data_dir))
    if values.stage == "speed":
        variants = speed_variants()
        unknown = sorted(set(values.speed_variants) - set(variants))
        if unknown:
            raise ValueError(f"--speed_variants: unknown {unknown}; choose from {sorted(variants)}")
        chosen = {variant: variants[variant] for variant in values.speed_variants}
        return write_result(
            f"{name}-speed", run_speed(name, values.data_dir, values.timed_steps, variants=chosen)
        )
    if values.stage == "sampled":
        result = run_sampled(name, runs_dir, values.data_dir, values.epochs, values.timed_steps, overwrite)
        return write_result(f"{name}-sampled", result)
    refused = refused_variants(name, values.variants)
    if refused:
        raise ValueError(f"--variants: {refused}")
    run_students(
        name, runs_dir, values.data_dir, values.variants, values.epochs, values.timed_steps, overwrite
    )
    return None


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Every flag of `python -m bench.run`, into `flag_values` (tests: a fresh `FlagValues`)."""
    into = {"flag_values": flag_values}
    flags.DEFINE_enum(
        "stage",
        "teacher",
        ["teacher", "teacher-ablation", "student", "sampled", "baselines", "speed"],
        "Which benchmark stage to run (sampled needs the teacher stage's model).",
        **into,
    )
    flags.DEFINE_enum("dataset", "tmall", sorted(TEACHERS), "Benchmark dataset.", **into)
    flags.DEFINE_string(
        "data_dir", None, "Benchmark data folder (default: $ODREC_DATA_DIR, then ../shared/data).", **into
    )
    flags.DEFINE_string(
        "runs_dir", "artifacts/bench", "Where model folders (checkpoints, logs) are kept.", **into
    )
    flags.DEFINE_integer(
        "epochs", None, "Cap on epochs (default: the preset's); a finished run is only evaluated.", **into
    )
    flags.DEFINE_list("variants", list(STUDENTS), "Student variants to train, in order.", **into)
    flags.DEFINE_list(
        "speed_variants",
        list(speed_variants()),
        "Distillation variants the speed stage times against the teacher, in order.",
        **into,
    )
    flags.DEFINE_list(
        "teacher_variants",
        list(TEACHER_VARIANTS),
        "Teacher variants (teacher-ablation stage), in order.",
        **into,
    )
    flags.DEFINE_integer(
        "timed_steps",
        50,
        "Training steps timed per loss (sampled stage) or per student variant (student stage; 0: none).",
        lower_bound=0,
        **into,
    )
    flags.DEFINE_bool(
        "overwrite",
        False,
        "Delete what the stage's model folders under --runs_dir hold and train again (a folder of other "
        "settings or data, or without run.json, is refused otherwise), as --overwrite of the training CLIs.",
        **into,
    )


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    with errors_as_one_line():
        run_stage(flags.FLAGS)


if __name__ == "__main__":
    define_flags()
    app.run(main)
