"""Writers for tiny files in the original on-disk formats, used by test_data.py.

They are written from the format descriptions (IDX, CIFAR-10 python batches, N-MNIST 40-bit
events), independently of the readers in snnlab.data.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def idx_bytes(arr: np.ndarray) -> bytes:
    """Unsigned-byte IDX encoding: 0, 0, 0x08, ndim, big-endian uint32 dims, raw data."""
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_idx_set(folder: Path, n_train: int = 12, n_test: int = 6, seed: int = 0,
                  gz: bool = True) -> dict[str, np.ndarray]:
    """Write the four MNIST-style files; return the arrays that went in."""
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test, dtype=np.uint8) * 3) % 10,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, key in zip(IDX_NAMES, ("x_train", "y_train", "x_test", "y_test")):
        data = idx_bytes(arrays[key])
        if gz:
            (folder / name).write_bytes(gzip.compress(data))
        else:
            (folder / name[:-3]).write_bytes(data)
    return arrays


def cifar_batch_bytes(images: np.ndarray, labels: list[int]) -> bytes:
    """A pickled dict like the CIFAR-10 python batches: b'data' [N, 3072] uint8, b'labels'."""
    batch = {b"batch_label": b"tiny", b"labels": list(labels),
             b"data": images.reshape(len(images), -1).astype(np.uint8)}
    return pickle.dumps(batch, protocol=2)


def write_cifar(folder: Path, per_batch: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Write data_batch_1..5 and test_batch into ``folder``; return the arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    xs, ys = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, 10, per_batch).tolist()
        (folder / name).write_bytes(cifar_batch_bytes(x, y))
        xs.append(x)
        ys.append(y)
    return {"x_train": np.concatenate(xs[:5]), "y_train": np.concatenate(ys[:5]),
            "x_test": xs[5], "y_test": np.array(ys[5])}


def cifar_archive_bytes(src: Path) -> bytes:
    """tar.gz with the batches under cifar-10-batches-py/ (like the official archive)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for f in sorted(src.iterdir()):
            tar.add(f, arcname=f"cifar-10-batches-py/{f.name}")
    return buf.getvalue()


def nmnist_bytes(x, y, t, p, overflow_at: tuple[int, ...] = ()) -> bytes:
    """Encode events as 5-byte records: x, y, p<<7 | t[22:16], t[15:8], t[7:0].

    ``overflow_at`` inserts a timestamp-overflow marker (y == 240) before those event indices.
    """
    out = bytearray()
    for i, (xi, yi, ti, pi) in enumerate(zip(x, y, t, p)):
        if i in overflow_at:
            out += bytes([0, 240, 0, 0, 0])
        out += bytes([xi, yi, (pi << 7) | ((ti >> 16) & 0x7F), (ti >> 8) & 0xFF, ti & 0xFF])
    return bytes(out)


def write_nmnist(root: Path, per_digit: int = 2, digits: tuple[int, ...] = (0, 1, 2),
                 seed: int = 0) -> None:
    """Write ``root/{Train,Test}/<digit>/NNNNN.bin`` with random events."""
    rng = np.random.default_rng(seed)
    for part in ("Train", "Test"):
        for d in digits:
            folder = root / part / str(d)
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(per_digit):
                n = int(rng.integers(5, 40))
                ev = (rng.integers(0, 34, n), rng.integers(0, 34, n),
                      np.sort(rng.integers(0, 300_000, n)), rng.integers(0, 2, n))
                (folder / f"{k:05d}.bin").write_bytes(nmnist_bytes(*(a.tolist() for a in ev)))
