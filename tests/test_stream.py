"""Data larger than memory: ``load("npy:DIR")`` memory-maps the arrays and training reads only
each batch's rows."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import snnlab

WORKER = Path(__file__).with_name("_stream_worker.py")


def _save_split(root, split):
    root.mkdir(exist_ok=True)
    for part in ("train", "test"):
        x, y = getattr(split, part).tensors
        np.save(root / f"x_{part}.npy", x.numpy())
        np.save(root / f"y_{part}.npy", y.numpy())


def test_memory_mapped_training_matches_in_memory(tmp_path):
    digits = snnlab.load("digits")
    _save_split(tmp_path / "d", digits)
    mapped = snnlab.load(f"npy:{tmp_path / 'd'}")
    assert isinstance(mapped.train.tensors[0].numpy(), np.ndarray)
    assert not mapped.train.tensors[0].numpy().flags.owndata  # a view of the map, not a copy
    nets = []
    for split in (digits, mapped):
        torch.manual_seed(0)
        net = snnlab.models.mlp(64, [16], 10)
        snnlab.train(net, split, "bptt", T=4, epochs=1, batch_size=100, encoding="rate",
                     progress=False)
        nets.append(net)
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.equal(a, b)


def test_npy_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="x_train.npy"):
        snnlab.load(f"npy:{tmp_path}")
    (tmp_path / "e").mkdir()
    np.save(tmp_path / "e" / "x_train.npy", np.zeros((4, 3)))  # float64
    with pytest.raises(ValueError, match="float32"):
        snnlab.load(f"npy:{tmp_path / 'e'}")


@pytest.mark.slow
def test_data_larger_than_the_memory_cap_trains(tmp_path):
    """A 320 MB training set under a 96 MB allowance of private memory (see _stream_worker)."""
    root = tmp_path / "big"
    root.mkdir()
    n, f = 80_000, 1024  # 80k samples of 1024 float32: 328 MB
    x = np.lib.format.open_memmap(root / "x_train.npy", mode="w+", dtype=np.float32,
                                  shape=(n, f))
    rng = np.random.default_rng(0)
    for lo in range(0, n, 10_000):
        x[lo:lo + 10_000] = rng.random((10_000, f), dtype=np.float32)
    x.flush()
    del x
    np.save(root / "y_train.npy", rng.integers(0, 4, n))
    np.save(root / "x_test.npy", rng.random((256, f), dtype=np.float32))
    np.save(root / "y_test.npy", rng.integers(0, 4, 256))
    size = (root / "x_train.npy").stat().st_size
    headroom = 96 << 20
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, str(WORKER), str(root), str(headroom)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    print(out, f"file {size / 2**20:.0f} MB")
    assert out["n_train"] == n and np.isfinite(out["train_loss"])
    assert size > 3 * headroom  # the data set is far larger than the memory it may use
    assert out["data_after"] <= out["cap"]
    assert out["whole_load"] == "MemoryError"  # the cap bites: the array does not fit in it
