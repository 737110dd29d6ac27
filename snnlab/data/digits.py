"""scikit-learn's bundled 8x8 handwritten digits (UCI optdigits test set, 1797 images)."""

from __future__ import annotations

import numpy as np

from .base import DataSplit, tensor_dataset

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
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=N_TEST, stratify=y, shuffle=True, random_state=seed
    )
    shape = (64,) if flatten else (1, 8, 8)
    return DataSplit(
        train=tensor_dataset(x_tr.reshape(-1, *shape), y_tr),
        test=tensor_dataset(x_te.reshape(-1, *shape), y_te),
        n_classes=10, input_shape=shape, name="digits", info=INFO,
    )
