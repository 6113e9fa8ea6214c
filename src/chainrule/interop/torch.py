"""PyTorch both ways, without pickle: a chainrule network as a ``torch.nn.Sequential`` and
back, and its weights as a safetensors file that PyTorch loads with ``strict=True``.

The layers are the ones both libraries have, option for option: Linear, Tanh, ReLU,
Sigmoid, LeakyReLU, ELU, GELU, Softplus, Identity, Flatten, Dropout, LayerNorm,
BatchNorm1d, Softmax, LogSoftmax, Embedding, and Sequential inside Sequential.
chainrule's Linear holds its weight as (in_features, out_features), the course's
``x W + b``; PyTorch's ``nn.Linear`` holds (out_features, in_features) and computes
``x Wᵀ + b``, so that weight is transposed on the way; every other parameter and buffer
has the same layout and name in both. Arrays keep their dtype (float32 unless the
model was converted).

``to_torch_state_dict`` and ``save_torch`` need NumPy and safetensors only; ``to_torch``
and ``from_torch`` import torch when called (the extra ``torch``).

>>> import chainrule as cr
>>> net = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.Tanh(), cr.nn.Linear(3, 2))
>>> {k: v.shape for k, v in to_torch_state_dict(net).items()}
{'0.weight': (3, 4), '0.bias': (3,), '2.weight': (2, 3), '2.bias': (2,)}
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import nn
from ..io import contiguous, write_safetensors
from ..model import Classifier
from ..spec import ACTIVATIONS, SpecError, parse_spec
from .refusal import wrong_model

__all__ = ["to_torch", "from_torch", "to_torch_state_dict", "save_torch"]

# chainrule layer -> (PyTorch's class name in torch.nn, its constructor arguments from the layer).
# Parameters and buffers are copied afterwards by name (state_dict), so only options appear here.
_TO_TORCH = {
    nn.Linear: ("Linear", lambda m: {"in_features": m.in_features, "out_features": m.out_features,
                                     "bias": m.bias is not None}),
    nn.Tanh: ("Tanh", lambda m: {}),
    nn.ReLU: ("ReLU", lambda m: {}),
    nn.Sigmoid: ("Sigmoid", lambda m: {}),
    nn.LeakyReLU: ("LeakyReLU", lambda m: {"negative_slope": m.negative_slope}),
    nn.ELU: ("ELU", lambda m: {"alpha": m.alpha}),
    nn.GELU: ("GELU", lambda m: {"approximate": m.approximate}),
    nn.Softplus: ("Softplus", lambda m: {"beta": m.beta, "threshold": m.threshold}),
    nn.Identity: ("Identity", lambda m: {}),
    nn.Flatten: ("Flatten", lambda m: {"start_dim": m.start_dim, "end_dim": m.end_dim}),
    nn.Dropout: ("Dropout", lambda m: {"p": m.p}),
    nn.Softmax: ("Softmax", lambda m: {"dim": m.axis}),
    nn.LogSoftmax: ("LogSoftmax", lambda m: {"dim": m.axis}),
    nn.LayerNorm: ("LayerNorm", lambda m: {"normalized_shape": m.normalized_shape, "eps": m.eps,
                                           "elementwise_affine": m.elementwise_affine,
                                           "bias": m.bias is not None}),
    nn.BatchNorm1d: ("BatchNorm1d", lambda m: {"num_features": m.num_features, "eps": m.eps,
                                               "momentum": m.momentum, "affine": m.affine,
                                               "track_running_stats": m.track_running_stats}),
    nn.Embedding: ("Embedding", lambda m: {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim,
                                           "padding_idx": m.padding_idx}),
}
_WITH_WEIGHTS = ("Linear", "LayerNorm", "BatchNorm1d", "Embedding")  # the torch layers that take dtype=


def _from_torch_layer(name: str, m) -> nn.Module:
    """The chainrule layer for PyTorch's layer ``m`` (of class torch.nn.<name>), weights not yet copied."""
    throwaway = np.random.default_rng(0)  # initial values are overwritten: chainrule's seeded generator is left alone
    dtype = _numpy_dtype(m.weight) if getattr(m, "weight", None) is not None else np.float32
    if name == "Linear":
        return nn.Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=dtype, generator=throwaway)
    if name in ("Tanh", "ReLU", "Sigmoid", "Identity"):
        return getattr(nn, name)()
    if name == "LeakyReLU":
        return nn.LeakyReLU(m.negative_slope)
    if name == "ELU":
        return nn.ELU(m.alpha)
    if name == "GELU":
        return nn.GELU(m.approximate)
    if name == "Softplus":
        return nn.Softplus(m.beta, m.threshold)
    if name == "Flatten":
        return nn.Flatten(m.start_dim, m.end_dim)
    if name == "Dropout":
        return nn.Dropout(m.p)
    if name in ("Softmax", "LogSoftmax"):
        if m.dim is None:  # PyTorch then guesses the axis from the input's rank (deprecated there)
            raise ValueError(f"{name} has dim=None; give it the axis, e.g. torch.nn.{name}(dim=1)")
        return getattr(nn, name)(dim=m.dim)
    if name == "LayerNorm":
        return nn.LayerNorm(m.normalized_shape, m.eps, m.elementwise_affine, bias=m.bias is not None, dtype=dtype)
    if name == "BatchNorm1d":
        dtype = _numpy_dtype(m.running_mean) if m.running_mean is not None else dtype
        return nn.BatchNorm1d(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats, dtype=dtype)
    if name == "Embedding":
        if m.max_norm is not None:
            raise ValueError(f"Embedding with max_norm={m.max_norm} renormalises rows as it reads them, "
                             f"which chainrule's Embedding does not")
        return nn.Embedding(m.num_embeddings, m.embedding_dim, m.padding_idx, dtype=dtype, generator=throwaway)
    raise AssertionError(name)


_FROM_TORCH = ("Linear", "Tanh", "ReLU", "Sigmoid", "LeakyReLU", "ELU", "GELU", "Softplus", "Identity", "Flatten",
               "Dropout", "Softmax", "LogSoftmax", "LayerNorm", "BatchNorm1d", "Embedding")


def _torch(what: str):
    try:
        import torch
    except ModuleNotFoundError:
        raise ModuleNotFoundError(f"{what} needs PyTorch: pip install 'chainrule[torch]'", name="torch") from None
    return torch


def _numpy_dtype(t) -> np.dtype:
    """The NumPy dtype of torch tensor ``t``; bfloat16 and the like have none."""
    torch = _torch("from_torch")
    names = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16}
    if t.dtype not in names:
        raise ValueError(f"holds {t.dtype} weights, which chainrule does not use; convert with module.float()")
    return np.dtype(names[t.dtype])


def _sequential(model: Any, what: str) -> nn.Sequential:
    if isinstance(model, Classifier):
        model = model.net
    if not isinstance(model, nn.Sequential):
        raise wrong_model(what, model, "a chainrule.Classifier or chainrule.nn.Sequential")
    return model


def _layers(seq: nn.Sequential, prefix: str = ""):
    """(dotted position, layer) for every layer of ``seq``, inside nested Sequentials too; an error names
    the first one PyTorch has no equivalent for."""
    for name, m in seq.named_children():
        if type(m) is nn.Sequential:
            yield from _layers(m, f"{prefix}{name}.")
        elif type(m) in _TO_TORCH:
            yield f"{prefix}{name}", m
        else:
            raise TypeError(f"layer {prefix}{name} ({type(m).__name__}) has no PyTorch equivalent here; "
                            f"supported: Sequential, {', '.join(c.__name__ for c in _TO_TORCH)}")


def to_torch_state_dict(model: Classifier | nn.Sequential) -> dict[str, np.ndarray]:
    """The model's weights under PyTorch's names (``"0.weight"``, ``"0.bias"``, ...) and layout
    (Linear weights as (out_features, in_features)), as C-contiguous NumPy arrays (copies).

    >>> import chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(3, 2))
    >>> bool((to_torch_state_dict(net)["0.weight"] == net[0].weight.data.T).all())
    True
    """
    seq = _sequential(model, "to_torch_state_dict")
    out = {}
    for position, layer in _layers(seq):
        for key, array in layer.state_dict().items():
            if isinstance(layer, nn.Linear) and key == "weight":
                array = array.T  # (in, out) -> PyTorch's (out, in)
            out[f"{position}.{key}"] = np.array(contiguous(array))  # a copy, never a view of the model's
    return out


def save_torch(model: Classifier | nn.Sequential, path: str | os.PathLike) -> None:
    """Write ``to_torch_state_dict(model)`` to a safetensors file (atomically, metadata
    ``{"format": "pt"}``), which ``torch_net.load_state_dict(load_file(path), strict=True)``
    accepts (``load_file`` from ``safetensors.torch``) for ``torch_net = to_torch(model)``
    or the same layers built by hand.

    >>> import os, tempfile, chainrule as cr
    >>> path = os.path.join(tempfile.mkdtemp(), "net.safetensors")
    >>> save_torch(cr.nn.Sequential(cr.nn.Linear(3, 2), cr.nn.ReLU()), path)
    >>> from safetensors.numpy import load_file
    >>> {k: v.shape for k, v in load_file(path).items()}
    {'0.bias': (2,), '0.weight': (2, 3)}
    """
    write_safetensors(to_torch_state_dict(model), path, {"format": "pt"})


def to_torch(model: Classifier | nn.Sequential):
    """A ``torch.nn.Sequential`` with the same layers, options, weights and buffers (copies),
    and each layer in the same train/eval mode: the same outputs as the chainrule network.

    >>> import numpy as np, torch, chainrule as cr  # doctest: +SKIP
    >>> net = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.Tanh())  # doctest: +SKIP
    >>> to_torch(net)  # doctest: +SKIP
    Sequential(
      (0): Linear(in_features=4, out_features=3, bias=True)
      (1): Tanh()
    )
    """
    seq = _sequential(model, "to_torch")
    state = to_torch_state_dict(seq)  # checks every layer before torch is imported
    torch = _torch("to_torch")
    from collections import OrderedDict

    def build(chain: nn.Sequential):
        children = OrderedDict()
        for name, m in chain.named_children():
            if type(m) is nn.Sequential:
                children[name] = build(m)
                continue
            cls, options = _TO_TORCH[type(m)]
            options = options(m)
            if cls in _WITH_WEIGHTS:  # built without drawing initial values; load_state_dict fills them
                weights = [a for a in m.state_dict().values() if a.dtype.kind == "f"]
                dtype = getattr(torch, np.dtype(weights[0].dtype if weights else np.float32).name)
                children[name] = torch.nn.utils.skip_init(getattr(torch.nn, cls), **options, dtype=dtype)
            else:
                children[name] = getattr(torch.nn, cls)(**options)
            children[name].train(m.training)
        built = torch.nn.Sequential(children)
        built.training = chain.training  # its own flag only: each child's was set above
        return built

    net = build(seq)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    return net


def from_torch(module, classes: list | None = None, num_features: int | None = None):
    """A ``chainrule.nn.Sequential`` with the same layers, options, weights and buffers (copies)
    as the ``torch.nn.Sequential`` ``module``; each layer in the same train/eval mode. Any
    other layer is refused by an error that names its position and type.

    With ``classes`` (the class names, one per output), a ``chainrule.Classifier`` instead,
    for a network a chainrule SPEC describes (Linear layers with tanh, relu, sigmoid or
    leakyrelu between them, optionally dropout) so that ``chainrule.save``/``load`` keep it;
    ``num_features``, when given, must match the first Linear layer's inputs.

    >>> import torch, chainrule as cr  # doctest: +SKIP
    >>> net = from_torch(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()))  # doctest: +SKIP
    >>> net[0].weight.shape  # doctest: +SKIP
    (4, 3)
    """
    torch = _torch("from_torch")
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"from_torch: module must be a torch.nn.Sequential, got {type(module).__name__}")
    net = _convert(torch, module, "")
    state, owners = {}, dict(net.named_modules())
    for key, t in module.state_dict().items():
        array = t.detach().cpu().numpy()
        owner = owners[key.rpartition(".")[0]]
        state[key] = array.T if isinstance(owner, nn.Linear) and key.endswith(".weight") else array
    net.load_state_dict(state, strict=True)  # copied into chainrule's own C-contiguous arrays
    if classes is None:
        if num_features is not None:
            raise ValueError("from_torch: num_features is for a Classifier; give classes too")
        return net
    return _classifier(net, list(classes), num_features)


def _convert(torch, module, prefix: str) -> nn.Sequential:
    children = {}
    for name, m in module.named_children():
        position = f"{prefix}{name}"
        if type(m) is torch.nn.Sequential:
            children[name] = _convert(torch, m, f"{position}.")
            continue
        cls = type(m).__name__
        if cls not in _FROM_TORCH or type(m) is not getattr(torch.nn, cls):
            raise TypeError(f"from_torch: layer {position} ({type(m).__module__}.{type(m).__qualname__}) has no "
                            f"chainrule equivalent; supported: Sequential, {', '.join(_FROM_TORCH)}")
        try:
            children[name] = _from_torch_layer(cls, m)
        except ValueError as e:
            raise ValueError(f"from_torch: layer {position} ({cls}): {e}") from None
        children[name].train(m.training)
    net = nn.Sequential(children)
    object.__setattr__(net, "training", module.training)
    return net


def _classifier(net: nn.Sequential, classes: list, num_features: int | None) -> Classifier:
    layers = list(net)
    if not layers:
        raise ValueError("from_torch: a Classifier needs layers; the Sequential is empty")
    spec_parts, i = [], 0
    while i < len(layers) - 1:
        linear, act = layers[i], layers[i + 1]
        name = next((k for k, c in ACTIVATIONS.items() if type(act) is c), None)
        if type(linear) is not nn.Linear or linear.bias is None:
            raise ValueError(_no_spec(layers, i))
        if name is None or (name == "leakyrelu" and act.negative_slope != nn.LeakyReLU().negative_slope):
            raise ValueError(_no_spec(layers, i + 1))
        spec_parts.append(f"{linear.out_features}{name}")
        i += 2
        if i < len(layers) - 1 and type(layers[i]) is nn.Dropout:
            spec_parts.append(f"dropout{layers[i].p!r}")
            i += 1
    last = layers[-1] if layers else None
    if type(last) is not nn.Linear or last.bias is None or i != len(layers) - 1:
        raise ValueError(_no_spec(layers, len(layers) - 1))
    spec = "-".join(spec_parts) or "linear"
    linears = [m for m in layers if type(m) is nn.Linear]
    for k, (a, b) in enumerate(zip(linears, linears[1:])):
        if a.out_features != b.in_features:
            raise ValueError(f"from_torch: Linear layer {k} has {a.out_features} outputs but the next one takes "
                             f"{b.in_features} inputs")
    inputs = layers[0].in_features
    if num_features is not None and num_features != inputs:
        raise ValueError(f"from_torch: num_features is {num_features} but the first Linear layer takes {inputs}")
    if last.out_features != len(classes):
        raise ValueError(f"from_torch: {len(classes)} classes given but the last Linear layer has "
                         f"{last.out_features} outputs")
    try:
        parse_spec(spec, inputs, len(classes))
    except SpecError as e:
        raise ValueError(f"from_torch: the network is not one a chainrule SPEC describes ({e})") from None
    # build_mlp's names ("0", "1", ...), so that chainrule.load rebuilds the same network from the SPEC
    return Classifier(nn.Sequential(*layers), spec, inputs, classes)


def _no_spec(layers: list, i: int) -> str:
    found = " ".join(type(m).__name__ for m in layers) or "no layers"
    return (f"from_torch: a Classifier needs a network a chainrule SPEC describes (Linear layers with bias, "
            f"Tanh, ReLU, Sigmoid or LeakyReLU(0.01) between them, optionally Dropout after each; "
            f"the last one Linear); layer {i} breaks it in: {found}. Leave out classes to get the "
            f"Sequential")
