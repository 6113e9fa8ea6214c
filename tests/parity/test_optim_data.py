"""Parity catalogue, optim / lr_scheduler / data / saving: each idiom as a PyTorch user writes it,
run with ``m`` = torch and then ``m`` = chainrule on the same weights, gradients and data.
Optimizers and schedules are compared step by step (weights, learning rates, momentum), data
loaders batch by batch, and state_dicts and files after a round trip."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from .conftest import Idiom, run_idiom, to_numpy

STEPS = 6
_rng = np.random.default_rng(7)
INPUTS = {
    "w": _rng.standard_normal((3, 4)).astype(np.float32),
    "b": _rng.standard_normal(4).astype(np.float32),
    "gw": _rng.standard_normal((12, 3, 4)).astype(np.float32),  # up to 12 steps
    "gb": _rng.standard_normal((12, 4)).astype(np.float32),
    "x": _rng.standard_normal((10, 3)).astype(np.float32),
    "y": np.arange(10, dtype=np.int64) % 3,
    "metrics": np.array([1.0, 0.9, 0.95, 0.93, 0.92, 0.91, 0.97, 0.5, 0.6, 0.61, 0.62, 0.63]),
}


def same(name, fn, **tolerance):
    """One idiom, written once, for both libraries."""
    return Idiom(name, fn, fn, **tolerance)


def is_torch(m) -> bool:
    return m.__name__ == "torch"


def params(m, w, b):
    return [m.nn.Parameter(m.tensor(w)), m.nn.Parameter(m.tensor(b))]


def set_grad(m, p, g):
    p.grad = m.tensor(g) if is_torch(m) else g


def data(m):
    """Where DataLoader and TensorDataset live: torch.utils.data, chainrule.data."""
    return m.utils.data if is_torch(m) else m.data


def copy(p):
    return np.array(to_numpy(p), copy=True)


def train(make_opt, make_sched=None, metric=False, steps=STEPS):
    """An idiom: ``steps`` optimizer steps from weights (w, b) with gradients (gw, gb), the
    schedule stepped after each; returns the weights, each group's lr (and momentum or
    beta1 when set) after every step."""

    def fn(m, w, b, gw, gb, metrics, **_):
        ps = params(m, w, b)
        opt = make_opt(m, ps)
        sched = make_sched(m, opt) if make_sched else None
        out = []
        for t in range(steps):
            opt.zero_grad()
            set_grad(m, ps[0], gw[t])
            set_grad(m, ps[1], gb[t])
            opt.step()
            if sched is not None and metric:
                sched.step(float(metrics[t]))
            elif sched is not None:
                sched.step()
            groups = opt.param_groups
            out.append([copy(p) for p in ps] + [[g["lr"] for g in groups]]
                       + [[g["momentum"] if "momentum" in g else g["betas"][0] for g in groups]])
        if sched is not None:
            out.append(sched.get_last_lr())
        return out

    return fn


def sgd_momentum(m, ps):
    return m.optim.SGD(ps, lr=0.1, momentum=0.9)


def lrs(m):
    return m.optim.lr_scheduler


OPTIMIZERS = [
    same("SGD", train(lambda m, ps: m.optim.SGD(ps, lr=0.1))),
    same("SGD momentum", train(sgd_momentum)),
    same("SGD nesterov weight_decay", train(lambda m, ps: m.optim.SGD(ps, lr=0.1, momentum=0.8, nesterov=True,
                                                                       weight_decay=0.01))),
    same("SGD dampening", train(lambda m, ps: m.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.3))),
    same("SGD positional lr, momentum, dampening, weight_decay", train(lambda m, ps: m.optim.SGD(ps, 0.1, 0.9, 0.1,
                                                                                                   0.01))),
    same("Adam", train(lambda m, ps: m.optim.Adam(ps, lr=0.01))),
    same("Adam betas eps weight_decay", train(lambda m, ps: m.optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6,
                                                                         weight_decay=0.1))),
    same("AdamW", train(lambda m, ps: m.optim.AdamW(ps, lr=0.01))),
    same("RMSprop", train(lambda m, ps: m.optim.RMSprop(ps, lr=0.01))),
    same("RMSprop momentum centered weight_decay", train(lambda m, ps: m.optim.RMSprop(
        ps, lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.1))),
    same("optimizer over a generator", train(lambda m, ps: m.optim.SGD((p for p in ps), lr=0.1, momentum=0.9))),
    same("SGD param groups", train(lambda m, ps: m.optim.SGD(
        [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.01, "momentum": 0.5}], lr=0.1, momentum=0.9))),
    same("Adam param groups", train(lambda m, ps: m.optim.Adam(
        [{"params": [ps[0]], "betas": (0.5, 0.9)}, {"params": [ps[1]], "weight_decay": 0.1}], lr=0.05))),
    same("RMSprop param groups", train(lambda m, ps: m.optim.RMSprop(
        [{"params": [ps[0]], "centered": True}, {"params": [ps[1]], "lr": 0.001}], lr=0.01))),
]


def hand_made_tensors(make_opt):
    """An optimizer over plain leaf tensors (``torch.tensor(..., requires_grad=True)``, no
    nn.Parameter), a regression written by hand; a tensor computed from others is refused."""

    def fn(m, w, b, x, **_):
        wt, bt = m.tensor(w, requires_grad=True), m.tensor(b, requires_grad=True)
        target = m.tensor(np.linspace(-1, 1, 40, dtype=np.float32).reshape(10, 4))
        opt = make_opt(m, [wt, bt])
        losses = []
        for _ in range(STEPS):
            opt.zero_grad()
            loss = ((m.tensor(x) @ wt + bt - target) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        try:
            make_opt(m, [wt * 2])
            refused = False
        except ValueError:
            refused = True
        return [wt, bt, np.array(losses), refused]

    return fn


def add_param_group_midway(m, w, b, gw, gb, **_):
    ps = params(m, w, b)
    opt = m.optim.SGD([ps[0]], lr=0.1, momentum=0.9)
    out = []
    for t in range(STEPS):
        if t == 2:
            opt.add_param_group({"params": [ps[1]], "lr": 0.5})
        opt.zero_grad()
        set_grad(m, ps[0], gw[t])
        if t >= 2:
            set_grad(m, ps[1], gb[t])
        opt.step()
        out.append([copy(p) for p in ps])
    return out + [[g["lr"] for g in opt.param_groups], [g["momentum"] for g in opt.param_groups]]


def zero_grad_skips(set_to_none):
    """A parameter without a new gradient after zero_grad(): skipped (None), or stepped on zeros."""

    def fn(m, w, b, gw, gb, **_):
        ps = params(m, w, b)
        opt = m.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1)
        out = []
        for t in range(STEPS):
            opt.zero_grad(set_to_none=set_to_none)
            set_grad(m, ps[0], gw[t])
            if t % 2 == 0:
                set_grad(m, ps[1], gb[t])
            opt.step()
            out.append([copy(p) for p in ps])
        return out

    return fn


GROUPS = [
    same("SGD over plain tensors", hand_made_tensors(sgd_momentum)),
    same("Adam over plain tensors", hand_made_tensors(lambda m, ps: m.optim.Adam(ps, lr=0.05))),
    same("add_param_group", add_param_group_midway),
    same("zero_grad() skips an unused parameter", zero_grad_skips(True)),
    same("zero_grad(set_to_none=False) steps on zeros", zero_grad_skips(False)),
]

SCHEDULERS = [
    same("StepLR", train(sgd_momentum, lambda m, o: lrs(m).StepLR(o, step_size=2, gamma=0.5))),
    same("ExponentialLR", train(sgd_momentum, lambda m, o: lrs(m).ExponentialLR(o, gamma=0.8))),
    same("LambdaLR", train(sgd_momentum, lambda m, o: lrs(m).LambdaLR(o, lambda epoch: 1 / (1 + epoch)))),
    same("LambdaLR per group", train(
        lambda m, ps: m.optim.SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.3}], lr=0.1),
        lambda m, o: lrs(m).LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1 + e]))),
    same("ConstantLR", train(sgd_momentum, lambda m, o: lrs(m).ConstantLR(o, factor=0.25, total_iters=3))),
    same("CosineAnnealingLR", train(sgd_momentum, lambda m, o: lrs(m).CosineAnnealingLR(o, T_max=STEPS,
                                                                                        eta_min=0.01))),
    same("OneCycleLR with SGD", train(sgd_momentum, lambda m, o: lrs(m).OneCycleLR(o, max_lr=0.5, total_steps=STEPS))),
    same("OneCycleLR linear three_phase with Adam", train(
        lambda m, ps: m.optim.Adam(ps, lr=0.01),
        lambda m, o: lrs(m).OneCycleLR(o, max_lr=[0.05], epochs=2, steps_per_epoch=5, pct_start=0.25,
                                       anneal_strategy="linear", three_phase=True), steps=10)),
    same("ReduceLROnPlateau", train(sgd_momentum, lambda m, o: lrs(m).ReduceLROnPlateau(o, factor=0.5, patience=1),
                                    metric=True, steps=12)),
    same("ReduceLROnPlateau max abs cooldown min_lr", train(
        sgd_momentum, lambda m, o: lrs(m).ReduceLROnPlateau(o, mode="max", factor=0.5, patience=0, threshold=0.01,
                                                            threshold_mode="abs", cooldown=1, min_lr=0.02),
        metric=True, steps=12)),
]


def optimizer_state_dict(make_opt, names):
    """After three steps: the state_dict's layout (param indices per group, each parameter's
    buffers by PyTorch's names) and the options that both libraries have."""

    def fn(m, w, b, gw, gb, **_):
        ps = params(m, w, b)
        opt = make_opt(m, ps)
        for t in range(3):
            opt.zero_grad()
            set_grad(m, ps[0], gw[t])
            set_grad(m, ps[1], gb[t])
            opt.step()
        sd = opt.state_dict()
        state = {str(i): {k: copy(v) for k, v in s.items()} for i, s in sd["state"].items()}
        groups = [{k: g[k] for k in ("params", *names)} for g in sd["param_groups"]]
        return {"state": state, "param_groups": groups}

    return fn


def resume_from_state_dict(make_opt):
    """Three steps, a new optimizer loaded from state_dict(), three more steps: the same weights as
    six uninterrupted steps (torch's side runs uninterrupted)."""

    def fn(m, w, b, gw, gb, **_):
        ps = params(m, w, b)
        opt = make_opt(m, ps)
        for t in range(STEPS):
            if t == 3 and not is_torch(m):
                state = opt.state_dict()
                opt = make_opt(m, ps)
                opt.load_state_dict(state)
            opt.zero_grad()
            set_grad(m, ps[0], gw[t])
            set_grad(m, ps[1], gb[t])
            opt.step()
        return [copy(p) for p in ps]

    return fn


def scheduler_state_dict(m, w, b, **_):
    """A schedule continued from its state_dict, with its optimizer's (PyTorch's schedules
    start from the optimizer's current lr, so both are restored)."""
    opt = m.optim.SGD(params(m, w, b), lr=0.1)
    sched = lrs(m).StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        opt.step()
        sched.step()
    fresh = lrs(m).StepLR(m.optim.SGD(params(m, w, b), lr=0.1), step_size=2, gamma=0.5)
    fresh.optimizer.load_state_dict(opt.state_dict())
    fresh.load_state_dict(sched.state_dict())
    fresh.optimizer.step()
    fresh.step()
    sd = sched.state_dict()
    return [sd["last_epoch"], sd["base_lrs"], sd["step_size"], sd["gamma"], fresh.get_last_lr(), fresh.last_epoch]


STATE_DICTS = [
    same("SGD state_dict", optimizer_state_dict(
        lambda m, ps: m.optim.SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.2}], lr=0.1, momentum=0.9),
        ("lr", "momentum", "dampening", "weight_decay", "nesterov"))),
    same("Adam state_dict", optimizer_state_dict(lambda m, ps: m.optim.Adam(ps, lr=0.01),
                                                 ("lr", "betas", "eps", "weight_decay"))),
    same("RMSprop state_dict", optimizer_state_dict(lambda m, ps: m.optim.RMSprop(ps, momentum=0.5, centered=True),
                                                    ("lr", "alpha", "eps", "weight_decay", "momentum", "centered"))),
    same("Adam load_state_dict continues", resume_from_state_dict(lambda m, ps: m.optim.Adam(ps, lr=0.01))),
    same("SGD load_state_dict continues", resume_from_state_dict(
        lambda m, ps: m.optim.SGD([{"params": ps[:1], "lr": 0.05}, {"params": ps[1:]}], lr=0.1, momentum=0.9))),
    same("RMSprop load_state_dict continues", resume_from_state_dict(
        lambda m, ps: m.optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True))),
    same("StepLR state_dict", scheduler_state_dict),
]


def batches(make_loader):
    """Every batch of one epoch, each a list of arrays, collected as a PyTorch user collects
    predictions and labels: kept after the loop."""

    def fn(m, x, y, **_):
        return [list(batch) if isinstance(batch, (tuple, list)) else batch for batch in make_loader(m, x, y)]

    return fn


def tensor_dataset(m, x, y):
    return data(m).TensorDataset(m.tensor(x), m.tensor(y))


class Pairs:
    """A map-style dataset written as a PyTorch user writes one: __len__ and __getitem__."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


class Records(Pairs):
    def __getitem__(self, i):
        return {"features": self.x[i], "label": int(self.y[i])}


def labels_collected(m, x, y, **_):
    """The usual accuracy loop: all labels gathered batch by batch, then concatenated."""
    kept = [yb for _, yb in data(m).DataLoader(tensor_dataset(m, x, y), batch_size=3)]
    return np.concatenate([to_numpy(yb) for yb in kept])


def lengths(m, x, y, **_):
    ds = tensor_dataset(m, x, y)
    return [len(ds), len(data(m).DataLoader(ds, batch_size=4)), len(data(m).DataLoader(ds, batch_size=4, drop_last=True)),
            len(data(m).DataLoader(ds))]


def dataset_item(m, x, y, **_):
    return list(tensor_dataset(m, x, y)[4])


DATA = [
    same("TensorDataset DataLoader in order", batches(lambda m, x, y: data(m).DataLoader(tensor_dataset(m, x, y),
                                                                                          batch_size=3))),
    same("DataLoader drop_last", batches(lambda m, x, y: data(m).DataLoader(tensor_dataset(m, x, y), batch_size=4,
                                                                             drop_last=True))),
    same("DataLoader shuffle=False positional", batches(lambda m, x, y: data(m).DataLoader(tensor_dataset(m, x, y),
                                                                                            4, False))),
    same("DataLoader batch_size default 1", batches(lambda m, x, y: data(m).DataLoader(tensor_dataset(m, x, y)))),
    same("DataLoader over a Dataset of tuples", batches(lambda m, x, y: data(m).DataLoader(Pairs(x, y), batch_size=4))),
    same("DataLoader over a Dataset of dicts", batches(lambda m, x, y: data(m).DataLoader(Records(x, y), batch_size=6))),
    same("DataLoader over a list of pairs", batches(lambda m, x, y: data(m).DataLoader(list(zip(x, y.tolist())),
                                                                                        batch_size=5))),
    same("DataLoader over an array of rows", batches(lambda m, x, y: data(m).DataLoader(x, batch_size=4))),
    same("labels collected across batches", labels_collected),
    same("len of datasets and loaders", lengths),
    same("TensorDataset item", dataset_item),
]


def state_dict_file(m, w, b, tmp, **_):
    """save a state_dict, load it into a fresh Linear (torch's side through safetensors.torch,
    the pickle-free way; chainrule.save always is), and run it."""
    path = str(tmp / f"{m.__name__}.safetensors")
    net, fresh = m.nn.Linear(3, 4), m.nn.Linear(3, 4)
    if is_torch(m):
        from safetensors.torch import load_file, save_file

        with m.no_grad():
            net.weight.copy_(m.tensor(w.T))  # PyTorch keeps Linear's weight as (out, in)
            net.bias.copy_(m.tensor(b))
        save_file(net.state_dict(), path)
        fresh.load_state_dict(load_file(path))
    else:
        net.load_state_dict({"weight": w, "bias": b})
        m.save(net.state_dict(), path)
        fresh.load_state_dict(m.load(path))
    return fresh(m.tensor(np.ones((2, 3), np.float32)))


def optimizer_state_file(m, w, b, gw, gb, tmp, **_):
    """An Adam's buffers saved as a plain state_dict of tensors and read back."""
    ps = params(m, w, b)
    opt = m.optim.Adam(ps, lr=0.01)
    set_grad(m, ps[0], gw[0])
    set_grad(m, ps[1], gb[0])
    opt.step()
    flat = {f"{i}.{k}": v for i, s in opt.state_dict()["state"].items() for k, v in s.items() if k != "step"}
    path = str(tmp / f"{m.__name__}-opt.safetensors")
    if is_torch(m):
        from safetensors.torch import load_file, save_file

        save_file(flat, path)
        return load_file(path)
    m.save(flat, path)
    return m.load(path)


def load_keywords(m, w, b, tmp, **_):
    """``model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))``, as
    PyTorch's docs write it (torch's side pickles: its own format, a file it wrote itself)."""
    path = str(tmp / f"{m.__name__}-keywords.pt")
    net, fresh = m.nn.Linear(3, 4), m.nn.Linear(3, 4)
    with m.no_grad():
        net.weight.copy_(m.tensor(w.T if is_torch(m) else w))
        net.bias.copy_(m.tensor(b))
    m.save(net.state_dict(), path)
    fresh.load_state_dict(m.load(path, map_location="cpu", weights_only=True))
    return fresh(m.tensor(np.ones((2, 3), np.float32)))


CATALOGUE = OPTIMIZERS + GROUPS + SCHEDULERS + STATE_DICTS + DATA
FILES = [state_dict_file, optimizer_state_file, load_keywords]


@pytest.mark.parametrize("idiom", CATALOGUE, ids=[i.name for i in CATALOGUE])
def test_idiom_matches_torch(idiom):
    run_idiom(idiom, INPUTS)


@pytest.mark.parametrize("fn", FILES, ids=[f.__name__ for f in FILES])
def test_save_load_round_trip_matches_torch(fn, tmp_path):
    run_idiom(same(fn.__name__, functools.partial(fn, tmp=tmp_path)), INPUTS)


def test_catalogue_is_large_and_names_are_unique():
    names = [i.name for i in CATALOGUE] + [f.__name__ for f in FILES]
    assert len(names) >= 25 and len(set(names)) == len(names)
