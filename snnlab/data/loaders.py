"""Reproducible batching: :func:`make_loader` (a seeded DataLoader) and :func:`batches` (the
training loop's batches, sharded among data-parallel processes)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from .base import check_seed

__all__ = ["make_loader", "batches", "shard_rows"]


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


class _Indices(Dataset):
    """0 .. n-1: a DataLoader over it yields index batches, drawing exactly what a DataLoader
    over an n-sample dataset draws from its generator (base seed, then the permutation)."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def shard_rows(n: int, rank: int = 0, world_size: int = 1) -> slice:
    """Rows of a global batch of ``n`` that process ``rank`` of ``world_size`` takes: equal
    contiguous shards in rank order (what :func:`snnlab.distributed.shard` gives)."""
    return slice((n * rank) // world_size, (n * (rank + 1)) // world_size)


def batches(dataset, batch_size: int, *, shuffle: bool = False,
            generator: torch.Generator | None = None, rank: int = 0,
            world_size: int = 1) -> Iterator[tuple[torch.Tensor, torch.Tensor, slice, int]]:
    """The batches of ``dataset`` (a TensorDataset, possibly memory-mapped) as
    ``(x_rows, y_rows, rows, n)``: this process's ``rows`` of a global batch of ``n`` samples.

    The global order is the one ``DataLoader(dataset, batch_size, shuffle, generator)`` gives
    (the same random draws, interleaved alike with whatever else uses ``generator`` between
    batches), so one process and ``world_size`` processes see the same global batches. Only
    this process's rows are ever read from ``dataset``: with memory-mapped arrays
    (:func:`snnlab.data.load` ``("npy:DIR")``) no process holds more than its shard of a batch.
    """
    n_all = len(dataset)
    order = DataLoader(_Indices(n_all), batch_size=batch_size, shuffle=shuffle,
                       generator=generator, num_workers=0)
    for idx in order:
        n = int(idx.shape[0])
        rows = shard_rows(n, rank, world_size)
        part = idx[rows]
        if not shuffle and part.numel():  # in order: a slice reads the rows sequentially
            part = slice(int(part[0]), int(part[-1]) + 1)
        x, y = dataset[part]
        yield x, y, rows, n
