"""``chainrule export CHECKPOINT OUT``: a saved model in another tool's format.

The format follows OUT's suffix: ``.onnx`` is ONNX (``chainrule.interop.to_onnx``). PyTorch's
safetensors layout is asked for by name, ``--format torch`` with OUT ending in ``.safetensors``:
chainrule's own checkpoints are safetensors files too, so the suffix alone can't tell them apart.
"""

from __future__ import annotations

import argparse
import os

from ..interop.onnx import MAX_OPSET, MIN_OPSET, OPSET, to_onnx
from ..model import load
from ..rundir import checkpoint_in
from .errors import UserError

__all__ = ["HELP", "FORMATS", "add_arguments", "run", "format_for"]

HELP = "write a saved model as ONNX or PyTorch weights"
FORMATS = {"onnx": ".onnx", "torch": ".safetensors"}  # format -> the suffix its file takes


def format_for(out: str, fmt: str | None) -> str:
    """The format to write ``out`` in: ``fmt``, else the one its suffix names; UserError if they disagree.

    >>> format_for("model.onnx", None), format_for("w.safetensors", "torch")
    ('onnx', 'torch')
    >>> format_for("w.safetensors", None)
    Traceback (most recent call last):
    chainrule.cli.errors.UserError: w.safetensors: a .safetensors file could be PyTorch's weights or a chainrule checkpoint; pass --format torch for PyTorch's key names and layout
    """
    suffix = os.path.splitext(out)[1].lower()
    if fmt is not None:
        if suffix != FORMATS[fmt]:
            raise UserError(f"{out}: --format {fmt} writes a {FORMATS[fmt]} file; name OUT accordingly")
        return fmt
    if suffix == ".onnx":
        return "onnx"
    if suffix == ".safetensors":
        raise UserError(f"{out}: a .safetensors file could be PyTorch's weights or a chainrule checkpoint; "
                        f"pass --format torch for PyTorch's key names and layout")
    if suffix in (".pt", ".pth", ".bin", ".pkl"):
        raise UserError(f"{out}: chainrule writes no pickle files; for PyTorch write OUT.safetensors with "
                        f"--format torch (load it with safetensors.torch.load_file)")
    raise UserError(f"{out}: unknown format; OUT must end in .onnx (ONNX) or .safetensors (with --format torch)")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``chainrule export``."""
    parser.description = (
        "Write a model saved by chainrule train in another tool's format: OUT.onnx is ONNX (for onnxruntime; "
        "input 'input', float32 features scaled as in training, outputs 'logits' and 'probabilities'); "
        "OUT.safetensors with --format torch is PyTorch's state_dict (key names and (out, in) layout) for a "
        "torch.nn.Sequential of the same layers. No pickle is written.")
    parser.add_argument("checkpoint", help="a model.safetensors written by chainrule train, or the run folder "
                                           "that holds it")
    parser.add_argument("out", metavar="OUT", help="the file to write: OUT.onnx for ONNX, OUT.safetensors with "
                                                   "--format torch for PyTorch")
    parser.add_argument("--format", choices=sorted(FORMATS), default=None,
                        help="onnx (a network with outputs 'logits' and 'probabilities', needs the onnx extra) or "
                             "torch (PyTorch's state_dict names and layout in safetensors, for a "
                             "torch.nn.Sequential of the same layers) (default: from OUT's suffix; .safetensors "
                             "needs --format torch)")
    parser.add_argument("--opset", type=int, default=None,
                        help=f"the ONNX opset to write, {MIN_OPSET} to {MAX_OPSET} (default: {OPSET}, which older "
                             f"runtimes load too)")
    return parser


def run(args: argparse.Namespace) -> int:
    """``chainrule export``: write the file, print one line naming it; returns 0."""
    fmt = format_for(args.out, args.format)
    if args.opset is not None and fmt != "onnx":
        raise UserError("--opset applies to --format onnx only")
    checkpoint = checkpoint_in(args.checkpoint)  # a run folder: its model.safetensors
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        raise UserError(f"{args.out}: the folder {folder} does not exist")
    if os.path.isdir(args.out):
        raise UserError(f"{args.out} is a folder; OUT names the file to write")
    if os.path.exists(checkpoint) and os.path.exists(args.out) and os.path.samefile(checkpoint, args.out):
        raise UserError(f"{args.out}: that is the checkpoint being exported; write to another file")
    model = load(checkpoint)
    if fmt == "onnx":
        to_onnx(model, args.out, opset=args.opset)
        print(f"wrote {args.out}: ONNX opset {args.opset or OPSET}, input 'input' float32 [batch, "
              f"{model.num_features}], outputs 'logits' and 'probabilities' [batch, {model.num_classes}]")
    else:
        from ..interop.torch import save_torch  # NumPy and safetensors only: torch is not needed to write it

        save_torch(model, args.out)
        print(f"wrote {args.out}: PyTorch state_dict ({model.spec}) in safetensors")
    return 0
