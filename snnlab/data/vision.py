"""Readers for the classic image benchmarks in their original on-disk formats.

MNIST and Fashion-MNIST: gzipped IDX files in ``cache_dir()/<name>/``; CIFAR-10: the "python
version" pickled batches in ``cache_dir()/cifar10/cifar-10-batches-py/``. Missing files are
fetched once with ``urllib`` from the public mirrors (checked against published MD5 sums).
"""

from __future__ import annotations

import codecs
import gzip
import pickle
import tarfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from .base import DataSplit, cache_dir, download_file, subset, tensor_dataset, unavailable

__all__ = ["IDX_SOURCES", "CIFAR_URL", "CIFAR_MD5", "CIFAR_DIR", "CIFAR_FILES", "CIFAR_INFO",
           "read_idx", "load_mnist", "load_fashion_mnist", "read_cifar_batch", "load_cifar10"]

_IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
IDX_SOURCES = {
    "mnist": {
        "mirrors": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        "md5": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"),
        "info": "MNIST handwritten digits (LeCun et al. 1998), 28x28 grey, scaled to [0, 1]",
    },
    "fashion_mnist": {
        "mirrors": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "md5": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"),
        "info": "Fashion-MNIST (Xiao, Rasul & Vollgraf 2017), 28x28 grey, scaled to [0, 1]",
    },
}
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
CIFAR_INFO = "CIFAR-10 (Krizhevsky 2009), 32x32 RGB, scaled to [0, 1]"
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): magic ``00 00 <type> <ndim>``, big-endian dims."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = 4 + 4 * ndim + int(np.prod(dims)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX header promises {expected} bytes, file has {len(raw)}")
    data = np.frombuffer(raw, dtype, offset=4 + 4 * ndim).reshape(dims)
    return data.astype(dtype.newbyteorder("="))


def _ensure(dataset: str, folder: Path, files: dict[str, tuple[list[str], str | None]],
            download: bool, how: str) -> None:
    """Download every ``file -> (urls, md5)`` into ``folder`` or raise a clear error."""
    if not download:
        raise unavailable(dataset, list(files), folder, how, "download=False")
    for name, (urls, md5) in files.items():
        try:
            download_file(urls, folder / name, md5)
        except OSError as err:
            still = [f for f in files if not (folder / f).exists()]
            raise unavailable(dataset, still, folder, how, err) from err


def _idx_paths(folder: Path) -> list[Path]:
    """Prefer ``x.gz``; fall back to an already decompressed ``x``."""
    return [folder / f if (folder / f).exists() or not (folder / f[:-3]).exists()
            else folder / f[:-3] for f in _IDX_FILES]


def _load_idx_dataset(name: str, seed: int, flatten: bool, limit_train: int | None,
                      limit_test: int | None, download: bool) -> DataSplit:
    src = IDX_SOURCES[name]
    folder = cache_dir() / name
    paths = _idx_paths(folder)
    missing = [f for f, p in zip(_IDX_FILES, paths) if not p.exists()]
    if missing:
        md5 = dict(zip(_IDX_FILES, src["md5"]))
        files = {f: ([m + f for m in src["mirrors"]], md5[f]) for f in missing}
        how = (f"download {', '.join(src['mirrors'][0] + f for f in _IDX_FILES)} "
               f"and put the (still gzipped) files into {folder}")
        _ensure(name, folder, files, download, how)
        paths = _idx_paths(folder)
    x_tr, y_tr, x_te, y_te = (read_idx(p) for p in paths)
    for x, y, p in ((x_tr, y_tr, paths[0]), (x_te, y_te, paths[2])):
        if x.ndim != 3 or len(x) != len(y):
            raise ValueError(f"{p}: expected [N, H, W] images matching {len(y)} labels, "
                             f"got shape {x.shape}")
    return _finish(name, x_tr[:, None], y_tr, x_te[:, None], y_te, seed, flatten,
                   limit_train, limit_test, src["info"])


def _finish(name: str, x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray,
            seed: int, flatten: bool, limit_train: int | None, limit_test: int | None,
            info: str) -> DataSplit:
    """Subset, scale uint8 pixels to [0, 1], optionally flatten, and wrap up."""
    for y, part in ((y_tr, "train"), (y_te, "test")):
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise ValueError(f"{name}: {part} labels must lie in 0..9, found {y.min()}..{y.max()}")
    i_tr = subset(len(y_tr), limit_train, seed, "limit_train", name)
    i_te = subset(len(y_te), limit_test, seed + 1, "limit_test", name)
    shape = (int(np.prod(x_tr.shape[1:])),) if flatten else tuple(x_tr.shape[1:])

    def prep(x: np.ndarray) -> np.ndarray:
        return (x.astype(np.float32) / 255.0).reshape(-1, *shape)

    return DataSplit(train=tensor_dataset(prep(x_tr[i_tr]), y_tr[i_tr]),
                     test=tensor_dataset(prep(x_te[i_te]), y_te[i_te]),
                     n_classes=10, input_shape=shape, name=name, info=info)


def load_mnist(*, seed: int = 0, flatten: bool = False, limit_train: int | None = None,
               limit_test: int | None = None, download: bool = True) -> DataSplit:
    """MNIST, 60000 / 10000 images of shape ``(1, 28, 28)`` (``(784,)`` if ``flatten``).

    ``limit_train`` / ``limit_test`` keep a random subset drawn with ``seed``.
    """
    return _load_idx_dataset("mnist", seed, flatten, limit_train, limit_test, download)


def load_fashion_mnist(*, seed: int = 0, flatten: bool = False, limit_train: int | None = None,
                       limit_test: int | None = None, download: bool = True) -> DataSplit:
    """Fashion-MNIST, same layout and arguments as :func:`load_mnist`."""
    return _load_idx_dataset("fashion_mnist", seed, flatten, limit_train, limit_test, download)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds numpy arrays (CIFAR batches need nothing else)."""

    _allowed: ClassVar[dict[tuple[str, str], object]] = {
        ("numpy", "_reconstruct"): np.ndarray.__reduce__(np.zeros(1))[0],
        ("numpy", "scalar"): np.float64(0).__reduce__()[0],
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # how Python 3 writes bytes with protocol 2
    }

    def find_class(self, module: str, name: str) -> object:
        key = (module.split(".")[0], name)
        if key in self._allowed:
            return self._allowed[key]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch: uint8 images ``[N, 3, 32, 32]`` and int64 labels."""
    with open(path, "rb") as fh:
        batch = _ArrayUnpickler(fh, encoding="bytes").load()
    try:
        data, labels = np.asarray(batch[b"data"], np.uint8), np.asarray(batch[b"labels"])
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a CIFAR-10 batch (needs b'data' and b'labels')") from err
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise ValueError(f"{path}: expected data [N, 3072] and N labels, got {data.shape}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _extract_cifar(archive: Path, folder: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile()
                   and m.name in {f"{CIFAR_DIR}/{f}" for f in CIFAR_FILES}]
        for m in members:
            source = tar.extractfile(m)
            assert source is not None
            (folder / m.name).parent.mkdir(parents=True, exist_ok=True)
            (folder / m.name).write_bytes(source.read())


def load_cifar10(*, seed: int = 0, flatten: bool = False, limit_train: int | None = None,
                 limit_test: int | None = None, download: bool = True) -> DataSplit:
    """CIFAR-10, 50000 / 10000 RGB images of shape ``(3, 32, 32)`` (``(3072,)`` if ``flatten``).

    ``limit_train`` / ``limit_test`` keep a random subset drawn with ``seed``.
    """
    root = cache_dir() / "cifar10"
    folder = root / CIFAR_DIR
    if not all((folder / f).exists() for f in CIFAR_FILES):
        archive = root / "cifar-10-python.tar.gz"
        how = f"download {CIFAR_URL} into {root} (it is unpacked automatically) or unpack it there"
        missing = [f"{CIFAR_DIR}/{f}" for f in CIFAR_FILES if not (folder / f).exists()]
        if not archive.exists():
            if not download:
                raise unavailable("cifar10", missing, root, how, "download=False")
            try:
                download_file([CIFAR_URL], archive, CIFAR_MD5)
            except OSError as err:
                raise unavailable("cifar10", missing, root, how, err) from err
        _extract_cifar(archive, root)
        lacking = [f for f in CIFAR_FILES if not (folder / f).exists()]
        if lacking:
            raise ValueError(f"{archive}: archive lacks {CIFAR_DIR}/{lacking[0]}; delete it "
                             "and try again")
    parts = [read_cifar_batch(folder / f) for f in CIFAR_FILES]
    x_tr = np.concatenate([p[0] for p in parts[:-1]])
    y_tr = np.concatenate([p[1] for p in parts[:-1]])
    return _finish("cifar10", x_tr, y_tr, *parts[-1], seed, flatten, limit_train, limit_test,
                   CIFAR_INFO)
