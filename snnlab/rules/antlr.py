r"""Activation- and timing-based gradients on one network: ``timing`` and ``antlr``.

Reference: Kim, Kim & Kim, "Unifying Activation- and Timing-based Learning Rules for Spiking
Neural Networks", NeurIPS 2020 (ANTLR); official code github.com/KyungsuKim42/ANTLR.

**The neuron** (:class:`AntlrLIF`, registered as ``"antlr_lif"``) is the paper's discrete LIF
with a decaying synaptic current; after a spike *both* the current and the voltage are zeroed:

.. math::

    I[t] &= \alpha\,(1 - s[t-1])\,I[t-1] + c[t]                 && (1) \\
    V[t] &= \beta\,(1 - s[t-1])\,V[t-1] + \beta_V\,I[t]         && (2) \\
    s[t] &= H(V[t] - \vartheta)                                 && (3)

with ``c[t]`` the synaptic input ``W x[t] (+ b)``. Between resets this is a spike-response model
with the double-exponential PSP :math:`\epsilon[k] = \beta_V\sum_{j\le k}\alpha^j\beta^{k-j}`;
``beta_v="auto"`` picks :math:`\beta_V = 1/\max_k \epsilon[k]` so one unit-weight input spike
peaks at exactly 1 (the code's ``beta_auto``).

**The backward pass** runs the paper's SRM recursion, in which the reset only *gates* (the spike
in :math:`1 - s` is treated as a constant, a detached reset):

.. math::

    \delta V[t] &= \lambda_{act}\,\sigma'(V[t]-\vartheta)\,\frac{\partial L}{\partial s[t]}
                 + \lambda_{tim}\,s[t]\,\Big(-\frac{\partial L/\partial t_s}{\dot V[t]}\Big)  (4) \\
    g_V[t] &= \delta V[t] + \beta\,(1 - s[t])\,g_V[t+1]                                     (5) \\
    g_I[t] &= \beta_V\,g_V[t] + \alpha\,(1 - s[t])\,g_I[t+1],\qquad
    \partial L/\partial c[t] = g_I[t]                                                        (6)

The first term of (4) is the *activation* route (surrogate derivative
:math:`\sigma'(x) = e^{-3|x|}`, the paper's choice); the second is the *timing* route: at a step
where the neuron spiked, a later crossing means a smaller voltage, :math:`\partial t_s/\partial V
= -1/\dot V`. With :math:`\lambda_{tim} = 0` this is exactly BPTT through (1)-(3) with a detached
reset, which is what ``bptt`` computes on the same network (tested to 1e-6).

*How* :math:`\dot V` *is estimated in discrete time.* The slope at the crossing is the backward
difference of the voltage across the last step, taking the reset into account:
:math:`\dot V[t] = V[t] - (1 - s[t-1])\,V[t-1]` (at t = 0 just :math:`V[0]`), clamped to
:math:`\ge` ``vdot_min`` = 0.01 (per step, threshold 1) as in the released code. A spike that
only grazes the threshold has a tiny slope, so its timing gradient is large: the clamp plus the
element-wise gradient clip (``grad_clip``, ±1 as in the code) keep it finite.

*Where* :math:`\partial L/\partial t_s` *comes from.* At the output, from the loss: the latency
loss is cross-entropy on logits :math:`z_k = -\beta_{sm}\,t_k` (first-spike step, T if silent),
so :math:`\partial L/\partial t_k = -\beta_{sm}\,\partial L/\partial z_k` at the first spike;
the count loss (logits = spike counts) gives none. In a hidden layer, a presynaptic spike at
step :math:`t_j` reaches neuron i through the PSP, so moving it changes every later
:math:`V_i`; the released code sums :math:`\delta V_i[t']\,w_{ij}\,\epsilon'(t'-t_j)` with the
central-difference kernel derivative and reset-gated traces. We compute the same quantity more
simply: the activation-route error of the presynaptic spike train, :math:`A[t] =
\partial L/\partial x_j[t] = (W^\top g_I)[t]` (what autograd hands the layer below), already
contains the reset-gated kernel, so the central difference of it in *time* is the timing error,

.. math::  \frac{\partial L}{\partial t_j} = \tfrac12\,(A[t_j+1] - A[t_j-1])  \qquad (7)

(reconstruction: (7) is the exact linearisation of moving the spike one step either way; it also
counts the :math:`t' = t_j-1` term of the symmetric difference, which the code's causal sum
leaves out). Both routes into the layer below use the *combined* :math:`\delta V` of (4), as in
the paper. Gradients w.r.t. W then follow from autograd through the synapse.

*Silent neurons.* The timing route is zero where a neuron never fires (no spike, no spike time)
and it cannot create spikes; a purely timing-based rule therefore needs a fallback. The released
code raises the input weights of never-firing neurons by ``timing_penalty / fan_in`` times the
fraction of samples in which they stayed silent; ``silent_penalty`` does the same here (default
on for ``timing``, off for ``antlr``, whose activation route already reaches silent neurons).

**Deviation from the released code** (needed so that the three rules optimise *one* loss and
``antlr(lam_tim=0)`` equals ``bptt``): the activation route of the latency loss is the surrogate
derivative of the first-spike readout :math:`t_k = \sum_t \prod_{k'\le t}(1 - s_{k'})` (what
:class:`~snnlab.models.Readout` ``first_spike`` computes). The released code instead gives the
activation route only a no-spike penalty on a silent target neuron; our smooth version plays that
role and also acts on neurons that do fire.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as TF
from torch import nn

from .._checks import check_choice, check_float, check_int
from ..data import DataSplit, load
from ..data.base import tensor_dataset
from ..encoding import encode
from ..functional import over_time
from ..models import mlp
from ..neurons import AntlrLIF, ExpSurrogate, psp_kernel  # compat: remove after the issue-14 merge
from .base import Rule, register

__all__ = ["ANTLR", "Timing", "check_model", "make_model", "latency_dataset", "spike_times",
           "first_spike_times", "interpolated_spike_time", "input_timing_gradient",
           "decision_stats", "forward_antlr", "spike_shift_view",
           # compat: remove after the issue-14 merge (their home is snnlab.neurons)
           "AntlrLIF", "ExpSurrogate", "psp_kernel"]



# --------------------------------------------------------------------------- forward with routes
def check_model(model, rule_name="antlr"):
    """Raise a ``ValueError`` unless every layer and the readout of ``model`` use
    :class:`~snnlab.neurons.AntlrLIF` and the readout spikes (``first_spike`` or ``count``)."""
    bad = [i for i, layer in enumerate(model.layers) if not isinstance(layer.neuron, AntlrLIF)]
    ro = model.readout
    if bad or ro.mode not in ("first_spike", "count") or not isinstance(ro.neuron, AntlrLIF):
        raise ValueError(
            f"rule {rule_name!r} needs spike times everywhere: every layer and the readout must "
            "use the ANTLR neuron and the readout must spike. Build the model with "
            f"snnlab.rules.get({rule_name!r}).build_model(n_in, hidden, n_out), "
            "snnlab.models.mlp(n_in, hidden, n_out, neuron='antlr_lif', readout='first_spike') "
            "(or readout='count'), or snnlab.rules.antlr.make_model(...)")


def forward_antlr(model, x_seq, lam_act=1.0, lam_tim=1.0):
    """Run ``model`` on ``x_seq`` with both gradient routes wired in.

    Returns ``(hidden_spikes, out_spikes, out_tau, out_membrane)``; ``out_tau`` carries the
    timing route of the output layer (give it a gradient dL/dt at spike steps).
    """
    check_model(model)
    h = x_seq
    hidden = []
    for layer in model.layers:
        h, _, _ = layer.neuron.routes(layer.current(h), lam_act, lam_tim, timing_from_grad_s=True)
        hidden.append(h)
    cur = over_time(model.readout.synapse, h)
    s, tau, v = model.readout.neuron.routes(cur, lam_act, lam_tim, timing_from_grad_s=False)
    return hidden, s, tau, v


def first_spike_times(spikes: torch.Tensor) -> torch.Tensor:
    """First spike step per neuron of ``spikes [T, B, ...]``; T where it never fired."""
    T = spikes.shape[0]
    not_yet = torch.cumprod(1.0 - spikes.detach(), dim=0)
    return not_yet.sum(0).clamp(max=T)


def spike_times(spikes: torch.Tensor) -> list[torch.Tensor]:
    """Step indices of the spikes of a 1-D train ``spikes [T]``."""
    return torch.nonzero(spikes.detach() > 0).flatten()


def _latency_logits(s, tau):
    """Logits ``-t_first`` whose value is the readout's and whose gradient takes both routes:
    the activation route through ``sum_t prod_k (1 - s_k)`` and the timing route through
    ``tau`` at each output neuron's first spike."""
    not_yet = torch.cumprod(1.0 - s, dim=0)
    t_hat = not_yet.sum(0)  # activation route (same graph as Readout 'first_spike')
    before = torch.cat([torch.ones_like(not_yet[:1]), not_yet[:-1]]).detach()
    first = s.detach() * before
    t_tau = (first * tau).sum(0)  # timing route: d t_first / d tau = 1 at the first spike
    return -(t_hat + (t_tau - t_tau.detach()))


# --------------------------------------------------------------------------- the rules
@register("antlr")
class ANTLR(Rule):
    r"""ANTLR: :math:`\delta V = \lambda_{act}\cdot` surrogate term :math:`+ \lambda_{tim}\cdot`
    timing term (module docstring, eq. 4). ``lam_tim=0`` is BPTT; ``lam_act=0`` is ``timing``.

    Args:
        lam_act, lam_tim: weights of the two routes (the paper fixes both to 1).
        loss: ``"latency"`` (cross-entropy on minus the first-spike steps), ``"count"``
            (cross-entropy on spike counts; no timing signal at the output) or ``"auto"`` (follow
            the model's readout: ``first_spike`` -> latency, ``count`` -> count).
        beta_sm: softmax scale of the latency logits (1 keeps them equal to the readout's).
        grad_clip: element-wise clip of every parameter gradient after ``backward`` (the code's
            ``grad_clip`` = 1); 0 disables it. :meth:`gradients` returns unclipped values.
        silent_penalty: weight raise for never-firing neurons (the code's ``timing_penalty``).
    """

    default_T = 40
    default_encoding = "latency"
    default_lr = 2e-3
    default_epochs = 30

    def __init__(self, lam_act: float = 1.0, lam_tim: float = 1.0, loss: str = "auto",
                 beta_sm: float = 1.0, grad_clip: float = 1.0, silent_penalty: float = 0.0):
        self.lam_act = check_float("lam_act", lam_act, low=0.0)
        self.lam_tim = check_float("lam_tim", lam_tim, low=0.0)
        if self.lam_act == 0.0 and self.lam_tim == 0.0:
            raise ValueError("lam_act and lam_tim cannot both be 0 (no gradient at all)")
        self.loss_kind = check_choice("loss", loss, ("auto", "latency", "count"))
        self.beta_sm = check_float("beta_sm", beta_sm, low=0.0, low_open=True)
        self.grad_clip = check_float("grad_clip", grad_clip, low=0.0)
        self.silent_penalty = check_float("silent_penalty", silent_penalty, low=0.0)
        self._last_spikes = None

    def build_model(self, n_in, hidden, n_out, *, readout: str = "first_spike",
                    alpha: float = 0.9, beta: float = 0.9, **kw):
        """The default network with :class:`~snnlab.neurons.AntlrLIF` neurons everywhere
        (``alpha``, ``beta``) and a spiking readout (``"first_spike"`` or ``"count"``); for the
        paper's bias-free initialisation use :func:`make_model`."""
        check_choice("readout", readout, ("first_spike", "count"))
        if kw.setdefault("neuron", "antlr_lif") != "antlr_lif":
            raise ValueError(f"rule {self.name!r} trains antlr_lif neurons, got "
                             f"neuron={kw['neuron']!r}")
        return super().build_model(n_in, hidden, n_out, readout=readout, alpha=alpha,
                                   beta=beta, **kw)

    def check_model(self, model):
        check_model(model, self.name)

    def _kind(self, model):
        if self.loss_kind != "auto":
            return self.loss_kind
        return "count" if model.readout.mode == "count" else "latency"

    def logits(self, model, x_seq):
        """Logits with both gradient routes attached (value = the model's own logits)."""
        self.check_model(model)
        hidden, s, tau, _ = forward_antlr(model, x_seq, self.lam_act, self.lam_tim)
        self._last_spikes = [h.detach() for h in hidden] + [s.detach()]
        if self._kind(model) == "count":
            return s.sum(0)
        return _latency_logits(s, tau)

    def loss(self, model, x_seq, y):
        return TF.cross_entropy(self.beta_sm * self.logits(model, x_seq), y)

    def _silent_bump(self, model, y):
        """Raise the input weights of neurons that never fired (the paper's fallback): hidden
        neurons by the fraction of samples they were silent for; output neurons only for the
        samples where they were the (silent) target, since a silent wrong class is fine."""
        layers = [layer.synapse for layer in model.layers] + [model.readout.synapse]
        for k, (syn, s) in enumerate(zip(layers, self._last_spikes)):
            lin = [m for m in syn.modules() if isinstance(m, nn.Linear)]
            if not lin or lin[-1].weight.grad is None:
                continue
            w = lin[-1].weight
            silent = (s.sum(0) == 0).float().reshape(s.shape[1], -1)  # [B, n_out]
            if k == len(layers) - 1:
                silent = silent * TF.one_hot(y, silent.shape[1]).to(silent.dtype)
            w.grad.sub_(self.silent_penalty / w.shape[1] * silent.mean(0)[:, None])

    def after_backward(self, model, x_seq, y):
        if self.silent_penalty > 0:
            self._silent_bump(model, y)
        if self.grad_clip > 0:
            for p in model.parameters():
                if p.grad is not None:
                    p.grad.clamp_(-self.grad_clip, self.grad_clip)


@register("timing")
class Timing(ANTLR):
    r"""Timing-based learning only: :math:`\delta V[t] = -s[t]\,(\partial L/\partial t_s) /
    \dot V[t]` (ANTLR with ``lam_act = 0``). Silent neurons get no gradient, hence the
    ``silent_penalty`` fallback (on by default). Its default, 1000, was calibrated on
    latency-coded Yin-Yang: with the released code's 100 (which goes with that code's loss
    scale) one of three seeds collapsed to silent outputs within 12 epochs; with 1000 none did
    (the element-wise ``grad_clip`` bounds the bump to ±1 per weight)."""

    def __init__(self, loss: str = "auto", beta_sm: float = 1.0, grad_clip: float = 1.0,
                 silent_penalty: float = 1000.0, lam_tim: float = 1.0):
        super().__init__(lam_act=0.0, lam_tim=lam_tim, loss=loss, beta_sm=beta_sm,
                         grad_clip=grad_clip, silent_penalty=silent_penalty)


# --------------------------------------------------------------------------- models and data
def make_model(n_in: int = 5, hidden=(60,), n_out: int = 3, *, readout: str = "first_spike",
               alpha: float = 0.9, beta: float = 0.9, weight_mean: float = 0.2,
               weight_std: float = 0.5, seed: int | None = None, **neuron_kw):
    """The paper-style network: ``mlp(..., neuron="antlr_lif")``, no synaptic bias (use a bias
    spike instead), weights drawn from N(mean, std) scaled by 1/sqrt(fan_in)·2 so that a few
    coincident input spikes reach threshold."""
    if seed is not None:
        torch.manual_seed(check_int("seed", seed, low=0))
    net = mlp(n_in, list(hidden), n_out, neuron="antlr_lif", readout=readout, bias=False,
              alpha=alpha, beta=beta, **neuron_kw)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                scale = 2.0 / math.sqrt(m.in_features)
                m.weight.normal_(weight_mean * scale, weight_std * scale)
    return net


def latency_dataset(name="yinyang", *, window: float = 0.5, bias: bool = True,
                    bias_value: float = 0.8, silent_zero: bool | None = None, seed: int = 0):
    r"""A dataset prepared for ``encode(x, T, "latency")`` as in the papers' small experiments.

    Each feature :math:`v\in[0,1]` becomes :math:`v' = 1 - w\,(1 - v)`, so its spike falls at
    step :math:`\mathrm{round}(w\,(1-v)(T-1))`: the whole input arrives in the first fraction
    ``window`` = w of the simulation and the network has the rest to answer. ``bias`` appends
    a constant feature ``bias_value`` (a bias spike at a fixed time, input shape +1).
    ``silent_zero`` keeps exact zeros silent (default: on for images, off for Yin-Yang).

    Args:
        name: ``"yinyang"``, ``"digits"`` or a :class:`~snnlab.data.DataSplit`.
    """
    split = name if isinstance(name, DataSplit) else load(name, seed=seed)
    if len(split.input_shape) != 1:
        raise ValueError(f"latency_dataset needs flat samples, got shape {split.input_shape}")
    window = check_float("window", window, low=0.0, high=1.0, low_open=True)
    bias_value = check_float("bias_value", bias_value, low=0.0, high=1.0, low_open=True)
    if silent_zero is None:
        silent_zero = split.name != "yinyang"

    def convert(ds):
        if ds is None:
            return None
        x, y = ds.tensors
        xv = 1.0 - window * (1.0 - x.clamp(0, 1))
        if silent_zero:
            xv = torch.where(x > 0, xv, torch.zeros_like(xv))
        if bias:
            xv = torch.cat([xv, torch.full_like(xv[:, :1], bias_value)], dim=1)
        return tensor_dataset(xv.numpy(), y.numpy())

    n_in = split.input_shape[0] + int(bias)
    return DataSplit(train=convert(split.train), test=convert(split.test),
                     n_classes=split.n_classes,
                     input_shape=(n_in,), name=f"{split.name}_latency", val=convert(split.val),
                     info=f"{split.info}; latency-coded in the first {window:g} of T"
                          + (f", bias spike at value {bias_value:g}" if bias else ""))


# --------------------------------------------------------------------------- timing tools
def interpolated_spike_time(v: torch.Tensor, threshold: float = 1.0) -> float:
    r"""Sub-step first threshold crossing of a voltage trace ``v [T]`` (linear interpolation
    between the last step below and the first step above), or ``nan`` if it never crosses.
    Used as the continuous spike time for finite differences."""
    above = torch.nonzero(v > threshold).flatten()
    if above.numel() == 0:
        return float("nan")
    t = int(above[0])
    if t == 0:
        return 0.0
    v0, v1 = float(v[t - 1]), float(v[t])
    return t - (v1 - threshold) / (v1 - v0)


def input_timing_gradient(x_seq: torch.Tensor, grad_x: torch.Tensor) -> torch.Tensor:
    """Eq. (7) at the input: dL/dt of each input spike from the activation error ``grad_x``
    (``x_seq.grad``), zero where there is no spike."""
    nxt = torch.cat([grad_x[1:], torch.zeros_like(grad_x[:1])])
    prv = torch.cat([grad_x[:1], grad_x[:-1]])
    return (x_seq != 0).to(grad_x.dtype) * 0.5 * (nxt - prv)


@torch.no_grad()
def decision_stats(model, dataset, T: int, *, batch_size: int = 500) -> dict:
    """Accuracy by first spike, mean decision step (first output spike of any neuron), and
    hidden+output spikes per sample in total and up to the decision (the paper's "spikes
    needed")."""
    n = correct = 0
    t_dec = spikes = spikes_needed = 0.0
    x_all, y_all = dataset.tensors
    for i in range(0, len(y_all), batch_size):
        x, y = x_all[i:i + batch_size], y_all[i:i + batch_size]
        rec = model.run(encode(x, T, "latency"))
        out = rec.readout_spikes
        t_first = first_spike_times(out)  # [B, K]
        correct += int((rec.logits.argmax(1) == y).sum())
        decision = t_first.min(1).values  # [B]
        t_dec += float(decision.sum())
        steps = torch.arange(T).view(T, 1)
        upto = (steps <= decision.view(1, -1)).float()  # [T, B]
        for s in [*rec.spikes, out]:
            per_t = s.reshape(T, s.shape[1], -1).sum(2)
            spikes += float(per_t.sum())
            spikes_needed += float((per_t * upto).sum())
        n += len(y)
    return {"acc": correct / n, "decision_step": t_dec / n, "spikes_per_sample": spikes / n,
            "spikes_to_decision": spikes_needed / n}


# --------------------------------------------------------------------------- teaching toy
TOY_TIMES = (2, 5, 8, 12, 15, 19)
TOY_WEIGHTS = (0.22, 0.2, 0.25, 0.2, 0.22, 0.25)


def spike_shift_view(shift: int = 0, *, index: int = 2, T: int = 60, alpha: float = 0.9,
                     beta: float = 0.9, times=TOY_TIMES, weights=TOY_WEIGHTS) -> dict:
    """One ANTLR neuron driven by a few input spikes; input ``index`` moved by ``shift`` steps.

    The pure update of notebook 04's widget. Returns the membrane ``v [T]``, output spikes
    ``s [T]``, the input spike ``times`` after the shift, the output's first spike step ``t_out``
    (None if silent) and its interpolated sub-step time ``t_interp``, the timing-route gradients
    ``dt_dtin`` (eq. 7, one per input) and ``dt_dw`` (one per weight) of ``t_out``, and the
    activation-route ``dt_dw_act`` (surrogate of the first-spike readout) for comparison.
    """
    times = [int(t) for t in times]
    index = check_int("index", index, low=0, high=len(times) - 1)
    shift = check_int("shift", shift, low=-times[index], high=T - 1 - times[index])
    times[index] += shift
    neuron = AntlrLIF(alpha=alpha, beta=beta)
    x = torch.zeros(T, 1, len(times))
    x[times, 0, torch.arange(len(times))] = 1.0
    out = {"times": times}
    for route, (la, lt) in (("tim", (0.0, 1.0)), ("act", (1.0, 0.0))):
        xr = x.clone().requires_grad_(True)
        w = torch.tensor(weights, dtype=torch.float32).requires_grad_(True)
        s, tau, v = neuron.routes((xr * w).sum(-1, keepdim=True), la, lt)
        t_first = -_latency_logits(s, tau)
        t_first.sum().backward()
        if route == "tim":
            fired = bool(s.sum() > 0)
            out.update(v=v[:, 0, 0].detach(), s=s[:, 0, 0].detach(),
                       t_out=int(first_spike_times(s).item()) if fired else None,
                       t_interp=interpolated_spike_time(v[:, 0, 0], neuron.threshold),
                       dt_dw=w.grad.detach().clone(),
                       dt_dtin=input_timing_gradient(x, xr.grad).sum(0)[0].detach())
        else:
            out["dt_dw_act"] = w.grad.detach().clone()
    return out
