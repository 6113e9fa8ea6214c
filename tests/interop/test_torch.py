"""chainrule.interop.torch: networks to and from PyTorch, weights in PyTorch's safetensors layout.

The tests that need torch skip without it; the import checks and save_torch's file run on NumPy
and safetensors alone.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.interop import from_torch, save_torch, to_torch, to_torch_state_dict

SPECS = ["32tanh", "32relu", "32sigmoid", "32leakyrelu", "64relu-dropout0.2-32tanh"]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def digits():
    return cr.data.load_digits()


@pytest.fixture(scope="module")
def trained(digits):
    """A Classifier per SPEC, trained for a few epochs on the digits."""
    return {spec: cr.fit(digits, model=spec, epochs=3, batch_size=64, quiet=True, seed=1).model for spec in SPECS}


def torch_outputs(torch, net, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("spec", SPECS)
def test_to_torch_gives_the_same_logits_on_digits(torch, trained, digits, spec):
    clf = trained[spec]
    net = to_torch(clf).eval()
    assert [type(m).__name__ for m in net] == [type(m).__name__ for m in clf.net]
    assert all(p.dtype == torch.float32 for p in net.parameters())
    x = np.concatenate([digits.x_train, digits.x_test])
    ours, theirs = clf.logits(x), torch_outputs(torch, net, x)
    assert theirs.dtype == np.float32
    diff = float(np.abs(ours - theirs).max())
    print(f"{spec}: max |logits difference| on {len(x)} digits = {diff:.2e}")
    assert diff <= 1e-5
    proba = torch.softmax(torch.from_numpy(theirs), dim=1).numpy()
    assert np.abs(proba - clf.predict_proba(x)).max() <= 1e-6
    assert (theirs.argmax(1) == clf.predict(x)).all()


@pytest.mark.parametrize("spec", SPECS)
def test_from_torch_of_to_torch_is_bitwise_the_same_network(torch, trained, spec):
    net = trained[spec].net
    back = from_torch(to_torch(net))
    assert repr(back) == repr(net)
    ours, theirs = net.state_dict(), back.state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert theirs[key].dtype == np.float32 and theirs[key].flags["C_CONTIGUOUS"], key
        assert theirs[key].tobytes() == ours[key].tobytes(), key
        assert not np.shares_memory(theirs[key], ours[key]), key  # copies, not views of the original


def test_the_layouts_and_names_are_pytorchs(torch, trained):
    clf = trained["64relu-dropout0.2-32tanh"]
    state = to_torch_state_dict(clf)
    assert list(state) == list(to_torch(clf).state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias",
                                                              "5.weight", "5.bias"]
    assert state["0.weight"].shape == (64, 64) and state["3.weight"].shape == (32, 64)
    np.testing.assert_array_equal(state["3.weight"], clf.net[3].weight.data.T)
    assert all(a.flags["C_CONTIGUOUS"] and a.dtype == np.float32 for a in state.values())


def every_layer_torch(torch):
    """A torch Sequential holding every layer from_torch reads, with options away from their defaults."""
    nn = torch.nn
    return nn.Sequential(
        nn.Flatten(), nn.Linear(12, 16), nn.LayerNorm(16, eps=1e-4), nn.GELU(approximate="tanh"),
        nn.Linear(16, 16, bias=False), nn.BatchNorm1d(16, momentum=0.3), nn.ELU(alpha=0.7),
        nn.Sequential(nn.Linear(16, 8), nn.Softplus(beta=2.0, threshold=3.0)), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Identity(), nn.Linear(8, 8), nn.GELU(), nn.LayerNorm(8, elementwise_affine=False), nn.Tanh(),
        nn.Linear(8, 6), nn.Sigmoid(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.LogSoftmax(dim=1),
    )


def randomise(torch, net):
    """Random values in every parameter and in BatchNorm's running statistics."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d) and m.track_running_stats:
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.num_batches_tracked.fill_(7)
    return net


def test_from_torch_of_a_random_torch_network_gives_the_same_outputs(torch):
    net = randomise(torch, every_layer_torch(torch)).eval()
    ours = from_torch(net)
    x = np.random.default_rng(0).standard_normal((33, 3, 4), dtype=np.float32)
    assert not ours.training and not any(m.training for m in ours.modules())
    out = ours.fprop(x)
    assert out.dtype == np.float32
    assert np.abs(out - torch_outputs(torch, net, x)).max() <= 1e-5
    assert ours[7][1].beta == 2.0 and ours[7][1].threshold == 3.0 and ours[3].approximate == "tanh"
    assert int(ours[5].num_batches_tracked.data) == 7 and ours[5].momentum == 0.3
    # and back again: the same bytes under the same names, the same outputs
    again = to_torch(ours).eval()
    for key, value in net.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key
    assert np.abs(torch_outputs(torch, again, x) - torch_outputs(torch, net, x)).max() == 0


def test_batch_norm_in_train_mode_moves_the_same_running_statistics(torch):
    nn = torch.nn
    net = randomise(torch, nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4, momentum=0.2), nn.Tanh())).train()
    ours = from_torch(net)
    assert ours.training and ours[1].training
    x = np.random.default_rng(1).standard_normal((9, 5), dtype=np.float32)
    assert np.abs(ours.fprop(x) - torch_outputs(torch, net, x)).max() <= 1e-5
    for key in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        np.testing.assert_allclose(ours.state_dict()[key], net.state_dict()[key].numpy(), rtol=1e-5, atol=1e-6)


def test_to_torch_of_every_chainrule_layer(torch):
    converted = list(from_torch(randomise(torch, every_layer_torch(torch))))
    assert type(converted[-1]) is cr.nn.LogSoftmax
    ours = cr.nn.Sequential(*converted[:-1], cr.nn.Identity(),
                            cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.Softmax(dim=1)))
    theirs = to_torch(ours)
    assert [type(m).__name__ for m in theirs][-2:] == ["Identity", "Sequential"]
    assert theirs[-1][1].dim == 1 and theirs[9].p == 0.3 and theirs[8].negative_slope == 0.2
    x = np.random.default_rng(2).standard_normal((17, 12), dtype=np.float32)
    ours.eval()
    theirs.eval()
    assert np.abs(ours.fprop(x) - torch_outputs(torch, theirs, x)).max() <= 1e-5


def test_modes_follow_the_chainrule_network(torch, trained):
    net = trained["64relu-dropout0.2-32tanh"].net
    assert to_torch(net.train()).training and to_torch(net)[2].training
    assert not to_torch(net.eval()).training and not to_torch(net)[2].training
    net.train()


def test_float64_stays_float64_and_bfloat16_is_refused(torch):
    net = cr.nn.Sequential(cr.nn.Linear(3, 2), cr.nn.LayerNorm(2)).double()
    theirs = to_torch(net)
    assert {p.dtype for p in theirs.parameters()} == {torch.float64}
    assert {a.dtype for a in from_torch(theirs).state_dict().values()} == {np.dtype(np.float64)}
    with pytest.raises(ValueError, match=r"layer 0 \(Linear\).*bfloat16.*module.float\(\)"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(3, 2)).to(torch.bfloat16))


def test_an_unsupported_torch_layer_is_named_by_position_and_type(torch):
    nn = torch.nn
    with pytest.raises(TypeError, match=r"layer 1 \(torch.nn.modules.conv.Conv1d\) has no chainrule equivalent"):
        from_torch(nn.Sequential(nn.Flatten(), nn.Conv1d(1, 2, 3), nn.ReLU()))
    with pytest.raises(TypeError, match=r"layer 2.0 \(torch.nn.modules.activation.Hardtanh\)"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Sequential(nn.Hardtanh())))

    class MyLinear(nn.Linear):  # a subclass may compute something else: refused, not guessed
        pass

    with pytest.raises(TypeError, match=r"layer 0 \(.*MyLinear\)"):
        from_torch(nn.Sequential(MyLinear(2, 2)))
    with pytest.raises(ValueError, match=r"layer 1 \(Softmax\).*dim=None"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.Softmax()))
    with pytest.raises(TypeError, match="module must be a torch.nn.Sequential, got Linear"):
        from_torch(nn.Linear(2, 2))


def test_an_unsupported_chainrule_layer_is_named_before_torch_is_needed():
    class Square(cr.nn.Module):
        def fprop(self, x):
            return x * x

    net = cr.nn.Sequential(cr.nn.Linear(2, 2), Square())
    with pytest.raises(TypeError, match=r"layer 1 \(Square\) has no PyTorch equivalent"):
        to_torch_state_dict(net)
    with pytest.raises(TypeError, match=r"layer 1 \(Square\)"):
        to_torch(net)
    with pytest.raises(TypeError, match="model must be a chainrule.Classifier or chainrule.nn.Sequential, got Linear"):
        save_torch(cr.nn.Linear(2, 2), "unused.safetensors")


def test_save_torch_loads_strictly_into_to_torchs_network_and_one_built_by_hand(torch, trained, digits, tmp_path):
    from safetensors.torch import load_file

    clf = trained["64relu-dropout0.2-32tanh"]
    path = tmp_path / "model.safetensors"
    save_torch(clf, path)
    by_hand = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                  torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10))
    architecture = to_torch(clf)
    with torch.no_grad():
        for p in architecture.parameters():
            p.zero_()
    for net in (by_hand, architecture):
        result = net.load_state_dict(load_file(str(path)), strict=True)
        assert not result.missing_keys and not result.unexpected_keys
        assert np.abs(torch_outputs(torch, net.eval(), digits.x_test) - clf.logits(digits.x_test)).max() <= 1e-5


def test_save_torch_with_batch_norm_and_nested_sequential(torch, tmp_path):
    from safetensors.torch import load_file

    ours = from_torch(randomise(torch, every_layer_torch(torch)))
    save_torch(ours, tmp_path / "w.safetensors")
    fresh = every_layer_torch(torch)
    fresh.load_state_dict(load_file(str(tmp_path / "w.safetensors")), strict=True)
    assert fresh[5].num_batches_tracked.dtype == torch.int64 and int(fresh[5].num_batches_tracked) == 7
    x = np.random.default_rng(3).standard_normal((6, 12), dtype=np.float32)
    assert np.abs(torch_outputs(torch, fresh.eval(), x) - ours.eval().fprop(x)).max() <= 1e-5


def test_save_torch_writes_pytorch_layout_without_torch(tmp_path):
    """What the file holds, read with NumPy: PyTorch's names, (out, in) weights, metadata format 'pt'."""
    from safetensors import safe_open

    clf = cr.Classifier.from_spec("5tanh", num_features=3, classes=["a", "b"])
    path = tmp_path / "m.safetensors"
    save_torch(clf, path)
    with safe_open(str(path), "np") as f:
        assert f.metadata() == {"format": "pt"}
        assert sorted(f.keys()) == ["0.bias", "0.weight", "2.bias", "2.weight"]
        np.testing.assert_array_equal(f.get_tensor("0.weight"), clf.net[0].weight.data.T)
        np.testing.assert_array_equal(f.get_tensor("2.weight"), clf.net[2].weight.data.T)
    with pytest.raises(cr.io.CheckpointError, match="not one chainrule wrote: PyTorch weights"):
        cr.load(path)


def test_from_torch_with_classes_gives_a_classifier_that_saves_and_loads(torch, trained, digits, tmp_path):
    clf = trained["64relu-dropout0.2-32tanh"]
    back = from_torch(to_torch(clf), classes=clf.classes, num_features=64)
    assert isinstance(back, cr.Classifier) and back.spec == clf.spec and back.num_features == 64
    cr.save(back, tmp_path / "m.safetensors")
    loaded = cr.load(tmp_path / "m.safetensors")
    assert loaded.logits(digits.x_test).tobytes() == clf.logits(digits.x_test).tobytes()

    nn = torch.nn
    named = nn.Sequential(__import__("collections").OrderedDict(fc=nn.Linear(4, 3)))
    assert from_torch(named, classes=["x", "y", "z"]).spec == "linear"
    assert list(from_torch(named, classes=["x", "y", "z"]).net.state_dict()) == ["0.weight", "0.bias"]
    with pytest.raises(ValueError, match=r"SPEC describes.*layer 1 breaks it"):
        from_torch(nn.Sequential(nn.Linear(4, 3), nn.GELU(), nn.Linear(3, 2)), classes=["a", "b"])
    with pytest.raises(ValueError, match=r"layer 1 breaks it"):
        from_torch(nn.Sequential(nn.Linear(4, 3), nn.LeakyReLU(0.2), nn.Linear(3, 2)), classes=["a", "b"])
    with pytest.raises(ValueError, match="3 classes given but the last Linear layer has 2 outputs"):
        from_torch(nn.Sequential(nn.Linear(4, 2)), classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="Linear layer 0 has 3 outputs but the next one takes 5 inputs"):
        from_torch(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(5, 2)), classes=["a", "b"])
    with pytest.raises(ValueError, match="the Sequential is empty"):
        from_torch(nn.Sequential(), classes=["a", "b"])
    with pytest.raises(ValueError, match="num_features is for a Classifier; give classes too"):
        from_torch(nn.Sequential(nn.Linear(4, 2)), num_features=4)
    with pytest.raises(ValueError, match="num_features is 5 but the first Linear layer takes 4"):
        from_torch(nn.Sequential(nn.Linear(4, 2)), classes=["a", "b"], num_features=5)


def test_conversions_leave_both_random_generators_alone(torch, trained):
    cr.manual_seed(5)
    before_cr, before_torch = cr.default_generator().bit_generator.state, torch.get_rng_state()
    from_torch(to_torch(trained["32tanh"]))
    assert cr.default_generator().bit_generator.state == before_cr
    assert torch.equal(torch.get_rng_state(), before_torch)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_chainrule_interop_does_not_import_torch():
    done = run_python(
        "import sys, chainrule, chainrule.interop as i\n"
        "assert 'torch' not in sys.modules, 'import'\n"
        "i.save_torch, i.to_torch_state_dict, i.to_torch, i.from_torch\n"
        "assert 'torch' not in sys.modules, 'names'\n"
        "print(sorted(i.__all__))\n")
    assert done.returncode == 0, done.stderr
    assert "to_torch" in done.stdout


def test_without_torch_the_error_says_what_to_install():
    done = run_python(
        "import sys; sys.modules['torch'] = None\n"
        "import chainrule as cr\n"
        "from chainrule.interop import to_torch, save_torch\n"
        "net = cr.nn.Sequential(cr.nn.Linear(2, 2))\n"
        "try:\n"
        "    to_torch(net)\n"
        "except ModuleNotFoundError as e:\n"
        "    print(e.name, '|', e)\n"
        "import tempfile, os\n"
        "save_torch(net, os.path.join(tempfile.mkdtemp(), 'w.safetensors'))  # needs no torch\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "torch | to_torch needs PyTorch: pip install 'chainrule[torch]'"


def test_embedding_both_ways(torch):
    nn = torch.nn
    net = randomise(torch, nn.Sequential(nn.Embedding(10, 4, padding_idx=2), nn.Flatten(), nn.Linear(8, 3)))
    ours = from_torch(net)
    assert ours[0].padding_idx == 2
    tokens = np.random.default_rng(4).integers(0, 10, (7, 2))
    with torch.no_grad():
        expected = net(torch.from_numpy(tokens)).numpy()
    assert np.abs(ours.fprop(tokens) - expected).max() <= 1e-6
    assert to_torch(ours)[0].padding_idx == 2
    with pytest.raises(ValueError, match=r"layer 0 \(Embedding\).*max_norm"):
        from_torch(nn.Sequential(nn.Embedding(10, 4, max_norm=1.0)))


@pytest.mark.parametrize("options", [dict(affine=False), dict(track_running_stats=False), dict(momentum=None)])
@pytest.mark.parametrize("train", [True, False])
def test_batch_norm_options_both_ways(torch, options, train):
    nn = torch.nn
    net = randomise(torch, nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4, **options))).train(train)
    ours = from_torch(net)
    back = to_torch(ours)
    assert list(back.state_dict()) == list(net.state_dict())
    x = np.random.default_rng(5).standard_normal((8, 5), dtype=np.float32)
    expected = torch_outputs(torch, net, x)
    assert np.abs(ours.fprop(x) - expected).max() <= 1e-5
    assert np.abs(torch_outputs(torch, back, x) - expected).max() <= 1e-5
    mine = to_torch_state_dict(ours)
    for key, value in net.state_dict().items():  # the running statistics moved the same way (in train mode)
        np.testing.assert_allclose(mine[key], value.numpy(), rtol=1e-5, atol=1e-6, err_msg=key)
