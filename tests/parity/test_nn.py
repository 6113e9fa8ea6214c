"""PyTorch parity of chainrule.nn: layers, losses, containers and Module, run in torch and in
chainrule with the same weights (torch's copied in, Linear's transposed); forward outputs, input
and parameter gradients, running statistics and state_dict keys compared."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

from .conftest import (
    Idiom, chainrule_grads_in_torch_layout, run_idiom, text, torch_grads, torch_state_to_chainrule,
)

rng = np.random.default_rng(11)


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


X = f32(5, 4)
X3 = f32(4, 3, 6)
LABELS = np.array([0, 2, 1, 2, 0])
W1, B1 = f32(6, 4, scale=0.5), f32(6, scale=0.1)  # torch layout (out, in)
W2, B2 = f32(3, 6, scale=0.5), f32(3, scale=0.1)
MLP = {"x": X, "0.weight": W1, "0.bias": B1, "2.weight": W2, "2.bias": B2}


# --------------------------------------------------------------- helpers
def _load(lib, module, arrays):
    """Copy torch-layout arrays (named as in state_dict) into a module of either library."""
    state = {k: v for k, v in arrays.items() if "." in k or k in dict(module.named_parameters())}
    if lib.__name__ == "torch":
        with lib.no_grad():
            own = dict(module.state_dict(keep_vars=True))
            for k, v in state.items():
                own[k].copy_(lib.from_numpy(np.ascontiguousarray(v)))
    else:
        module.load_state_dict(torch_state_to_chainrule(module, state), strict=False)
    return module


def _grads(lib, module):
    return torch_grads(module) if lib.__name__ == "torch" else chainrule_grads_in_torch_layout(module)


def _leaf(lib, x):
    return lib.tensor(x, requires_grad=True)


def _layer_idiom(name, make, inputs, rtol=1e-5, atol=1e-6):
    """Forward, the input gradient and every parameter gradient of one layer, after
    backward of a fixed weighting of the outputs (so every output element matters)."""

    def run(lib, x, **params):
        layer = _load(lib, make(lib), params)
        xt = _leaf(lib, x) if x.dtype.kind == "f" else lib.tensor(x)
        out = layer(xt)
        seed = np.cos(np.arange(out.numel()).reshape(tuple(out.shape))).astype(np.float32)
        (out * lib.tensor(seed)).sum().backward()
        return [out, xt.grad if x.dtype.kind == "f" else np.zeros(()), _grads(lib, layer)]

    return Idiom(name, run, run, rtol, atol), inputs


def _loss_idiom(name, make, z, target, rtol=1e-5, atol=1e-6):
    """The loss (or losses) and the gradient of the logits/probabilities."""

    def run(lib, z, target):
        zt = _leaf(lib, z)
        t = lib.tensor(target) if lib.__name__ == "torch" else target
        loss = make(lib)(zt, t)
        loss.backward(lib.ones(tuple(loss.shape)) if loss.ndim else None)
        return [loss, zt.grad]

    return Idiom(name, run, run, rtol, atol), {"z": z, "target": target}


# ---------------------------------------------------------------- layers
def _mlp(lib, act="Tanh"):
    return lib.nn.Sequential(lib.nn.Linear(4, 6), getattr(lib.nn, act)(), lib.nn.Linear(6, 3))


CASES = [
    _layer_idiom("Linear", lambda lib: lib.nn.Linear(4, 6), {"x": X, "weight": W1, "bias": B1}),
    _layer_idiom("Linear_no_bias", lambda lib: lib.nn.Linear(4, 6, bias=False), {"x": X, "weight": W1}),
    _layer_idiom("Sequential_MLP", _mlp, MLP),
    _layer_idiom("Sequential_GELU_ELU", lambda lib: lib.nn.Sequential(
        lib.nn.Linear(4, 6), lib.nn.GELU(), lib.nn.Linear(6, 3), lib.nn.ELU(alpha=0.5)), MLP),
    _layer_idiom("Flatten", lambda lib: lib.nn.Flatten(), {"x": X3}),
    _layer_idiom("Flatten_dims", lambda lib: lib.nn.Flatten(0, 1), {"x": X3}),
    _layer_idiom("Identity", lambda lib: lib.nn.Identity(3, unused=True), {"x": X}),
    _layer_idiom("GELU", lambda lib: lib.nn.GELU(), {"x": f32(6, 5, scale=3)}),
    _layer_idiom("GELU_tanh", lambda lib: lib.nn.GELU(approximate="tanh"), {"x": f32(6, 5, scale=3)}),
    _layer_idiom("ELU", lambda lib: lib.nn.ELU(alpha=0.7), {"x": f32(6, 5, scale=2)}),
    _layer_idiom("Softplus", lambda lib: lib.nn.Softplus(), {"x": f32(6, 5, scale=10)}),
    _layer_idiom("Softplus_beta_threshold", lambda lib: lib.nn.Softplus(beta=2.0, threshold=3.0),
                 {"x": f32(6, 5, scale=3)}),
    _layer_idiom("LayerNorm", lambda lib: lib.nn.LayerNorm(4), {"x": X, "weight": f32(4) + 1, "bias": f32(4)}),
    _layer_idiom("LayerNorm_2d_no_affine", lambda lib: lib.nn.LayerNorm((3, 6), elementwise_affine=False),
                 {"x": X3}),
    _layer_idiom("BatchNorm1d_train", lambda lib: lib.nn.BatchNorm1d(4),
                 {"x": X, "weight": f32(4) + 1, "bias": f32(4)}, atol=2e-6),
    _layer_idiom("BatchNorm1d_3d_no_affine", lambda lib: lib.nn.BatchNorm1d(3, affine=False), {"x": X3}, atol=2e-6),
    _layer_idiom("Embedding_padding", lambda lib: lib.nn.Embedding(6, 3, padding_idx=2),
                 {"x": np.array([[0, 2, 5], [5, 1, 2]]), "weight": f32(6, 3)}),
]


def _batchnorm_steps(lib, x, target, fprop=False):
    """Three SGD steps of Linear → BatchNorm1d → ReLU → Linear in train mode, then eval:
    outputs, running statistics, the step count and the weights after training."""
    net = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.BatchNorm1d(6, momentum=0.2), lib.nn.ReLU(),
                            lib.nn.Linear(6, 3))
    _load(lib, net, {"0.weight": W1, "0.bias": B1, "3.weight": W2, "3.bias": B2})
    opt = lib.optim.SGD(net.parameters(), lr=0.1)
    loss_fn = lib.nn.CrossEntropyLoss()
    t = lib.tensor(target) if lib.__name__ == "torch" else target
    for step in range(3):
        opt.zero_grad()
        batch = x[step:step + 3]
        if fprop:  # chainrule's exercise path: the same Functions, no tape
            loss_fn.fprop(net.fprop(batch), target[step:step + 3])
            net.bprop(loss_fn.bprop(), input_grad=False)
        else:
            loss_fn(net(lib.tensor(batch)), t[step:step + 3]).backward()
        opt.step()
    bn = net[1]
    stats = [bn.running_mean, bn.running_var, bn.num_batches_tracked]
    net.eval()
    out = net(lib.tensor(x))
    weights = {k: v for k, v in net.state_dict().items() if not k.startswith("1.running")}
    if lib.__name__ != "torch":
        weights = {k: (v.T if k in ("0.weight", "3.weight") else v) for k, v in weights.items()}
    return [out, *stats, weights]


CASES += [
    (Idiom("BatchNorm1d_train_steps_then_eval", _batchnorm_steps, _batchnorm_steps, 1e-5, 2e-6),
     {"x": X, "target": LABELS}),
    (Idiom("BatchNorm1d_train_steps_fprop_bprop", _batchnorm_steps,
           lambda lib, **kw: _batchnorm_steps(lib, fprop=True, **kw), 1e-5, 2e-6), {"x": X, "target": LABELS}),
    (Idiom("BatchNorm1d_cumulative_momentum_None",
           lambda lib, x: [(bn := lib.nn.BatchNorm1d(4, momentum=None))(lib.tensor(x[:3])) * 0 + 1,
                           bn(lib.tensor(x[2:])), bn.running_mean, bn.running_var],
           lambda lib, x: [(bn := lib.nn.BatchNorm1d(4, momentum=None))(lib.tensor(x[:3])) * 0 + 1,
                           bn(lib.tensor(x[2:])), bn.running_mean, bn.running_var]), {"x": X}),
]

# ---------------------------------------------------------------- losses
Z = f32(5, 3, scale=2)
P = (1 / (1 + np.exp(-Z))).astype(np.float32)
P_EDGES = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 0.999]], np.float32)
Y_EDGES = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]], np.float32)
SOFT = rng.dirichlet(np.ones(3), size=5).astype(np.float32)
BINARY = (rng.random((5, 3)) > 0.5).astype(np.float32)
REAL = f32(5, 3, scale=2)
CLASS_W = np.array([0.2, 1.5, 3.0], np.float32)


def _w(lib, w):
    return lib.tensor(w) if lib.__name__ == "torch" else w


CASES += [
    _loss_idiom("CrossEntropyLoss", lambda lib: lib.nn.CrossEntropyLoss(), Z, LABELS),
    _loss_idiom("CrossEntropyLoss_sum", lambda lib: lib.nn.CrossEntropyLoss(reduction="sum"), Z, LABELS),
    _loss_idiom("CrossEntropyLoss_none", lambda lib: lib.nn.CrossEntropyLoss(reduction="none"), Z, LABELS),
    _loss_idiom("CrossEntropyLoss_label_smoothing", lambda lib: lib.nn.CrossEntropyLoss(label_smoothing=0.1), Z,
                LABELS),
    _loss_idiom("CrossEntropyLoss_weight_ignore_index",
                lambda lib: lib.nn.CrossEntropyLoss(weight=_w(lib, CLASS_W), ignore_index=1), Z, LABELS),
    _loss_idiom("CrossEntropyLoss_weight_ignore_smoothing_none",
                lambda lib: lib.nn.CrossEntropyLoss(weight=_w(lib, CLASS_W), ignore_index=0, label_smoothing=0.3,
                                                    reduction="none"), Z, LABELS),
    _loss_idiom("CrossEntropyLoss_probabilities", lambda lib: lib.nn.CrossEntropyLoss(), Z, SOFT),
    _loss_idiom("CrossEntropyLoss_probabilities_weight_smoothing",
                lambda lib: lib.nn.CrossEntropyLoss(weight=_w(lib, CLASS_W), label_smoothing=0.2), Z, SOFT),
    _loss_idiom("NLLLoss_weight_ignore_index",
                lambda lib: lib.nn.NLLLoss(weight=_w(lib, CLASS_W), ignore_index=2),
                (Z - np.log(np.exp(Z).sum(1, keepdims=True))).astype(np.float32), LABELS),
    _loss_idiom("BCELoss", lambda lib: lib.nn.BCELoss(), P, SOFT),
    _loss_idiom("BCELoss_log_clamped_at_minus_100", lambda lib: lib.nn.BCELoss(reduction="none"), P_EDGES, Y_EDGES),
    _loss_idiom("BCELoss_weight_sum", lambda lib: lib.nn.BCELoss(weight=_w(lib, CLASS_W), reduction="sum"), P,
                BINARY),
    _loss_idiom("BCEWithLogitsLoss_none", lambda lib: lib.nn.BCEWithLogitsLoss(reduction="none"), Z, BINARY),
    _loss_idiom("BCEWithLogitsLoss_soft_weight_pos_weight",
                lambda lib: lib.nn.BCEWithLogitsLoss(weight=_w(lib, CLASS_W), pos_weight=_w(lib, CLASS_W[::-1].copy())),
                Z, SOFT),
    _loss_idiom("MSELoss_none", lambda lib: lib.nn.MSELoss(reduction="none"), Z, REAL),
    _loss_idiom("L1Loss", lambda lib: lib.nn.L1Loss(), Z, REAL),
    _loss_idiom("L1Loss_none", lambda lib: lib.nn.L1Loss(reduction="none"), Z, REAL),
    _loss_idiom("HuberLoss", lambda lib: lib.nn.HuberLoss(), Z, REAL),
    _loss_idiom("HuberLoss_delta_sum", lambda lib: lib.nn.HuberLoss(reduction="sum", delta=0.5), Z, REAL),
]


# ------------------------------------------------------ Module and containers
def _named(lib):
    return lib.nn.Sequential(OrderedDict([("fc1", lib.nn.Linear(4, 6)), ("act", lib.nn.Tanh()),
                                          ("fc2", lib.nn.Linear(6, 3))]))


def _keys_and_names(lib, x):
    net = lib.nn.Sequential(_named(lib), lib.nn.BatchNorm1d(3))
    net.add_module("head", lib.nn.Linear(3, 2))
    net.register_buffer("steps", lib.zeros(1) if lib.__name__ == "torch" else lib.zeros(1).numpy())
    return [text(net.state_dict()), text(n for n, _ in net.named_parameters()), text(n for n, _ in net.named_buffers()),
            text(n for n, _ in net.named_modules()), len(list(net.modules())), len(list(net.children())),
            len(list(net.parameters()))]


def _strict_false(lib, x):
    net = _mlp(lib)
    state = dict(net.state_dict())
    state.pop("2.bias")
    state["extra"] = state["0.bias"]
    missing, unexpected = net.load_state_dict(state, strict=False)
    result = net.load_state_dict(state, strict=False)
    return [text(missing), text(unexpected), text(result.missing_keys), text(result.unexpected_keys)]


def _module_dict(lib, x):
    heads = lib.nn.ModuleDict({"a": lib.nn.Linear(4, 2), "b": lib.nn.Tanh()})
    heads["c"] = lib.nn.Linear(2, 1)
    del heads["b"]
    return [text(heads.keys()), text(n for n, _ in heads.named_parameters()), len(heads), "c" in heads]


def _freeze_and_apply(lib, x, **params):
    net = _load(lib, _mlp(lib), params)
    net[0].requires_grad_(False)

    def shift(m):
        if isinstance(m, lib.nn.Linear):
            with lib.no_grad():
                m.bias += 1.0

    net.apply(shift)
    out = net(lib.tensor(x))
    out.sum().backward()
    grads = _grads(lib, net)
    return [out, [grads[k] is None for k in ("0.weight", "0.bias", "2.weight", "2.bias")],
            grads["2.weight"], [p.requires_grad for p in net.parameters()]]


def _slice_and_to_cpu(lib, x, **params):
    net = _load(lib, _named(lib), params).to("cpu")
    head = net[:2]
    return [head(lib.tensor(x)), text(head.state_dict()), isinstance(head, lib.nn.Sequential)]


def _train_eval(lib, x):
    net = lib.nn.Sequential(lib.nn.Linear(4, 4), lib.nn.Sequential(lib.nn.Dropout(0.5), lib.nn.BatchNorm1d(4)))
    flags = [m.training for m in net.eval().modules()]
    return [flags, [m.training for m in net.train().modules()], net(lib.tensor(x)).shape[1]]


def _generator(lib, x):
    params = _mlp(lib).parameters()
    first = next(iter(params))
    return [text([type(params).__name__]), tuple(first.shape)[::-1] if lib.__name__ == "torch" else tuple(first.shape),
            len(list(params))]  # the generator is partly consumed: 3 left


def _absent_parameters_read_none(lib, x):
    """A layer built without a bias (or affine, or running statistics) has that attribute as
    None, as PyTorch's: ``if m.bias is not None:`` in an init function."""
    layers = [lib.nn.Linear(4, 3, bias=False), lib.nn.LayerNorm(4, bias=False),
              lib.nn.LayerNorm(4, elementwise_affine=False), lib.nn.BatchNorm1d(4, affine=False),
              lib.nn.BatchNorm1d(4, track_running_stats=False)]
    names = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    return [[[hasattr(layer, n), getattr(layer, n, 0) is None] for n in names] for layer in layers] + [
        text(k for layer in layers for k in layer.state_dict()), [layer(lib.tensor(x)).shape[-1] for layer in layers]]


def _init_with_apply(lib, x):
    """The usual init function passed to ``apply``: nn.init by module type, bias only if there is one."""
    net = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.ReLU(), lib.nn.Linear(6, 3, bias=False), lib.nn.LayerNorm(3))

    def init(m):
        if isinstance(m, lib.nn.Linear):
            lib.nn.init.constant_(m.weight, 0.1)
            if m.bias is not None:
                lib.nn.init.zeros_(m.bias)
        elif isinstance(m, lib.nn.LayerNorm):
            lib.nn.init.ones_(m.weight)
            lib.nn.init.constant_(m.bias, 0.5)

    net.apply(init)
    gains = [lib.nn.init.calculate_gain(n) for n in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu")]
    return [net(lib.tensor(x)), np.array(gains), lib.nn.init.calculate_gain("leaky_relu", 0.2)]


def _clip_gradients(lib, x, **params):
    """``total = clip_grad_norm_(net.parameters(), 1.0)`` then ``total.item()`` (a tensor, as
    PyTorch's), and ``clip_grad_value_``."""
    net = _load(lib, _mlp(lib), params)
    (net(lib.tensor(x)) ** 2).sum().backward()
    total = lib.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    clipped = _grads(lib, net)
    lib.nn.utils.clip_grad_value_(net.parameters(), 0.05)
    return [total.item(), dtype_of(total), clipped, _grads(lib, net)]


def _forward_with_options(lib, x, **params):
    """A custom module whose forward takes more than the input: a flag, None, a keyword tensor;
    calling the module passes them on as they are (PyTorch's ``__call__``)."""

    class Gated(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = _mlp(lib)

        def forward(self, x, residual=False, mask=None, *, gate=None):
            h = self.mlp(x)
            if gate is not None:
                h = h * gate
            if mask is not None:
                h = h * mask
            return h + 1 if residual else h

    net = Gated()
    _load(lib, net.mlp, params)
    xt = lib.tensor(x)
    gate = lib.full((3,), 0.5)
    return [net(xt), net(xt, True), net(xt, False, None, gate=gate), net(xt, mask=lib.tensor(x[:, :3] > 0).float())]


def dtype_of(t):
    d = np.asarray(t.detach().numpy() if hasattr(t, "detach") else t).dtype
    return np.array([ord(d.kind), d.itemsize])


NAMED = {"x": X, "fc1.weight": W1, "fc1.bias": B1, "fc2.weight": W2, "fc2.bias": B2}
CASES += [
    (Idiom("state_dict_and_module_names", _keys_and_names, _keys_and_names), {"x": X}),
    (Idiom("load_state_dict_strict_False", _strict_false, _strict_false), {"x": X}),
    (Idiom("ModuleDict", _module_dict, _module_dict), {"x": X}),
    (Idiom("requires_grad_False_and_apply", _freeze_and_apply, _freeze_and_apply), MLP),
    (Idiom("Sequential_OrderedDict_slice_to_cpu", _slice_and_to_cpu, _slice_and_to_cpu), NAMED),
    (Idiom("train_eval_reach_descendants", _train_eval, _train_eval), {"x": X}),
    (Idiom("parameters_is_a_generator", _generator, _generator), {"x": X}),
    (Idiom("absent_bias_affine_stats_read_None", _absent_parameters_read_none, _absent_parameters_read_none),
     {"x": X}),
    (Idiom("init_function_with_apply", _init_with_apply, _init_with_apply), {"x": X}),
    (Idiom("clip_grad_norm_returns_a_tensor_and_clip_grad_value_", _clip_gradients, _clip_gradients), MLP),
    (Idiom("forward_with_flags_None_and_keywords", _forward_with_options, _forward_with_options), MLP),
]


@pytest.mark.parametrize("idiom,inputs", CASES, ids=[c[0].name for c in CASES])
def test_nn_idiom_matches_torch(idiom, inputs):
    run_idiom(idiom, inputs)


def test_the_catalogue_has_at_least_25_idioms_with_unique_names():
    names = [c[0].name for c in CASES]
    assert len(names) >= 25 and len(set(names)) == len(names)
