"""The Yin-Yang data set (Kriener, Goltz & Petrovici 2021, arXiv:2102.08211).

Points in the unit square inside a yin-yang symbol; each sample is ``(x, y, 1 - x, 1 - y)``
and the label is one of three regions. The generator follows the reference implementation
(github.com/lkriener/yin_yang_data_set, ``dataset.py``) draw for draw, so the published seeds
reproduce the published sets.
"""

from __future__ import annotations

import math

import numpy as np

from .base import DataSplit, check_positive_int, check_seed, tensor_dataset

__all__ = ["CLASS_NAMES", "INFO", "yinyang_class", "generate_yinyang", "load_yinyang"]

CLASS_NAMES = ("yin", "yang", "dot")  # index order used by the reference code
INFO = ("Yin-Yang (Kriener, Goltz & Petrovici 2021, arXiv:2102.08211); "
        "features (x, y, 1-x, 1-y), 3 balanced classes")


def yinyang_class(x: float, y: float, r_small: float = 0.1, r_big: float = 0.5) -> int:
    """Class of the point ``(x, y)``: 2 inside either dot, else 1 for the 'yin' region, else 0."""
    d_right = math.sqrt((x - 1.5 * r_big) ** 2 + (y - r_big) ** 2)
    d_left = math.sqrt((x - 0.5 * r_big) ** 2 + (y - r_big) ** 2)
    if d_right < r_small or d_left < r_small:
        return 2
    in_yin = (
        d_right <= r_small
        or r_small < d_left <= 0.5 * r_big
        or (y > r_big and d_right > 0.5 * r_big)
    )
    return int(in_yin)


def generate_yinyang(size: int, seed: int, r_small: float = 0.1,
                     r_big: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``size`` samples exactly like the reference generator.

    For every sample a goal class is drawn uniformly (``randint(3)``), then points are drawn
    uniformly in ``[0, 2 r_big]^2`` (``rand(2)``) until one lies inside the big circle and in
    the goal class. All draws come from ``numpy.random.RandomState(seed)``.

    Returns
    -------
    x : float64 array ``[size, 4]`` with columns ``(x, y, 1 - x, 1 - y)``
    y : int64 array ``[size]``
    """
    rng = np.random.RandomState(seed)
    points = np.empty((size, 2))
    labels = np.empty(size, dtype=np.int64)
    for i in range(size):
        goal = rng.randint(3)
        while True:
            px, py = (float(v) for v in rng.rand(2) * 2.0 * r_big)
            if math.sqrt((px - r_big) ** 2 + (py - r_big) ** 2) > r_big:
                continue
            label = yinyang_class(px, py, r_small, r_big)
            if label == goal:
                break
        points[i] = px, py
        labels[i] = label
    return np.concatenate([points, 1.0 - points], axis=1), labels


def load_yinyang(*, seed: int = 0, train_seed: int = 42, val_seed: int = 41,
                 test_seed: int = 40, n_train: int = 5000, n_val: int = 1000,
                 n_test: int = 1000) -> DataSplit:
    """The published Yin-Yang splits: 5000 train (seed 42), 1000 val (41), 1000 test (40).

    ``seed`` (the generic argument of :func:`snnlab.data.load`) is ignored so that every run
    sees the published data; pass ``train_seed`` / ``val_seed`` / ``test_seed`` to draw other
    sets (use three different seeds, otherwise the splits contain the same points).
    """
    seeds = {n: check_seed(s, n) for n, s in
             (("train_seed", train_seed), ("val_seed", val_seed), ("test_seed", test_seed))}
    parts = {}
    for part, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        n = check_positive_int(f"n_{part}", n, "yinyang")
        parts[part] = tensor_dataset(*generate_yinyang(n, seeds[f"{part}_seed"]))
    return DataSplit(train=parts["train"], val=parts["val"], test=parts["test"], n_classes=3,
                     input_shape=(4,), name="yinyang", info=INFO)
