"""Train the SASRec teacher: `python -m distill.train_teacher --dataset ml-1m --out artifacts/ml-1m/teacher`.

The command line only; the training is `distill.teacher.train_teacher`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from absl import app, flags

from distill import cli_flags
from distill.teacher import train_teacher
from model.sasrec import SASRecConfig

FLAGS = flags.FLAGS


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    with cli_flags.errors_as_one_line():
        dataset = cli_flags.dataset_from_flags(FLAGS)
        print(json.dumps(dataset.summary()))
        config = SASRecConfig(n_items=dataset.n_items, **cli_flags.backbone_from_flags(FLAGS))
        train_teacher(
            dataset,
            config,
            cli_flags.train_config_from_flags(FLAGS),
            cli_flags.out_dir_from_flags(FLAGS, "teacher"),
            exclude_history=FLAGS.exclude_history,
            overwrite=FLAGS.overwrite,
        )


if __name__ == "__main__":
    cli_flags.define_teacher_cli_flags()
    app.run(main)
