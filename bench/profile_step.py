"""Where a teacher training step spends its time, phase by phase, on a dataset's real batches.

    python -m bench.profile_step --dataset ml-1m    # -> bench/results/ml-1m-profile.json

Each phase is a separate `tf.function` that stops after it (input -> encoder -> scoring -> loss -> gradient
-> Adam update), timed as the mean of `--steps` calls after one warm-up call; the difference between
consecutive phases is what that phase adds. Weights are freshly initialised (timing does not depend on them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from absl import app, flags

from bench.presets import TEACHERS
from bench.run import provenance, real_batches, teacher_config, write_result
from distill.registry import load_dataset
from distill.teacher import item_counts
from distill.training import make_optimizer
from model.keras_setup import keras, tf
from model.sasrec import SASRec


def mean_seconds(function: Callable[[], object], steps: int) -> float:
    function()  # trace and warm up
    start = time.perf_counter()
    for _ in range(steps):
        # Fetching every output waits for the work; IndexedSlices (sparse gradients) expand into components.
        for tensor in tf.nest.flatten(function(), expand_composites=True):
            tensor.numpy()
    return (time.perf_counter() - start) / steps


def profile_teacher_step(name: str, data_dir: str | None, steps: int) -> dict:
    dataset = load_dataset(name, data_dir=data_dir)
    config, train_config = teacher_config(dataset, name)
    keras.utils.set_random_seed(train_config.seed)
    model = SASRec(config).build_for_inference()
    model.set_item_counts(item_counts(dataset.train_sequences, dataset.n_items))
    optimizer = make_optimizer(train_config)
    batches = real_batches(dataset, config, train_config)
    history, targets = next(iter(batches.epochs(0, 1)))
    variables = model.trainable_variables

    def encoder():
        return model.encode(history, training=True)

    def scoring():
        vectors, _, histories = model.training_vectors(history, targets, training=True)
        return model.scores_after(vectors, histories) if config.loss == "full" else vectors

    def loss():
        vectors, labels, histories = model.training_vectors(history, targets, training=True)
        return model.recommendation_loss(vectors, labels, histories)

    def gradient():
        with tf.GradientTape() as tape:
            value = loss()
        return tape.gradient(value, variables)

    def update():
        optimizer.apply_gradients(zip(gradient(), variables, strict=True))
        return tf.constant(0)

    phases = {"encoder": encoder, "scoring": scoring, "loss": loss, "gradient": gradient, "update": update}
    cumulative = {phase: mean_seconds(tf.function(function), steps) for phase, function in phases.items()}
    result = provenance(dataset, config.to_dict(), train_config.to_dict(), exclude_history=False)
    stream = iter(batches.epochs(0, 2 + steps // batches.steps_per_epoch))
    result.update(
        batch_size=train_config.batch_size,
        timed_steps=steps,
        cumulative_seconds=cumulative,
        input_seconds=mean_seconds(lambda: next(stream), steps),
    )
    return result


FLAGS = flags.FLAGS


def main(argv: Sequence[str]) -> None:
    del argv
    write_result(f"{FLAGS.dataset}-profile", profile_teacher_step(FLAGS.dataset, FLAGS.data_dir, FLAGS.steps))


if __name__ == "__main__":
    flags.DEFINE_enum("dataset", "ml-1m", sorted(TEACHERS), "Benchmark dataset.")
    flags.DEFINE_string("data_dir", None, "Benchmark data folder (default: $ODREC_DATA_DIR).")
    flags.DEFINE_integer("steps", 10, "Calls timed per phase.", lower_bound=1)
    app.run(main)
