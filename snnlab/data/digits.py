"""scikit-learn's bundled 8x8 handwritten digits (UCI optdigits test set, 1797 images).

The file ships with scikit-learn, but importing scikit-learn costs ~1.8 s (about as much as
torch), so it is read directly from the installed package (found without importing it) and
split by :func:`stratified_split`, a copy of scikit-learn's ``train_test_split(...,
stratify=y, shuffle=True, random_state=seed)``: bit-identical arrays for every seed
(tests/test_data.py compares both when scikit-learn is importable).
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from .base import DataSplit, DataUnavailableError, tensor_dataset

__all__ = ["N_TEST", "INFO", "load_digits", "digits_file", "read_digits", "stratified_split"]

N_TEST = 360
INFO = ("UCI handwritten digits, 8x8 px, 16 grey levels scaled to [0, 1] "
        "(Alpaydin & Kaynak 1998; sklearn.datasets.load_digits)")


def load_digits(*, seed: int = 0, flatten: bool = True) -> DataSplit:
    """Stratified 1437 / 360 train/test split, shuffled by ``seed``.

    Parameters
    ----------
    seed : int
        Controls which images land in the test set.
    flatten : bool
        ``True`` gives samples of shape ``(64,)``, ``False`` gives ``(1, 8, 8)``.
    """
    data, target = read_digits()
    x = (data / 16.0).astype(np.float32)
    y = target.astype(np.int64)
    train, test = stratified_split(y, N_TEST, seed)
    x_tr, x_te, y_tr, y_te = x[train], x[test], y[train], y[test]
    shape = (64,) if flatten else (1, 8, 8)
    return DataSplit(
        train=tensor_dataset(x_tr.reshape(-1, *shape), y_tr),
        test=tensor_dataset(x_te.reshape(-1, *shape), y_te),
        n_classes=10, input_shape=shape, name="digits", info=INFO,
    )


def digits_file() -> Path:
    """``sklearn/datasets/data/digits.csv.gz`` of the installed scikit-learn (not imported)."""
    spec = importlib.util.find_spec("sklearn")  # finds the top-level package, runs none of it
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailableError("digits: the images ship with scikit-learn; "
                                   "pip install scikit-learn")
    for root in spec.submodule_search_locations:
        path = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    raise DataUnavailableError("digits: digits.csv.gz not found in the installed scikit-learn")


def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """``(data, target)`` as ``sklearn.datasets.load_digits()`` returns them: float64 pixel
    values 0..16 of shape (1797, 64) and int labels."""
    with gzip.open(digits_file(), mode="rt", encoding="utf-8") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :-1], table[:, -1].astype(int, copy=False)


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng) -> np.ndarray:
    """``sklearn.utils.extmath._approximate_mode``: per-class draws, ties broken by ``rng``."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rng.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def stratified_split(y: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices exactly as scikit-learn's ``StratifiedShuffleSplit`` (one split,
    ``test_size=n_test``, ``random_state=seed``) draws them: same random calls, same order."""
    n_train = len(y) - n_test
    _, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list = []
    test: list = []
    for i in range(len(class_counts)):
        permutation = rng.permutation(class_counts[i])
        perm_indices_class_i = class_indices[i].take(permutation, mode="clip")
        train.extend(perm_indices_class_i[: n_i[i]])
        test.extend(perm_indices_class_i[n_i[i]: n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)
