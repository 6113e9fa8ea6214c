"""The core install, as a new user gets it: the wheel alone (numpy and safetensors, no extras) in a
fresh virtual environment runs `chainrule train` to a clean finish on the toy moons and on the
packaged digits, or stops with a one-line error, never a traceback.

Builds the wheel from a copy of the source (pip wheel, setuptools fetched into pip's isolated build
environment), makes a venv without system site packages, and lets pip fetch numpy and safetensors
from the package index (its cache when it has them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("tqdm", "matplotlib", "PIL", "threadpoolctl", "sklearn", "scipy", "torch")


def _env() -> dict[str, str]:
    """The user's environment without anything that would import this checkout instead of the wheel."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONUSERBASE")}
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args, cwd, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def _ok(done: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv holding only the chainrule wheel and what it depends on."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    wheels = work / "wheels"
    _ok(_run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source], cwd=work), "pip wheel")
    (wheel,) = wheels.glob("chainrule-*.whl")
    env_dir = work / "venv"
    _ok(_run([sys.executable, "-m", "venv", env_dir], cwd=work), "python -m venv")
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _ok(_run([python, "-m", "pip", "install", "-q", wheel], cwd=work), "pip install the wheel")
    return env_dir


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / (name + (".exe" if os.name == "nt" else ""))


def _clean_finish_or_one_line(done: subprocess.CompletedProcess, test_size: int) -> None:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]
    if done.returncode == 0:
        out = done.stdout.strip().splitlines()
        # --quiet: the result is the one line on stdout; stderr says at most one thing (e.g. which
        # extra draws the pictures)
        assert len(out) == 1 and re.fullmatch(rf"test errors: \d+ / {test_size} \(.*%\)", out[0]), done.stdout
        assert len(done.stderr.strip().splitlines()) <= 1, done.stderr
    else:
        assert len(done.stderr.strip().splitlines()) == 1 and done.stdout.strip() == "", done.stderr


def test_the_core_install_has_the_wheel_and_no_extra(venv, tmp_path):
    code = ("import importlib.util, chainrule; print(chainrule.__file__); "
            f"print([m for m in {EXTRAS!r} if importlib.util.find_spec(m)])")
    where, extras = _ok(_run([_bin(venv, "python"), "-c", code], cwd=tmp_path), "import chainrule").stdout.splitlines()
    assert Path(where).resolve().is_relative_to(venv.resolve()) and extras == "[]"


def test_core_install_trains_moons_to_a_clean_finish(venv, tmp_path):
    done = _run([_bin(venv, "chainrule"), "train", "--dataset", "moons", "--quiet", "--out", tmp_path / "run"],
                cwd=tmp_path)
    _clean_finish_or_one_line(done, 200)
    if done.returncode == 0:
        assert (tmp_path / "run" / "model.safetensors").is_file()


def test_core_install_trains_on_the_packaged_digits(venv, tmp_path):
    done = _run([_bin(venv, "chainrule"), "train", "--dataset", "digits", "--quiet", "--epochs", "2", "--out", tmp_path / "digits"],
                cwd=tmp_path)
    _clean_finish_or_one_line(done, 360)
    assert done.returncode == 0, done.stderr
