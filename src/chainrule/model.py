"""Classifier: a trained network with what it needs to be used on new data.

It knows its SPEC, the input size, the class names and (for images) their
shape, so ``chainrule.load(path)`` gives back something ready to predict.

>>> import numpy as np, chainrule as cr
>>> clf = Classifier.from_spec("16relu", num_features=4, classes=["a", "b"])
>>> clf.predict(np.zeros((3, 4), np.float32)).shape
(3,)
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .autograd.ops import log_softmax
from .autograd.tensor import Tensor
from .io import CheckpointError, load_weights, save_weights
from .nn import Module, StateDictError
from .schema import Int, List, Nullable, Num, Record, SchemaError, Str, check
from .spec import SpecError, build_mlp, count_parameters

__all__ = ["Classifier", "save", "load", "from_weights"]

FORMAT_VERSION = 1


class Classifier:
    """An MLP classifier: ``net`` (a Sequential ending in logits) plus its description."""

    def __init__(self, net: Module, spec: str, num_features: int, classes: list[str],
                 image_shape: tuple[int, ...] | None = None, info: dict[str, Any] | None = None):
        self.net, self.spec = net, spec
        self.num_features, self.classes = int(num_features), [str(c) for c in classes]
        self.image_shape = tuple(image_shape) if image_shape else None
        self.info: dict[str, Any] = dict(info or {})

    @classmethod
    def from_spec(cls, spec: str, num_features: int, classes: list[str], image_shape=None, info=None) -> "Classifier":
        return cls(build_mlp(spec, num_features, len(classes)), spec, num_features, classes, image_shape, info)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def _check(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)  # arrays, lists, or tensors
        if x.dtype.kind in "iu":  # raw pixels: onto the scale the model was trained on
            pixel_max = self.info.get("pixel_max") or (255 if x.dtype == np.uint8 else None)
            if pixel_max:
                x = x.astype(np.float32) / np.float32(pixel_max)
        if x.ndim == 1:
            x = x[None]
        if x.ndim > 2:
            x = x.reshape(len(x), -1)
        if x.shape[1] != self.num_features:
            raise ValueError(f"model expects {self.num_features} features per example, got input of shape {x.shape}")
        if x.dtype.kind not in "fiub":
            raise ValueError(f"model input must be numeric, got dtype {x.dtype}")
        return x.astype(np.float32, copy=False)

    def logits(self, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Network outputs in eval mode (dropout off), computed in batches."""
        x = self._check(x)
        was_training = self.net.training
        self.net.eval()
        try:
            parts = [self.net.fprop(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        finally:
            self.net.train(was_training)
        return np.concatenate(parts) if parts else np.zeros((0, self.num_classes), np.float32)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (softmax of the logits), shape (n, classes)."""
        return np.exp(log_softmax(self.logits(x), axis=1))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The most likely class index per example."""
        return self.logits(x).argmax(axis=1)

    def score(self, x: np.ndarray, y: np.ndarray) -> float:
        """Accuracy on (x, y), as scikit-learn estimators report it."""
        predicted, y = self.predict(x), np.asarray(y)
        if y.shape == (len(predicted), 1):  # a column of labels, as scikit-learn accepts (no (n, n) broadcast)
            y = y[:, 0]
        if y.shape != predicted.shape:
            raise ValueError(f"score: {len(predicted)} examples but labels of shape {y.shape}")
        return float((predicted == y).mean())

    def metadata(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, "spec": self.spec, "num_features": self.num_features,
                "classes": self.classes, "image_shape": list(self.image_shape) if self.image_shape else None,
                **{k: v for k, v in self.info.items() if k not in ("format", "spec", "num_features", "classes")}}

    def __repr__(self) -> str:
        return f"Classifier(spec={self.spec!r}, features={self.num_features}, classes={self.num_classes})"


STATE_DICT = "state_dict"  # the metadata's "kind" of a file holding a plain state_dict


def save(obj: Classifier | Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write a Classifier (weights and description), or a plain state_dict (names to arrays or
    tensors, such as ``net.state_dict()``), to a safetensors file, atomically. Never pickle.

    >>> import os, tempfile, chainrule as cr
    >>> net = cr.nn.Linear(3, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.safetensors")
    >>> cr.save(net.state_dict(), path)
    >>> net.load_state_dict(cr.load(path))
    <All keys matched successfully>
    """
    if isinstance(obj, Classifier):
        save_weights(dict(obj.net.state_dict()), path, obj.metadata())
        return
    if isinstance(obj, Module):
        raise TypeError(f"save: chainrule saves a module's state_dict, not the module: "
                        f"chainrule.save(net.state_dict(), path), then net.load_state_dict(chainrule.load(path))")
    if not isinstance(obj, Mapping):
        raise TypeError(f"save: expected a chainrule.Classifier or a state_dict (a dict of arrays), "
                        f"got {type(obj).__name__}")
    arrays = {}
    for key, value in obj.items():
        array = np.asarray(value) if isinstance(key, str) and isinstance(value, (np.ndarray, Tensor)) else None
        if array is None or array.dtype.kind not in "biuf":
            raise TypeError(f"save: a state_dict maps names to arrays or tensors; entry {key!r} is "
                            f"{type(value).__name__}" + (f" of {array.dtype}" if array is not None else ""))
        arrays[key] = array
    save_weights(arrays, path, {"format": FORMAT_VERSION, "kind": STATE_DICT, "keys": list(arrays)})


# The metadata a Classifier checkpoint holds, as chainrule writes it; other keys (a user's own
# info) are kept as they are. train_config is the TrainConfig's fields (train.CONFIG_SCHEMA checks them).
METADATA = Record(
    spec=Str(), num_features=Int(1, 1 << 24), classes=List(Str(max_len=1000), 1, 1 << 16),
    format=Int(1, FORMAT_VERSION), image_shape=Nullable(List(Int(1), 1, 8)), dataset=Nullable(Str()),
    pixel_max=Nullable(Num(0, lo_open=True)), train_config=Record(extra=True),
    optional=("format", "image_shape", "dataset", "pixel_max", "train_config"), extra=True)


def check_metadata(info: dict, path: str | os.PathLike, schema: Record = METADATA) -> dict:
    """``info`` if it fits ``schema``, else CheckpointError naming the file and the field.

    >>> check_metadata({"spec": "4relu", "num_features": 0, "classes": ["a"]}, "m.safetensors")
    Traceback (most recent call last):
    ...
    chainrule.io.CheckpointError: m.safetensors: metadata field 'num_features' must be an integer from 1 to 16,777,216, got 0
    """
    try:
        check(info, schema)
    except SchemaError as e:
        raise CheckpointError(f"{os.fspath(path)}: metadata {e}") from None
    shape = info.get("image_shape")
    if shape is not None and math.prod(shape) != info["num_features"]:
        raise CheckpointError(f"{os.fspath(path)}: metadata field 'image_shape' {shape} does not hold "
                              f"{info['num_features']} features")
    return info


def load(path: str | os.PathLike, prefix: str = "", *, map_location: Any = None,
         weights_only: bool = True) -> Classifier | dict[str, np.ndarray]:
    """What ``save`` wrote, told apart by the file's metadata: a Classifier (also from
    ``chainrule train``), or a state_dict (a dict of arrays, in the order saved).

    ``prefix`` selects the tensors whose names start with it (``"model."`` in a
    training state file, ``last.safetensors``). Every metadata field is checked
    (``METADATA``) before it is used. ``map_location`` ("cpu" or None) and ``weights_only``
    are accepted as in PyTorch's load: the file is safetensors, never unpickled, so only
    weights are ever read.
    """
    if map_location not in (None, "cpu"):
        raise ValueError(f"load: chainrule runs on the CPU only, got map_location={map_location!r}")
    arrays, info = load_weights(path)
    return from_weights(arrays, info, path, prefix)


def from_weights(arrays: dict[str, np.ndarray], info: dict[str, Any], path: str | os.PathLike,
                 prefix: str = "") -> Classifier | dict[str, np.ndarray]:
    """What ``load`` makes of a file's (arrays, metadata) once read (``chainrule.io.load_weights``);
    ``path`` names the file in messages. Data-parallel training reads a run's state on one
    process and builds it on every process from the broadcast arrays."""
    if info.get("kind") == STATE_DICT:
        keys = info.get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) or sorted(keys) != sorted(arrays):
            raise CheckpointError(f"{os.fspath(path)}: a state_dict file whose metadata does not list its tensors")
        return {k[len(prefix):]: arrays[k] for k in keys if k.startswith(prefix)}
    if not prefix and "resume" in info:
        folder = Path(path).parent
        raise CheckpointError(f"{os.fspath(path)} is a training state, kept to resume the run: load "
                              f"{folder / 'model.safetensors'}, or continue the run with "
                              f"chainrule.train.resume({os.fspath(folder)!r})")
    if prefix:
        arrays = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    check_metadata(info, path)
    spec, num_features, classes, image_shape = info["spec"], info["num_features"], info["classes"], info.get("image_shape")
    description = {k: v for k, v in info.items() if k not in ("resume", "format")}
    try:
        # Metadata claiming a model far larger than the file's weights is refused before the
        # network is built (it would be allocated for nothing); a near miss is left to
        # load_state_dict, which names every tensor that does not fit.
        needed, held = count_parameters(spec, num_features, len(classes)), sum(a.size for a in arrays.values())
        if needed > 2 * held + (1 << 20):
            raise CheckpointError(f"{os.fspath(path)}: model {spec!r} needs {needed:,} weights, the file holds {held:,}")
        model = Classifier.from_spec(spec, num_features, classes, image_shape, description)
    except SpecError as e:
        raise CheckpointError(f"{os.fspath(path)}: {e}") from None
    try:
        model.net.load_state_dict(arrays)
    except StateDictError as e:
        raise CheckpointError(f"{os.fspath(path)}: weights do not fit model {spec!r}: {e}") from None
    for name, p in model.net.named_parameters():
        if not np.isfinite(p.data).all():
            raise CheckpointError(f"{os.fspath(path)}: weight {name} holds non-finite values (NaN or inf)")
    return model
