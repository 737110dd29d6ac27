"""Data sets larger than memory: ``.npy`` arrays read through memory maps.

``load("npy:DIR")`` reads ``DIR/x_train.npy, y_train.npy, x_test.npy, y_test.npy`` (and
``x_val.npy, y_val.npy`` if present). The ``x`` arrays are memory-mapped read-only, never
copied: a training batch reads its rows from the file (the operating system keeps recently read
pages in its cache and drops them under pressure), so the arrays may be far larger than RAM.
Labels are read whole (one int64 per sample). Write the arrays with ``numpy.save`` or, for
arrays built piece by piece, ``numpy.lib.format.open_memmap``.

``x`` must be float32 and C-ordered (converting would read it all into memory); values are not
scanned on loading (that would read the whole file) but every batch is checked for NaN and
infinity when it is encoded.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from .base import DataSplit, check_seed

__all__ = ["load_npy", "memmap_dataset"]


def _x(path: Path) -> torch.Tensor:
    if not path.is_file():
        raise FileNotFoundError(f"npy data: {path} does not exist")
    try:
        x = np.load(path, mmap_mode="r")
    except ValueError as e:
        raise ValueError(f"npy data: {path} is not a readable .npy array: {e}") from None
    if x.dtype != np.float32 or not x.flags.c_contiguous or x.ndim < 2:
        raise ValueError(f"npy data: {path} must be a C-ordered float32 array [N, ...] (it is "
                         f"read through a memory map, never converted); got {x.dtype} of shape "
                         f"{x.shape}{'' if x.flags.c_contiguous else ', Fortran-ordered'}")
    with warnings.catch_warnings():  # read-only map: snnlab never writes into its inputs
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(x)


def _y(path: Path, n: int) -> torch.Tensor:
    if not path.is_file():
        raise FileNotFoundError(f"npy data: {path} does not exist")
    y = np.load(path, allow_pickle=False)
    if y.ndim != 1 or y.shape[0] != n or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"npy data: {path} must hold {n} integer labels [N], got {y.dtype} of "
                         f"shape {y.shape}")
    if n and int(y.min()) < 0:
        raise ValueError(f"npy data: {path} has negative labels")
    return torch.from_numpy(y.astype(np.int64))


def memmap_dataset(x_path, y_path) -> TensorDataset:
    """A TensorDataset whose ``x`` is the memory-mapped array in ``x_path``."""
    x = _x(Path(x_path))
    return TensorDataset(x, _y(Path(y_path), x.shape[0]))


def load_npy(path, *, seed: int = 0) -> DataSplit:
    """The split in directory ``path`` (see the module docstring); ``seed`` is accepted for
    symmetry and unused (the order on disk is kept; training shuffles every epoch)."""
    check_seed(seed)
    root = Path(path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"npy data: {root} is not a directory with x_train.npy, "
                                "y_train.npy, x_test.npy, y_test.npy")
    parts = {k: memmap_dataset(root / f"x_{k}.npy", root / f"y_{k}.npy")
             for k in ("train", "test")}
    if (root / "x_val.npy").is_file():
        parts["val"] = memmap_dataset(root / "x_val.npy", root / "y_val.npy")
    shapes = {tuple(ds.tensors[0].shape[1:]) for ds in parts.values()}
    if len(shapes) != 1:
        raise ValueError(f"npy data: {root}: the parts have different sample shapes {shapes}")
    n_classes = 1 + max(int(ds.tensors[1].max()) if len(ds) else 0 for ds in parts.values())
    return DataSplit(parts["train"], parts["test"], n_classes, shapes.pop(), f"npy:{root}",
                     val=parts.get("val"), info=f"memory-mapped .npy arrays in {root}")
