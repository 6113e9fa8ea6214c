"""An optional library that is not installed is the user's install, not a bug: one line, exit 2."""

from __future__ import annotations

import sys

from chainrule.cli import main


def test_threads_without_threadpoolctl_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import threadpoolctl now raises ModuleNotFoundError
    code = main(["train", "--dataset", "xor", "--val-split", "0", "--epochs", "1", "--threads", "1",
                 "--out", str(tmp_path / "run"), "--quiet", "--no-plots"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "threadpoolctl" in err[0] and "chainrule[cli]" in err[0] and "Traceback" not in err[0]


def test_a_missing_module_that_is_not_an_extra_is_still_a_bug(monkeypatch):
    from chainrule.cli import errors

    def run(args):
        raise ModuleNotFoundError("No module named 'chainrule.nothere'", name="chainrule.nothere")

    try:
        errors.run_command(run, None)
    except ModuleNotFoundError:
        pass
    else:
        raise AssertionError("a missing module of chainrule's own must not be turned into a one-line error")


def test_bench_without_matplotlib_says_the_bars_are_skipped(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "b.json"
    code = main(["bench", "--nets", "784-200tanh-10", "--batch-sizes", "100", "--contenders", "numpy", "fast",
                 "--examples", "200", "--repeats", "1", "--no-memory", "--data", "random", "--quiet",
                 "--json", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0 and out.exists() and not out.with_suffix(".png").exists()
    assert len(err) == 1 and err[0].startswith("pictures skipped: matplotlib is not installed"), err


def test_predict_without_pillow_or_matplotlib_names_the_extra(tmp_path, capsys, monkeypatch):
    import numpy as np

    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet", "--no-plots"]) == 0
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    np.savez(tmp_path / "x.npz", x=np.zeros((1, 64), np.uint8))
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for argv in (["x.png"], ["x.npz", "--show", str(tmp_path / "seen.png")]):
        code = main(["predict", str(tmp_path / "run"), str(tmp_path / argv[0]), *argv[1:]])
        out, err = capsys.readouterr()
        assert code == 2 and out == "" and len(err.splitlines()) == 1, (out, err)
        assert "not installed (pip install 'chainrule[cli]')" in err, err
    code = main(["predict", str(tmp_path / "run"), str(tmp_path / "x.png"), str(tmp_path / "x.npz")])
    out, err = capsys.readouterr()
    assert code == 2 and len(out.splitlines()) == 1  # the .npz is still classified
    assert err == f"chainrule: error: {tmp_path / 'x.png'}: reading images needs Pillow, which is not installed " \
                  f"(pip install 'chainrule[cli]')\n", err


def test_bench_without_threadpoolctl_runs_when_threads_are_not_asked_for(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    argv = ["bench", "--nets", "784-200tanh-10", "--batch-sizes", "100", "--contenders", "numpy", "fast",
            "--examples", "200", "--repeats", "1", "--no-memory", "--data", "random", "--quiet"]
    code = main([*argv, "--json", str(tmp_path / "b.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0 and (tmp_path / "b.json").exists(), err
    code = main([*argv, "--json", "", "--threads", "1"])  # asked for: one line naming the extra
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "threadpoolctl" in err[0] and "chainrule[cli]" in err[0], err


def test_momentum_with_an_optimizer_that_ignores_it_is_a_one_line_warning(tmp_path, capsys):
    code = main(["train", "--dataset", "xor", "--val-split", "0", "--epochs", "1", "--optimizer", "adam",
                 "--momentum", "0.5", "--out", str(tmp_path / "run"), "--quiet", "--no-plots"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0 and len(err) == 1, err
    assert err[0] == "chainrule: warning: momentum 0.5 has no effect with optimizer 'adam': only momentum and nesterov use it"


def test_the_default_momentum_never_warns(recwarn):
    import chainrule as cr

    cr.TrainConfig(optimizer="adam").validate()
    cr.TrainConfig(optimizer="momentum", momentum=0.5).validate()
    assert not [w for w in recwarn if "momentum" in str(w.message)]
