"""Run learning rules side by side on the same task and the same initial network.

``compare.rules(["bptt", "ottt"], data="digits")`` trains a fresh copy of one network per rule
(same seed, same initial weights, each rule's default T/encoding/lr unless given) and returns a
:class:`Comparison`: a table of test accuracy, spikes and SynOps per sample, energy, training time
and peak memory, printable and plottable.
"""

from __future__ import annotations

import contextlib
import copy
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as TF

from . import functional, spikemm
from . import rules as R
from ._checks import check_float, check_int, check_labels, check_sequence
from .data import DataSplit, load
from .encoding import encode
from .metrics import (
    SavedTensorMeter,
    pareto_optimal,  # compat: remove after the issue-14 merge (home: metrics)
)
from .train import build_model, evaluate, train

__all__ = ["Comparison", "rules", "step_memory", "format_table", "peak_rss_mb",
           "GradientComparison", "gradients", "gradient_metrics", "smoothed_fd_gradient",
           "pytorch_ops_only", "bptt_paths", "PathTimings",
           "pareto_optimal"]  # compat: remove after the issue-14 merge (last line)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def format_table(heads: list[str], cells: list[list[str]]) -> str:
    """Plain-text table with aligned columns (what ``snnlab compare`` prints)."""
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]
    out = ["  ".join(h.ljust(w) for h, w in zip(heads, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


@dataclass
class Comparison:
    rows: list[dict] = field(default_factory=list)
    histories: dict = field(default_factory=dict)

    COLUMNS = (("rule", "{}"), ("test_acc", "{:.3f}"), ("spikes_per_sample", "{:.1f}"),
               ("synops_per_sample", "{:.0f}"), ("energy_nj_per_sample", "{:.2f}"),
               ("seconds_per_epoch", "{:.2f}"), ("step_memory_mib", "{:.2f}"), ("T", "{}"),
               ("epochs", "{}"))

    def table(self) -> str:
        cells = [[fmt.format(r[c]) if r.get(c) is not None else "-" for c, fmt in self.COLUMNS]
                 for r in self.rows]
        return format_table([c for c, _ in self.COLUMNS], cells)

    def __str__(self) -> str:
        return self.table()


def rules(names, data, *, model=None, hidden=(128,), epochs: int | None = None,
          T: int | None = None, seed: int = 0, batch_size: int = 64, progress: bool = False,
          device="cpu", hparams: dict | None = None, max_epochs: int | None = None,
          model_kw: dict | None = None) -> Comparison:
    """Train each rule in ``names`` ("all" for every registered rule) on ``data`` and tabulate.

    ``model`` (a SpikingNet) is deep-copied per rule so all start from the same weights (each
    rule checks that it fits). By default each rule builds its own network with ``seed``
    (:func:`snnlab.train.build_model`: ``rule.build_model(n_in, hidden, n_classes,
    **model_kw)``, so rules
    sharing a network also share its initial weights). ``hparams`` maps a rule name to its
    keyword hyper-parameters. ``max_epochs`` caps each rule's epochs (its default unless
    ``epochs`` is given), for a quick look at every rule on a small budget.
    """
    if names == "all" or names == ["all"]:
        names = R.available()
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not names:
        raise ValueError("names must list at least one rule")
    if max_epochs is not None:
        check_int("max_epochs", max_epochs, low=1)
    for n in names:
        R.get(n)  # fail early, with the list of available rules, before any training
    if isinstance(data, str):
        data = load(data, seed=seed)
    if not isinstance(data, DataSplit):
        raise TypeError(f"data must be a DataSplit or a dataset name, got {type(data).__name__}")
    hparams = hparams or {}
    result = Comparison()
    for name in names:
        rule = R.get(name, **hparams.get(name, {}))
        if model is None:
            net = build_model(rule, data, hidden, seed=seed, **(model_kw or {}))
        else:
            net = copy.deepcopy(model)
        n_epochs = epochs if epochs is not None else rule.default_epochs
        if max_epochs is not None:
            n_epochs = min(n_epochs, max_epochs)
        t0 = time.perf_counter()
        hist = train(net, data, rule, T=T, epochs=n_epochs, batch_size=batch_size, seed=seed,
                     progress=progress, device=device)
        seconds = time.perf_counter() - t0
        cfg = hist.config
        ev = evaluate(net, data.test, cfg["T"], encoding=cfg["encoding"], seed=seed, device=device)
        epoch_s = [r["seconds"] for r in hist.records]
        result.histories[name] = hist
        result.rows.append(dict(rule=name, test_acc=ev["acc"],
                                spikes_per_sample=ev["spikes_per_sample"],
                                synops_per_sample=ev["synops_per_sample"],
                                energy_nj_per_sample=ev["energy_nj_per_sample"],
                                seconds_per_epoch=sum(epoch_s) / max(len(epoch_s), 1),
                                step_memory_mib=step_memory(net, rule, data, cfg["T"],
                                                            cfg["encoding"], batch_size, device)
                                / 2**20,
                                train_seconds=seconds, T=cfg["T"], epochs=cfg["epochs"],
                                peak_rss_mb=peak_rss_mb()))
    return result


def step_memory(model, rule, data, T: int, encoding: str, batch_size: int = 64,
                device="cpu") -> int:
    """Peak bytes autograd holds during one training step of ``rule`` (on a copy of ``model``,
    so nothing changes): the activation memory of training, see
    :class:`snnlab.metrics.SavedTensorMeter`."""
    net = copy.deepcopy(model)
    x, y = data.train.tensors[0][:batch_size], data.train.tensors[1][:batch_size]
    x_seq = encode(x.to(device), T, encoding, generator=torch.Generator().manual_seed(0)
                   if torch.device(device).type == "cpu" else None)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.0)
    with SavedTensorMeter() as meter:
        rule.step(net, x_seq, y.to(device), opt)
    return meter.peak_bytes


# --------------------------------------------------------------------------- gradient comparison
@dataclass
class GradientComparison:
    """Gradients of several rules on one batch and one set of weights, against a reference.

    ``grads[rule][param]`` holds each gradient (the reference under its own name); ``rows`` has
    one dict per (rule, parameter): ``cosine`` (direction), ``sign_agreement`` (fraction of
    entries whose sign matches the reference's, over entries where either is non-zero) and
    ``norm_ratio`` (``|g| / |g_ref|``, the scale a learning rate would see).
    """

    reference: str
    grads: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)

    def value(self, rule: str, param: str, metric: str = "cosine") -> float:
        for r in self.rows:
            if r["rule"] == rule and r["param"] == param:
                return r[metric]
        raise KeyError(f"no row for rule {rule!r} and parameter {param!r}")

    def params(self) -> list[str]:
        return list(dict.fromkeys(r["param"] for r in self.rows))

    def rules(self) -> list[str]:
        return list(dict.fromkeys(r["rule"] for r in self.rows))

    def table(self) -> str:
        heads = ["rule", "param", "cosine", "sign_agree", "norm_ratio"]
        cells = [[r["rule"], r["param"], f"{r['cosine']:+.3f}", f"{r['sign_agreement']:.3f}",
                  f"{r['norm_ratio']:.3g}"] for r in self.rows]
        return f"reference: {self.reference}\n" + format_table(heads, cells)

    def __str__(self) -> str:
        return self.table()


def gradient_metrics(g: torch.Tensor, ref: torch.Tensor) -> dict:
    """Cosine similarity, sign agreement and norm ratio of ``g`` against ``ref``."""
    g, ref = g.detach().flatten().double(), ref.detach().flatten().double()
    if g.shape != ref.shape:
        raise ValueError(f"gradients differ in size: {tuple(g.shape)} vs {tuple(ref.shape)}")
    ng, nr = float(g.norm()), float(ref.norm())
    cosine = float(g @ ref) / (ng * nr) if ng > 0 and nr > 0 else float("nan")
    active = (g != 0) | (ref != 0)
    sign = float((torch.sign(g[active]) == torch.sign(ref[active])).double().mean()) \
        if bool(active.any()) else 1.0
    ratio = ng / nr if nr > 0 else (float("nan") if ng == 0 else float("inf"))
    return {"cosine": cosine, "sign_agreement": sign, "norm_ratio": ratio}


def smoothed_fd_gradient(model, x_seq, y, *, loss=None, sigma: float = 0.05,
                         samples: int = 500, seed: int = 0) -> dict:
    r"""Finite-difference estimate of the gradient of the *smoothed* loss
    :math:`\mathbb{E}_\epsilon[L(\theta + \sigma\epsilon)]`, :math:`\epsilon\sim\mathcal N(0, I)`:

    .. math:: \hat g = \frac{1}{2\sigma n}\sum_{k=1}^{n}
              \big(L(\theta+\sigma\epsilon_k) - L(\theta-\sigma\epsilon_k)\big)\,\epsilon_k

    (antithetic pairs, common random numbers). A spiking loss is piecewise constant in the
    weights, so its true gradient is zero almost everywhere; smoothing gives the slope a
    learning rule should follow. Needs only forward passes, so it is an independent reference,
    but its noise grows with the parameter count: use it on tiny networks. ``loss`` defaults to
    cross-entropy on the model's logits.
    """
    check_float("sigma", sigma, low=0.0, low_open=True)
    check_int("samples", samples, low=1)
    loss = loss or (lambda m: TF.cross_entropy(m(x_seq), y))
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    base = [p.detach().clone() for _, p in params]
    gen = torch.Generator().manual_seed(seed)
    acc = [torch.zeros_like(b) for b in base]
    try:
        with torch.no_grad():
            for _ in range(samples):
                eps = [torch.randn(b.shape, generator=gen) for b in base]
                for (_, p), b, e in zip(params, base, eps):
                    p.copy_(b + sigma * e)
                lp = float(loss(model))
                for (_, p), b, e in zip(params, base, eps):
                    p.copy_(b - sigma * e)
                lm = float(loss(model))
                for a, e in zip(acc, eps):
                    a.add_(e, alpha=(lp - lm) / (2 * sigma * samples))
    finally:
        with torch.no_grad():
            for (_, p), b in zip(params, base):
                p.copy_(b)
    return {n: a for (n, _), a in zip(params, acc)}


def gradients(model, x_seq, y, rules=("bptt",), reference="bptt", *, fd_sigma: float = 0.05,
              fd_samples: int = 500, seed: int = 0) -> GradientComparison:
    """Gradients of ``rules`` on one batch with the same weights, compared with ``reference``.

    Args:
        model: the network (left unchanged: weights and ``.grad`` are restored).
        x_seq, y: one encoded batch ``[T, B, ...]`` and its labels.
        rules: rule names or :class:`~snnlab.rules.Rule` instances.
        reference: a rule (name or instance), or ``"fd"`` for
            :func:`smoothed_fd_gradient` of cross-entropy on the model's logits (tiny nets).

    Example: ``compare.gradients(net, x_seq, y, ["timing", "antlr"], reference="bptt")``.
    """
    check_sequence("x_seq", x_seq)
    check_labels("y", y, x_seq.shape[1])
    if isinstance(rules, (str, R.Rule)):
        rules = [rules]
    rules = [R.get(r) for r in rules]
    if not rules:
        raise ValueError("rules must list at least one rule")
    if isinstance(reference, str) and reference == "fd":
        ref_name = "fd"
        ref = smoothed_fd_gradient(model, x_seq, y, sigma=fd_sigma, samples=fd_samples,
                                   seed=seed)
    else:
        ref_rule = R.get(reference)
        ref_name = ref_rule.name
        ref = ref_rule.gradients(model, x_seq, y)
    out = GradientComparison(reference=ref_name)
    out.grads[ref_name] = ref
    for rule in rules:
        g = rule.gradients(model, x_seq, y)
        label = rule.name if rule.name not in out.grads else repr(rule)
        out.grads[label] = g
        for name, ref_g in ref.items():
            out.rows.append({"rule": label, "param": name, **gradient_metrics(g[name], ref_g)})
    return out


@contextlib.contextmanager
def pytorch_ops_only():
    """Inside the block, snnlab's two CPU accelerations are off: the C LIF loop
    (``snnlab/_lif_kernel.c``) and the int8 synapse for spike inputs (:mod:`snnlab.spikemm`).
    What is computed stays the same (bit for bit for the loop, to float32 rounding for the
    synapse); only the speed changes."""
    saved = functional.NATIVE, spikemm._state["enabled"]
    functional.NATIVE = False
    spikemm.set_enabled(False)
    try:
        yield
    finally:
        functional.NATIVE, spikemm._state["enabled"] = saved


@dataclass
class PathTimings:
    """What :func:`bptt_paths` measured: one row per way of computing the gradient."""

    rows: list[dict] = field(default_factory=list)

    def table(self) -> str:
        cells = [[r["path"], f"{r['ms_per_step']:.2f}", f"{r['speedup']:.1f}x",
                  f"{r['max_abs_diff']:.1e}"] for r in self.rows]
        return format_table(["path", "ms/step", "speed-up", "max |grad - unrolled|"], cells)

    def __str__(self) -> str:
        return self.table()


def bptt_paths(model, x_seq, y, *, repeats: int = 5) -> PathTimings:
    """One BPTT gradient computed three ways, timed (forward + backward, median of ``repeats``):

    1. ``unrolled autograd``: the plain loop, one graph node per operation per step;
    2. ``fused, PyTorch ops``: each layer's time loop in one autograd Function with the
       hand-written adjoint (eq. 5 of :mod:`snnlab.functional`);
    3. ``fused, C loop + int8``: the same Function with its loop in C, and large spike-fed
       synapses as int8 matmuls (:mod:`snnlab.spikemm`), where they apply.

    Returns a :class:`PathTimings` (print it for a table) whose ``rows`` hold, per path,
    ``path``, ``ms_per_step``, ``speedup`` (over the unrolled loop) and ``max_abs_diff``, the
    largest difference of any gradient entry from the unrolled one. The model is left fused.
    """
    check_sequence("x_seq", x_seq)
    check_labels("y", y, x_seq.shape[1])
    check_int("repeats", repeats, low=1)
    rule = R.get("bptt")
    paths = (("unrolled autograd", False, False), ("fused, PyTorch ops", True, False),
             ("fused, C loop + int8", True, True))
    rows, ref = [], None
    try:
        for name, fused, accelerated in paths:
            model.set_fused(fused)
            with contextlib.nullcontext() if accelerated else pytorch_ops_only():
                times = []
                for _ in range(repeats + 1):  # the first call warms up (and builds the C loop)
                    t0 = time.perf_counter()
                    grads = rule.gradients(model, x_seq, y)
                    times.append(time.perf_counter() - t0)
            ref = grads if ref is None else ref
            diff = max(float((grads[k] - ref[k]).abs().max()) for k in ref)
            rows.append({"path": name, "ms_per_step": 1e3 * statistics.median(times[1:]),
                         "max_abs_diff": diff})
    finally:
        model.set_fused(True)
    for row in rows:
        row["speedup"] = rows[0]["ms_per_step"] / row["ms_per_step"]
    return PathTimings(rows)
