"""Tests for snnlab.data: every source, every validation path, the on-disk readers (on tiny
generated files) and the offline behaviour. No network access is needed."""

from __future__ import annotations

import dataclasses
import gzip
import importlib
import io
import os
import pickle
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snnlab import data as sd
from snnlab.data import DataSplit, DataUnavailableError, available, cache_dir, load
from snnlab.data import events as ev_mod
from snnlab.data import mnist1d as m1d_mod
from snnlab.data import vision as vis_mod

sys.path.insert(0, str(Path(__file__).parent))
fx = importlib.import_module("_data_fixtures")  # tiny files in the original formats


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own empty cache directory."""
    monkeypatch.setenv("SNNLAB_DATA", str(tmp_path / "cache"))


@pytest.fixture
def offline(monkeypatch):
    """Make every urllib request fail as it would without a network connection."""
    calls = []

    def fail(request, *args, **kwargs):
        calls.append(getattr(request, "full_url", request))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    return calls


def _serve(monkeypatch, payloads: dict[str, bytes]) -> list[str]:
    """Fake urlopen answering URLs whose last path part is a key of ``payloads``."""
    calls = []

    def fake(request, *args, **kwargs):
        url = request.full_url
        calls.append(url)
        name = url.rsplit("/", 1)[-1]
        if name not in payloads:
            raise urllib.error.HTTPError(url, 404, "not found", {}, None)
        return io.BytesIO(payloads[name])

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    return calls


def _check_split(split: DataSplit, n_classes: int, shape: tuple[int, ...],
                 unit_range: bool = True) -> None:
    assert split.n_classes == n_classes and split.input_shape == shape
    parts = [split.train, split.test] + ([split.val] if split.val is not None else [])
    for ds in parts:
        x, y = ds.tensors
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert tuple(x.shape[1:]) == shape and len(x) == len(y) > 0
        assert int(y.min()) >= 0 and int(y.max()) < n_classes
        if unit_range:
            assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0


# ----------------------------------------------------------------------------------- registry


def test_available_and_unknown_name():
    names = available()
    for name in ("digits", "yinyang", "mnist1d", "mnist", "fashion_mnist", "cifar10", "nmnist"):
        assert name in names
    with pytest.raises(ValueError, match=r"unknown dataset 'nope'.*digits.*yinyang.*npz:PATH"):
        load("nope")
    with pytest.raises(ValueError, match="needs a file path"):
        load("npz:")
    with pytest.raises(TypeError, match="name must be a str"):
        load(3)


@pytest.mark.parametrize("bad", [1.5, "1", True, None])
def test_seed_type_checked(bad):
    with pytest.raises(TypeError, match="seed"):
        load("digits", seed=bad)


def test_seed_negative_rejected():
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        load("digits", seed=-1)
    assert load("digits", seed=np.int64(3)).train.tensors[0].shape == (1437, 64)


@pytest.mark.parametrize("name", ["digits", "yinyang", "mnist1d", "mnist", "cifar10", "nmnist"])
def test_unknown_kwarg_names_kwarg_and_dataset(name):
    with pytest.raises(TypeError, match=rf"load\('{name}'\).*'bogus'"):
        load(name, bogus=1)


def test_unknown_kwarg_for_npz(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x_train=np.zeros((2, 3)), y_train=[0, 1], x_test=np.zeros((1, 3)), y_test=[1])
    with pytest.raises(TypeError, match=r"'flatten'"):
        load(f"npz:{path}", flatten=True)


def test_cache_dir_resolution(tmp_path, monkeypatch):
    assert cache_dir() == tmp_path / "cache" and cache_dir().is_dir()
    monkeypatch.delenv("SNNLAB_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "snnlab" and cache_dir().is_dir()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "snnlab"


def test_datasplit_repr_frozen_and_checked():
    split = load("digits")
    text = repr(split)
    assert "digits" in text and "train=1437" in text and "test=360" in text
    assert "(64,)" in text and "n_classes=10" in text
    summary = split.summary()
    assert "per class" in summary and split.info in summary
    with pytest.raises(dataclasses.FrozenInstanceError):
        split.n_classes = 3
    with pytest.raises(ValueError, match="expected input_shape"):
        DataSplit(train=split.train, test=split.test, n_classes=10, input_shape=(8, 8),
                  name="bad")


def test_make_loader_is_seeded():
    split = load("digits")

    def first_labels(seed):
        loader = sd.make_loader(split.train, batch_size=32, shuffle=True, seed=seed)
        assert loader.num_workers == 0
        return next(iter(loader))[1]

    assert torch.equal(first_labels(1), first_labels(1))
    assert not torch.equal(first_labels(1), first_labels(2))
    ordered = sd.make_loader(split.test, batch_size=100)
    sizes = [len(xb) for xb, _ in ordered]
    assert sizes == [100, 100, 100, 60]
    assert torch.equal(torch.cat([yb for _, yb in ordered]), split.test.tensors[1])
    with pytest.raises(ValueError, match="batch_size"):
        sd.make_loader(split.test, batch_size=0)


# ------------------------------------------------------------------------------------- digits


def test_digits_shapes_and_stratified_split():
    split = load("digits")
    _check_split(split, 10, (64,))
    assert len(split.train) == 1437 and len(split.test) == 360 and split.val is None
    counts = torch.bincount(split.test.tensors[1], minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # stratified: 10% of each class
    x = split.train.tensors[0]
    assert torch.allclose(x * 16, torch.round(x * 16))  # 17 grey levels / 16
    image = load("digits", flatten=False)
    _check_split(image, 10, (1, 8, 8))
    assert torch.equal(image.train.tensors[0].reshape(-1, 64), x)


def test_digits_seeded():
    a, b, c = load("digits", seed=5), load("digits", seed=5), load("digits", seed=6)
    assert torch.equal(a.train.tensors[0], b.train.tensors[0])
    assert torch.equal(a.test.tensors[1], b.test.tensors[1])
    assert not torch.equal(a.test.tensors[0], c.test.tensors[0])


@pytest.mark.parametrize("seed", [0, 1, 2, 5, 17, 42, 99, 2**31, 2**32 - 1])
def test_digits_bit_identical_to_scikit_learn(seed):
    """Read without importing scikit-learn, split by a copy of its StratifiedShuffleSplit: the
    same arrays, bit for bit, as sklearn's load_digits + train_test_split(stratify=y)."""
    sk_datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.model_selection import train_test_split

    from snnlab.data import digits as dg

    bunch = sk_datasets.load_digits()
    data, target = dg.read_digits()
    assert data.dtype == bunch.data.dtype and np.array_equal(data, bunch.data)
    assert target.dtype == bunch.target.dtype and np.array_equal(target, bunch.target)
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    want = train_test_split(x, y, test_size=360, stratify=y, shuffle=True, random_state=seed)
    split = load("digits", seed=seed)
    got = [split.train.tensors[0], split.test.tensors[0], split.train.tensors[1],
           split.test.tensors[1]]
    for g, w in zip(got, want):
        assert g.dtype == torch.from_numpy(w).dtype and torch.equal(g, torch.from_numpy(w))


def test_digits_without_scikit_learn_installed(monkeypatch):
    from snnlab.data import digits as dg

    monkeypatch.setattr(dg.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataUnavailableError, match="scikit-learn"):
        load("digits")


# ------------------------------------------------------------------------------------ yinyang


def _yinyang_labels_vectorised(xy: np.ndarray, r_small=0.1, r_big=0.5) -> np.ndarray:
    """Independent, vectorised statement of the reference class rule."""
    x, y = xy[:, 0], xy[:, 1]
    d_r = np.hypot(x - 1.5 * r_big, y - r_big)
    d_l = np.hypot(x - 0.5 * r_big, y - r_big)
    yin = (d_r <= r_small) | ((d_l > r_small) & (d_l <= 0.5 * r_big))
    yin |= (y > r_big) & (d_r > 0.5 * r_big)
    return np.where((d_r < r_small) | (d_l < r_small), 2, yin.astype(np.int64))


def test_yinyang_published_splits():
    split = load("yinyang")
    _check_split(split, 3, (4,))
    assert (len(split.train), len(split.val), len(split.test)) == (5000, 1000, 1000)
    # Facts computed with the reference generator (lkriener/yin_yang_data_set, dataset.py).
    x, y = (t.numpy() for t in split.train.tensors)
    expected = np.array([[0.6803075385877797, 0.450499251969543],
                         [0.09767211400638387, 0.6842330265121569],
                         [0.7553614103176525, 0.4251558744912447]], dtype=np.float32)
    np.testing.assert_array_equal(x[:3, :2], expected)
    assert y[:10].tolist() == [2, 1, 2, 1, 1, 1, 0, 2, 2, 0]
    assert np.bincount(y).tolist() == [1681, 1702, 1617]
    assert np.bincount(split.val.tensors[1].numpy()).tolist() == [316, 336, 348]
    assert np.bincount(split.test.tensors[1].numpy()).tolist() == [350, 316, 334]


def test_yinyang_geometry_and_rule():
    for part in ("train", "val", "test"):
        x, y = (t.numpy() for t in getattr(load("yinyang"), part).tensors)
        assert np.all(np.abs(np.bincount(y) / len(y) - 1 / 3) < 0.04)
        assert np.all(np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.5) <= 0.5)
        np.testing.assert_allclose(x[:, :2] + x[:, 2:], 1.0, atol=1e-6)
    xy, labels = sd.yinyang.generate_yinyang(5000, seed=42)
    np.testing.assert_array_equal(_yinyang_labels_vectorised(xy), labels)
    assert np.array_equal(xy[:, 2:], 1.0 - xy[:, :2])


def test_yinyang_seed_semantics():
    a, b = load("yinyang", seed=0), load("yinyang", seed=123)
    assert torch.equal(a.train.tensors[0], b.train.tensors[0])  # `seed` is ignored
    c = load("yinyang", train_seed=1, n_train=50, n_val=10, n_test=10)
    assert len(c.train) == 50 and not torch.equal(c.train.tensors[0], a.train.tensors[0][:50])
    assert torch.equal(c.test.tensors[0], a.test.tensors[0][:10])  # test seed still 40
    assert not torch.equal(a.train.tensors[0][:1000], a.val.tensors[0])
    with pytest.raises(TypeError, match="train_seed"):
        load("yinyang", train_seed=0.5)


# ------------------------------------------------------------------------------------ mnist1d


def test_mnist1d_matches_reference_package():
    raw = m1d_mod.generate_mnist1d()
    assert raw["x"].shape == (4000, 40) and raw["x_test"].shape == (1000, 40)
    # Fingerprint of mnist1d 0.0.2.post1 ``make_dataset(get_dataset_args())`` (numpy 2.4).
    np.testing.assert_allclose(raw["x"][0, :6], [-0.33200566736939, -0.471910365655724,
                                                 -0.778697076293495, -1.009740826536704,
                                                 -0.882352565405307, 0.103934812646234],
                               atol=1e-12)
    np.testing.assert_allclose(raw["x"][123, -5:], [-0.340513708478817, -0.728380497819216,
                                                    -0.434052656184217, -0.309367718875462,
                                                    0.118164561071703], atol=1e-12)
    assert raw["y"][:12].tolist() == [2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9]
    np.testing.assert_allclose([raw["x"].min(), raw["x"].max(), raw["x"].sum()],
                               [-5.479419072154895, 4.533515672898283, -51.78746787509559],
                               rtol=1e-9)


def test_mnist1d_split_scaling_and_cache(monkeypatch):
    split = load("mnist1d")
    _check_split(split, 10, (40,))
    assert len(split.train) == 4000 and len(split.test) == 1000
    x = split.train.tensors[0]
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    files = list((cache_dir() / "mnist1d").glob("*.npz"))
    assert len(files) == 1

    def boom(**_):
        raise AssertionError("should have been read from the cache")

    monkeypatch.setattr(m1d_mod, "generate_mnist1d", boom)
    again = load("mnist1d", seed=9)
    assert torch.equal(again.train.tensors[0], x)


def test_mnist1d_overrides():
    small = load("mnist1d", num_samples=200, iid_noise_scale=0.1, data_seed=3, cache=False)
    assert len(small.train) == 160 and len(small.test) == 40
    assert not list((cache_dir() / "mnist1d").glob("*.npz"))
    with pytest.raises(TypeError, match=r"load\('mnist1d'\).*'noise'"):
        load("mnist1d", noise=1)


# ---------------------------------------------------------------------------------------- npz


def _good_arrays(n_classes: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"x_train": rng.random((12, 2, 5)), "y_train": np.arange(12) % n_classes,
            "x_test": rng.random((6, 2, 5)), "y_test": np.arange(6) % n_classes}


def _write(tmp_path: Path, **arrays) -> Path:
    path = tmp_path / "user.npz"
    np.savez(path, **arrays)
    return path


def test_npz_roundtrip_and_untouched(tmp_path):
    arrays = _good_arrays()
    arrays.update(x_val=np.zeros((4, 2, 5)), y_val=np.array([0, 1, 2, 2.0]))
    path = _write(tmp_path, **arrays)
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    split = load(f"npz:{path}", seed=4)
    _check_split(split, 3, (2, 5))
    assert len(split.val) == 4 and split.name == f"npz:{path}"
    np.testing.assert_allclose(split.train.tensors[0].numpy(), arrays["x_train"], rtol=1e-6)
    assert split.val.tensors[1].tolist() == [0, 1, 2, 2]
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


def test_npz_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        load(f"npz:{tmp_path / 'nothere.npz'}")


@pytest.mark.parametrize("mutate, array, message", [
    (lambda a: a.pop("y_test"), "y_test", "is missing"),
    (lambda a: a.pop("x_train"), "x_train", "is missing"),
    (lambda a: a.update(x_val=np.zeros((2, 2, 5))), "y_val", "must come together"),
    (lambda a: a.update(y_train=a["y_train"][:-1]), "y_train", "11 labels but 'x_train' has 12"),
    (lambda a: a.update(y_train=a["y_train"] + 0.5), "y_train", "non-integer"),
    (lambda a: a.update(y_test=np.array(list("abcdef"))), "y_test", "integer class labels"),
    (lambda a: a.update(y_train=a["y_train"] - 1), "y_train", "negative labels"),
    (lambda a: a.update(y_train=a["y_train"] + 1, y_test=a["y_test"] + 1), "y_train",
     "must start at 0"),
    (lambda a: a["x_train"].__setitem__((3, 1, 1), np.nan), "x_train", "NaN/inf"),
    (lambda a: a["x_test"].__setitem__((0, 0, 0), np.inf), "x_test", "NaN/inf"),
    (lambda a: a.update(x_train=np.arange(12.0)), "x_train", "at least 2 dimensions"),
    (lambda a: a.update(x_test=np.zeros((6, 10))), "x_test", r"per-sample shape \(10,\)"),
    (lambda a: a.update(x_test=np.zeros((0, 2, 5)), y_test=np.zeros(0, int)), "x_test",
     "is empty"),
    (lambda a: a.update(y_train=a["y_train"][:, None]), "y_train", "must be 1-D"),
    (lambda a: a.update(x_train=a["x_train"].astype(complex)), "x_train", "real-valued"),
])
def test_npz_validation_errors(tmp_path, mutate, array, message):
    arrays = _good_arrays()
    mutate(arrays)
    path = _write(tmp_path, **arrays)
    with pytest.raises(ValueError, match=message) as info:
        load(f"npz:{path}")
    assert str(path) in str(info.value) and repr(array) in str(info.value)


def test_npz_object_array_and_bad_archive(tmp_path):
    arrays = _good_arrays()
    arrays["y_test"] = np.array([0, 1, None, 1, 0, 2], dtype=object)
    path = _write(tmp_path, **arrays)
    with pytest.raises(ValueError, match="'y_test'.*pickle"):
        load(f"npz:{path}")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"definitely not a zip file")
    with pytest.raises(ValueError, match="junk.npz.*not a readable .npz"):
        load(f"npz:{junk}")
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        load(f"npz:{single}")


def test_npz_absent_class_warns(tmp_path):
    arrays = _good_arrays()
    arrays["y_train"] = np.where(arrays["y_train"] == 1, 0, arrays["y_train"])
    with pytest.warns(UserWarning, match=r"classes \[1\]"):
        split = load(f"npz:{_write(tmp_path, **arrays)}")
    assert split.n_classes == 3


# ------------------------------------------------------------------------------- image files


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_idx_datasets_from_tiny_files(name):
    arrays = fx.write_idx_set(cache_dir() / name)
    split = load(name)
    _check_split(split, 10, (1, 28, 28))
    assert len(split.train) == 12 and len(split.test) == 6
    np.testing.assert_allclose(split.train.tensors[0][:, 0].numpy() * 255, arrays["x_train"],
                               atol=1e-3)
    assert split.test.tensors[1].tolist() == arrays["y_test"].tolist()
    flat = load(name, flatten=True, limit_train=5, limit_test=100, seed=3)
    _check_split(flat, 10, (784,))
    assert len(flat.train) == 5 and len(flat.test) == 6
    again = load(name, flatten=True, limit_train=5, seed=3)
    assert torch.equal(flat.train.tensors[1], again.train.tensors[1])
    with pytest.raises(ValueError, match="limit_train"):
        load(name, limit_train=0)


def test_idx_uncompressed_files_and_reader_errors(tmp_path, offline):
    arrays = fx.write_idx_set(cache_dir() / "mnist", gz=False)
    assert len(load("mnist").train) == len(arrays["y_train"])
    fx.write_idx_set(cache_dir() / "fashion_mnist")  # mix: one file decompressed by hand
    gz = cache_dir() / "fashion_mnist" / fx.IDX_NAMES[2]
    gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    assert len(load("fashion_mnist").test) == 6 and offline == []
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an IDX file"):
        vis_mod.read_idx(bad)
    short = tmp_path / "short.gz"
    short.write_bytes(gzip.compress(fx.idx_bytes(np.zeros((3, 4, 4)))[:-5]))
    with pytest.raises(ValueError, match="promises"):
        vis_mod.read_idx(short)


def test_idx_download_path(monkeypatch, tmp_path):
    src = tmp_path / "server"
    fx.write_idx_set(src, n_train=7, n_test=3)
    payloads = {f: (src / f).read_bytes() for f in fx.IDX_NAMES}
    md5s = tuple(sd.base.md5sum(src / f) for f in fx.IDX_NAMES)
    monkeypatch.setitem(vis_mod.IDX_SOURCES["mnist"], "md5", md5s)
    calls = _serve(monkeypatch, payloads)
    split = load("mnist")
    assert len(split.train) == 7 and len(calls) == 4
    assert calls[0].startswith("https://ossci-datasets.s3.amazonaws.com/mnist/")
    assert sorted(p.name for p in (cache_dir() / "mnist").iterdir()) == sorted(fx.IDX_NAMES)
    load("mnist")
    assert len(calls) == 4  # files are reused, no new request


def test_download_checksum_mismatch_is_rejected(monkeypatch, tmp_path):
    src = tmp_path / "server"
    fx.write_idx_set(src)
    _serve(monkeypatch, {f: (src / f).read_bytes() for f in fx.IDX_NAMES})
    with pytest.raises(DataUnavailableError, match="checksum mismatch"):
        load("mnist")
    assert not any((cache_dir() / "mnist").iterdir())  # nothing half-written left behind


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_idx_offline_error(offline, name):
    with pytest.raises(RuntimeError) as info:
        load(name)
    msg = str(info.value)
    assert isinstance(info.value, DataUnavailableError)
    for f in fx.IDX_NAMES:
        assert f in msg
    assert str(cache_dir() / name) in msg
    assert "internet connection once" in msg and "by hand" in msg
    assert "name resolution" in msg and offline  # the cause is shown; a request was tried
    assert not any((cache_dir() / name).glob("*.part"))


def test_download_false_never_touches_network(offline):
    with pytest.raises(DataUnavailableError, match="download=False"):
        load("mnist", download=False)
    with pytest.raises(DataUnavailableError, match="download=False"):
        load("cifar10", download=False)
    assert offline == []


def test_cifar10_from_tiny_batches():
    arrays = fx.write_cifar(cache_dir() / "cifar10" / "cifar-10-batches-py")
    split = load("cifar10")
    _check_split(split, 10, (3, 32, 32))
    assert len(split.train) == 15 and len(split.test) == 3
    x = split.train.tensors[0].numpy()
    np.testing.assert_allclose(x * 255, arrays["x_train"], atol=1e-3)  # channel-first layout
    assert split.train.tensors[1].tolist() == arrays["y_train"].tolist()
    flat = load("cifar10", flatten=True, limit_train=4)
    _check_split(flat, 10, (3072,))
    assert len(flat.train) == 4


def test_cifar10_download_and_offline(monkeypatch, tmp_path, offline):
    with pytest.raises(DataUnavailableError) as info:
        load("cifar10")
    msg = str(info.value)
    assert "data_batch_1" in msg and "test_batch" in msg and vis_mod.CIFAR_URL in msg
    assert "internet connection once" in msg
    fx.write_cifar(tmp_path / "batches")
    archive = fx.cifar_archive_bytes(tmp_path / "batches")
    (tmp_path / "a.tgz").write_bytes(archive)
    monkeypatch.setattr(vis_mod, "CIFAR_MD5", sd.base.md5sum(tmp_path / "a.tgz"))
    _serve(monkeypatch, {"cifar-10-python.tar.gz": archive})
    assert len(load("cifar10").train) == 15


def test_cifar_reader_refuses_code_in_pickles(tmp_path):
    evil = tmp_path / "data_batch_1"
    evil.write_bytes(pickle.dumps({b"data": os.getcwd}))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        vis_mod.read_cifar_batch(evil)
    wrong = tmp_path / "wrong"
    wrong.write_bytes(fx.cifar_batch_bytes(np.zeros((2, 3, 16, 16), np.uint8), [0, 1]))
    with pytest.raises(ValueError, match="3072"):
        vis_mod.read_cifar_batch(wrong)


# ------------------------------------------------------------------------------------ N-MNIST


def test_read_nmnist_events_bit_layout(tmp_path):
    x, y, t, p = [3, 33, 0, 17], [0, 5, 33, 9], [0, 70_000, 8_388_607, 8_388_607], [1, 0, 1, 0]
    path = tmp_path / "00001.bin"
    path.write_bytes(fx.nmnist_bytes(x, y, t, p))
    events = sd.read_nmnist_events(path)
    assert events.dtype.names == ("x", "y", "t", "p")
    assert events["x"].tolist() == x and events["y"].tolist() == y
    assert events["t"].tolist() == t and events["p"].tolist() == p
    path.write_bytes(fx.nmnist_bytes(x, y, t, p, overflow_at=(2,)))
    events = sd.read_nmnist_events(path)
    assert len(events) == 4 and events["t"].tolist() == [0, 70_000] + [8_388_607 + 2**13] * 2
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(ValueError, match="multiple of 5"):
        sd.read_nmnist_events(path)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 33), st.integers(0, 33), st.integers(0, 2**23 - 1),
                          st.integers(0, 1)), max_size=30))
def test_nmnist_roundtrip_property(tmp_path_factory, events):
    path = tmp_path_factory.mktemp("ev") / "e.bin"
    x, y, t, p = (list(col) for col in zip(*events)) if events else ([], [], [], [])
    path.write_bytes(fx.nmnist_bytes(x, y, t, p))
    decoded = sd.read_nmnist_events(path)
    assert [tuple(int(v) for v in e) for e in decoded] == [tuple(e) for e in zip(x, y, t, p)]
    frames = sd.events_to_frames(decoded, n_bins=3)
    assert frames.sum() == len(events)
    assert frames.sum(axis=(0, 2, 3)).tolist() == [p.count(0), p.count(1)]


def test_events_to_frames():
    events = np.zeros(5, dtype=ev_mod.EVENT_DTYPE)
    events["x"], events["y"] = [0, 1, 1, 33, 2], [0, 2, 2, 33, 0]
    events["t"], events["p"] = [100, 120, 130, 199, 200], [0, 1, 1, 0, 1]
    frames = sd.events_to_frames(events, n_bins=2)
    assert frames.shape == (2, 2, 34, 34) and frames.dtype == np.float32
    assert frames.sum() == 5 and frames[0, 0, 0, 0] == 1 and frames[0, 1, 2, 1] == 2
    assert frames[1, 0, 33, 33] == 1 and frames[1, 1, 0, 2] == 1
    assert sd.events_to_frames(events[:0], 3).sum() == 0
    events["x"][0] = 34
    with pytest.raises(ValueError, match="sensor"):
        sd.events_to_frames(events, 2)


@pytest.mark.parametrize("layout", ["nmnist", "nmnist/NMNIST"])
def test_load_nmnist_from_tiny_files(layout):
    fx.write_nmnist(cache_dir() / layout)
    split = load("nmnist", n_bins=4)
    _check_split(split, 10, (4, 2, 34, 34), unit_range=False)
    assert len(split.train) == 6 and len(split.test) == 6
    assert split.train.tensors[1].tolist() == [0, 0, 1, 1, 2, 2]
    assert "time" in split.info.lower() and "frames" in split.info
    first = sd.read_nmnist_events(cache_dir() / layout / "Train" / "0" / "00000.bin")
    assert float(split.train.tensors[0][0].sum()) == len(first)
    sub = load("nmnist", limit_train=3, limit_test=2, seed=1)
    assert len(sub.train) == 3 and len(sub.test) == 2 and sub.input_shape == (10, 2, 34, 34)


def test_nmnist_missing_without_tonic(monkeypatch, offline):
    monkeypatch.setitem(sys.modules, "tonic", None)  # importing it now raises ImportError
    with pytest.raises(DataUnavailableError) as info:
        load("nmnist")
    msg = str(info.value)
    assert "tonic is not installed" in msg and "pip install tonic" in msg
    assert str(cache_dir() / "nmnist") in msg and "Train/0/*.bin" in msg
    with pytest.raises(ValueError, match="n_bins"):
        load("nmnist", n_bins=0)


def test_mnist1d_standard_scaling_option():
    split = load("mnist1d", scale="standard")
    x = split.train.tensors[0]
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1.0) < 0.01
    assert split.test.tensors[0].shape[1] == 40
    with pytest.raises(ValueError, match="scale"):
        load("mnist1d", scale="log")
