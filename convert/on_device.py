"""The training-capable student export: the frozen model plus a small personal state that learns on device.

Beside `recommend` and `score` (docs/artifacts.md) the flatbuffer carries resource variables and the
signatures `train`, `get_weights`, `set_weights` and `set_items`. The STP-TT cores and every other weight of
the distilled student stay frozen constants; what learns is kept apart from them:

- `adapter_scale`, `adapter_shift` [d]: a feature-wise affine map of the sequence vector,
  u = v * (1 + scale) + shift (zero at export: the shipped student). 2d numbers, not a d x d matrix: a person
  gives a few dozen next-item pairs, and the state file stays small.
- `item_bias` [n_items + 1 + spare_items]: a per-item score offset (zero at export).
- `spare_vectors` [spare_items, d] and `spare_active` [spare_items]: item rows for items added after
  training (ids n_items + 1 ..), written by `set_items`; an inactive slot scores PADDING_SCORE and is never
  recommended.

`train` is one SGD step of the full softmax cross-entropy with the gradient written in closed form, so the
graph holds only builtin operators (a GradientTape over a sliced variable pulls in Flex `StridedSliceGrad`).
Save/restore inside the model would need Flex too, so the state leaves and re-enters through `get_weights` and
`set_weights`, and the app persists it (runtime/personalise.py).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from convert.export import check_top_k, top_k_excluding_history
from convert.ops import strip_tensor_names
from model.keras_setup import tf
from model.sasrec import PADDING_SCORE, SASRec
from runtime.atomic import atomic_write_bytes
from runtime.personalise import STATE_NAMES, TRAINING_SIGNATURES
from runtime.sidecar import write_sidecar


@dataclass(frozen=True)
class OnDeviceConfig:
    """What an on-device export fixes at export time; written into the sidecar's `on_device` block."""

    spare_items: int = 16
    learning_rate: float = 0.05
    weight_decay: float = 0.01

    def __post_init__(self):
        count = self.spare_items
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"spare_items={self.spare_items!r} must be a positive integer (--spare_items)")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate={self.learning_rate!r} must be > 0 (--on_device_learning_rate)")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay={self.weight_decay!r} must be >= 0 (--on_device_weight_decay)")


class OnDeviceModule(tf.Module):
    """The six signatures around one frozen model, batch 1 and L = config.max_len."""

    def __init__(self, model: SASRec, top_k: int, config: OnDeviceConfig):
        super().__init__()
        model_config = model.config
        check_top_k(top_k, model_config.n_items, model_config.max_len)
        if model_config.explore_path:
            # `train` adds the repeat bonus to the adapted logits, which the explore gate's mixture is not.
            raise ValueError(
                "--on_device_training supports the additive repeat bonus only; this model was trained with "
                "--explore_path: export it without --on_device_training"
            )
        self.model = model
        self.top_k = top_k
        self.config = config
        self.n_items = model_config.n_items
        dim, rows = model_config.hidden_dim, model_config.num_rows + config.spare_items
        self.adapter_scale = tf.Variable(tf.zeros([dim]), name="adapter_scale")
        self.adapter_shift = tf.Variable(tf.zeros([dim]), name="adapter_shift")
        self.item_bias = tf.Variable(tf.zeros([rows]), name="item_bias")
        self.spare_vectors = tf.Variable(tf.zeros([config.spare_items, dim]), name="spare_vectors")
        self.spare_active = tf.Variable(tf.zeros([config.spare_items]), name="spare_active")
        history = tf.TensorSpec([1, model_config.max_len], tf.int32, name="history")
        target = tf.TensorSpec([1], tf.int32, name="target")
        state = [
            tf.TensorSpec(variable.shape, tf.float32, name=name)
            for name, variable in zip(STATE_NAMES, self.state_variables(), strict=True)
        ]
        slots = tf.TensorSpec([config.spare_items], tf.int32, name="slots")
        vectors = tf.TensorSpec([config.spare_items, dim], tf.float32, name="vectors")
        self.score = tf.function(self._score, input_signature=[history])
        self.recommend = tf.function(self._recommend, input_signature=[history])
        self.train = tf.function(self._train, input_signature=[history, target])
        self.get_weights = tf.function(self._get_weights, input_signature=[])
        self.set_weights = tf.function(self._set_weights, input_signature=state)
        self.set_items = tf.function(self._set_items, input_signature=[slots, vectors])

    def state_variables(self) -> list[tf.Variable]:
        """The personal state in STATE_NAMES order."""
        return [self.adapter_scale, self.adapter_shift, self.item_bias, self.spare_vectors, self.spare_active]

    # ----- forward -----
    def _base_ids(self, history: tf.Tensor) -> tf.Tensor:
        """History with added items (ids > n_items) replaced by padding, for what only knows the table."""
        return tf.where(history > self.n_items, tf.zeros_like(history), history)

    def _history_rows(self, history: tf.Tensor) -> tf.Tensor:
        """Item rows [1, L, d]: the table's for trained items, `spare_vectors` for added ones."""
        table_rows = self.model.item_table.lookup(self._base_ids(history))
        spare_index = tf.maximum(history - (self.n_items + 1), 0)
        spare_rows = tf.gather(self.spare_vectors, spare_index)
        return tf.where((history > self.n_items)[..., None], spare_rows, table_rows)

    def _sequence_vector(self, history: tf.Tensor) -> tf.Tensor:
        """The frozen student's sequence vector v [1, d] (what the shipped model scores with)."""
        hidden = self.model.encode(history, training=False, item_rows=self._history_rows(history))
        return self.model.final_vector(hidden, history)

    def _adapted(self, vector: tf.Tensor) -> tf.Tensor:
        """u = v * (1 + scale) + shift [1, d]."""
        return vector * (1.0 + self.adapter_scale[None, :]) + self.adapter_shift[None, :]

    def _columns(self, history: tf.Tensor) -> tf.Tensor:
        """int32 [rows] = 0, 1, ..., n_items + spare_items, started at a zero computed from `history` (ids are
        >= 0): from a constant the converter would fold every tensor built on it into a stored n_items-long
        constant (a lookup of the frozen cores became an n_items x d table, five times the student's bytes).
        """
        zero = tf.minimum(tf.reduce_min(history), 0)
        return tf.range(zero, zero + self.n_items + 1 + self.config.spare_items)

    def _masked(self, scores: tf.Tensor, history: tf.Tensor) -> tf.Tensor:
        """scores [1, rows] with padding and inactive spare slots at PADDING_SCORE."""
        columns = self._columns(history)
        trained = tf.logical_and(columns >= 1, columns <= self.n_items)
        # Column n_items + 1 + j reads spare_active[j]; trained columns read the leading 0.
        slot_flags = tf.concat([tf.zeros([1]), self.spare_active], axis=0)
        active = tf.gather(slot_flags, tf.maximum(columns - self.n_items, 0)) > 0.5
        rankable = tf.logical_or(trained, active)[None, :]
        return tf.where(rankable, scores, PADDING_SCORE)

    def _all_scores(self, history: tf.Tensor) -> tf.Tensor:
        """Scores [1, n_items + 1 + spare_items], padding and inactive slots at PADDING_SCORE.

        Trained items go through the table's factored `score` (the cores stay in the graph); the repeat
        bonus, if the model has one, reads the frozen vector so that it stays the shipped model's.
        """
        vector = self._sequence_vector(history)
        user = self._adapted(vector)
        table = self.model.with_repeat_bonus(
            self.model.item_table.score(user), vector, self._base_ids(history)
        )
        spare = tf.matmul(user, self.spare_vectors, transpose_b=True)
        return self._masked(tf.concat([table, spare], axis=1) + self.item_bias[None, :], history)

    def _score(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"scores": self._all_scores(history)}

    def _recommend(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
        item_ids, scores = top_k_excluding_history(self._all_scores(history)[:, 1:], history, self.top_k)
        return {"item_ids": item_ids, "scores": scores}

    # ----- training and state -----
    def _item_rows(self, history: tf.Tensor) -> tf.Tensor:
        """Every row [n_items + 1 + spare_items, d]: the table's (frozen) then the spare slots."""
        table = self.model.item_table.lookup(self._columns(history)[: self.n_items + 1])
        return tf.concat([table, self.spare_vectors], axis=0)

    def _train(self, history: tf.Tensor, target: tf.Tensor) -> dict[str, tf.Tensor]:
        """One SGD step on -log softmax(scores)[target]; returns the loss before the step.

        Closed form, with g = softmax(s) - onehot(target) over every rankable row E (masked rows have p = 0):
        dL/db = g, dL/du = g E, dL/dshift = dL/du, dL/dscale = v * dL/du; weight decay pulls the state back
        toward the shipped model.
        """
        vector = self._sequence_vector(history)
        user = self._adapted(vector)
        rows = self._item_rows(history)
        logits = tf.matmul(user, rows, transpose_b=True) + self.item_bias[None, :]
        if self.model.repeat is not None:
            bonus = self.model.with_repeat_bonus(
                tf.zeros([1, self.n_items + 1]), vector, self._base_ids(history)
            )
            logits += tf.pad(bonus, [[0, 0], [0, self.config.spare_items]])
        logits = self._masked(logits, history)
        highest = tf.reduce_max(logits, axis=1, keepdims=True)
        log_normaliser = highest + tf.math.log(tf.reduce_sum(tf.exp(logits - highest), axis=1, keepdims=True))
        label = tf.one_hot(target, tf.shape(logits)[1])  # [1, rows]
        loss = tf.reduce_sum(log_normaliser - tf.reduce_sum(label * logits, axis=1, keepdims=True))
        error = tf.exp(logits - log_normaliser) - label  # [1, rows]
        user_gradient = tf.reshape(tf.matmul(error, rows), [-1])  # [d]
        decay, rate = self.config.weight_decay, self.config.learning_rate
        scale_gradient = tf.reshape(vector, [-1]) * user_gradient
        self.adapter_scale.assign_sub(rate * (scale_gradient + decay * self.adapter_scale))
        self.adapter_shift.assign_sub(rate * (user_gradient + decay * self.adapter_shift))
        self.item_bias.assign_sub(rate * (tf.reshape(error, [-1]) + decay * self.item_bias))
        return {"loss": loss}

    def _get_weights(self) -> dict[str, tf.Tensor]:
        # `+ 0` reads a copy: an output that aliases a variable's buffer changes under the caller's feet.
        variables = zip(STATE_NAMES, self.state_variables(), strict=True)
        return {name: variable + 0.0 for name, variable in variables}

    def _set_weights(self, *values: tf.Tensor) -> dict[str, tf.Tensor]:
        for variable, value in zip(self.state_variables(), values, strict=True):
            variable.assign(value)
        return {"active_items": tf.reduce_sum(tf.cast(self.spare_active > 0.5, tf.int32))}

    def _set_items(self, slots: tf.Tensor, vectors: tf.Tensor) -> dict[str, tf.Tensor]:
        """Writes `vectors[i]` into spare slot `slots[i]` and activates it; a slot of -1 is skipped.

        A one-hot matrix instead of a scatter: skipped rows are all zero, and the whole update is two matmuls.
        The bias of a written slot is reset (a new item starts unbiased). Duplicate slots are refused before
        this call (runtime/personalise.py); here they would add up.
        """
        placement = tf.one_hot(slots, self.config.spare_items)  # [U, S]
        written = tf.reduce_max(placement, axis=0)  # [S]
        kept = 1.0 - written
        self.spare_vectors.assign(
            self.spare_vectors * kept[:, None] + tf.matmul(placement, vectors, transpose_a=True)
        )
        self.spare_active.assign(tf.maximum(self.spare_active, written))
        trained = self.n_items + 1
        self.item_bias.assign(tf.concat([self.item_bias[:trained], self.item_bias[trained:] * kept], axis=0))
        return {"active_items": tf.reduce_sum(tf.cast(self.spare_active > 0.5, tf.int32))}

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        return {name: getattr(self, name).get_concrete_function() for name in TRAINING_SIGNATURES}


def convert_on_device(model: SASRec, top_k: int, config: OnDeviceConfig) -> bytes:
    """The training-capable flatbuffer, builtin operators only, tensor names stripped.

    Raises:
        ValueError: top_k the catalogue cannot serve, or a config out of range.
    """
    module = OnDeviceModule(model, top_k, config)
    with tempfile.TemporaryDirectory(prefix="odrec_on_device_") as directory:
        tf.saved_model.save(module, directory, signatures=module.signatures())
        converter = tf.lite.TFLiteConverter.from_saved_model(
            directory, signature_keys=list(TRAINING_SIGNATURES)
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.experimental_enable_resource_variables = True
        return strip_tensor_names(converter.convert())


def on_device_sidecar_block(model: SASRec, config: OnDeviceConfig) -> dict:
    """The sidecar's `on_device` block: what the runtime checks a saved state and an item update against."""
    dim, spare = model.config.hidden_dim, config.spare_items
    return {
        "spare_items": spare,
        "first_spare_id": model.config.n_items + 1,
        "hidden_dim": dim,
        "learning_rate": config.learning_rate,
        "weight_decay": config.weight_decay,
        "state": {
            "adapter_scale": [dim],
            "adapter_shift": [dim],
            "item_bias": [model.config.num_rows + spare],
            "spare_vectors": [spare, dim],
            "spare_active": [spare],
        },
    }


def write_on_device_model(
    model: SASRec, top_k: int, config: OnDeviceConfig, path: Path, fields: dict
) -> Path:
    """Writes `path` (the flatbuffer) and its sidecar from the student's contract `fields`; returns the path.

    The sidecar differs from the plain student's in the `score` width (spare slots are columns too) and the
    `on_device` block; `n_items` stays the trained catalogue, which is what `vocab.tsv` lists.
    """
    atomic_write_bytes(path, convert_on_device(model, top_k, config))
    sidecar = dict(fields)
    history = {"history": [1, model.config.max_len]}
    sidecar["signatures"] = {
        **fields["signatures"],
        "score": {"inputs": history, "outputs": {"scores": [1, model.config.num_rows + config.spare_items]}},
    }
    sidecar["on_device"] = on_device_sidecar_block(model, config)
    write_sidecar(path, sidecar)
    return path
