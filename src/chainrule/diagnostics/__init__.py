"""Diagnostics: see inside a network while it trains.

``layer_stats`` measures each layer on a probe batch (activations, saturation, dead units,
backprop's δ norms, weight norms); ``check_layers`` and ``check_updates`` turn the figures into
verdicts with a remedy; ``Recorder`` does all this every epoch of a training run.

>>> import numpy as np, chainrule as cr
>>> net = cr.nn.Sequential(cr.nn.Linear(2, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
>>> rows = cr.diagnostics.layer_stats(net, np.zeros((3, 2), np.float32))
>>> rows[1]["kind"], rows[1]["saturated"]
('tanh', 0.0)
"""

from .rules import (DEAD_LIMIT, SATURATED_LIMIT, UPDATE_HIGH, UPDATE_LOW, UPDATE_REFERENCE, VANISHING_RATIO, Finding,
                    check_layers, check_updates)
from .recorder import HISTOGRAM_BINS, PROBE_SIZE, STEPS_MEASURED, DiagnosticsWarning, Recorder
from .stats import RELU_FAMILY, SATURATING, TAIL, layer_stats, sequential_layers

__all__ = ["layer_stats", "sequential_layers", "check_layers", "check_updates", "Finding", "SATURATING",
           "RELU_FAMILY", "TAIL", "SATURATED_LIMIT", "DEAD_LIMIT", "VANISHING_RATIO", "UPDATE_HIGH", "UPDATE_LOW",
           "UPDATE_REFERENCE", "Recorder", "DiagnosticsWarning", "PROBE_SIZE", "STEPS_MEASURED", "HISTOGRAM_BINS"]
