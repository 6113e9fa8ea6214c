"""chainrule.interop.to_onnx: files that onnx's checker accepts, and that onnxruntime and onnx's
reference evaluator run to chainrule's own outputs within 1e-5."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.interop import to_onnx
from chainrule.interop.onnx import IR_VERSION, MAX_OPSET, MIN_OPSET, OPSET

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

TOL = 1e-5
# The SPEC layers a trained Classifier holds: tanh, relu, sigmoid, leakyrelu, dropout. Trained with
# batches of 32; checked on 37 examples and on 1.
SPECS = ["linear", "32tanh", "32relu-dropout0.2-16sigmoid", "24leakyrelu-dropout0.5-12relu"]


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def max_diff(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32, (a.shape, b.shape, a.dtype, b.dtype)
    return float(np.abs(a - b).max()) if a.size else 0.0


@pytest.fixture(scope="module")
def digits():
    return cr.data.load_dataset("digits")


@pytest.fixture(scope="module", params=SPECS)
def trained(request, digits):
    return cr.fit(digits, model=request.param, epochs=2, batch_size=32, quiet=True).model


def test_a_trained_classifier_runs_the_same_in_onnxruntime_and_the_reference_evaluator(trained, digits, tmp_path):
    path = tmp_path / "clf.onnx"
    proto = to_onnx(trained, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    run, reference = session(path), ReferenceEvaluator(proto)
    for x in (digits.x_test[:37], digits.x_test[100:101]):
        logits, probabilities = run.run(["logits", "probabilities"], {"input": x})
        assert max_diff(probabilities, trained.predict_proba(x)) <= TOL
        assert max_diff(logits, trained.logits(x)) <= TOL
        assert max_diff(reference.run(["probabilities"], {"input": x})[0], trained.predict_proba(x)) <= TOL
    probabilities = run.run(["probabilities"], {"input": digits.x_test})[0]
    assert (probabilities.argmax(axis=1) == trained.predict(digits.x_test)).all()
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-6)


def test_the_ir_version_and_opset_are_pinned_and_onnxruntime_loads_them(tmp_path):
    clf = cr.Classifier.from_spec("8relu", num_features=5, classes=["a", "b", "c"])
    proto = to_onnx(clf, tmp_path / "a.onnx")
    assert (OPSET, IR_VERSION) == (21, 10)
    assert proto.ir_version == 10 and [(o.domain, o.version) for o in proto.opset_import] == [("", 21)]
    x = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    for opset in (MIN_OPSET, MAX_OPSET):  # the range accepted: onnxruntime 1.32.0 loads both ends
        other = to_onnx(clf, tmp_path / f"{opset}.onnx", opset=opset)
        onnx.checker.check_model(other, full_check=True)
        assert other.opset_import[0].version == opset and other.ir_version <= onnx.IR_VERSION
        assert max_diff(session(tmp_path / f"{opset}.onnx").run(["probabilities"], {"input": x})[0],
                        clf.predict_proba(x)) <= TOL
    proto.ir_version = 15  # one past what onnxruntime 1.32.0 loads: why the version is pinned
    (tmp_path / "15.onnx").write_bytes(proto.SerializeToString())
    with pytest.raises(Exception, match="IR version"):
        session(tmp_path / "15.onnx")


def test_the_model_describes_itself(trained, tmp_path):
    proto = to_onnx(trained, tmp_path / "m.onnx")
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["spec"] == trained.spec and json.loads(props["classes"]) == trained.classes
    assert json.loads(props["num_features"]) == 64 and json.loads(props["image_shape"]) == [8, 8]
    assert json.loads(props["pixel_max"]) == 16.0 and proto.producer_name == "chainrule"
    assert trained.spec in proto.doc_string
    (entry,) = proto.graph.input
    assert entry.name == "input" and entry.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_param or d.dim_value for d in entry.type.tensor_type.shape.dim] == ["batch", 64]
    assert [o.name for o in proto.graph.output] == ["logits", "probabilities"]
    assert not [n for n in proto.graph.node if n.op_type == "Dropout"]


def _filled(layer):
    """The layer with its parameters and running statistics away from their initial values."""
    rng = np.random.default_rng(1)
    for name, p in list(layer.named_parameters()) + list(layer.named_buffers()):
        if p.data.dtype.kind == "f":
            values = rng.normal(size=p.data.shape)
            p.data[...] = np.abs(values) + 0.5 if name.endswith("running_var") else values
    return layer


# (id, network, one example's shape, input scale): every layer chainrule's exporter writes, between Linears
LAYERS = [
    ("tanh", lambda: nn.Tanh(), 1), ("sigmoid", lambda: nn.Sigmoid(), 1), ("relu", lambda: nn.ReLU(), 1),
    ("leakyrelu", lambda: nn.LeakyReLU(0.2), 1), ("elu", lambda: nn.ELU(0.7), 1),
    ("gelu", lambda: nn.GELU(), 1), ("gelu-tanh", lambda: nn.GELU(approximate="tanh"), 1),
    ("softplus", lambda: nn.Softplus(), 1), ("softplus-beta", lambda: nn.Softplus(beta=2.0, threshold=3.0), 1),
    ("softplus-large", lambda: nn.Softplus(threshold=200.0), 50),  # e^(βx) past float32's range
    ("identity", lambda: nn.Identity(), 1), ("dropout", lambda: nn.Dropout(0.5), 1),
    ("flatten", lambda: nn.Flatten(), 1), ("softmax", lambda: nn.Softmax(axis=1), 1),
    ("logsoftmax", lambda: nn.LogSoftmax(dim=-1), 1),
    ("layernorm", lambda: _filled(nn.LayerNorm(8)), 1),
    ("layernorm-plain", lambda: nn.LayerNorm(8, elementwise_affine=False, eps=1e-3), 1),
    ("batchnorm", lambda: _filled(nn.BatchNorm1d(8)), 1),
    ("batchnorm-plain", lambda: _filled(nn.BatchNorm1d(8, affine=False, eps=1e-3)), 1),
]


def check_network(net, shape, tmp_path, opset=None, scale=1.0, batches=(37, 1)) -> float:
    """Export ``net``; the largest difference between chainrule's outputs and onnxruntime's and the
    reference evaluator's, asserted within TOL."""
    path = tmp_path / f"net{opset}.onnx"
    proto = to_onnx(net, path, opset=opset, input_shape=shape)
    onnx.checker.check_model(proto, full_check=True)
    run, reference = session(path), ReferenceEvaluator(proto)
    net.eval()
    worst = 0.0
    for n in batches:
        x = (np.random.default_rng(n).normal(size=(n, *shape)) * scale).astype(np.float32)
        expected = net.fprop(x)
        for got in (run.run(["output"], {"input": x})[0], reference.run(["output"], {"input": x})[0]):
            worst = max(worst, max_diff(got, expected))
    assert worst <= TOL, worst
    return worst


@pytest.mark.parametrize("opset", [OPSET, MIN_OPSET], ids=["pinned", "oldest"])
@pytest.mark.parametrize("name, make, scale", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_each_layer_alone(name, make, scale, opset, tmp_path):
    net = nn.Sequential(nn.Linear(6, 8), make(), nn.Linear(8, 3))
    check_network(net, (6,), tmp_path, opset=opset, scale=scale)


def test_three_dimensional_inputs_through_batchnorm_layernorm_flatten_and_linear(tmp_path):
    net = nn.Sequential(_filled(nn.BatchNorm1d(4)), nn.Linear(5, 6), nn.GELU(), _filled(nn.LayerNorm((4, 6))),
                        nn.Flatten(), nn.Linear(24, 3), nn.Softmax(axis=-1))
    check_network(net, (4, 5), tmp_path)
    check_network(nn.Sequential(nn.Flatten(1, 1), nn.Linear(5, 2)), (4, 5), tmp_path)  # a Flatten that merges nothing
    check_network(nn.Sequential(nn.Linear(5, 3, bias=False), nn.ELU(), nn.Flatten(), nn.Linear(12, 2, bias=False)),
                  (4, 5), tmp_path)  # MatMul without Add, then Gemm without C


def test_a_network_of_identities_passes_its_input_through(tmp_path):
    proto = to_onnx(nn.Sequential(nn.Identity(), nn.Dropout(0.3)), tmp_path / "i.onnx", input_shape=3)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert (session(tmp_path / "i.onnx").run(["output"], {"input": x})[0] == x).all()
    assert [n.op_type for n in proto.graph.node] == ["Identity"]


def test_a_network_in_training_mode_is_written_as_in_eval_mode(tmp_path):
    net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), _filled(nn.BatchNorm1d(8)), nn.Linear(8, 2))
    net.train()
    check_network(net, (4,), tmp_path)


def test_weights_held_in_non_contiguous_arrays_are_written_right(tmp_path):
    net = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    for layer in (net[0], net[2]):
        layer.weight.data = np.ascontiguousarray(layer.weight.data.T).T  # the same values, Fortran order
        assert not layer.weight.data.flags.c_contiguous
    check_network(net, (5,), tmp_path)


ACTIVATIONS = [nn.Tanh, nn.Sigmoid, nn.ReLU, lambda: nn.LeakyReLU(0.1), nn.ELU, nn.GELU, nn.Softplus,
               lambda: nn.Dropout(0.2)]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(widths=st.lists(st.integers(1, 9), min_size=1, max_size=4),
       picks=st.lists(st.integers(0, len(ACTIVATIONS) - 1), min_size=4, max_size=4),
       batch=st.integers(1, 40))
def test_random_mlps_round_trip(widths, picks, batch, tmp_path):
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers += [nn.Linear(a, b), ACTIVATIONS[picks[i]]()]
    net = nn.Sequential(*layers, nn.Linear(widths[-1], 2))
    check_network(net, (widths[0],), tmp_path, batches=(batch,))


class Doubled(nn.Module):
    def forward(self, x):
        return x * 2


@pytest.mark.parametrize("net, message", [
    (nn.Sequential(nn.Linear(4, 4), nn.Embedding(10, 4)), r"net\[1\] \(Embedding\) has no ONNX equivalent"),
    (nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Tanh(), Doubled())), r"net\[1\]\[1\] \(Doubled\) has no ONNX"),
    (nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3, track_running_stats=False)),
     r"net\[1\] \(BatchNorm1d\) has no running statistics"),
    (nn.Sequential(nn.Linear(4, 3)).double(), r"net\[0\] \(Linear\) holds float64 values.*net\.float\(\)"),
    (nn.Sequential(nn.Linear(4, 3), nn.Linear(4, 2)), r"net\[1\] \(Linear\) takes 4 features, but its input has "
                                                      r"shape \(batch, 3\)"),
    (nn.Sequential(nn.Linear(4, 3), nn.Flatten(0)), r"net\[1\] \(Flatten\) merges the batch dimension"),
    (nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(4)), r"net\[1\] \(LayerNorm\) normalises over \(4,\)"),
    (nn.Sequential(nn.Linear(4, 3), nn.Softmax(axis=2)), r"net\[1\] \(Softmax\) axis 2 is out of range"),
    (Doubled(), r"net \(Doubled\) has no ONNX equivalent"),
], ids=["embedding", "custom", "batch-statistics", "float64", "sizes", "flatten-batch", "layernorm", "axis", "top"])
def test_a_layer_it_cannot_write_is_named_with_its_position(net, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        to_onnx(net, tmp_path / "x.onnx", input_shape=4)
    assert not (tmp_path / "x.onnx").exists()


def test_bad_arguments_name_themselves(tmp_path):
    clf = cr.Classifier.from_spec("4tanh", num_features=3, classes=["a", "b"])
    for opset in (16, MAX_OPSET + 1, "21", True):
        with pytest.raises(ValueError, match=f"^opset must be an integer from {MIN_OPSET} to {MAX_OPSET}"):
            to_onnx(clf, tmp_path / "x.onnx", opset=opset)
    with pytest.raises(ValueError, match="pass input_shape"):
        to_onnx(nn.Sequential(nn.Tanh()), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="input_shape must be a positive integer"):
        to_onnx(nn.Sequential(nn.Tanh()), tmp_path / "x.onnx", input_shape=(3, 0))
    with pytest.raises(ValueError, match=r"a Classifier takes \(batch, num_features=3\)"):
        to_onnx(clf, tmp_path / "x.onnx", input_shape=(4,))
    assert to_onnx(clf, tmp_path / "x.onnx", input_shape=3).graph.input[0].name == "input"
    with pytest.raises(TypeError, match="model must be a chainrule.Classifier"):
        to_onnx({"weight": np.zeros(3)}, tmp_path / "x.onnx")


def test_without_onnx_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ModuleNotFoundError
    clf = cr.Classifier.from_spec("4tanh", num_features=3, classes=["a", "b"])
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'chainrule\[onnx\]'") as caught:
        to_onnx(clf, tmp_path / "x.onnx")
    assert caught.value.name == "onnx"


def test_importing_the_package_loads_neither_onnx_nor_onnxruntime():
    code = ("import sys, chainrule.interop, chainrule.interop.onnx, chainrule.cli; "
            "print(sorted(m for m in ('onnx', 'onnxruntime', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_constants_are_scalars_and_weights_keep_their_shape(tmp_path):
    net = nn.Sequential(nn.Linear(3, 4), nn.GELU(approximate="tanh"), nn.Softplus(beta=2.0))
    proto = to_onnx(net, tmp_path / "c.onnx", opset=MIN_OPSET)  # opset 17: GELU as Mul, Add, Tanh with constants
    dims = {t.name: list(t.dims) for t in proto.graph.initializer}
    assert dims.pop("0.weight") == [3, 4] and dims.pop("0.bias") == [4]
    assert len(dims) >= 5 and all(d == [] for d in dims.values()), dims  # 0.5, 0.044715, √(2/π), 1, β, threshold
    check_network(net, (3,), tmp_path, opset=MIN_OPSET)
