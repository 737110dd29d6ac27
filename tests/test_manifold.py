"""The random-manifold task (snnlab/data/manifold.py)."""

from __future__ import annotations

import numpy as np
import pytest

from snnlab.data import available, load
from snnlab.data.manifold import generate_manifold


def test_shapes_range_balance_and_registry():
    assert "manifold" in available()
    split = load("manifold", n_train=200, n_test=100)
    assert split.input_shape == (20,) and split.n_classes == 10
    x, y = (t.numpy() for t in split.train.tensors)
    assert x.shape == (200, 20) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert np.bincount(y, minlength=10).tolist() == [20] * 10
    assert len(split.test) == 100


def test_deterministic_and_seeded():
    a, ya = generate_manifold(30, seed=3)
    b, yb = generate_manifold(30, seed=3)
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    c, _ = generate_manifold(30, seed=4)
    assert not np.allclose(a, c)
    # same task (seed), other points (sample_seed): the class maps are shared
    d, _ = generate_manifold(30, seed=3, sample_seed=99)
    assert not np.allclose(a, d)


def test_points_lie_on_smooth_class_manifolds():
    # dim 1: nearby intrinsic coordinates give nearby points (smoothness), and a point is
    # closer to its own class's curve than to the others' (the classes are separable)
    x, y = generate_manifold(400, n_classes=3, n_inputs=10, dim=1, seed=0)
    own, other = [], []
    for i in range(60):
        d = np.linalg.norm(x - x[i], axis=1)
        d[i] = np.inf
        own.append(d[y == y[i]].min())
        other.append(d[y != y[i]].min())
    assert np.mean(np.array(own) < np.array(other)) > 0.9


def test_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        generate_manifold(5, alpha=0)
    with pytest.raises(ValueError, match="n_per_class"):
        generate_manifold(0)
    with pytest.raises(TypeError, match="task_seed"):
        load("manifold", task_seed=1.5)
    with pytest.raises(TypeError, match="'bogus'"):
        load("manifold", bogus=1)
