"""Held-out tasks: small synthetic problems no rule's defaults were tuned on.

Each task is fixed by its name (its structure - cluster centres, teacher network, spike-time
templates - is drawn from a seed derived from the name) and its samples are drawn from ``seed``,
so ``load("heldout-blobs10-c3-unit", seed=s)`` is deterministic. Every task has 1000 training
and 500 test samples, balanced over the classes, so a default run takes seconds.

Families (``n`` inputs, ``c`` classes):

* ``blobs`` - Gaussian clusters, two per class, isotropic noise; a little overlap.
* ``teacher`` - standard-normal inputs labelled by the argmax of a random two-layer tanh network
  (the classes are balanced by keeping an equal number of draws per label).
* ``latency`` - spike-time patterns: each class has two templates in which each input either
  fires at a time :math:`t \\in [0, 1]` or stays silent; a sample jitters the times (sd 0.15),
  drops 20 % of the spikes and adds 10 % spurious ones. Features are :math:`x = 1 - t` (0 =
  silent), i.e. exactly what the ``latency`` encoder turns back into the spike times (early =
  large); the information is in *when* the inputs fire, not in how strongly.

Scales (computed on the training set, applied to both parts):

* ``unit`` - each feature min-max scaled to [0, 1] (clipped on the test set);
* ``std`` - each feature standardised (zero mean, unit variance, so about half are negative);
* ``x10`` - the ``unit`` features times 10 (an unnormalised range, e.g. raw counts).

The registered tasks are :data:`TASKS`; :func:`make_task` builds any other combination.
"""

from __future__ import annotations

import zlib

import numpy as np

from .base import DataSplit, check_seed, tensor_dataset

__all__ = ["TASKS", "LOADERS", "make_task", "generate"]

N_TRAIN, N_TEST = 1000, 500
FAMILIES = ("blobs", "teacher", "latency")
SCALES = ("unit", "std", "x10")

# name -> (family, n_inputs, n_classes, scale)
TASKS: dict[str, tuple[str, int, int, str]] = {
    "heldout_blobs10_c3_unit": ("blobs", 10, 3, "unit"),
    "heldout_teacher40_c5_std": ("teacher", 40, 5, "std"),
    "heldout_blobs100_c8_x10": ("blobs", 100, 8, "x10"),
    "heldout_latency40_c5": ("latency", 40, 5, "unit"),
    "heldout_teacher10_c8_x10": ("teacher", 10, 8, "x10"),
    "heldout_blobs40_c5_std": ("blobs", 40, 5, "std"),
}


def _structure_rng(family: str, n: int, c: int) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{family}/{n}/{c}".encode()))


def _balanced(draw, n_total: int, c: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Draw candidates with ``draw(k, rng) -> (x, y)`` until every class has ``n_total / c``."""
    per = -(-n_total // c)
    xs, ys = [], []
    have = np.zeros(c, dtype=int)
    for _ in range(200):
        x, y = draw(4 * n_total, rng)
        for k in range(c):
            take = np.flatnonzero(y == k)[: max(per - have[k], 0)]
            xs.append(x[take])
            ys.append(y[take])
            have[k] += len(take)
        if (have >= per).all():
            break
    else:  # pragma: no cover - a class the teacher never predicts
        raise RuntimeError("held-out task: could not balance the classes")
    x, y = np.concatenate(xs), np.concatenate(ys)
    order = rng.permutation(len(y))[:n_total]
    return x[order], y[order]


def generate(family: str, n: int, c: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` raw (unscaled) samples of a task, balanced over its ``c`` classes."""
    srng = _structure_rng(family, n, c)
    rng = np.random.default_rng(seed)
    if family == "blobs":
        k = 2  # clusters per class
        # centres ~ N(0, s^2 I) with s = 3.2 / sqrt(n): two centres lie about 4.5 noise sds
        # apart whatever n is, so the tasks are about equally hard at every size
        centres = srng.normal(size=(c * k, n)) * 3.2 / np.sqrt(n)
        spread = 1.0

        def draw(m, r):
            idx = r.integers(0, c * k, m)
            return centres[idx] + spread * r.normal(size=(m, n)), idx // k
    elif family == "teacher":
        h = 32
        w1 = srng.normal(size=(n, h)) / np.sqrt(n) * 2.0
        b1 = srng.normal(size=h) * 0.5
        w2 = srng.normal(size=(h, c)) / np.sqrt(h) * 2.0

        def draw(m, r):
            x = r.normal(size=(m, n))
            return x, np.argmax(np.tanh(x @ w1 + b1) @ w2, axis=1)
    elif family == "latency":
        k = 2
        active = srng.random((c * k, n)) < 0.5
        times = srng.random((c * k, n))

        def draw(m, r):
            idx = r.integers(0, c * k, m)
            t = times[idx] + 0.15 * r.normal(size=(m, n))
            on = active[idx] & (r.random((m, n)) >= 0.2)
            on |= r.random((m, n)) < 0.1
            t = np.where(active[idx], t, r.random((m, n)))  # spurious spikes at random times
            return np.where(on, 1.0 - np.clip(t, 0.0, 1.0), 0.0), idx // k
    else:
        raise ValueError(f"unknown held-out family {family!r}; choose from {', '.join(FAMILIES)}")
    return _balanced(draw, size, c, rng)


def _scale(x_tr, x_te, scale):
    if scale == "std":
        mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-8
        return (x_tr - mu) / sd, (x_te - mu) / sd
    lo, hi = x_tr.min(0), x_tr.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    x_tr, x_te = (x_tr - lo) / span, np.clip((x_te - lo) / span, 0.0, 1.0)
    return (x_tr * 10.0, x_te * 10.0) if scale == "x10" else (x_tr, x_te)


def make_task(family: str, n: int, c: int, scale: str = "unit", *, seed: int = 0,
              name: str | None = None) -> DataSplit:
    """A held-out task: ``family`` with ``n`` inputs and ``c`` classes at ``scale``, samples
    drawn from ``seed`` (1000 train / 500 test)."""
    seed = check_seed(seed)
    if family not in FAMILIES:
        raise ValueError(f"unknown held-out family {family!r}; choose from {', '.join(FAMILIES)}")
    if scale not in SCALES:
        raise ValueError(f"unknown held-out scale {scale!r}; choose from {', '.join(SCALES)}")
    if family == "latency" and scale != "unit":
        raise ValueError("latency tasks are spike times in [0, 1]; use scale='unit'")
    x, y = generate(family, int(n), int(c), N_TRAIN + N_TEST, seed)
    x_tr, x_te = _scale(x[:N_TRAIN], x[N_TRAIN:], scale)
    name = name or f"heldout-{family}{n}-c{c}-{scale}"
    return DataSplit(train=tensor_dataset(x_tr, y[:N_TRAIN]),
                     test=tensor_dataset(x_te, y[N_TRAIN:]), n_classes=int(c),
                     input_shape=(int(n),), name=name,
                     info=f"held-out synthetic task ({family}, {n} inputs, {c} classes, "
                          f"{scale} scale); see snnlab.data.heldout")


def _loader(key: str):
    family, n, c, scale = TASKS[key]

    def load(*, seed: int = 0) -> DataSplit:
        return make_task(family, n, c, scale, seed=seed, name=key.replace("_", "-"))

    load.__doc__ = f"Held-out task {key.replace('_', '-')}: {family}, {n} inputs, {c} classes, " \
                   f"{scale} scale (snnlab.data.heldout)."
    return load


LOADERS = {key: _loader(key) for key in TASKS}
