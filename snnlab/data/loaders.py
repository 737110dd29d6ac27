"""Reproducible :class:`torch.utils.data.DataLoader` construction."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from .base import check_seed

__all__ = ["make_loader"]


def make_loader(dataset: Dataset, batch_size: int = 128, shuffle: bool = False, seed: int = 0,
                drop_last: bool = False) -> DataLoader:
    """Single-process DataLoader whose shuffling order depends only on ``seed``.

    Parameters
    ----------
    dataset : Dataset
        Usually ``split.train`` / ``split.test`` of a :class:`~snnlab.data.DataSplit`.
    batch_size : int
        Samples per batch (must be >= 1).
    shuffle : bool
        Reshuffle every epoch (the sequence of epoch orders is fixed by ``seed``).
    seed : int
        Seed of the loader's private ``torch.Generator``; global RNG state is untouched.
    drop_last : bool
        Drop the last incomplete batch.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    generator = torch.Generator().manual_seed(check_seed(seed))
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=0,
                      generator=generator, drop_last=drop_last)
