"""Distil a trained teacher into an STP-TT student.

    python -m distill.train_student --teacher artifacts/tmall/teacher --dataset tmall \
        --out artifacts/tmall/student

The command line only; the distillation is `distill.student.train_student`.
"""

from __future__ import annotations

from collections.abc import Sequence

from absl import app, flags

from distill import cli_flags
from distill.model_io import check_model_folder
from distill.student import train_student

FLAGS = flags.FLAGS


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    with cli_flags.errors_as_one_line():
        dataset = cli_flags.dataset_from_flags(FLAGS)
        teacher_config = check_model_folder(FLAGS.teacher, dataset, "teacher")
        train_student(
            dataset,
            FLAGS.teacher,
            cli_flags.student_config_from_flags(FLAGS, teacher_config),
            cli_flags.distill_config_from_flags(FLAGS),
            cli_flags.train_config_from_flags(FLAGS),
            cli_flags.out_dir_from_flags(FLAGS, "student"),
            exclude_history=FLAGS.exclude_history,
            name=FLAGS.name,
            overwrite=FLAGS.overwrite,
        )


if __name__ == "__main__":
    cli_flags.define_student_cli_flags()
    app.run(main)
