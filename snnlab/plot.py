"""Figures for spiking networks: rasters, membrane traces, surrogates, encodings, curves.

Layer 6 of ``docs/ARCHITECTURE.md``: figures from numbers. It imports models, metrics and lower
layers only, never experiment code (``train``, ``compare``, rules): a History or a comparison is
read by duck typing. ``matplotlib.pyplot`` is loaded on the first figure (:func:`pyplot`), so
``import snnlab.plot`` picks no backend. The pattern every function here follows (append new
ones the same way):

* signature ``name(data..., *, ax=None, **options)``; validate the inputs first and raise
  ``TypeError``/``ValueError`` naming the parameter (helpers in :mod:`snnlab._checks`);
* draw into ``ax`` when given, else create a figure with :func:`new_axes`;
* label every axis with its unit, set a title, use the colour-blind-safe :data:`PALETTE`;
* no Python loop over spikes or samples: hand whole arrays to matplotlib (``scatter``,
  ``plot`` with 2-D arrays, ``imshow``), so thousands of neurons draw in milliseconds;
* return the ``Axes`` (or the ``Figure`` for multi-panel plots).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from . import surrogate as S
from ._checks import check_choice, check_float, check_int, check_tensor
from .encoding import METHODS, encode

__all__ = ["PALETTE", "TITLE_SIZE", "LABEL_SIZE", "RULE_METRICS",
           "pyplot", "new_axes", "set_labels", "subplots", "show", "pareto_front",
           "raster", "membrane", "training_curves", "surrogates", "encodings", "fi_curve",
           "chip_view", "noise_sweep", "gradient_comparison", "conversion_errors",
           "accuracy_vs_T", "compare_scatter", "memory_vs_T", "head_tail", "decays_by_depth",
           "phase_history", "rule_comparison"]

#: Okabe & Ito (2008) colour-blind-safe palette; the first colour is used for spikes.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Tol's (2021) "muted" colour-blind-safe scheme: after the eight colours of :data:`PALETTE`,
#: runs 9-16 of one figure take these, so up to 16 runs never share a colour.
_MORE_COLOURS: tuple[str, ...] = (
    "#882255",  # wine
    "#44AA99",  # teal
    "#999933",  # olive
    "#332288",  # indigo
    "#AA4499",  # purple
    "#88CCEE",  # cyan
    "#DDCC77",  # sand
    "#117733",  # green
)
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def run_style(i: int) -> tuple[str, str]:
    """``(colour, marker)`` of the ``i``-th run of a figure with many runs: 16 distinct colours
    (:data:`PALETTE`, then Tol's muted scheme), and past 8 runs another marker as well, so two
    runs differ in colour and, past 16, still in marker."""
    colours = PALETTE + _MORE_COLOURS
    return colours[i % len(colours)], _MARKERS[(i // len(PALETTE)) % len(_MARKERS)]


TITLE_SIZE = 12
LABEL_SIZE = 11


# --------------------------------------------------------------------------- helpers
def pyplot():
    """``matplotlib.pyplot``, imported on first use: importing it picks a backend, which a
    headless ``import snnlab.plot`` (and a kernel that has not drawn yet) should not do."""
    import matplotlib.pyplot as plt

    return plt


def new_axes(ax=None, *, figsize=(6.0, 3.5)):
    """``ax`` if given (checked), else a new figure's single axes."""
    if ax is None:
        _, ax = pyplot().subplots(figsize=figsize, constrained_layout=True)
        return ax
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def set_labels(ax, xlabel: str, ylabel: str, title: str | None) -> None:
    """Axis labels (with their units) and an optional title, in the module's font sizes."""
    ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=LABEL_SIZE)
    if title:
        ax.set_title(title, fontsize=TITLE_SIZE)


def subplots(*args, **kwargs):
    """``matplotlib.pyplot.subplots`` (for multi-panel figures drawn outside this module)."""
    return pyplot().subplots(*args, **kwargs)


def show(fig_or_ax) -> None:
    """Show a figure (or the figure of an Axes) in the notebook and free it."""
    plt = pyplot()
    fig = getattr(fig_or_ax, "figure", fig_or_ax)
    plt.show()
    plt.close(fig)


def pareto_front(costs, scores) -> list[int]:
    """Indices (in order) of the points no other point dominates: none has a lower-or-equal
    cost *and* a higher-or-equal score with at least one of them strictly better (exact twins
    both stay). The same test as :func:`snnlab.compare.pareto_optimal`, on plain numbers."""
    costs, scores = [float(c) for c in costs], [float(v) for v in scores]
    if len(costs) != len(scores):
        raise ValueError(f"costs and scores must have the same length, got {len(costs)} and "
                         f"{len(scores)}")
    return [i for i, (c, v) in enumerate(zip(costs, scores))
            if not any(c2 <= c and v2 >= v and (c2 < c or v2 > v)
                       for c2, v2 in zip(costs, scores))]


def _as_tensor(name: str, x, *, min_ndim: int = 1) -> torch.Tensor:
    """Accept a tensor or a numpy array; return a detached CPU float tensor."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    check_tensor(name, x, min_ndim=min_ndim, finite=False)
    return x.detach().to("cpu", torch.float32)


def _select_sample(name: str, x: torch.Tensor, sample: int) -> torch.Tensor:
    """``[T, N]`` stays; ``[T, B, ...]`` picks batch element ``sample`` and flattens the rest."""
    check_int("sample", sample, low=0)
    if x.ndim == 2:
        return x
    if sample >= x.shape[1]:
        raise ValueError(f"sample must be < batch size {x.shape[1]} of {name}, got {sample}")
    return x[:, sample].reshape(x.shape[0], -1)


# --------------------------------------------------------------------------- rasters
def raster(spikes, *, ax=None, sample: int = 0, dt_ms: float | None = None,
           max_neurons: int | None = None, title: str | None = "Spike raster",
           color: str | None = None, marker_size: float | None = None):
    """Spike raster: one dot per spike, time on x, neuron index on y.

    Args:
        spikes: ``[T, N]``, ``[T, B, N]`` or ``[T, B, C, H, W]`` (flattened per sample); values
            are 0/1 (nonzero counts as a spike; ±1 delta events are drawn in two colours).
        sample: which batch element to show when there is a batch dimension.
        dt_ms: step length in ms; the x axis is in ms when given, else in steps.
        max_neurons: show only the first ``max_neurons`` neurons.
    """
    s = _select_sample("spikes", _as_tensor("spikes", spikes, min_ndim=2), sample)
    if max_neurons is not None:
        s = s[:, :check_int("max_neurons", max_neurons, low=1)]
    if dt_ms is not None:
        check_float("dt_ms", dt_ms, low=0.0, low_open=True)
    ax = new_axes(ax)
    T, N = s.shape
    scale = 1.0 if dt_ms is None else dt_ms
    # marker area in pt^2: roughly one row of the axes per neuron, readable from 5 to 5000 rows
    size = marker_size if marker_size is not None else float(np.clip((300.0 / N) ** 2, 1.0, 40.0))
    on = torch.nonzero(s > 0).numpy()
    off = torch.nonzero(s < 0).numpy()
    ax.scatter(on[:, 0] * scale, on[:, 1], s=size, marker="|" if N <= 200 else ".",
               color=color or PALETTE[0], linewidths=1.0, label="spike" if len(off) else None)
    if len(off):
        ax.scatter(off[:, 0] * scale, off[:, 1], s=size, marker="|" if N <= 200 else ".",
                   color=PALETTE[3], linewidths=1.0, label="OFF event (-1)")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlim(-0.5 * scale, (T - 0.5) * scale)
    ax.set_ylim(-0.5, N - 0.5)
    set_labels(ax, "time (ms)" if dt_ms is not None else "time step", "neuron index", title)
    return ax


# --------------------------------------------------------------------------- membranes
def membrane(u, threshold: float | None = None, spikes=None, *, ax=None, sample: int = 0,
             neurons: int | Sequence[int] = 3, dt_ms: float | None = None,
             title: str | None = "Membrane potential", label: str = "neuron"):
    """Membrane traces (before reset), with a dashed threshold line and spike markers.

    Args:
        u: ``[T]``, ``[T, N]`` or ``[T, B, ...]`` membrane potentials.
        threshold: draw a dashed horizontal line at this value.
        spikes: same shape as ``u``; spike times are marked with a dot on the trace.
        neurons: how many neurons to draw (the first ones), or a list of indices.
        label: legend prefix of each trace (``"class"`` for a readout, say).
    """
    u = _as_tensor("u", u)
    if u.ndim == 1:
        u = u[:, None]
    u = _select_sample("u", u, sample)
    s = None
    if spikes is not None:
        s = _as_tensor("spikes", spikes)
        s = s[:, None] if s.ndim == 1 else _select_sample("spikes", s, sample)
        if s.shape != u.shape:
            raise ValueError(f"spikes must have the same shape as u, got {tuple(s.shape)} "
                             f"and {tuple(u.shape)}")
    if isinstance(neurons, int):
        idx = list(range(min(check_int("neurons", neurons, low=1), u.shape[1])))
    elif isinstance(neurons, Sequence) and not isinstance(neurons, str):
        idx = [check_int(f"neurons[{i}]", n, low=0, high=u.shape[1] - 1)
               for i, n in enumerate(neurons)]
        if not idx:
            raise ValueError("neurons must not be empty")
    else:
        raise TypeError(f"neurons must be an int or a list of indices, got "
                        f"{type(neurons).__name__}")
    if threshold is not None:
        threshold = check_float("threshold", threshold)
    if dt_ms is not None:
        check_float("dt_ms", dt_ms, low=0.0, low_open=True)
    ax = new_axes(ax)
    T = u.shape[0]
    t = np.arange(T) * (1.0 if dt_ms is None else dt_ms)
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(idx))]
    ax.set_prop_cycle(color=colors)
    lines = ax.plot(t, u[:, idx].numpy(), lw=1.5)
    for line, i in zip(lines, idx):
        line.set_label(f"{label} {i}")
    if s is not None:
        sel = s[:, idx]
        tt, nn = np.nonzero(sel.numpy() > 0)
        if len(tt):
            ax.scatter(t[tt], u[:, idx].numpy()[tt, nn], s=18, c=[colors[k] for k in nn],
                       zorder=3, label="spike")
    if threshold is not None:
        ax.axhline(threshold, ls="--", color=PALETTE[7], lw=1.0, label=f"threshold {threshold:g}")
    if len(idx) <= 10:
        ax.legend(loc="best", fontsize=8, ncol=2 if len(idx) > 5 else 1)
    set_labels(ax, "time (ms)" if dt_ms is not None else "time step", "membrane potential u (a.u.)",
           title)
    return ax


# --------------------------------------------------------------------------- training curves
def _is_history(h) -> bool:
    """A :class:`snnlab.History` by what it offers (``rule``, ``records``, ``column``), so that
    this module need not import :mod:`snnlab.train`."""
    return (hasattr(h, "rule") and isinstance(getattr(h, "records", None), list)
            and callable(getattr(h, "column", None)))


def training_curves(history, *, ax=None, keys: Sequence[str] = ("train_loss", "test_acc"),
                    title: str | None = "Training curves", legend_outside: bool = False):
    """Plot per-epoch records of one :class:`~snnlab.History` or several (a list, or a dict
    ``{name: History}`` to overlay rules).

    With two keys the second goes on a twin y axis (e.g. loss left, accuracy right). Returns the
    main axes. ``legend_outside`` puts the legend right of the axes (for many runs).
    """
    if _is_history(history):
        runs = {history.rule: history}
    elif isinstance(history, (list, tuple)) and all(_is_history(h) for h in history):
        runs = {}
        for i, h in enumerate(history):  # name by rule; repeated rules get their index
            runs[h.rule if h.rule not in runs else f"{h.rule} #{i + 1}"] = h
    elif isinstance(history, Mapping):
        runs = dict(history)
        for name, h in runs.items():
            if not _is_history(h):
                raise TypeError(f"history[{name!r}] must be a snnlab.History, got "
                                f"{type(h).__name__}")
    else:
        raise TypeError(f"history must be a snnlab.History, a list of them or a dict name -> "
                        f"History, got {type(history).__name__}")
    if not runs:
        raise ValueError("history is empty: give at least one run")
    if isinstance(keys, str) or not isinstance(keys, Sequence) or not 1 <= len(keys) <= 2:
        raise ValueError(f"keys must be a list of one or two record keys, got {keys!r}")
    ax = new_axes(ax)
    axes = [ax, ax.twinx()] if len(keys) == 2 else [ax]
    styles = ["-", "--"]
    for k, (key, a) in enumerate(zip(keys, axes)):
        for i, (name, h) in enumerate(runs.items()):
            epochs = [r.get("epoch", j + 1) for j, r in enumerate(h.records)]
            vals = h.column(key)
            pts = [(e, v) for e, v in zip(epochs, vals) if v is not None]
            if not pts:
                continue
            e, v = zip(*pts)
            color, marker = run_style(i)  # no two runs look alike
            a.plot(e, v, styles[k], marker=marker, ms=3 if marker == "o" else 4,
                   color=color, label=f"{name}: {key}")
        a.set_ylabel(_KEY_LABELS.get(key, key), fontsize=LABEL_SIZE)
    handles = [h for a in axes for h in a.get_legend_handles_labels()[0]]
    if handles and legend_outside:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.12 if len(axes) > 1
                                                                     else 1.01, 1.0),
                  fontsize=8, frameon=False)
    elif handles:
        ax.legend(handles=handles, loc="center right", fontsize=8)
    ax.set_xlabel("epoch", fontsize=LABEL_SIZE)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    if title:
        ax.set_title(title, fontsize=TITLE_SIZE)
    return ax


_KEY_LABELS = {
    "train_loss": "train loss (cross-entropy, nats)",
    "test_loss": "test loss (cross-entropy, nats)",
    "test_acc": "test accuracy (fraction)",
    "spikes_per_sample": "spikes per sample",
    "synops_per_sample": "SynOps per sample",
    "seconds": "epoch time (s)",
}


# --------------------------------------------------------------------------- surrogates
def surrogates(*, ax=None, names: Sequence[str] | None = None, x_range: float = 1.5,
               title: str | None = "Surrogate derivatives"):
    """The surrogate derivatives :math:`\\sigma'(u-\\vartheta)` of :mod:`snnlab.surrogate`
    (default scales), next to the true derivative of the step (zero, with a spike at 0)."""
    names = list(names) if names is not None else S.available()
    for n in names:
        check_choice("names", n, S.available())
    check_float("x_range", x_range, low=0.0, low_open=True)
    ax = new_axes(ax)
    x = torch.linspace(-x_range, x_range, 601)
    for i, n in enumerate(names):
        sg = S.get(n)
        ax.plot(x.numpy(), sg.derivative(x).numpy(), color=PALETTE[i % len(PALETTE)], lw=2,
                label=repr(sg))
    ax.axhline(0.0, color=PALETTE[7], lw=1, ls=":", label="true dH/du (0 away from threshold)")
    set_labels(ax, "distance to threshold u - θ (a.u.)", "σ'(u - θ) (1/a.u.)", title)
    ax.legend(fontsize=8)
    return ax


# --------------------------------------------------------------------------- encodings
def encodings(x, T: int, methods: Sequence[str] = ("direct", "rate", "latency", "delta"), *,
              sample: int = 0, seed: int = 0, image_shape: Sequence[int] | None = None,
              **encode_kw):
    """Encode one sample with several methods and show the input plus one raster per method.

    Args:
        x: ``[B, ...]`` or a single sample ``[...]``; values in [0, 1].
        image_shape: draw the input as an image of this shape (e.g. ``(8, 8)``).
        encode_kw: passed to :func:`snnlab.encoding.encode` (``gain``, ``threshold``...).

    Returns the figure.
    """
    plt = pyplot()
    x = _as_tensor("x", x)
    check_int("T", T, low=1)
    if isinstance(methods, str) or not methods:
        raise ValueError(f"methods must be a non-empty list of {list(METHODS)}, got {methods!r}")
    for m in methods:
        check_choice("methods", m, [m_ for m_ in METHODS if m_ != "frames"])
    check_int("sample", sample, low=0)
    if x.ndim >= 2:
        if sample >= x.shape[0]:
            raise ValueError(f"sample must be < {x.shape[0]} (the batch size of x), got {sample}")
        x = x[sample]
    x = x.reshape(1, -1)
    if image_shape is not None and int(np.prod(image_shape)) != x.shape[1]:
        raise ValueError(f"image_shape {tuple(image_shape)} does not hold the {x.shape[1]} values "
                         "of one sample")
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    fig, axes = plt.subplots(1, len(methods) + 1, figsize=(3.0 * (len(methods) + 1), 3.0),
                             constrained_layout=True)
    a0 = axes[0]
    if image_shape is not None:
        a0.imshow(x.reshape(*image_shape).numpy(), cmap="gray_r", vmin=0, vmax=1)
        a0.set_xticks([])
        a0.set_yticks([])
        a0.set_title("input", fontsize=TITLE_SIZE)
    else:
        a0.bar(np.arange(x.shape[1]), x[0].numpy(), color=PALETTE[1])
        set_labels(a0, "input index", "value (0-1)", "input")
    for a, m in zip(axes[1:], methods):
        seq = encode(x, T, m, generator=gen, **encode_kw)
        if m == "direct":
            a.imshow(seq[:, 0].T.numpy(), aspect="auto", cmap="viridis", origin="lower",
                     interpolation="nearest")
            set_labels(a, "time step", "input index", f"direct (current, T={T})")
        else:
            raster(seq, ax=a, title=f"{m}: {int(seq.abs().sum())} spikes")
            a.set_ylabel("input index", fontsize=LABEL_SIZE)
    return fig


# --------------------------------------------------------------------------- f-I curves
def fi_curve(currents, rates, *, ax=None, labels: Sequence[str] | None = None,
             title: str | None = "f-I curve"):
    """Firing rate against constant input current; ``rates`` is one curve or a list of curves."""
    cur = _as_tensor("currents", currents).reshape(-1).numpy()
    r = rates if isinstance(rates, (list, tuple)) else [rates]
    curves = [_as_tensor(f"rates[{i}]", c).reshape(-1).numpy() for i, c in enumerate(r)]
    for i, c in enumerate(curves):
        if c.shape != cur.shape:
            raise ValueError(f"rates[{i}] has {c.size} values but currents has {cur.size}")
    if labels is not None and len(labels) != len(curves):
        raise ValueError(f"labels has {len(labels)} names for {len(curves)} curves")
    ax = new_axes(ax)
    for i, c in enumerate(curves):
        ax.plot(cur, c, marker="o", ms=3, color=PALETTE[i % len(PALETTE)],
                label=None if labels is None else labels[i])
    if labels is not None:
        ax.legend(fontsize=8)
    set_labels(ax, "input current I (a.u. per step)", "firing rate (spikes per step)", title)
    return ax


# --------------------------------------------------------------------------- hardware
def chip_view(view, *, fig=None):
    """Three panels for one :class:`~snnlab.hardware.ChipView`: the programmed and effective
    weight histograms, and the raster of the ideal network next to the chip's (one sample).
    Returns the ``Figure``."""
    plt = pyplot()
    if not all(hasattr(view, k) for k in ("programmed", "effective", "spikes_chip")):
        raise TypeError(f"view must be a snnlab.hardware.ChipView, got {type(view).__name__}")
    if fig is None:
        fig = plt.figure(figsize=(11.0, 3.2), constrained_layout=True)
    axes = fig.subplots(1, 3)
    w_p = view.programmed.detach().cpu().numpy()
    w_e = view.effective.detach().cpu().numpy()
    lim = float(max(np.abs(w_p).max(), np.abs(w_e).max(), 1e-12))
    bins = np.linspace(-lim, lim, 61)
    axes[0].hist(w_p, bins=bins, color=PALETTE[0], alpha=0.6, label="programmed")
    axes[0].hist(w_e, bins=bins, color=PALETTE[1], alpha=0.6, label="on chip")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=8)
    set_labels(axes[0], "weight", "count", f"layer {view.layer + 1} weights")
    raster(view.spikes_ideal, ax=axes[1],
           title=f"ideal: acc {100 * view.acc_ideal:.1f}%, rate {view.rate_ideal:.2f}")
    raster(view.spikes_chip, ax=axes[2], color=PALETTE[3],
           title=f"chip: acc {100 * view.acc_chip:.1f}%, rate {view.rate_chip:.2f}")
    return fig


def noise_sweep(result, *, ax=None, title: str | None = None):
    """Accuracy (mean ± std over chips) against one noise parameter, before and, when the sweep
    calibrated, after calibration; the ideal network's accuracy as a dashed line. ``result`` is
    a :class:`~snnlab.hardware.SweepResult`."""
    if not all(hasattr(result, k) for k in ("param", "values", "mean_before", "std_before")):
        raise TypeError(f"result must be a snnlab.hardware.SweepResult, got "
                        f"{type(result).__name__}")
    ax = new_axes(ax)
    numeric = all(isinstance(v, (int, float)) for v in result.values)
    x = np.asarray(result.values, dtype=float) if numeric else np.arange(len(result.values))
    m, s = 100 * np.asarray(result.mean_before), 100 * np.asarray(result.std_before)
    ax.errorbar(x, m, yerr=s, marker="o", capsize=3, color=PALETTE[3], label="chip")
    if result.after is not None:
        m2, s2 = 100 * np.asarray(result.mean_after), 100 * np.asarray(result.std_after)
        ax.errorbar(x, m2, yerr=s2, marker="s", capsize=3, color=PALETTE[2],
                    label="after calibration")
    if result.clean_acc is not None:
        ax.axhline(100 * result.clean_acc, ls="--", color=PALETTE[7], lw=1, label="ideal")
    if not numeric:
        ax.set_xticks(x, [str(v) for v in result.values])
    ax.legend(fontsize=8)
    set_labels(ax, result.param, "test accuracy (%)",
           title if title is not None else f"accuracy vs {result.param} "
                                           f"({len(result.seeds)} chips per point)")
    return ax


# --------------------------------------------------------------------------- gradient comparison
def gradient_comparison(comparison, *, param: str | None = None, metric: str = "cosine",
                        figsize=(11.0, 3.6)):
    """How several rules' gradients differ on one batch (a
    :class:`~snnlab.compare.GradientComparison`): per-layer bars of ``metric`` (cosine, sign
    agreement or norm ratio) against the reference, then the weight-gradient heatmaps of layer
    ``param`` (default: the first weight) side by side, reference first, each on a symmetric
    colour scale of its own (so directions compare; magnitudes are in the titles)."""
    plt = pyplot()
    if not all(hasattr(comparison, k) for k in ("grads", "rows", "reference")):
        raise TypeError(f"comparison must be a snnlab.compare.GradientComparison, got "
                        f"{type(comparison).__name__}")
    metric = check_choice("metric", metric, ("cosine", "sign_agreement", "norm_ratio"))
    params, rules = comparison.params(), comparison.rules()
    weights = [p for p in params if comparison.grads[comparison.reference][p].ndim >= 2]
    if param is None:
        param = weights[0] if weights else params[0]
    param = check_choice("param", param, params)
    names = [comparison.reference, *rules]
    fig, axes = plt.subplots(1, 1 + len(names), figsize=figsize, constrained_layout=True,
                             gridspec_kw={"width_ratios": [1.6] + [1] * len(names)})
    ax = axes[0]
    x = np.arange(len(params))
    width = 0.8 / max(len(rules), 1)
    for k, rule in enumerate(rules):
        vals = [comparison.value(rule, p, metric) for p in params]
        ax.bar(x + (k - (len(rules) - 1) / 2) * width, vals, width,
               color=PALETTE[k % len(PALETTE)], label=rule)
    short = [p.replace(".synapse", "").replace(".weight", ".W").replace(".bias", ".b")
             for p in params]
    ax.set_xticks(x, short, rotation=30, ha="right", fontsize=8)
    if metric != "norm_ratio":
        ax.set_ylim(-1.05 if metric == "cosine" else 0, 1.05)
    ax.axhline(0, color=PALETTE[7], lw=0.8)
    ax.legend(fontsize=8)
    set_labels(ax, "parameter", metric.replace("_", " "), f"vs {comparison.reference}")
    for ax, name in zip(axes[1:], names):
        g = comparison.grads[name][param].detach()
        g = g.reshape(g.shape[0], -1) if g.ndim >= 2 else g.reshape(1, -1)
        lim = float(g.abs().max()) or 1.0
        im = ax.imshow(g.numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto",
                       interpolation="nearest")
        ax.set_title(f"{name}\n|g|={float(g.norm()):.3g}", fontsize=9)
        ax.set_xlabel("input", fontsize=9)
        ax.set_ylabel("output", fontsize=9)
    fig.colorbar(im, ax=axes[-1], shrink=0.8)
    fig.suptitle(f"gradients of {param}", fontsize=TITLE_SIZE)
    return fig


# --------------------------------------------------------------------------- ANN-guided learning
# (conversion, tandem learning, local tandem learning: notebooks 06-08)
_ERROR_TERMS = ("clipping", "quantisation", "unevenness", "accumulated")


def conversion_errors(rows, *, ax=None, terms: Sequence[str] = _ERROR_TERMS,
                      title: str | None = None):
    """Grouped bars: mean |error| per hidden layer for each term of
    :func:`snnlab.conversion.errors` (clipping, quantisation, unevenness, and the error
    accumulated up to that layer)."""
    if not isinstance(rows, Sequence) or not rows or not all(isinstance(r, Mapping) for r in rows):
        raise TypeError("rows must be the list of dicts snnlab.conversion.errors returns")
    for t in terms:
        if t not in rows[0]:
            raise ValueError(f"unknown error term {t!r}; rows have {sorted(rows[0])}")
    ax = new_axes(ax)
    n, k = len(rows), len(terms)
    width = 0.8 / k
    x = np.arange(n)
    for j, t in enumerate(terms):
        ax.bar(x + (j - (k - 1) / 2) * width, [r[t] for r in rows], width,
               color=PALETTE[j % len(PALETTE)], label=t)
    ax.set_xticks(x, [f"layer {r.get('layer', i + 1)}" for i, r in enumerate(rows)])
    ax.legend(fontsize=8)
    set_labels(ax, "hidden layer", "mean |error| (ANN units)",
           title if title is not None else "Conversion error per layer")
    return ax


def accuracy_vs_T(curves, *, reference=None, ax=None, title: str | None = None):
    """Accuracy against simulation length T (log scale) for several methods
    (``{label: {T: acc}}``), with optional horizontal reference lines (``{label: acc}``)."""
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError("curves must be a non-empty dict label -> {T: accuracy}")
    ax = new_axes(ax)
    for i, (name, c) in enumerate(curves.items()):
        if not isinstance(c, Mapping) or not c:
            raise TypeError(f"curves[{name!r}] must be a non-empty dict T -> accuracy")
        Ts = sorted(c)
        ax.plot(Ts, [100 * c[t] for t in Ts], marker="o", ms=4, color=PALETTE[i % len(PALETTE)],
                label=name)
    for j, (name, acc) in enumerate((reference or {}).items()):
        ax.axhline(100 * acc, ls="--", lw=1, color=PALETTE[(len(curves) + j) % len(PALETTE)],
                   label=name)
    ax.set_xscale("log", base=2)
    ax.legend(fontsize=8)
    set_labels(ax, "time steps T", "test accuracy (%)",
           title if title is not None else "Accuracy vs simulation length")
    return ax


def compare_scatter(x, y, *, ax=None, xlabel: str = "x", ylabel: str = "y",
                    title: str | None = None, identity: bool = True, max_points: int = 5000,
                    seed: int = 0):
    """Scatter of two same-shaped tensors element by element (e.g. SNN spike counts against the
    ANN activations on them, or LTL targets against firing rates) with the identity line."""
    x = _as_tensor("x", x).detach().reshape(-1).cpu().numpy()
    y = _as_tensor("y", y).detach().reshape(-1).cpu().numpy()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same number of elements, got {x.size} and "
                         f"{y.size}")
    check_int("max_points", max_points, low=1)
    if x.size > max_points:
        idx = np.random.default_rng(seed).choice(x.size, max_points, replace=False)
        x, y = x[idx], y[idx]
    ax = new_axes(ax, figsize=(4.0, 4.0))
    ax.scatter(x, y, s=6, alpha=0.3, color=PALETTE[0], edgecolors="none")
    if identity:
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        ax.plot([lo, hi], [lo, hi], "--", color=PALETTE[7], lw=1)
    set_labels(ax, xlabel, ylabel, title)
    return ax


def memory_vs_T(mem, *, ax=None, title: str | None = None):
    """Peak training memory (MiB) against T for several methods (``{label: {T: bytes}}``), as
    :func:`snnlab.rules.ltl.memory_vs_T` returns it."""
    if not isinstance(mem, Mapping) or not mem:
        raise TypeError("mem must be a non-empty dict label -> {T: bytes}")
    ax = new_axes(ax)
    for i, (name, c) in enumerate(mem.items()):
        Ts = sorted(c)
        ax.plot(Ts, [c[t] / 2 ** 20 for t in Ts], marker="o", ms=4,
                color=PALETTE[i % len(PALETTE)], label=name)
    ax.set_xscale("log", base=2)
    ax.legend(fontsize=8)
    set_labels(ax, "time steps T", "peak memory held for backward (MiB)",
           title if title is not None else "Training memory vs T")
    return ax


# ------------------------------------------------------------- distillation, DA-LIF, EICIL
def head_tail(result, *, ax=None, sample: int = 0, title: str | None = None):
    """Teacher probabilities ``p`` as bars (head and tail in two colours) with the student's
    ``q`` on top, classes ranked by ``p``; ``result`` is
    :func:`snnlab.course.n09_distillation.simulate_head_tail`'s dict (or ``hta_kl_divergence(...,
    return_parts=True)[1]``)."""
    if not isinstance(result, Mapping) or not {"p", "q", "mask"} <= set(result):
        raise TypeError("result must be a dict with 'p', 'q' and 'mask' (simulate_head_tail)")
    p = _as_tensor("p", result["p"])
    q = _as_tensor("q", result["q"])
    mask = torch.as_tensor(result["mask"]).bool()
    if p.ndim == 2:
        check_int("sample", sample, low=0, high=p.shape[0] - 1)
        p, q, mask = p[sample], q[sample], mask[sample]
    order = torch.argsort(p, descending=True)
    p, q, mask = p[order].numpy(), q[order].numpy(), mask[order].numpy()
    x = np.arange(p.size)
    ax = new_axes(ax)
    colors = np.where(mask, PALETTE[0], PALETTE[1])
    ax.bar(x, p, color=colors, alpha=0.8, label="teacher p (blue: head, orange: tail)")
    ax.plot(x, q, "o-", color=PALETTE[3], ms=4, lw=1, label="student q")
    ax.set_xticks(x, [str(int(c)) for c in order])
    ax.legend(fontsize=8)
    if title is None:
        parts = [f"{int(mask.sum())} head classes"]
        for key, lab in (("w_head", "w_H"), ("w_tail", "w_T")):
            if key in result:
                v = torch.as_tensor(result[key]).reshape(-1)
                parts.append(f"{lab} = {float(v[min(sample, v.numel() - 1)]):.2f}")
        title = ", ".join(parts)
    set_labels(ax, "class (ranked by teacher probability)", "probability", title)
    return ax


def decays_by_depth(rows, *, ax=None, title: str | None = None):
    """DA-LIF's learned spatial (alpha) and temporal (beta) decays per hidden layer, as
    :func:`snnlab.neurons.dalif_decays` lists them (error bars: spread across channels)."""
    if not isinstance(rows, Sequence) or not rows or not all(isinstance(r, Mapping) for r in rows):
        raise TypeError("rows must be a non-empty list of dicts (snnlab.neurons.dalif_decays)")
    ax = new_axes(ax)
    layers = np.array([r["layer"] for r in rows]) + 1
    for i, key in enumerate(("alpha", "beta")):
        ax.errorbar(layers, [r[key] for r in rows], yerr=[r.get(key + "_std", 0.0) for r in rows],
                    marker="o", ms=5, capsize=3, color=PALETTE[i],
                    label={"alpha": "spatial α (input)", "beta": "temporal β (membrane)"}[key])
    ax.axhline(1.0, ls=":", lw=1, color=PALETTE[7])
    ax.set_xticks(layers)
    ax.legend(fontsize=8)
    set_labels(ax, "hidden layer", "learned decay", title or "DA-LIF decays by depth")
    return ax


def phase_history(history, *,
                  keys: Sequence[str] = ("test_acc", "firing_rate", "weight_sparsity"),
                  title: str | None = None):
    """One panel per key against epoch, inhibitory epochs shaded (a ``bptt_stdp_cycles``
    History or its records). Returns the Figure."""
    plt = pyplot()
    records = getattr(history, "records", history)
    if not isinstance(records, Sequence) or not records:
        raise TypeError("history must be a History or a non-empty list of records")
    fig, axes = plt.subplots(1, len(keys), figsize=(4.0 * len(keys), 3.2),
                             constrained_layout=True, squeeze=False)
    epochs = np.array([r["epoch"] for r in records])
    inhib = [r.get("phase") == "inhibitory" for r in records]
    for ax, key in zip(axes[0], keys):
        vals = np.array([np.nan if r.get(key) is None else float(r[key]) for r in records])
        for e, on in zip(epochs, inhib):
            if on:
                ax.axvspan(e - 0.5, e + 0.5, color=PALETTE[1], alpha=0.2, lw=0)
        ax.plot(epochs, vals, "o-", ms=4, color=PALETTE[0])
        set_labels(ax, "epoch (shaded: inhibitory)", key.replace("_", " "), None)
    fig.suptitle(title or "Excitatory / inhibitory cycles", fontsize=TITLE_SIZE)
    return fig


#: the columns of :class:`snnlab.compare.Comparison` a rule comparison can plot:
#: key -> (axis label with its unit, whether higher is better)
RULE_METRICS: dict[str, tuple[str, bool]] = {
    "test_acc": ("test accuracy (fraction)", True),
    "spikes_per_sample": ("spikes per sample", False),
    "synops_per_sample": ("SynOps per sample", False),
    "energy_nj_per_sample": ("energy per sample (nJ)", False),
    "seconds_per_epoch": ("training time per epoch (s)", False),
    "step_memory_mib": ("activation memory per step (MiB)", False),
    "T": ("time steps T", False),
}


def _place_labels(ax, xs, ys, texts, fontsize: float = 8, bold: bool = False) -> None:
    """Write ``texts[k]`` next to the point ``(xs[k], ys[k])`` so that no label covers another
    label or a point of the axes: each label takes the first of a few offsets (right above, right
    below, left above, left below, then further out) whose box, estimated from the font size, is
    still free. Call once the axes' scales are set."""
    ax.autoscale_view()
    to_pt = 72.0 / ax.figure.dpi
    pts = ax.transData.transform(np.column_stack([xs, ys])) * to_pt  # display, in points
    taken = [(x - 4, y - 4, x + 4, y + 4) for x, y in pts]  # the markers
    h = fontsize
    for (x, y), x_data, y_data, text in zip(pts, xs, ys, texts):
        w = 0.62 * fontsize * len(text)
        offsets = ((6, 4), (6, -4 - h), (-6 - w, 4), (-6 - w, -4 - h), (6, 4 + h),
                   (6, -4 - 2 * h), (-6 - w, 4 + h), (-6 - w, -4 - 2 * h))
        for dx, dy in offsets:
            box = (x + dx, y + dy, x + dx + w, y + dy + h)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                       for b in taken):
                break
        else:  # crowded everywhere: the first place
            dx, dy = offsets[0]
            box = (x + dx, y + dy, x + dx + w, y + dy + h)
        taken.append(box)
        ax.annotate(text, (x_data, y_data), textcoords="offset points", xytext=(dx, dy),
                    fontsize=fontsize, fontweight="bold" if bold else "normal")


def rule_comparison(comparison, *, x: str = "energy_nj_per_sample", y: str = "test_acc",
                    ax=None, title: str | None = None, log_x: bool | None = None,
                    pareto: bool = True, labels: str = "all", legend: str = "inside"):
    """One point per rule of a :class:`snnlab.compare.Comparison` (or its ``rows``), metric
    ``x`` against metric ``y`` (keys of :data:`RULE_METRICS`), each point labelled with its rule.

    ``pareto`` joins the rules no other rule beats on both axes (a dashed black line; the
    direction of "better" comes from :data:`RULE_METRICS`). ``log_x`` defaults to a log axis
    when the ``x`` values are positive and span more than a factor 10. Rows holding
    ``<y>_std`` (e.g. ``test_acc_std``, a spread over seeds) get vertical error bars.
    ``labels``: ``"all"`` writes every rule's name next to its point, ``"front"`` only the
    Pareto front's (staggered so neighbours do not overlap; the legend names the rest),
    ``"none"`` none. ``legend``: ``"inside"``, ``"outside"`` (right of the axes, one column) or
    ``"none"``.
    """
    rows = getattr(comparison, "rows", comparison)
    if not isinstance(rows, Sequence) or not rows or not all(isinstance(r, Mapping)
                                                             for r in rows):
        raise TypeError("comparison must be a Comparison or a non-empty list of row dicts")
    check_choice("x", x, tuple(RULE_METRICS))
    check_choice("y", y, tuple(RULE_METRICS))
    for r in rows:
        if r.get(x) is None or r.get(y) is None or "rule" not in r:
            raise ValueError(f"every row needs 'rule', {x!r} and {y!r}; got {sorted(r)}")
    xs = np.array([float(r[x]) for r in rows])
    ys = np.array([float(r[y]) for r in rows])
    check_choice("labels", labels, ("all", "front", "none"))
    check_choice("legend", legend, ("inside", "outside", "none"))
    ax = new_axes(ax, figsize=(7.0, 4.5))
    # pareto_front minimises cost and maximises score: flip signs to match the metrics
    sx = 1.0 if not RULE_METRICS[x][1] else -1.0
    sy = 1.0 if RULE_METRICS[y][1] else -1.0
    front = sorted(pareto_front(sx * xs, sy * ys), key=lambda i: xs[i])
    for i, r in enumerate(rows):
        color, marker = run_style(i)
        std = r.get(f"{y}_std")
        if std is not None and float(std) > 0:
            ax.errorbar(xs[i], ys[i], yerr=float(std), color=color, lw=1, capsize=3, zorder=2)
        ax.scatter(xs[i], ys[i], s=50, color=color, marker=marker, edgecolors="black",
                   linewidths=0.5, zorder=3, label=str(r["rule"]))
    if pareto:
        ax.plot(xs[front], ys[front], "--", color=PALETTE[7], lw=1, zorder=2,
                label="Pareto front")
    if log_x is None:
        log_x = bool((xs > 0).all() and xs.max() / xs.min() > 10)
    if log_x:
        ax.set_xscale("log")
    if labels != "none":  # placed so that no label covers another or a point
        chosen = range(len(rows)) if labels == "all" else front
        _place_labels(ax, xs[list(chosen)], ys[list(chosen)],
                      [str(rows[i]["rule"]) for i in chosen], bold=labels == "front")
    if legend == "inside":
        ax.legend(fontsize=7, ncol=2, loc="best", frameon=False)
    elif legend == "outside":
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    set_labels(ax, RULE_METRICS[x][0], RULE_METRICS[y][0],
           title if title is not None else
           f"{RULE_METRICS[y][0].split(' (')[0]} vs {RULE_METRICS[x][0].split(' (')[0]}")
    return ax
