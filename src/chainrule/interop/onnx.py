"""ONNX export: a chainrule network as an ONNX model that onnxruntime runs.

Built node by node with ``onnx.helper`` (no tracing): Linear is Gemm (MatMul + Add past two
dimensions) with chainrule's (in, out) weight as Gemm's B, untransposed; every activation
chainrule has maps to its ONNX operator, Dropout and Identity to nothing (the model is written as
in eval mode, BatchNorm1d with its running statistics). The batch dimension is symbolic
("batch"). A Classifier gets two outputs: "logits" and "probabilities" (their Softmax).

The opset and IR version are pinned (OPSET, IR_VERSION): a model is only as useful as the
runtimes that load it, and onnx writes by default the newest IR version it knows, which older
runtimes refuse ("Unsupported model IR version"). onnxruntime 1.32.0, the pinned one, loads IR
versions up to 14 and opsets up to 28 (tried: IR 15 and opset 29 are refused).

>>> OPSET, IR_VERSION
(21, 10)
>>> import chainrule as cr
>>> clf = cr.Classifier.from_spec("8relu", num_features=4, classes=["a", "b"])
>>> proto = to_onnx(clf, "clf.onnx")  # doctest: +SKIP
>>> [o.name for o in proto.graph.output]  # doctest: +SKIP
['logits', 'probabilities']
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from ..atomic import atomic_write
from ..io import contiguous
from ..model import Classifier
from ..nn import (ELU, GELU, BatchNorm1d, Dropout, Flatten, Identity, LayerNorm, LeakyReLU, Linear, LogSoftmax, Module,
                  ReLU, Sequential, Sigmoid, Softmax, Softplus, Tanh)
from ..version import __version__
from .refusal import wrong_model

__all__ = ["to_onnx", "OPSET", "IR_VERSION", "MIN_OPSET", "MAX_OPSET", "INPUT", "BATCH"]

# ONNX 1.16's opset, not onnx 1.23.2's newest (28): it has every operator the exporter writes (Gelu came in 20),
# and runtimes older than the pinned onnxruntime 1.32.0 load it too.
OPSET = 21
IR_VERSION = 10  # the IR version onnx pairs with opset 21 (onnx.helper.VERSION_TABLE)
MIN_OPSET = 17  # LayerNormalization; below 20 GELU is written with Erf or Tanh
MAX_OPSET = 28  # the newest onnx 1.23.2 writes and onnxruntime 1.32.0 loads
INPUT, BATCH = "input", "batch"
_PLAIN = {Tanh: "Tanh", Sigmoid: "Sigmoid", ReLU: "Relu"}


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ModuleNotFoundError("ONNX export needs onnx, which is not installed (pip install 'chainrule[onnx]')",
                                  name="onnx") from None
    return onnx


class _Graph:
    """The nodes and initializers written so far; tensors get fresh names."""

    def __init__(self, onnx, opset: int):
        self.onnx, self.helper, self.opset = onnx, onnx.helper, opset
        self.nodes: list = []
        self.initializers: list = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, name: str, array: np.ndarray) -> str:
        """An initializer holding ``array`` (float32, or int64 for a shape), C-contiguous, a 0-d one a scalar."""
        array = contiguous(array)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def scalar(self, value: float) -> str:
        return self.constant(self.name("const"), np.array(value, np.float32))

    def node(self, op: str, inputs: list[str], hint: str, **attributes) -> str:
        out = self.name(hint)
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out, **attributes))
        return out


class _Refused(ValueError):
    """A layer the exporter cannot write; the caller names its position."""


def _parameter(layer: Module, name: str) -> np.ndarray | None:
    p = getattr(layer, name, None)
    return None if p is None else np.asarray(p.data)


def _linear(g: _Graph, layer: Linear, x: str, shape: tuple, prefix: str):
    if shape[-1] != layer.in_features:
        raise _Refused(f"takes {layer.in_features} features, but its input has shape {_shown(shape)}")
    w = g.constant(f"{prefix}weight", _parameter(layer, "weight"))  # (in, out): Gemm's B as it is, transB=0
    b = _parameter(layer, "bias")
    bias = [g.constant(f"{prefix}bias", b)] if b is not None else []
    if len(shape) == 2:
        y = g.node("Gemm", [x, w, *bias], "linear")
    else:
        y = g.node("MatMul", [x, w], "matmul")
        y = g.node("Add", [y, *bias], "linear") if bias else y
    return y, shape[:-1] + (layer.out_features,)


def _gelu(g: _Graph, layer: GELU, x: str):
    if g.opset >= 20:
        return g.node("Gelu", [x], "gelu", approximate=layer.approximate)
    half_x = g.node("Mul", [x, g.scalar(0.5)], "half_x")
    if layer.approximate == "tanh":  # 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), as ops.GELU writes it
        cube = g.node("Mul", [g.node("Mul", [x, x], "square"), x], "cube")
        inner = g.node("Add", [x, g.node("Mul", [cube, g.scalar(0.044715)], "cubic")], "inner")
        t = g.node("Tanh", [g.node("Mul", [inner, g.scalar(math.sqrt(2 / math.pi))], "scaled")], "tanh")
    else:  # 0.5x(1 + erf(x/√2)) = x·Φ(x)
        t = g.node("Erf", [g.node("Mul", [x, g.scalar(1 / math.sqrt(2))], "scaled")], "erf")
    return g.node("Mul", [half_x, g.node("Add", [t, g.scalar(1.0)], "one_plus")], "gelu")


def _softplus(g: _Graph, layer: Softplus, x: str):
    """log(1 + e^(βx))/β, and x itself where βx > threshold (as ops.Softplus)."""
    bx = x if layer.beta == 1 else g.node("Mul", [x, g.scalar(layer.beta)], "beta_x")
    y = g.node("Softplus", [bx], "softplus")
    if layer.beta != 1:
        y = g.node("Div", [y, g.scalar(layer.beta)], "softplus")
    linear = g.node("Greater", [bx, g.scalar(layer.threshold)], "linear_part")
    return g.node("Where", [linear, x, y], "softplus")


def _flatten(g: _Graph, layer: Flatten, x: str, shape: tuple):
    n = len(shape)
    start = layer.start_dim % n if -n <= layer.start_dim < n else None
    end = layer.end_dim % n if -n <= layer.end_dim < n else None
    if start is None or end is None or start > end:
        raise _Refused(f"(start_dim={layer.start_dim}, end_dim={layer.end_dim}) does not fit its input's shape "
                       f"{_shown(shape)}")
    if start == 0:
        raise _Refused("merges the batch dimension (start_dim=0), which ONNX export keeps symbolic")
    new = shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]
    if new == shape:
        return x, shape
    target = g.constant(g.name("shape"), np.array([0, *new[1:]], np.int64))  # 0: the batch size, copied
    return g.node("Reshape", [x, target], "flatten"), new


def _layer_norm(g: _Graph, layer: LayerNorm, x: str, shape: tuple, prefix: str):
    k = len(layer.normalized_shape)
    if shape[1:][-k:] != layer.normalized_shape or len(shape) - 1 < k:
        raise _Refused(f"normalises over {layer.normalized_shape}, but its input has shape {_shown(shape)}")
    weight, bias = _parameter(layer, "weight"), _parameter(layer, "bias")
    scale = g.constant(f"{prefix}weight" if weight is not None else g.name("ones"),
                       weight if weight is not None else np.ones(layer.normalized_shape, np.float32))
    inputs = [x, scale] + ([g.constant(f"{prefix}bias", bias)] if bias is not None else [])
    return g.node("LayerNormalization", inputs, "layer_norm", axis=-k, epsilon=layer.eps)


def _batch_norm(g: _Graph, layer: BatchNorm1d, x: str, shape: tuple, prefix: str):
    if len(shape) not in (2, 3) or shape[1] != layer.num_features:
        raise _Refused(f"expects input of shape (batch, {layer.num_features}) or (batch, {layer.num_features}, L), "
                       f"got {_shown(shape)}")
    if not layer.track_running_stats:
        raise _Refused("has no running statistics (track_running_stats=False): it normalises each batch by its "
                       "own statistics, which ONNX's BatchNormalization does not do at inference")
    c = layer.num_features
    weight, bias = _parameter(layer, "weight"), _parameter(layer, "bias")
    inputs = [x,
              g.constant(f"{prefix}weight" if weight is not None else g.name("ones"),
                         weight if weight is not None else np.ones(c, np.float32)),
              g.constant(f"{prefix}bias" if bias is not None else g.name("zeros"),
                         bias if bias is not None else np.zeros(c, np.float32)),
              g.constant(f"{prefix}running_mean", _parameter(layer, "running_mean")),
              g.constant(f"{prefix}running_var", _parameter(layer, "running_var"))]
    return g.node("BatchNormalization", inputs, "batch_norm", epsilon=layer.eps)


def _convert(g: _Graph, layer: Module, x: str, shape: tuple, prefix: str):
    """(the layer's output tensor, its shape) after writing the layer's nodes."""
    kind = type(layer)
    if kind is Sequential:
        for name, child in layer.named_children():
            x, shape = _at(g, child, x, shape, f"{prefix}{name}.")
        return x, shape
    if kind is Linear:
        return _linear(g, layer, x, shape, prefix)
    if kind in (Dropout, Identity):
        return x, shape
    if kind is Flatten:
        return _flatten(g, layer, x, shape)
    if kind in _PLAIN:
        return g.node(_PLAIN[kind], [x], _PLAIN[kind].lower()), shape
    if kind is LeakyReLU:
        return g.node("LeakyRelu", [x], "leaky_relu", alpha=layer.negative_slope), shape
    if kind is ELU:
        return g.node("Elu", [x], "elu", alpha=layer.alpha), shape
    if kind is GELU:
        return _gelu(g, layer, x), shape
    if kind is Softplus:
        return _softplus(g, layer, x), shape
    if kind in (Softmax, LogSoftmax):
        if not -len(shape) <= layer.axis < len(shape):
            raise _Refused(f"axis {layer.axis} is out of range for its input's shape {_shown(shape)}")
        return g.node(kind.__name__, [x], kind.__name__.lower(), axis=layer.axis), shape
    if kind is LayerNorm:
        return _layer_norm(g, layer, x, shape, prefix), shape
    if kind is BatchNorm1d:
        return _batch_norm(g, layer, x, shape, prefix), shape
    raise _Refused(f"has no ONNX equivalent in chainrule's exporter (it writes Linear, {', '.join(_NAMES)}, "
                   f"and Sequentials of them)")


_NAMES = ["Tanh", "Sigmoid", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Identity", "Dropout", "Flatten",
          "Softmax", "LogSoftmax", "LayerNorm", "BatchNorm1d"]


def _at(g: _Graph, layer: Module, x: str, shape: tuple, prefix: str):
    """_convert, with a refusal naming the layer's position (``net[2]``) and type."""
    try:
        for p in list(layer.parameters(recurse=False)) + list(layer.buffers(recurse=False)):
            if p.data.dtype.kind == "f" and p.data.dtype != np.float32:
                raise _Refused(f"holds {p.data.dtype} values; ONNX export writes float32 (convert the network "
                               f"with net.float() first)")
        return _convert(g, layer, x, shape, prefix)
    except _Refused as e:
        position = "".join(f"[{name}]" for name in prefix.split(".") if name)
        raise ValueError(f"to_onnx: net{position} ({type(layer).__name__}) {e}") from None


def _shown(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _input_shape(net: Module, input_shape) -> tuple[int, ...]:
    """One example's shape: given, or read from the first layer that fixes it."""
    if input_shape is not None:
        shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
        if not shape or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in shape):
            raise ValueError(f"to_onnx: input_shape must be a positive integer or a tuple of them, got {input_shape!r}")
        return tuple(int(d) for d in shape)
    for m in net.modules():
        if isinstance(m, Linear):
            return (m.in_features,)
        if isinstance(m, BatchNorm1d):
            return (m.num_features,)
        if isinstance(m, LayerNorm):
            return m.normalized_shape
    raise ValueError("to_onnx: cannot tell this network's input size from its layers; pass input_shape "
                     "(one example's shape, e.g. input_shape=64)")


def _metadata(clf: Classifier) -> dict[str, str]:
    info = {"spec": clf.spec, "num_features": clf.num_features, "classes": clf.classes,
            "image_shape": list(clf.image_shape) if clf.image_shape else None,
            "pixel_max": clf.info.get("pixel_max"), "dataset": clf.info.get("dataset")}
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in info.items() if v is not None}


def to_onnx(model: Classifier | Module, path: str | os.PathLike, *, opset: int | None = None,
            input_shape: int | tuple[int, ...] | None = None) -> Any:
    """Write ``model`` (a Classifier, or a Sequential of chainrule's layers) to ``path`` as ONNX;
    returns the ``onnx.ModelProto``. The input "input" is float32 of shape (batch, *one example's
    shape*); a Classifier's features scaled as in training (pixels divided by its ``pixel_max``,
    recorded in the model's metadata_props with its spec and classes). ``opset`` defaults to OPSET;
    ``input_shape`` is for a Sequential whose first layer does not fix it.

    >>> import chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.GELU(), cr.nn.Linear(8, 2))
    >>> to_onnx(net, "net.onnx").graph.input[0].name  # doctest: +SKIP
    'input'
    """
    opset = OPSET if opset is None else opset
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset must be an integer from {MIN_OPSET} to {MAX_OPSET}, got {opset!r}")
    if isinstance(model, Classifier):
        if input_shape is not None and _input_shape(model.net, input_shape) != (model.num_features,):
            raise ValueError(f"to_onnx: a Classifier takes (batch, num_features={model.num_features}); "
                             f"input_shape {input_shape!r} does not fit it")
        net, shape = model.net, (model.num_features,)
    elif isinstance(model, Module):
        net, shape = model, _input_shape(model, input_shape)
    else:
        raise wrong_model("to_onnx", model, "a chainrule.Classifier or a chainrule.nn.Module")
    onnx = _onnx()
    helper, float32 = onnx.helper, onnx.TensorProto.FLOAT
    g = _Graph(onnx, int(opset))
    y, out_shape = _at(g, net, INPUT, (BATCH, *shape), "")
    classifier = isinstance(model, Classifier)
    last = "logits" if classifier else "output"
    if g.nodes and g.nodes[-1].output[0] == y:  # the last node writes the graph's output directly
        g.nodes[-1].output[0] = last
    else:  # a network of Identity and Dropout only
        g.nodes.append(helper.make_node("Identity", [y], [last], name=last))
    outputs = [helper.make_tensor_value_info(last, float32, list(out_shape))]
    if classifier:
        g.nodes.append(helper.make_node("Softmax", [last], ["probabilities"], name="probabilities", axis=-1))
        outputs.append(helper.make_tensor_value_info("probabilities", float32, list(out_shape)))
    inputs = [helper.make_tensor_value_info(INPUT, float32, [BATCH, *shape])]
    graph = helper.make_graph(g.nodes, "chainrule", inputs, outputs, g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", int(opset))],
                              producer_name="chainrule", producer_version=__version__)
    # onnx would write its own newest IR version; the pinned opset's is the one runtimes expect
    proto.ir_version = IR_VERSION if opset == OPSET else helper.find_min_ir_version_for(proto.opset_import)
    if classifier:
        proto.doc_string = (f"chainrule classifier {model.spec}: {model.num_features} float32 features -> logits "
                            f"and probabilities over {model.num_classes} classes")
        helper.set_model_props(proto, _metadata(model))
    else:
        proto.doc_string = (f"chainrule network ({type(model).__name__}): float32 input {_shown((BATCH, *shape))} "
                            f"-> output {_shown(out_shape)}")
    with atomic_write(path) as f:
        f.write(proto.SerializeToString())
    return proto
