"""What a run saves besides its weights, and how it is read back: the training state in
``last.safetensors`` (STATE_SCHEMA), one line of ``metrics.jsonl`` per epoch (METRICS_SCHEMA),
the fingerprint that bitwise resume depends on, and the JSON of the files a user reads.

>>> METRICS_SCHEMA.fields["val_errors"].need
'a non-negative integer or null'
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..version import __version__
from ..data import Data
from ..data.files import read_text
from ..io import CheckpointError
from ..model import METADATA, check_metadata
from ..progress import count
from ..random import default_generator
from ..schema import Bool, Int, List, Nullable, Num, Record, SchemaError, Str, check
from ..threads import blas_threads, limit_threads
from .config import CONFIG_SCHEMA, TrainConfig

__all__ = ["STATE_SCHEMA", "METRICS_SCHEMA", "ResumeWarning", "MetricsError", "saved_config", "read_metrics",
           "fingerprint", "data_sha256", "to_json", "restore"]


class ResumeWarning(UserWarning):
    """A run resumed where it was not saved (another chainrule or NumPy, another BLAS thread count):
    it continues, but its weights will not be bitwise those of an uninterrupted run."""


class MetricsError(ValueError):
    """A metrics.jsonl that is not what chainrule writes (one line names the file and the line)."""


def to_json(value: Any, indent: int | None = None) -> str:
    """JSON for the files a user reads (metrics.jsonl, summary.json, tune.json): a NaN
    (no validation split, a diverged loss) is written as null, since NaN is not JSON.

    >>> to_json({"val_loss": float("nan"), "epoch": 1})
    '{"val_loss": null, "epoch": 1}'
    """
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None if math.isnan(v) else v  # ±inf stays (Python reads it back; rare enough)
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(value), indent=indent)




# ------------------------------------------------------------- the fingerprint
def data_sha256(data: Data) -> str:
    """SHA-256 of a data set's arrays as loaded (dtype, shape and bytes of x/y train and test): a
    changed data set is refused on resume. About 0.15 s for Fashion-MNIST's 220 MB.

    >>> from chainrule.data import load_dataset
    >>> len(data_sha256(load_dataset("xor")))
    64
    """
    h = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        array = np.ascontiguousarray(array)
        h.update(f"{array.dtype.str}{array.shape}".encode())
        h.update(memoryview(array).cast("B"))
    return h.hexdigest()


def fingerprint(data: Data) -> dict[str, Any]:
    """What bitwise resume depends on besides the saved state: BLAS threads, the data, the versions."""
    return {"threads": blas_threads(), "data_sha256": data_sha256(data), "chainrule": __version__,
            "numpy": np.__version__}


def _resume_threads(name: str, saved: dict[str, Any] | None, threads: int | None) -> int | None:
    """The BLAS thread count to resume with: the recorded one; a different ``threads`` is refused."""
    recorded = None if saved is None else saved["threads"]
    if threads is not None and recorded is not None and threads != recorded:
        raise CheckpointError(f"{name}: this run was trained with {count(recorded, 'BLAS thread')}; resuming with "
                              f"{threads} would not give bitwise the same weights: resume without a thread count "
                              f"(it uses {recorded})")
    if recorded is not None:
        try:
            with limit_threads(recorded):
                now = blas_threads()
        except ModuleNotFoundError:  # threadpoolctl (an optional extra) is not installed: no count can be set
            warnings.warn(f"{name} was trained with {count(recorded, 'BLAS thread')}, and this install cannot set "
                          f"the count (threadpoolctl is not installed): the result may not be bitwise the same as an "
                          f"uninterrupted run", ResumeWarning, stacklevel=3)
            return threads
        if now != recorded:
            warnings.warn(f"{name} was trained with {count(recorded, 'BLAS thread')}, and only {now} can be used "
                          f"here: the result will not be bitwise the same as an uninterrupted run", ResumeWarning,
                          stacklevel=3)
    return recorded if recorded is not None else threads


# ----------------------------------------------------------- the saved state
def _upgrade_state(info: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """A training state written by an earlier chainrule 0.1.0, in today's layout (in place): an
    epoch without validation recorded ``val_errors`` 0 (now None); and before its optimizers took
    PyTorch's state_dict layout, one global ``step_count`` sat beside the learning rate, and SGD's
    buffer was named ``momentum`` (now ``momentum_buffer``; Adam's per-parameter ``step`` is the
    step count where it is missing). Anything else is left for the schema to judge.
    """
    state = info.get("resume")
    if isinstance(state, dict):
        for metrics in state.get("history") if isinstance(state.get("history"), list) else []:
            _no_validation_count(metrics)
        if isinstance(state.get("best"), dict):
            _no_validation_count(state["best"].get("metrics"))
    optimizer = state.get("optimizer") if isinstance(state, dict) else None
    if not isinstance(optimizer, dict) or "step_count" not in optimizer:
        return
    steps = optimizer.pop("step_count")
    for key in [k for k in arrays if k.startswith("optim.") and k.endswith(".momentum")]:
        arrays[key + "_buffer"] = arrays.pop(key)
    if isinstance(steps, int) and steps >= 0:
        for key in [k for k in arrays if k.startswith("optim.") and k.endswith(".exp_avg")]:
            arrays.setdefault(key[: -len("exp_avg")] + "step", np.array(steps, np.int64))


# The optimizer buffers a training state holds per parameter once a step is taken (their names
# in the optimizer's state_dict, as PyTorch's).
_BUFFERS = {"sgd": (), "momentum": ("momentum_buffer",), "nesterov": ("momentum_buffer",),
            "adam": ("exp_avg", "exp_avg_sq", "step"), "adamw": ("exp_avg", "exp_avg_sq", "step")}


def check_tensors(bad: Callable[[str], None], arrays: dict[str, np.ndarray], state: dict[str, Any],
                  model: dict[str, tuple[int, ...]], params: list[tuple[int, ...]], optimizer: str,
                  steps_per_epoch: int) -> None:
    """A training state's tensors are exactly the model's (``model``: name to shape), the optimizer's
    buffers (for each of ``params``' shapes) and (once there is one) the best epoch's weights: float32
    (int64 step counts), shaped as the model's, finite. ``bad`` is called with the first problem."""
    expected = {f"model.{k}": shape for k, shape in model.items()}
    if state["best"] is not None:
        expected.update({f"best.{k}": shape for k, shape in model.items()})
    done = len(state["history"]) * steps_per_epoch + (state["partial"] or {"steps": 0})["steps"]
    if done:  # steps taken: every parameter has its optimizer's buffers
        for i, shape in enumerate(params):
            for buffer in _BUFFERS[optimizer]:
                expected[f"optim.{i}.{buffer}"] = () if buffer == "step" else shape
    for key in sorted(set(arrays) | set(expected)):
        if key not in expected:
            bad(f"holds tensor {key!r}, which is no part of this run's state")
        if key not in arrays:
            bad(f"lacks tensor {key!r}")
        array, counter = arrays[key], key.endswith(".step")
        if array.shape != expected[key] or array.dtype != (np.int64 if counter else np.float32):
            bad(f"tensor {key!r} is {array.dtype} {array.shape}, expected "
                f"{'int64' if counter else 'float32'} {expected[key]}")
        if counter and array != done:
            bad(f"tensor {key!r} counts {array} steps, expected {done}")
        if not counter and not np.isfinite(array).all():
            bad(f"tensor {key!r} holds non-finite values")


# One line of metrics.jsonl, one entry of the saved history. train_* are the epoch's running
# figures (summed over its minibatches, with dropout and shifts on); val_* are NaN (val_errors
# None), written null, without a validation split.
METRICS_SCHEMA = Record(
    epoch=Int(1), lr=Num(0), train_loss=Num(0), train_accuracy=Num(0, 1), train_errors=Int(0),
    val_loss=Num(0, nan=True, inf=True), val_accuracy=Num(0, 1, nan=True), val_errors=Nullable(Int(0)),
    seconds=Num(0))


def _no_validation_count(metrics: Any) -> None:
    """An epoch without validation, as chainrule 0.1.0 wrote it (``val_errors`` 0 beside a NaN
    accuracy), in today's form: ``val_errors`` None. In place; anything else is left alone."""
    if (isinstance(metrics, dict) and type(metrics.get("val_errors")) is int and metrics["val_errors"] == 0
            and isinstance(metrics.get("val_accuracy"), float) and math.isnan(metrics["val_accuracy"])):
        metrics["val_errors"] = None


# A NumPy bit generator's state as default_rng's PCG64 gives it (bit_generator.state).
_PCG64_STATE = Record(bit_generator=Str(("PCG64",)), state=Record(state=Int(0, 2**128 - 1), inc=Int(0, 2**128 - 1)),
                      has_uint32=Int(0, 1), uinteger=Int(0, 2**32 - 1))

# With diagnostics on (chainrule.diagnostics.Recorder.state_dict): the warnings given so far, as
# summary.json lists them, and the unfinished epoch's sums of update ratios (null: not finite).
_DIAGNOSTICS_STATE = Record(
    warnings=List(Record(kind=Str(max_len=100), epoch=Int(1), layer=Nullable(Str(max_len=200)),
                         value=Nullable(Num()), message=Str(max_len=2000))),
    sums=List(Nullable(Num(0))), steps=Int(0))

# last.safetensors: a Classifier's metadata, the run's settings and everything else needed to continue.
STATE_SCHEMA = Record(
    {**METADATA.fields, "dataset": Str(),
     "train_config": CONFIG_SCHEMA,
     "resume": Record(
         history=List(METRICS_SCHEMA), best=Nullable(Record(score=Num(), metrics=METRICS_SCHEMA)),
         bad_epochs=Int(0), stopped_early=Bool(),
         partial=Nullable(Record(loss=Num(0), correct=Int(0), seen=Int(1), steps=Int(1), seconds=Num(0))),
         optimizer=Record(lr=Num(0)), schedule_epoch=Int(0),
         loader=Record(bit_generator=_PCG64_STATE, epoch=Int(0), position=Int(0), batch_size=Int(1),
                       num_examples=Int(1), shuffle=Bool()),
         augment_rng=_PCG64_STATE, global_rng=_PCG64_STATE,
         fingerprint=Record(threads=Nullable(Int(1, 4096)), data_sha256=Str(pattern="[0-9a-f]{64}", need="64 hex digits"),
                            chainrule=Str(max_len=100), numpy=Str(max_len=100)),
         diagnostics=_DIAGNOSTICS_STATE,
         optional=("fingerprint", "diagnostics"))},
    optional=("format", "image_shape", "pixel_max"), extra=True)


def saved_config(info: dict[str, Any], path: str | os.PathLike) -> TrainConfig | None:
    """The TrainConfig a checkpoint's metadata records (None if it records none), checked field by
    field: CheckpointError names the file and the field. Fields it lacks take their defaults (a
    model file needs only what evaluating it uses, the seed of the split); a training state needs all.

    >>> saved_config({"train_config": {"seed": 3}}, "m.safetensors").seed
    3
    """
    if "train_config" not in info:
        return None
    check_metadata(info, path, Record(train_config=Record(CONFIG_SCHEMA.fields, optional=tuple(CONFIG_SCHEMA.fields)),
                                      extra=True))
    return TrainConfig(**info["train_config"]).validate()


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The history in a run's metrics.jsonl, each line checked: MetricsError names the file and the line.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "metrics.jsonl")
    >>> _ = open(path, "w").write("{}\\n")
    >>> read_metrics(path)
    Traceback (most recent call last):
    ...
    chainrule.train.state.MetricsError: ...metrics.jsonl line 1: field 'epoch' is missing
    """
    name = os.fspath(path)
    text = read_text(name, error=MetricsError)  # a regular file, its size bounded, UTF-8
    history = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            metrics = json.loads(line)
            if not isinstance(metrics, dict):
                raise MetricsError(f"{name} line {number}: not a JSON object ({line.strip()[:40]})")
            # null: NaN for a number (to_json writes NaN as null), None for the count
            metrics = {k: math.nan if v is None and k != "val_errors" else v for k, v in metrics.items()}
            _no_validation_count(metrics)
            check(metrics, METRICS_SCHEMA)
        except (json.JSONDecodeError, RecursionError):
            raise MetricsError(f"{name} line {number}: not valid JSON") from None
        except SchemaError as e:
            raise MetricsError(f"{name} line {number}: {e}") from None
        if metrics["epoch"] != len(history) + 1:
            raise MetricsError(f"{name} line {number}: epoch {metrics['epoch']}, expected {len(history) + 1}")
        history.append(metrics)
    return history


def restore(trainer: Any, name: str, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Check a saved training state (checked field by field already) against a Trainer built from its
    settings, then load it into the Trainer (``Trainer.resume`` does this; ``name`` is the file's)."""
    def bad(problem: str):
        raise CheckpointError(f"{name}: training state {problem}")

    history, partial, loader = state["history"], state["partial"], state["loader"]
    done, steps = len(history), len(trainer.loader)
    for i, metrics in enumerate(history):
        if metrics["epoch"] != i + 1:
            bad(f"field 'resume.history[{i}].epoch' is {metrics['epoch']}, expected {i + 1}")
    if loader["num_examples"] != len(trainer.x_train):
        raise CheckpointError(f"{name}: the data changed since this run was saved: it trained on "
                              f"{loader['num_examples']} examples, {trainer.data.name} now gives {len(trainer.x_train)}")
    position = 0 if partial is None else partial["steps"]
    expected = {
        "resume.schedule_epoch": (state["schedule_epoch"], done),
        "resume.loader.epoch": (loader["epoch"], done),
        "resume.loader.position": (loader["position"], position),
        "resume.loader.batch_size": (loader["batch_size"], trainer.config.batch_size),
        "resume.loader.shuffle": (loader["shuffle"], True),
        "resume.optimizer.lr": (state["optimizer"]["lr"],
                                trainer.schedule.lrs_at(done)[0] if done else trainer.optimizer.lr),
    }
    for field_name, (value, want) in expected.items():
        if value != want:
            bad(f"field {field_name!r} is {value!r}, expected {want!r} for {done} epochs and {position} steps")
    if state["bad_epochs"] > done:
        bad(f"field 'resume.bad_epochs' is {state['bad_epochs']}, more than the {done} epochs done")
    if partial is not None and (partial["steps"] >= steps or partial["correct"] > partial["seen"]
                                or partial["seen"] > partial["steps"] * trainer.config.batch_size):
        bad(f"field 'resume.partial' is not an unfinished epoch of {steps} steps: {partial}")
    best = state["best"]
    if best is not None:
        if best["metrics"]["epoch"] > done:
            bad(f"field 'resume.best.metrics.epoch' is {best['metrics']['epoch']}, after the {done} epochs done")
        score = best["metrics"]["val_loss"] if len(trainer.x_val) else -best["metrics"]["epoch"]
        if best["score"] != score:  # as _track_best scores an epoch
            bad(f"field 'resume.best.score' is {best['score']!r}, but its epoch scored {score!r}")
    check_tensors(bad, arrays, state, {k: v.shape for k, v in trainer.model.net.state_dict().items()},
                  [p.shape for p in trainer.optimizer.params], trainer.config.optimizer, steps)
    trainer.history = list(history)
    trainer.bad_epochs, trainer.stopped_early, trainer.partial = state["bad_epochs"], state["stopped_early"], partial
    if state["best"] is not None:
        weights = {k[len("best."):]: v for k, v in arrays.items() if k.startswith("best.")}
        trainer.best = {**state["best"], "weights": weights}
    buffers: dict[str, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        if key.startswith("optim."):
            i, buffer = key[len("optim."):].split(".", 1)
            buffers.setdefault(i, {})[buffer] = value
    trainer.optimizer.load_state_dict({"state": buffers, "param_groups": trainer.optimizer.state_dict()["param_groups"]})
    trainer.optimizer.lr = state["optimizer"]["lr"]
    trainer.schedule.last_epoch = state["schedule_epoch"]
    trainer.loader.load_state_dict(loader)
    trainer.augment_rng.bit_generator.state = state["augment_rng"]
    default_generator().bit_generator.state = state["global_rng"]
