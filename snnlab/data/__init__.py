"""Datasets for snnlab, all returned as a :class:`DataSplit` of float32 / int64 tensors.

``load(name, seed=0, **kw)`` sources:

* ``digits`` -- scikit-learn's bundled 8x8 handwritten digits (1797 images, no download).
  Stratified 1437/360 split shuffled by ``seed``; ``flatten=False`` gives ``(1, 8, 8)``.
* ``yinyang`` -- the Yin-Yang toy problem of Kriener et al. (2021), generated exactly as the
  reference code does; published 5000/1000/1000 train/val/test seeds, 4 features, 3 classes.
* ``mnist1d`` -- MNIST-1D (Greydanus 2020) regenerated locally from its 10 templates with the
  default arguments; 4000/1000 signals of length 40, cached as ``.npz``.
* ``manifold`` -- smooth random manifolds (Zenke & Vogels 2021, randman-style), one class per
  manifold; values are spike times for latency coding. Generated locally (``task_seed=...``).
* ``npz:PATH`` -- your own arrays ``x_train, y_train, x_test, y_test`` (+ ``x_val, y_val``),
  validated thoroughly; no rescaling.
* ``npy:DIR`` -- ``x_train.npy, y_train.npy, x_test.npy, y_test.npy`` read through memory maps,
  for data sets larger than memory (``snnlab/data/stream.py``).
* ``mnist``, ``fashion_mnist``, ``cifar10`` -- the classic image sets read from their original
  files in ``cache_dir()``; downloaded once with urllib if missing (``limit_train=...``).
* ``nmnist`` -- N-MNIST event-camera recordings binned into ``n_bins`` frames of shape
  ``(2, 34, 34)``; needs the files (or ``tonic``) once.

``cache_dir()`` is ``$SNNLAB_DATA``, else ``$XDG_CACHE_HOME/snnlab``, else ``~/.cache/snnlab``.
``make_loader(dataset, batch_size, shuffle, seed)`` builds a reproducibly seeded DataLoader;
``batches(dataset, batch_size, ...)`` yields the training loop's batches (one process's shard).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .base import DataSplit, DataUnavailableError, cache_dir, check_seed
from .digits import load_digits
from .events import events_to_frames, load_nmnist, read_nmnist_events
from .heldout import LOADERS as HELDOUT_LOADERS
from .loaders import batches, make_loader
from .manifold import load_manifold
from .mnist1d import load_mnist1d
from .npz import load_npz
from .stream import load_npy
from .vision import load_cifar10, load_fashion_mnist, load_mnist, read_cifar_batch, read_idx
from .yinyang import load_yinyang

__all__ = [
    "DataSplit", "DataUnavailableError", "available", "batches", "cache_dir", "events_to_frames",
    "load", "make_loader", "read_cifar_batch", "read_idx", "read_nmnist_events",
]

_LOADERS: dict[str, Callable[..., DataSplit]] = {
    "digits": load_digits,
    "yinyang": load_yinyang,
    "mnist1d": load_mnist1d,
    "manifold": load_manifold,
    "mnist": load_mnist,
    "fashion_mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
    "nmnist": load_nmnist,
    **HELDOUT_LOADERS,  # heldout-blobs10-c3-unit, ... (snnlab.data.heldout.TASKS)
}


def available() -> list[str]:
    """Names accepted by :func:`load` (plus the ``"npz:PATH"`` form for your own files)."""
    return list(_LOADERS)


def _check_kwargs(name: str, loader: Callable[..., DataSplit], kw: dict[str, Any]) -> None:
    params = inspect.signature(loader).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return  # the loader validates its own open-ended options
    accepted = [k for k, p in params.items() if p.kind is p.KEYWORD_ONLY and k != "seed"]
    for key in kw:
        if key not in accepted:
            raise TypeError(f"load({name!r}) got an unexpected keyword argument {key!r} "
                            f"(accepted: {', '.join(accepted) or 'none'})")


def load(name: str, *, seed: int = 0, **kw: Any) -> DataSplit:
    """Load dataset ``name`` as a :class:`DataSplit`.

    Parameters
    ----------
    name : str
        One of :func:`available`, ``"npz:PATH"`` or ``"npy:DIR"`` (memory-mapped).
    seed : int
        Non-negative seed for anything random in the split (ignored by ``yinyang`` and
        ``mnist1d``, whose standard versions have fixed seeds; see their keyword arguments).
    **kw
        Dataset-specific options, e.g. ``flatten``, ``limit_train``, ``n_bins``.
    """
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    seed = check_seed(seed)
    if name.startswith("npz:"):
        path = name[4:]
        if not path:
            raise ValueError("'npz:' needs a file path, e.g. load('npz:data/my_arrays.npz')")
        _check_kwargs(name, load_npz, kw)
        return load_npz(path, seed=seed, **kw)
    if name.startswith("npy:"):
        if not name[4:]:
            raise ValueError("'npy:' needs a directory, e.g. load('npy:data/big/')")
        _check_kwargs(name, load_npy, kw)
        return load_npy(name[4:], seed=seed, **kw)
    key = name.strip().lower().replace("-", "_")
    if key not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(available())}, "
                         "or 'npz:PATH' for your own arrays")
    _check_kwargs(key, _LOADERS[key], kw)
    return _LOADERS[key](seed=seed, **kw)
