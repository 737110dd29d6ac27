"""N-MNIST (Orchard, Jayawant, Cohen & Thakor 2015): MNIST digits recorded by an event camera.

Reads the original binary files laid out as ``cache_dir()/nmnist/{Train,Test}/<digit>/*.bin``
and bins each recording into a short stack of event-count frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import DataSplit, cache_dir, check_positive_int, subset, tensor_dataset, unavailable

__all__ = ["EVENT_DTYPE", "SENSOR_SIZE", "INFO", "HOW", "read_nmnist_events", "events_to_frames",
           "load_nmnist"]

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
SENSOR_SIZE = (34, 34)  # (height, width)
_OVERFLOW_Y = 240  # marker event: timestamps after it are 2**13 us later
INFO = ("N-MNIST (Orchard et al. 2015); each sample is [n_bins, 2 polarities, 34, 34] event "
        "counts and axis 0 is TIME: feed it with snnlab.encoding method='frames'")
HOW = ("pip install tonic (it downloads N-MNIST), or download Train.zip and Test.zip from "
       "https://www.garrickorchard.com/datasets/n-mnist (mirror: "
       "https://data.mendeley.com/datasets/468j46mzdv) and unzip both into {root} so that "
       "{root}/Train/0/*.bin and {root}/Test/0/*.bin exist")


def read_nmnist_events(path: str | Path) -> np.ndarray:
    """Decode one N-MNIST ``.bin`` file into a structured array with fields ``x, y, t, p``.

    Every event is 5 bytes (40 bits, big-endian fields): byte 0 = x, byte 1 = y, then one
    polarity bit followed by a 23-bit timestamp in microseconds. Events with ``y == 240`` only
    mark a timestamp overflow (add 2**13 us to every later event) and are dropped.
    """
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 5:
        raise ValueError(f"{path}: size {raw.size} bytes is not a multiple of 5 (40-bit events)")
    rec = raw.reshape(-1, 5).astype(np.int64)
    t = ((rec[:, 2] & 0x7F) << 16) | (rec[:, 3] << 8) | rec[:, 4]
    overflow = rec[:, 1] == _OVERFLOW_Y
    t = t + np.cumsum(overflow) * 2**13
    keep = ~overflow
    events = np.empty(int(keep.sum()), dtype=EVENT_DTYPE)
    events["x"], events["y"] = rec[keep, 0], rec[keep, 1]
    events["t"], events["p"] = t[keep], rec[keep, 2] >> 7
    return events


def events_to_frames(events: np.ndarray, n_bins: int,
                     sensor_size: tuple[int, int] = SENSOR_SIZE) -> np.ndarray:
    """Count events into ``n_bins`` equal time slices spanning the recording.

    Returns float32 ``[n_bins, 2, height, width]`` (channel = polarity); all zeros if empty.
    """
    h, w = sensor_size
    frames = np.zeros(n_bins * 2 * h * w, dtype=np.float32)
    if len(events):
        x, y, p, t = (events[k].astype(np.int64) for k in ("x", "y", "p", "t"))
        if x.max() >= w or y.max() >= h or min(x.min(), y.min()) < 0:
            raise ValueError(f"event coordinates exceed the {w}x{h} sensor")
        t0 = t.min()
        b = (t - t0) * n_bins // (t.max() - t0 + 1)
        frames += np.bincount(((b * 2 + p) * h + y) * w + x, minlength=frames.size)
    return frames.reshape(n_bins, 2, h, w)


def _find_root() -> Path:
    root = cache_dir() / "nmnist"
    for base in (root, root / "NMNIST"):  # tonic unpacks into <save_to>/NMNIST
        if (base / "Train").is_dir() and (base / "Test").is_dir():
            return base
    return root


def _scan(folder: Path) -> tuple[list[Path], np.ndarray]:
    files, labels = [], []
    for digit in range(10):
        found = sorted((folder / str(digit)).glob("*.bin"))
        files += found
        labels += [digit] * len(found)
    return files, np.array(labels, dtype=np.int64)


def _download_with_tonic(root: Path) -> None:
    missing = ["Train/<digit>/*.bin", "Test/<digit>/*.bin"]
    try:
        import tonic  # optional dependency
    except ImportError:
        raise unavailable("nmnist", missing, root, HOW.format(root=root),
                          "tonic is not installed") from None
    try:
        for train in (True, False):
            tonic.datasets.NMNIST(save_to=str(root), train=train)
    except Exception as err:  # tonic raises many kinds of errors when offline
        raise unavailable("nmnist", missing, root, HOW.format(root=root), err) from err


def load_nmnist(*, seed: int = 0, n_bins: int = 10, limit_train: int | None = None,
                limit_test: int | None = None, download: bool = True) -> DataSplit:
    """N-MNIST as ``[N, n_bins, 2, 34, 34]`` float32 event counts, 10 classes.

    The full set is 60000 / 10000 recordings (about 5.5 GB as float32 with ``n_bins=10``);
    use ``limit_train`` / ``limit_test`` to read a random subset drawn with ``seed``.
    """
    n_bins = check_positive_int("n_bins", n_bins, "nmnist")
    base = _find_root()
    if not (base / "Train").is_dir() or not (base / "Test").is_dir():
        if not download:
            raise unavailable("nmnist", ["Train/", "Test/"], base, HOW.format(root=base),
                              "download=False")
        _download_with_tonic(base)
        base = _find_root()
    parts = {}
    for part, limit, offset in (("Train", limit_train, 0), ("Test", limit_test, 1)):
        files, labels = _scan(base / part)
        if not files:
            raise unavailable("nmnist", [f"{part}/<digit>/*.bin"], base, HOW.format(root=base))
        keep = subset(len(files), limit, seed + offset, f"limit_{part.lower()}", "nmnist")
        x = np.stack([events_to_frames(read_nmnist_events(files[i]), n_bins) for i in keep])
        parts[part] = tensor_dataset(x, labels[keep])
    return DataSplit(train=parts["Train"], test=parts["Test"], n_classes=10,
                     input_shape=(n_bins, 2, *SENSOR_SIZE), name="nmnist", info=INFO)
