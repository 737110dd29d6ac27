"""Shared measurement pieces for the claims: tasks, the one model builder, training arms.

:func:`build` is the only place a claim constructs a network. Today it calls the rule module's
``make_model`` where one exists (``antlr``/``timing``, ``ttfs``) and
:func:`snnlab.models.mlp` otherwise; when every rule declares ``build_model`` it switches to
``rule.build_model`` here, in one place.

Every arm (one rule trained on one task with one budget and seed) is cached in-process by its
arguments, so claims that share an arm (KD in "KD vs CE" and "HTA-KL vs KD") train it once.
Training is deterministic for a seed on CPU, so the cache changes no number.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Sequence

import torch
from torch.utils.data import TensorDataset

from .. import rules as R
from ..data import DataSplit, load
from ..encoding import encode
from ..metrics import SavedTensorMeter
from ..rules.antlr import latency_dataset
from ..rules.antlr import make_model as antlr_make_model
from ..teacher import train_teacher
from ..train import evaluate, train

__all__ = ["build", "task", "subset", "fit", "ann", "step_seconds", "step_bytes",
           "pct", "clear_cache", "cached"]

_CACHE: dict = {}
_SUBSET_SEED = 12345  # one fixed subset of the data for every seed and claim


def clear_cache() -> None:
    _CACHE.clear()


def cached(key, fn):
    """``fn()`` once per ``key`` (a hashable description of everything it depends on)."""
    if key not in _CACHE:
        _CACHE[key] = fn()
    return _CACHE[key]


def pct(acc: float) -> float:
    """An accuracy in points."""
    return 100.0 * float(acc)


# --------------------------------------------------------------------------- models


def build(rule_name: str, n_in: int, hidden: Sequence[int], n_out: int, *, seed: int = 0,
          **kw):
    """The network ``rule_name`` trains, ``n_in -> hidden -> n_out``, initialised by ``seed``.

    ``kw`` go to the builder (``neuron="dalif"``, ``readout=...``, neuron arguments).
    """
    torch.manual_seed(seed)
    if rule_name in ("antlr", "timing"):  # the paper's bias-free, positive-mean initialisation
        return antlr_make_model(n_in, tuple(hidden), n_out, seed=seed, **kw)
    if rule_name == "tandem":
        kw.setdefault("neuron", "if")
    return R.get(rule_name).build_model(n_in, list(hidden), n_out, **kw)


# --------------------------------------------------------------------------- tasks
def subset(split: DataSplit, n_train: int | None, n_test: int | None) -> DataSplit:
    """A fixed random subset (the same for every seed) of at most ``n_train``/``n_test``."""

    def cut(ds, n):
        if ds is None or n is None or n >= len(ds):
            return ds
        g = torch.Generator().manual_seed(_SUBSET_SEED)
        idx = torch.randperm(len(ds), generator=g)[:n]
        x, y = ds.tensors
        return TensorDataset(x[idx], y[idx])

    return DataSplit(train=cut(split.train, n_train), test=cut(split.test, n_test),
                     n_classes=split.n_classes, input_shape=split.input_shape,
                     name=split.name, val=split.val, info=split.info)


_TASKS = {
    "digits": lambda: load("digits", seed=0),
    "yinyang": lambda: load("yinyang"),
    "mnist1d": lambda: load("mnist1d", scale="standard"),
    "manifold": lambda: load("manifold"),
}


def task(name: str, n_train: int | None = None, n_test: int | None = None) -> DataSplit:
    """A task by name: ``digits``, ``yinyang``, ``mnist1d`` (standardised), ``manifold``, or
    any of them with ``_latency`` appended (``snnlab.rules.antlr.latency_dataset``, the
    transform ANTLR's and Göltz et al.'s small experiments use); capped by :func:`subset`."""
    def make():
        base = name[:-len("_latency")] if name.endswith("_latency") else name
        if base not in _TASKS:
            raise ValueError(f"unknown task {name!r}; known: {', '.join(_TASKS)} "
                             "(each also as NAME_latency)")
        split = _TASKS[base]()
        if base != name:
            split = latency_dataset(split, silent_zero=base == "digits")
        return subset(split, n_train, n_test)

    return cached(("task", name, n_train, n_test), make)


# --------------------------------------------------------------------------- arms
def _token(v):
    # a module (a teacher) is identified by its object: the cache hands out the same teacher
    # for the same arguments, and a module's repr does not tell two trained ones apart
    if isinstance(v, torch.nn.Module):
        return f"module@{id(v)}"
    if isinstance(v, dict):
        return repr(sorted((k, _token(x)) for k, x in v.items()))
    return repr(v)


def _key(*parts, **kw):
    return (*parts, tuple(sorted((k, _token(v)) for k, v in kw.items())))


def fit(rule: str, task_name: str, budget, seed: int, *, T: int | None = None,
        epochs: int | None = None, hidden: Sequence[int] | None = None, lr: float | None = None,
        encoding: str | None = None, model_kw: dict | None = None, keep_model: bool = False,
        **hparams) -> dict:
    """Train ``rule`` on ``task_name`` for one seed; returns ``acc`` (points), ``spikes``
    (per test sample), ``seconds`` (training), per-epoch ``accs`` and, with ``keep_model``,
    the trained ``model``. ``T``, ``epochs``, ``hidden`` default to the budget's."""
    T = budget.T if T is None else T
    epochs = budget.epochs if epochs is None else epochs
    hidden = tuple(budget.hidden if hidden is None else hidden)
    model_kw = dict(model_kw or {})
    key = _key("fit", rule, task_name, budget.n_train, budget.n_test, budget.batch_size, seed,
               T=T, epochs=epochs, hidden=hidden, lr=lr, encoding=encoding,
               model_kw=model_kw, hparams=hparams)

    def go():
        data = task(task_name, budget.n_train, budget.n_test)
        model = build(rule, data.input_shape[0], hidden, data.n_classes, seed=seed, **model_kw)
        t0 = time.perf_counter()
        hist = train(model, data, rule, T=T, epochs=epochs, lr=lr, seed=seed,
                     encoding=encoding, batch_size=budget.batch_size, progress=False,
                     **hparams)
        seconds = time.perf_counter() - t0
        ev = evaluate(model, data.test, T, encoding=hist.config["encoding"], seed=seed)
        return dict(acc=pct(ev["acc"]), spikes=float(ev["spikes_per_sample"]), seconds=seconds,
                    accs=[pct(a) for a in hist.column("test_acc")],
                    epoch_seconds=[r["seconds"] for r in hist.records], model=model,
                    encoding=hist.config["encoding"])

    out = cached(key, go)
    return out if keep_model else {k: v for k, v in out.items() if k != "model"}


def ann(task_name: str, budget, seed: int, *, hidden: Sequence[int] | None = None,
        activation: str = "relu", epochs: int | None = None, lr: float = 1e-3) -> dict:
    """An ANN of the given size trained with cross-entropy (:func:`snnlab.teacher.
    train_teacher`); returns ``acc`` (points) and the ``net`` (an ANNTwin, frozen)."""
    hidden = tuple(budget.hidden if hidden is None else hidden)
    epochs = budget.epochs if epochs is None else epochs

    def go():
        data = task(task_name, budget.n_train, budget.n_test)
        net = train_teacher(data, hidden=hidden, activation=activation, epochs=epochs, lr=lr,
                            batch_size=budget.batch_size, seed=seed)
        return dict(acc=pct(net.test_acc), net=net)

    return cached(_key("ann", task_name, budget.n_train, budget.n_test, budget.batch_size,
                       seed, hidden=hidden, activation=activation, epochs=epochs, lr=lr), go)


def _batch(data: DataSplit, T: int, encoding: str, batch_size: int):
    x, y = data.train.tensors[0][:batch_size], data.train.tensors[1][:batch_size]
    return encode(x, T, encoding, generator=torch.Generator().manual_seed(0)), y


def step_seconds(rules: Sequence[str], task_name: str, budget, seed: int, T: int, *,
                 hidden: Sequence[int] | None = None, repeats: int = 7,
                 encoding: str = "direct") -> dict[str, float]:
    """Median seconds of one training step for each rule, timed interleaved in one process
    (so machine load hits all alike), after one warm-up step each."""
    data = task(task_name, budget.n_train, budget.n_test)
    hidden = tuple(budget.hidden if hidden is None else hidden)
    x_seq, y = _batch(data, T, encoding, budget.batch_size)
    setups = {}
    for name in rules:
        model = build(name, data.input_shape[0], hidden, data.n_classes, seed=seed)
        rule = R.get(name)
        rule.setup(model, data, T=T, encoding=encoding, seed=seed)
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3)
        rule.step(model, x_seq, y, opt)  # warm-up
        setups[name] = (model, rule, opt)
    times: dict[str, list[float]] = {n: [] for n in rules}
    for _ in range(repeats):
        for name, (model, rule, opt) in setups.items():
            t0 = time.perf_counter()
            rule.step(model, x_seq, y, opt)
            times[name].append(time.perf_counter() - t0)
    return {n: statistics.median(ts) for n, ts in times.items()}


def step_bytes(rule_name: str, task_name: str, budget, seed: int, T: int, *,
               hidden: Sequence[int] | None = None, encoding: str = "direct",
               **hparams) -> int:
    """Peak bytes autograd holds during one training step (saved tensors, deterministic)."""
    data = task(task_name, budget.n_train, budget.n_test)
    hidden = tuple(budget.hidden if hidden is None else hidden)
    model = build(rule_name, data.input_shape[0], hidden, data.n_classes, seed=seed)
    rule = R.get(rule_name, **hparams)
    rule.setup(model, data, T=T, encoding=encoding, seed=seed)
    net = copy.deepcopy(model)
    x_seq, y = _batch(data, T, encoding, budget.batch_size)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.0)
    with SavedTensorMeter() as meter:
        rule.step(net, x_seq, y, opt)
    return int(meter.peak_bytes)
