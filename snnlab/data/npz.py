"""User-supplied arrays in a NumPy ``.npz`` file, loaded as ``load("npz:PATH")``.

Required arrays: ``x_train, y_train, x_test, y_test``; optional ``x_val, y_val``. ``x`` holds one
sample per row (any per-sample shape, at least 1-D), ``y`` integer class labels starting at 0.
Values are converted to float32 / int64 but otherwise used as given (no rescaling).

Every array's header is read before its data: a shape that the archive cannot hold, or one
whose float32 copy would not fit in memory, is refused before anything is allocated, and so are
labels outside ``0 .. MAX_CLASSES - 1`` (before the class count is used to size anything).
"""

from __future__ import annotations

import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._checks import MAX_CLASSES, check_memory, format_bytes
from .base import DataSplit, tensor_dataset

__all__ = ["REQUIRED", "load_npz"]

REQUIRED = ("x_train", "y_train", "x_test", "y_test")


def _fail(path: Path, key: str, problem: str) -> ValueError:
    return ValueError(f"{path}: array {key!r} {problem}")


def _check_pair(path: Path, arrays: dict, part: str) -> tuple[np.ndarray, np.ndarray]:
    xk, yk = f"x_{part}", f"y_{part}"
    x, y = arrays[xk], arrays[yk]
    numeric = np.issubdtype(x.dtype, np.number) or x.dtype == bool
    if not numeric or np.issubdtype(x.dtype, np.complexfloating):
        raise _fail(path, xk, f"must be real-valued numeric, got dtype {x.dtype}")
    if x.ndim < 2:
        raise _fail(path, xk, f"must have at least 2 dimensions [N, features...], got shape "
                              f"{x.shape}")
    if len(x) == 0:
        raise _fail(path, xk, "is empty (0 samples)")
    if y.ndim != 1:
        raise _fail(path, yk, f"must be 1-D (one label per sample), got shape {y.shape}")
    if len(x) != len(y):
        raise _fail(path, yk, f"has {len(y)} labels but {xk!r} has {len(x)} samples")
    if not np.all(np.isfinite(x)):
        raise _fail(path, xk, f"contains {int(np.sum(~np.isfinite(x)))} NaN/inf values")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise _fail(path, yk, "must hold integer class labels, found non-integer values")
    elif not np.issubdtype(y.dtype, np.integer):
        raise _fail(path, yk, f"must hold integer class labels, got dtype {y.dtype}")
    if y.min() < 0:
        i = int(np.argmin(y))
        raise _fail(path, yk, f"has negative labels (label {y[i]} at index {i}); labels must "
                              f"be class indices 0..C-1")
    if y.max() >= MAX_CLASSES:
        i = int(np.argmax(y))
        raise _fail(path, yk, f"has label {y[i]} at index {i}; labels must be class indices "
                              f"0..C-1 with at most {MAX_CLASSES} classes")
    return x, y.astype(np.int64)


def _header(archive, key: str) -> tuple[tuple, np.dtype, int]:
    """``key``'s shape, dtype and the bytes its data has in the archive, from the .npy header
    alone (numpy allocates the whole array before reading it, whatever the header says)."""
    names = archive.zip.namelist()
    member = f"{key}.npy" if f"{key}.npy" in names else key
    info = archive.zip.getinfo(member)
    with archive.zip.open(member) as fh:
        version = np.lib.format.read_magic(fh)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read(fh)
        return shape, dtype, info.file_size - fh.tell()


def _check_header(path: Path, archive, key: str) -> None:
    """Refuse, before numpy allocates it, a shape the archive's bytes cannot hold or one whose
    float32 copy would not fit in memory."""
    try:
        shape, dtype, held = _header(archive, key)
    except (ValueError, SyntaxError, zipfile.BadZipFile, OSError, EOFError, KeyError,
            zlib.error) as err:
        raise _fail(path, key, f"is corrupted in the archive ({err})") from None
    if dtype.hasobject:
        return  # refused when read (it needs pickle)
    count = int(np.prod(shape, dtype=object))
    stored = count * dtype.itemsize
    if stored > held:
        raise _fail(path, key, f"is corrupted: its header says shape {shape} ({dtype}, "
                               f"{format_bytes(stored)}) but the archive holds "
                               f"{format_bytes(max(held, 0))}")
    check_memory(f"{path}: array {key!r} of shape {shape}", stored + 4.0 * count,
                 purpose="loading it and its float32 copy")


def load_npz(path: str | Path, *, seed: int = 0) -> DataSplit:
    """Load and validate ``x_train, y_train, x_test, y_test`` (+ optional ``x_val, y_val``).

    ``n_classes`` is the largest label + 1. Raises ``FileNotFoundError`` if the file is missing
    and ``ValueError`` naming the file and the offending array for any malformed content;
    warns if some class in ``0 .. n_classes - 1`` has no training sample. ``seed`` is unused.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"npz data file not found: {path} (use load('npz:/path/to.npz'))")
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise ValueError(f"{path}: not a readable .npz archive ({err})") from None
    if not hasattr(archive, "files"):  # np.load returned a plain array (.npy file)
        raise ValueError(f"{path}: holds a single array, expected an .npz archive with "
                         f"{', '.join(REQUIRED)} (save it with numpy.savez)")
    with archive as f:
        names = set(f.files)
        arrays = {}
        for k in (*REQUIRED, "x_val", "y_val"):
            if k not in names:
                continue
            _check_header(path, f, k)
            try:
                arrays[k] = f[k]
            except ValueError as err:  # object arrays need pickle, which we refuse
                raise _fail(path, k, f"cannot be read without pickle ({err})") from None
            except (zipfile.BadZipFile, OSError, EOFError, KeyError, zlib.error) as err:
                raise _fail(path, k, f"is corrupted in the archive ({err})") from None
    for k in REQUIRED:
        if k not in arrays:
            raise _fail(path, k, f"is missing (file has: {', '.join(sorted(names)) or 'nothing'})")
    parts = ["train", "test"]
    if ("x_val" in arrays) != ("y_val" in arrays):
        missing = "y_val" if "x_val" in arrays else "x_val"
        raise _fail(path, missing, "is missing (x_val and y_val must come together)")
    if "x_val" in arrays:
        parts.insert(1, "val")
    checked = {p: _check_pair(path, arrays, p) for p in parts}
    shape = checked["train"][0].shape[1:]
    for p in parts[1:]:
        if checked[p][0].shape[1:] != shape:
            raise _fail(path, f"x_{p}", f"has per-sample shape {checked[p][0].shape[1:]}, but "
                                        f"'x_train' has {shape}")
    n_classes = int(max(y.max() for _, y in checked.values())) + 1
    smallest = min(int(y.min()) for _, y in checked.values())
    if smallest > 0:
        raise _fail(path, "y_train", f"labels must start at 0, but the smallest label is "
                                     f"{smallest} (shift them, e.g. y - {smallest})")
    train_counts = np.bincount(checked["train"][1], minlength=n_classes)
    if np.any(train_counts == 0):
        absent = np.flatnonzero(train_counts == 0).tolist()
        warnings.warn(f"{path}: classes {absent} of 0..{n_classes - 1} have no training "
                      "samples", UserWarning, stacklevel=3)
    ds = {p: tensor_dataset(*checked[p]) for p in parts}
    return DataSplit(train=ds["train"], test=ds["test"], val=ds.get("val"), n_classes=n_classes,
                     input_shape=shape, name=f"npz:{path}", info=f"user arrays from {path}")
