"""Training: minibatch SGD on per-epoch permutations, validation, early stopping, bitwise resume.

``fit`` is the one-call API that mirrors ``chainrule train``; ``resume`` continues a stopped run.
The package, by job:

    config.py    TrainConfig (the one place the defaults live), DEFAULT_MODEL, DEFAULT_DATASET, CONFIG_SCHEMA,
                 make_optimizer, make_schedule
    trainer.py   Trainer (the loop, its state, resume), FitResult, TrainingDiverged
    evaluation.py  evaluate_arrays
    parallel.py  DataParallel: the step, evaluation and broadcasts of data-parallel training across processes
    state.py     what a run saves: STATE_SCHEMA, METRICS_SCHEMA, read_metrics, saved_config,
                 fingerprint, data_sha256, to_json
    signals.py   STOP_SIGNALS, Interrupted, TrainingInterrupted, catch_signals
    __init__.py  fit, resume

>>> import chainrule as cr
>>> result = cr.fit("moons", model="16tanh", epochs=3, quiet=True)
>>> sorted(result.summary)[:3]
['best_epoch', 'config', 'dataset']
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import asdict
from typing import Any

from ..data import Data, load_dataset
from ..distributed import Communicator, SingleProcess
from ..model import Classifier
from ..progress import Callback, default_reporter
from ..random import manual_seed
from ..rundir import PICTURES, RUN_FILES, claim, prepare_out  # noqa: F401  (also reachable as chainrule.train.*)
from ..threads import limit_threads
from .config import (CONFIG_SCHEMA, DEFAULT_DATASET, DEFAULT_MODEL, OPTIMIZERS, SCHEDULES, TrainConfig, make_optimizer,
                     make_schedule)
from .signals import STOP_SIGNALS, Interrupted, TrainingInterrupted, catch_signals
from .state import (METRICS_SCHEMA, STATE_SCHEMA, MetricsError, ResumeWarning, data_sha256, fingerprint, read_metrics,
                    saved_config, to_json)
from .evaluation import evaluate_arrays
from .trainer import FitResult, Trainer, TrainingDiverged

__all__ = ["DEFAULT_MODEL", "DEFAULT_DATASET", "TrainConfig", "Trainer", "FitResult", "fit", "resume",
           "TrainingDiverged", "Interrupted", "TrainingInterrupted", "catch_signals", "ResumeWarning", "MetricsError",
           "evaluate_arrays",
           "read_metrics", "saved_config", "fingerprint", "data_sha256", "OPTIMIZERS", "SCHEDULES", "CONFIG_SCHEMA",
           "METRICS_SCHEMA", "STATE_SCHEMA", "STOP_SIGNALS", "make_optimizer", "make_schedule", "to_json"]


def fit(dataset: str | Data = DEFAULT_DATASET, model: str = DEFAULT_MODEL, *, data_dir: str | None = None,
        out: str | os.PathLike | None = None, overwrite: bool = False, quiet: bool = False,
        callback: Callback | None = None, comm: Communicator | None = None, **config: Any) -> FitResult:
    """Train an MLP given by a SPEC on a data set; the Python face of ``chainrule train``.

    Keyword arguments are TrainConfig fields (epochs, batch_size, lr, optimizer,
    weight_decay, patience, val_split, seed, schedule, clip_grad, shift, diagnostics); those not
    given take TrainConfig's defaults, as ``chainrule train`` does. With ``diagnostics=True``,
    every epoch's layer statistics go to ``out``/diagnostics.jsonl and each kind of finding is
    warned of once (``chainrule.diagnostics.DiagnosticsWarning``) and listed in the summary's
    ``warnings``. ``out`` must be absent,
    empty, or (with ``overwrite``) an old run; the run holds it until it ends, and another
    run there is refused.

    With ``comm`` (``chainrule.distributed.world()`` in a script started by ``mpirun -n K``), the K
    processes train data-parallel: ``batch_size`` is the whole batch, split among them, and
    the weights are those of one process, up to float32 rounding. Rank 0 writes ``out`` and
    shows progress; the others write and show nothing (a ``callback`` given runs on every rank).

    >>> fit("xor", model="4tanh", epochs=2, lr=-1)
    Traceback (most recent call last):
    ...
    ValueError: lr must be a positive number, got -1
    """
    unknown = sorted(set(config) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise TypeError(f"fit() got unknown options: {', '.join(unknown)}")
    cfg = TrainConfig(**config).validate()
    comm = comm or SingleProcess()
    writes = out is not None and comm.rank == 0
    with claim(out, overwrite=overwrite) if writes else contextlib.nullcontext():
        data = dataset if isinstance(dataset, Data) else load_dataset(dataset, data_dir=data_dir, seed=cfg.seed)
        manual_seed(cfg.seed)  # the initial weights and dropout masks follow the seed
        info = {"dataset": data.source or data.name, "pixel_max": data.pixel_max, "train_config": asdict(cfg)}
        clf = Classifier.from_spec(model, data.num_features, data.classes, data.image_shape, info)
        if callback is None and not quiet and comm.rank == 0:
            callback = default_reporter()
        return Trainer(clf, data, cfg, out_dir=out, callback=callback, comm=comm).fit()


def resume(out: str | os.PathLike, *, data_dir: str | None = None, quiet: bool = False,
           callback: Callback | None = None, threads: int | None = None,
           comm: Communicator | None = None) -> FitResult:
    """Continue the run saved in ``out`` (``chainrule train --resume OUT`` on the command line),
    holding the folder from reading its state to the run's end, with the BLAS thread count it was
    saved with (``threads`` must be None or that count: see ``Trainer.resume``). With a ``comm``
    (see ``fit``), rank 0 reads the state and holds the folder; any number of processes can
    continue a run saved by any number.

    >>> import tempfile, chainrule as cr
    >>> out = tempfile.mkdtemp()
    >>> _ = cr.fit("xor", model="4tanh", epochs=2, val_split=0, out=out, quiet=True)
    >>> resume(out, quiet=True).summary["epochs"]
    2
    """
    comm = comm or SingleProcess()
    if callback is None and not quiet and comm.rank == 0:
        callback = default_reporter()
    with claim(out, resume=True) if comm.rank == 0 else contextlib.nullcontext():
        trainer = Trainer.resume(out, data_dir=data_dir, callback=callback, threads=threads, comm=comm)
        with limit_threads(trainer.threads):
            return trainer.fit()
