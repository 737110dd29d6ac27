"""Shared pieces of ``snnlab.data``: the :class:`DataSplit` container, the cache directory,
argument checks and a small, dependency-free downloader."""

from __future__ import annotations

import hashlib
import numbers
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from .._checks import MAX_CLASSES, MAX_SEED, check_int, check_labels

__all__ = ["DataUnavailableError", "DataSplit", "cache_dir", "check_seed", "check_positive_int",
           "subset", "tensor_dataset", "md5sum", "download_file", "unavailable"]


class DataUnavailableError(RuntimeError):
    """Raised when a dataset's files are missing locally and cannot be fetched."""


@dataclass(frozen=True, eq=False, repr=False)
class DataSplit:
    """Train/test (optionally validation) tensors of one dataset.

    Attributes
    ----------
    train, test, val : TensorDataset
        ``(x, y)`` pairs; ``x`` is float32 ``[N, *input_shape]``, ``y`` int64 class indices.
    n_classes : int
        Number of classes; labels lie in ``0 .. n_classes - 1``.
    input_shape : tuple of int
        Shape of one sample, e.g. ``(64,)``, ``(1, 28, 28)`` or ``(10, 2, 34, 34)``.
    name : str
        Name the split was loaded under.
    info : str
        One-line description and citation.
    """

    train: TensorDataset
    test: TensorDataset
    n_classes: int
    input_shape: tuple[int, ...]
    name: str
    val: TensorDataset | None = None
    info: str = ""

    def __post_init__(self) -> None:
        """Refuses (``ValueError``/``TypeError`` naming the part) a class count outside
        ``[1, MAX_CLASSES]``, an empty part, and labels outside ``[0, n_classes)``."""
        check_int("n_classes", self.n_classes, low=1, high=MAX_CLASSES)
        object.__setattr__(self, "input_shape", tuple(int(s) for s in self.input_shape))
        for part, ds in [("train", self.train), ("val", self.val), ("test", self.test)]:
            if part == "val" and ds is None:
                continue
            if not isinstance(ds, TensorDataset) or len(ds.tensors) != 2:
                raise TypeError(f"{self.name}: {part} must be a TensorDataset of (x, y), got "
                                f"{type(ds).__name__}")
            if len(ds) == 0:
                raise ValueError(f"{self.name}: the {part} split is empty (0 samples)")
        for part, ds in self._parts():
            x, y = ds.tensors
            if tuple(x.shape[1:]) != self.input_shape:
                raise ValueError(
                    f"{self.name}: {part} samples have shape {tuple(x.shape[1:])}, "
                    f"expected input_shape {self.input_shape}"
                )
            if x.dtype != torch.float32 or y.dtype != torch.int64:
                raise TypeError(f"{self.name}: {part} needs float32 x and int64 y")
            check_labels(f"{self.name}: {part} labels", y, len(x), self.n_classes)

    def _parts(self) -> list[tuple[str, TensorDataset]]:
        parts = [("train", self.train), ("val", self.val), ("test", self.test)]
        return [(k, v) for k, v in parts if v is not None]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self._parts())
        return (
            f"DataSplit({self.name!r}: {sizes}, input_shape={self.input_shape}, "
            f"n_classes={self.n_classes})"
        )

    def summary(self) -> str:
        """Multi-line human-readable description (sizes, shape, value range, class counts)."""
        lines = [repr(self)]
        if self.info:
            lines.append(f"  {self.info}")
        for part, ds in self._parts():
            x, y = ds.tensors
            counts = torch.bincount(y, minlength=self.n_classes).tolist()
            lo, hi = (float(x.min()), float(x.max())) if x.numel() else (0.0, 0.0)
            lines.append(f"  {part:5s}: {len(ds):6d} samples, x in [{lo:.3g}, {hi:.3g}], "
                         f"per class {counts}")
        return "\n".join(lines)


def cache_dir() -> Path:
    """Directory for downloaded / generated data, created on demand.

    ``$SNNLAB_DATA`` if set, else ``$XDG_CACHE_HOME/snnlab``, else ``~/.cache/snnlab``.
    """
    if os.environ.get("SNNLAB_DATA"):
        path = Path(os.environ["SNNLAB_DATA"]).expanduser()
    elif os.environ.get("XDG_CACHE_HOME"):
        path = Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "snnlab"
    else:
        path = Path.home() / ".cache" / "snnlab"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_seed(seed: object, name: str = "seed") -> int:
    """Return ``seed`` as an int, raising (naming the argument) unless it is an integer in
    ``[0, 2**32 - 1]`` (what every generator in use accepts)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 0, got {seed!r} ({type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"{name} must be an int >= 0, got {seed}")
    if seed > MAX_SEED:
        raise ValueError(f"{name} must be an int <= {MAX_SEED}, got {seed}")
    return int(seed)


def check_positive_int(name: str, value: object, dataset: str) -> int:
    """Validate an optional count argument such as ``limit_train``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{dataset}: {name} must be a positive int or None, got {value!r}")
    return int(value)


def subset(n: int, limit: int | None, seed: int, name: str, dataset: str) -> np.ndarray:
    """Indices of a seeded random subset of ``limit`` out of ``n`` items (kept in order)."""
    if limit is None:
        return np.arange(n)
    limit = check_positive_int(name, limit, dataset)
    if limit >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=limit, replace=False))


def tensor_dataset(x: np.ndarray, y: np.ndarray) -> TensorDataset:
    """Wrap numpy arrays as a float32 / int64 :class:`TensorDataset`."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
    return TensorDataset(xt, yt)


def md5sum(path: Path) -> str:
    """Hex MD5 digest of a file (integrity check against published checksums)."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(urls: Sequence[str], dest: Path, md5: str | None = None,
                  timeout: float = 60.0) -> Path:
    """Fetch the first working URL of ``urls`` into ``dest`` (atomically).

    Raises
    ------
    OSError
        ``urllib.error.URLError`` (a subclass) when every mirror fails.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
        try:
            print(f"snnlab.data: downloading {url} -> {dest}", file=sys.stderr, flush=True)
            request = urllib.request.Request(url, headers={"User-Agent": "snnlab"})
            with (os.fdopen(fd, "wb") as out,
                  urllib.request.urlopen(request, timeout=timeout) as resp):
                shutil.copyfileobj(resp, out)
            if md5 is not None and md5sum(Path(tmp)) != md5:
                raise urllib.error.URLError(f"checksum mismatch for {url}")
            os.replace(tmp, dest)
            return dest
        except (OSError, ValueError) as err:  # URLError/HTTPError/timeouts are OSErrors
            errors.append(f"{url}: {err}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise urllib.error.URLError("; ".join(errors))


def unavailable(dataset: str, missing: Sequence[str], where: Path, how: str,
                cause: object = None) -> DataUnavailableError:
    """Build the standard 'files are missing' error for downloadable datasets."""
    msg = (
        f"Dataset {dataset!r} is not available locally and could not be downloaded"
        f"{f' ({cause})' if cause else ''}.\n"
        f"Missing: {', '.join(missing)}\nExpected in: {where}\n"
        f"This dataset needs an internet connection once; afterwards it is read from the "
        f"cache (set SNNLAB_DATA to move it).\nTo install it by hand: {how}"
    )
    return DataUnavailableError(msg)
