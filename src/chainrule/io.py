"""Checkpoints: weights in safetensors (never pickle), written atomically, read warily.

A chainrule checkpoint is a safetensors file whose metadata has one key,
``chainrule``, holding JSON: the model SPEC, the data's shape and classes, and
the training configuration. Reading checks the header before anything is
allocated: its length is bounded, it must be JSON with the layout safetensors
defines, every tensor must lie inside the file, and the metadata must be what
chainrule writes. Loading a checkpoint can never run code.

>>> import tempfile, os, chainrule as cr
>>> net = cr.nn.Linear(3, 2)
>>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
>>> save_weights(net.state_dict(), path, {"note": "tiny"})
>>> sorted(load_weights(path)[0])
['bias', 'weight']
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .data import files
from .atomic import atomic_write

__all__ = ["CheckpointError", "save_weights", "load_weights", "read_header", "write_safetensors", "contiguous",
           "MAX_HEADER_BYTES"]

MAX_HEADER_BYTES = 16 * 1024 * 1024  # safetensors itself refuses headers over 100 MB
_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "U8": np.uint8, "I8": np.int8, "BOOL": np.bool_}


class CheckpointError(ValueError):
    """A checkpoint that is missing, damaged, not safetensors, or not chainrule's."""


def contiguous(array) -> np.ndarray:
    """``array`` as a C-contiguous NumPy array (a copy only when it is not one already).

    safetensors 0.8's NumPy ``save`` copies an array's memory as it lies, so a transposed
    or sliced view is written with the wrong values and no error; every writer passes
    its arrays through here first. ``np.asarray(order="C")``, not ``np.ascontiguousarray``,
    which turns a 0-d array (a step count) into shape (1,).

    >>> w = np.arange(6, dtype=np.float32).reshape(2, 3).T
    >>> w.flags["C_CONTIGUOUS"], contiguous(w).flags["C_CONTIGUOUS"], contiguous(np.int64(3)).shape
    (False, True, ())
    """
    return np.asarray(array, order="C")


def write_safetensors(arrays: dict[str, np.ndarray], path: str | os.PathLike, metadata: dict[str, str]) -> None:
    """Write arrays, made C-contiguous, and string ``metadata`` to a safetensors file atomically.

    The file appears complete or not at all: a temporary file in the same folder
    is written, flushed, fsynced and renamed over ``path``.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "t.safetensors"
    >>> write_safetensors({"w": np.arange(6, dtype=np.float32).reshape(2, 3).T}, path, {"format": "pt"})
    >>> from safetensors.numpy import load_file
    >>> load_file(path)["w"].tolist()  # the transposed values, not the memory order
    [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    """
    from safetensors.numpy import save

    payload = save({k: contiguous(v) for k, v in arrays.items()}, metadata=metadata)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        f.write(payload)


def save_weights(arrays: dict[str, np.ndarray], path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> None:
    """Write arrays (and JSON-able metadata) to a chainrule checkpoint, atomically (write_safetensors)."""
    write_safetensors(arrays, path, {"chainrule": json.dumps(metadata or {}, sort_keys=True)})


def read_header(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(tensor entries, chainrule metadata, data offset), validated before any allocation."""
    name = os.fspath(path)
    with files.open_regular(name, limit=files.MAX_DATA_BYTES, what="checkpoint file", error=CheckpointError) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            head = f.read(8)
            if len(head) < 8:
                raise CheckpointError(f"{name}: {size} bytes is too short to be a safetensors file")
            (length,) = struct.unpack("<Q", head)
            if MAX_HEADER_BYTES < length <= size - 8:  # its metadata (a training history of some 70,000 epochs)
                raise CheckpointError(f"{name}: its header is {files.byte_size(length)}, more than the "
                                      f"{files.byte_size(MAX_HEADER_BYTES)} chainrule reads")
            if length < 2 or length > size - 8:
                raise CheckpointError(
                    f"{name}: not a safetensors file (header length {length} for a file of {size} bytes)")
            raw = f.read(length)
        except OSError as e:
            raise CheckpointError(f"{name}: cannot read ({e.strerror or e})") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{name}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: not a safetensors file (header is not a JSON object)")
    meta = header.pop("__metadata__", None)
    if isinstance(meta, dict) and meta.get("format") == "pt" and "chainrule" not in meta:
        raise CheckpointError(f"{name}: a safetensors file, but not one chainrule wrote: PyTorch weights (metadata "
                              f"format 'pt'); load them into a torch module with load_file from safetensors.torch, "
                              f"then convert it with chainrule.interop.from_torch")
    if not isinstance(meta, dict) or not isinstance(meta.get("chainrule"), str):
        raise CheckpointError(f"{name}: a safetensors file, but not one chainrule wrote (no 'chainrule' metadata)")
    try:
        info = json.loads(meta["chainrule"])
    except (json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{name}: chainrule metadata is not valid JSON") from None
    if not isinstance(info, dict):
        raise CheckpointError(f"{name}: chainrule metadata is not a JSON object")
    data_size = size - 8 - length
    for key, entry in header.items():
        if isinstance(entry, dict) and isinstance(entry.get("dtype"), str) and entry["dtype"] not in _DTYPES:
            raise CheckpointError(f"{name}: tensor {key!r} has dtype {entry['dtype'][:20]!r}, which chainrule does "
                                  f"not read (it reads {', '.join(_DTYPES)}); convert it to F32")
        if not (isinstance(entry, dict) and isinstance(entry.get("dtype"), str)
                and isinstance(entry.get("shape"), list)
                and isinstance(entry.get("data_offsets"), list) and len(entry["data_offsets"]) == 2):
            raise CheckpointError(f"{name}: tensor {key!r} has a malformed header entry")
        shape, (start, end) = entry["shape"], entry["data_offsets"]
        if not all(isinstance(d, int) and 0 <= d < 2**31 for d in shape) or not all(
                isinstance(o, int) for o in (start, end)):
            raise CheckpointError(f"{name}: tensor {key!r} has bad shape or offsets")
        nbytes = math.prod(shape) * np.dtype(_DTYPES[entry["dtype"]]).itemsize
        if not 0 <= start <= end <= data_size or end - start != nbytes:
            raise CheckpointError(
                f"{name}: tensor {key!r} ({entry['dtype']} {tuple(shape)}) does not fit the file "
                f"(offsets {start}..{end}, {data_size} data bytes): truncated or damaged")
    return header, info, 8 + length


def load_weights(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays by name, chainrule metadata) from a checkpoint, after read_header's checks."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    _, info, _ = read_header(path)
    try:
        arrays = load_file(os.fspath(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{os.fspath(path)}: cannot read tensors ({str(e).splitlines()[0]})") from None
    return arrays, info
