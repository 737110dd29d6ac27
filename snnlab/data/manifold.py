"""Smooth random manifolds: a spike-timing classification task in the manner of Zenke & Vogels
(2021, Neural Computation 33(4), "The remarkable robustness of surrogate gradient learning for
instilling complex function in spiking neural networks"; their ``randman`` generator).

Each class c is a smooth random map :math:`f_c: [0,1]^d \\to [0,1]^{n}` from a ``dim``-dimensional
"intrinsic" coordinate to one value per input neuron. A sample of class c is
:math:`f_c(\\xi)` at a uniform random :math:`\\xi`. Every component of :math:`f_c` is a product,
over the intrinsic dimensions j, of a random Fourier series with a power-law spectrum:

.. math::
    g_{ij}(\\xi_j) = \\sum_{k=0}^{K-1} \\frac{a_{ijk}}{(k+1)^{\\alpha}}
                     \\sin\\big(2\\pi (k\\,\\xi_j\\,b_{ijk} + c_{ijk})\\big),
    \\qquad a, b, c \\sim U[0, 1],\\; a_{ij0} = 0,

so ``alpha`` sets the smoothness (larger: smoother, easier) and :math:`K = \\lceil
\\mathrm{prec}^{-1/\\alpha}\\rceil` the highest frequency. Each component is then rescaled to
[0, 1] over all of that class's samples. The values are meant as **spike times**: with
``encode(x, T, "latency")`` every input neuron fires exactly once, and only the timing of the
spikes (not their number) tells the classes apart - the regime where timing-based rules should
have an edge. This is a re-implementation from the description, not the original code.
"""

from __future__ import annotations

import math

import numpy as np

from .base import DataSplit, check_positive_int, check_seed, tensor_dataset

__all__ = ["generate_manifold", "load_manifold"]

INFO = ("smooth random manifolds, one per class (Zenke & Vogels 2021, randman-style); values are "
        "spike times for latency coding")


def _class_map(rng: np.random.RandomState, n_inputs: int, dim: int, alpha: float,
               n_freq: int):
    params = rng.uniform(size=(3, n_inputs, dim, n_freq))
    params[0, :, :, 0] = 0.0
    spectrum = 1.0 / np.power(np.arange(n_freq) + 1.0, alpha)
    amp, freq, phase = params

    def f(xi: np.ndarray) -> np.ndarray:  # xi [N, dim] -> [N, n_inputs]
        k = np.arange(n_freq)
        # arg [N, n_inputs, dim, n_freq]
        arg = 2 * np.pi * (k * xi[:, None, :, None] * freq[None] + phase[None])
        g = (amp[None] * spectrum * np.sin(arg)).sum(-1)
        return g.prod(-1)

    return f


def generate_manifold(n_per_class: int, *, n_classes: int = 10, n_inputs: int = 20,
                      dim: int = 1, alpha: float = 2.0, prec: float = 1e-3, seed: int = 0,
                      sample_seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(x [N, n_inputs] float32 in [0, 1], y [N] int64)``, ``n_per_class`` samples per class.

    ``seed`` draws the manifolds (the task); ``sample_seed`` (default ``seed + 1``) the points
    on them, so two splits of one task share ``seed`` and differ in ``sample_seed``.
    """
    check_positive_int("n_per_class", n_per_class, "manifold")
    check_positive_int("n_classes", n_classes, "manifold")
    check_positive_int("n_inputs", n_inputs, "manifold")
    check_positive_int("dim", dim, "manifold")
    if not (isinstance(alpha, (int, float)) and alpha > 0):
        raise ValueError(f"manifold: alpha must be a number > 0, got {alpha!r}")
    if not (isinstance(prec, (int, float)) and 0 < prec < 1):
        raise ValueError(f"manifold: prec must lie in (0, 1), got {prec!r}")
    seed = check_seed(seed)
    sample_seed = seed + 1 if sample_seed is None else check_seed(sample_seed, "sample_seed")
    n_freq = int(math.ceil(prec ** (-1.0 / alpha)))
    task_rng = np.random.RandomState(seed)
    maps = [_class_map(task_rng, n_inputs, dim, float(alpha), n_freq) for _ in range(n_classes)]
    # the rescaling to [0, 1] uses a fixed reference sample of each class (the same for every
    # split), so train and test values go through the same map
    ref = np.random.RandomState(seed + 10_007).uniform(size=(2048, dim))
    xs, ys = [], []
    rng = np.random.RandomState(sample_seed)
    for c, f in enumerate(maps):
        r = f(ref)
        lo, hi = r.min(0), r.max(0)
        v = (f(rng.uniform(size=(n_per_class, dim))) - lo) / np.maximum(hi - lo, 1e-12)
        xs.append(np.clip(v, 0.0, 1.0))
        ys.append(np.full(n_per_class, c))
    x, y = np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)
    order = rng.permutation(len(y))
    return x[order], y[order]


def load_manifold(*, seed: int = 0, task_seed: int = 0, n_train: int = 2000,
                  n_test: int = 1000, n_classes: int = 10, n_inputs: int = 20, dim: int = 1,
                  alpha: float = 2.0) -> DataSplit:
    """The random-manifold task: ``n_train``/``n_test`` samples (split evenly over classes).

    ``seed`` (the generic argument of :func:`snnlab.data.load`) is ignored so every run sees
    one fixed task; ``task_seed`` draws another task. Train points use sample seed
    ``task_seed + 1``, test points ``task_seed + 2``.
    """
    check_seed(seed)
    task_seed = check_seed(task_seed, "task_seed")
    n_train = check_positive_int("n_train", n_train, "manifold")
    n_test = check_positive_int("n_test", n_test, "manifold")
    n_classes = check_positive_int("n_classes", n_classes, "manifold")
    kw = dict(n_classes=n_classes, n_inputs=n_inputs, dim=dim, alpha=alpha, seed=task_seed)
    parts = {}
    for part, n, s in (("train", n_train, task_seed + 1), ("test", n_test, task_seed + 2)):
        per = max(1, n // n_classes)
        parts[part] = tensor_dataset(*generate_manifold(per, sample_seed=s, **kw))
    return DataSplit(train=parts["train"], test=parts["test"], n_classes=n_classes,
                     input_shape=(n_inputs,), name="manifold",
                     info=f"{INFO}; {n_classes} classes, {n_inputs} inputs, dim {dim}, "
                          f"alpha {alpha:g}")
