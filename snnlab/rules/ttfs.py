r"""``ttfs``: exact time-to-first-spike gradients, a purely timing-based baseline.

References: H. Mostafa, "Supervised learning based on temporal coding in spiking neural
networks", IEEE TNNLS 2018 (arXiv:1606.08165); J. Göltz, L. Kriener et al., "Fast and
energy-efficient neuromorphic deep learning with first-spike times", Nature Machine
Intelligence 2021 (Yin-Yang about 95.9 ± 0.7 % in software, 95.0 ± 0.9 % on BrainScaleS-2, as
their paper reports; not reproduced here, see below).

**Neuron** (Mostafa 2017): non-leaky integrate-and-fire driven by exponentially decaying
synaptic currents, time in units of :math:`\tau_s`. An input spike of weight :math:`w_i` at
:math:`t_i` adds :math:`w_i\,(1 - e^{-(t - t_i)})` to the membrane. With
:math:`z = e^{t}`, the membrane crosses :math:`\vartheta` at

.. math::  z_{out} = \frac{\sum_{i\in C} w_i z_i}{\sum_{i\in C} w_i - \vartheta}   \qquad (1)

where the *causal set* C holds the inputs that arrived before the output spike. We try every
prefix of the time-sorted inputs, keep the candidates with :math:`\sum_C w > \vartheta` that
fall between the prefix's last input and the next one, and take the earliest. The selection is
piecewise constant, so autograd through (1) gives the *exact* gradients
:math:`\partial t_{out}/\partial w_i` and :math:`\partial t_{out}/\partial t_i`; no surrogate,
no time grid. Silent neurons (no valid candidate) have :math:`t = \infty` and no gradient, the
same blind spot as the ``timing`` rule.

**The official code's two safeguards** (``fastAndDeep``: ``utils_spiketime.py``, backward;
``training.py``, ``check_bump_weights``; Yin-Yang config ``max_dw_norm: 0.2``,
``max_num_missing_spikes: [0.3, 0.0]``, ``weight_bumping_value: 0.0005``, targeted,
exponential), both implemented as the code does them:

* *Gradient chopping* (``max_dw``): near a grazing spike (:math:`\sum_C w \to \vartheta`)
  :math:`\partial t/\partial w` diverges; a sample's contribution to a neuron's weight gradient
  is dropped when its largest element exceeds 0.2. The error passed to the layer below is kept.
* *Weight bumping instead of a step*: if more than 30 % of a hidden layer's spikes are missing
  in a batch (or *any* output spike is), that batch makes no gradient step; the input weights
  of every neuron of that layer that missed a spike are raised by 5e-4, doubled for every
  consecutive bumped batch.

Before these were added (a fraction-weighted bump of 0.01 after every step, no chopping), the
rule collapsed late in training on a held-out latency task (``heldout-latency40-c5``, test
accuracy 67.6 / 69.2 / 91.8 % for seeds 0-2, with 34-38 % of test samples ending with *every*
output silent); with them it reaches 96.8 / 94.6 / 97.0 % and no sample is all-silent. The
bumping does that: with chopping off (``max_dw=None``) it is 97.2 / 95.6 / 96.8 %. Not taken
from the code: its input-time noise during training and its StepLR(20, 0.95) schedule (5 %
over the default 30 epochs).

**Loss** (Göltz et al. 2021, eq. for Yin-Yang): cross-entropy on :math:`-t_k/\xi` plus
:math:`\alpha\,(e^{t_{label}/\beta} - 1)`, which pulls the correct neuron early
(:math:`\xi = 0.2`, :math:`\alpha = 0.005`, :math:`\beta = 1` in their configuration); a silent
output counts as ``t_silent``.

**Fitting the shared network.** The rule reads the weights of a standard
:class:`~snnlab.models.SpikingNet` (``make_model``, which :meth:`TTFS.build_model` calls:
``antlr_lif`` neurons with
:math:`\beta = 1`, :math:`\alpha = e^{-1/\tau}`, which is the same neuron sampled every
``1/tau_steps`` of :math:`\tau_s`, one step late at most) and decodes the input spike times from
the latency-coded batch (step / ``tau_steps``). Training uses the exact continuous times;
``snnlab.evaluate`` runs the discrete simulation of the same weights, and :func:`evaluate_exact`
gives the continuous-time accuracy. The network has no synaptic bias (a bias spike is an
input, as in the papers).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as TF
from torch import nn

from .._checks import check_float
from ..encoding import encode
from ..neurons import AntlrLIF
from .antlr import check_data
from .antlr import make_model as _antlr_model
from .base import BumpingRule, WeightBumping, register

__all__ = ["TTFS", "spike_times_exact", "decode_times", "make_model", "evaluate_exact"]


def spike_times_exact(t_in: torch.Tensor, w: torch.Tensor, threshold: float = 1.0) -> torch.Tensor:
    """First spike times ``[B, n_out]`` (``inf`` = silent) of non-leaky neurons with weights
    ``w [n_out, n_in]`` for input times ``t_in [B, n_in]`` (``inf`` = no input spike), eq. (1).
    Differentiable in ``w`` and ``t_in`` (exact gradients)."""
    B, n_in = t_in.shape
    finite = torch.isfinite(t_in)
    t_sorted, order = torch.sort(t_in.masked_fill(~finite, float("inf")), dim=1)  # [B, n_in]
    ok = torch.isfinite(t_sorted)
    t_safe = torch.where(ok, t_sorted, torch.zeros_like(t_sorted))
    z = torch.where(ok, torch.exp(t_safe), torch.zeros_like(t_safe))  # z_i = e^{t_i}
    w_sorted = w[:, order].permute(1, 0, 2) * ok[:, None, :]           # [B, n_out, n_in]
    cw = torch.cumsum(w_sorted, -1)
    cwz = torch.cumsum(w_sorted * z[:, None, :], -1)
    denom = cw - threshold
    good = denom > 1e-9
    z_cand = torch.where(good, cwz / torch.where(good, denom, torch.ones_like(denom)),
                         torch.ones_like(denom))
    good = good & (z_cand > 0)
    t_cand = torch.log(torch.where(good, z_cand, torch.ones_like(z_cand)))
    nxt = torch.cat([t_sorted[:, 1:], torch.full_like(t_sorted[:, :1], float("inf"))], 1)
    valid = good & ok[:, None, :] & (t_cand >= t_safe[:, None, :] - 1e-7) \
        & (t_cand < nxt[:, None, :])
    first = valid.float().argmax(-1, keepdim=True)                    # earliest valid prefix
    t_out = torch.gather(t_cand, -1, first).squeeze(-1)
    fired = valid.any(-1)
    return torch.where(fired, t_out, torch.full_like(t_out, float("inf")))


def decode_times(x_seq: torch.Tensor, tau_steps: float) -> torch.Tensor:
    """First spike step of each input of ``x_seq [T, B, n]`` in units of tau_s (inf if none)."""
    T = x_seq.shape[0]
    spiking = x_seq != 0
    step = torch.where(spiking.any(0), spiking.float().argmax(0).to(x_seq.dtype),
                       torch.full_like(x_seq[0], float("inf")))
    return step / tau_steps if T else step


def _weights(model) -> list[torch.Tensor]:
    mods = [layer.synapse for layer in model.layers] + [model.readout.synapse]
    out = []
    for m in mods:
        if not isinstance(m, nn.Linear) or m.bias is not None:
            raise ValueError("rule 'ttfs' needs fully connected layers without bias (use a bias "
                             "spike): build the model with snnlab.rules.get('ttfs').build_model("
                             "n_in, hidden, n_out) or snnlab.rules.ttfs.make_model(...)")
        out.append(m.weight)
    return out


def max_weight_derivative(t_in: torch.Tensor, w: torch.Tensor, t_out: torch.Tensor,
                          threshold: float = 1.0) -> torch.Tensor:
    r"""``max_i |dt_out/dw_i|`` per sample and neuron ``[B, n_out]`` (0 where silent), in closed
    form. From (1), :math:`\partial t/\partial w_i = (z_i - z_{out}) / (z_{out}(\sum_C w -
    \vartheta))` for the causal inputs :math:`i \in C`; the largest is that of the earliest
    input, :math:`(1 - e^{t_{min} - t_{out}}) / (\sum_C w - \vartheta)`. It diverges for a
    grazing spike (:math:`\sum_C w \to \vartheta`), which is what ``max_dw`` guards."""
    with torch.no_grad():
        fired = torch.isfinite(t_out)
        t_o = torch.where(fired, t_out, torch.zeros_like(t_out))[:, :, None]    # [B, n_out, 1]
        causal = torch.isfinite(t_in)[:, None, :] & (t_in[:, None, :] <= t_o + 1e-7)
        denom = (w[None] * causal).sum(-1) - threshold                          # [B, n_out]
        t_min = torch.where(causal, t_in[:, None, :].expand_as(causal),
                            torch.full_like(causal, float("inf"), dtype=t_in.dtype)).amin(-1)
        ok = fired & (denom > 0) & torch.isfinite(t_min)
        val = (1 - torch.exp(torch.where(ok, t_min - t_o[..., 0], torch.zeros_like(denom)))) \
            / torch.where(ok, denom, torch.ones_like(denom))
        return torch.where(ok, val.abs(), torch.zeros_like(val))


class _ChopWeightGradient(torch.autograd.Function):
    """Identity forward; backward zeroes the error of every (sample, neuron) whose weight
    gradient ``|dL/dt| * max_i |dt/dw_i|`` exceeds ``max_dw`` (Göltz et al.'s ``max_dw_norm``,
    applied to the weight route only)."""

    @staticmethod
    def forward(ctx, t, max_dt_dw, max_dw):
        ctx.save_for_backward(max_dt_dw)
        ctx.max_dw = max_dw
        return t.clone()

    @staticmethod
    def backward(ctx, g):
        (max_dt_dw,) = ctx.saved_tensors
        keep = (g.abs() * max_dt_dw) <= ctx.max_dw
        return g * keep, None, None


def forward_exact(model, x_seq, tau_steps: float, max_dw: float | None = None):
    """Exact spike times of every layer: a list of ``[B, n]`` tensors, the output last.

    ``max_dw``: Göltz et al.'s safeguard against grazing spikes (their code's ``max_dw_norm``):
    in the backward pass, a sample's contribution to a neuron's weight gradient is dropped when
    its largest element exceeds ``max_dw``; the error passed to the layer below is kept. The
    forward values are the same either way."""
    t = decode_times(x_seq, tau_steps)
    times = []
    for w in _weights(model):
        if max_dw is None:
            t = spike_times_exact(t, w)
        else:  # the same times, with the weight route and the input route split
            t_route = spike_times_exact(t, w.detach())
            t_w = spike_times_exact(t.detach(), w)
            fired = torch.isfinite(t_w)
            t_w = torch.where(fired, t_w, torch.zeros_like(t_w))
            gated = _ChopWeightGradient.apply(
                t_w, max_weight_derivative(t.detach(), w.detach(), t_route.detach()), max_dw)
            t = torch.where(fired, t_route + gated - t_w.detach(), t_route)
        times.append(t)
    return times


@register("ttfs")
class TTFS(BumpingRule):
    r"""Exact first-spike-time gradients (Mostafa 2017 neuron, Göltz et al. 2021 loss).

    Args:
        tau_steps: simulation steps per synaptic time constant (how input steps map to time).
        xi, alpha, beta: loss constants (module docstring).
        t_silent: time used for a silent output in the loss (in tau_s).
        max_dw: drop a sample's contribution to a neuron's weight gradient when its largest
            element exceeds this (the code's ``max_dw_norm`` = 0.2); ``None`` keeps every one.
        bump: weight-bumping value (the code's ``weight_bumping_value`` = 5e-4).
        max_missing: ``(hidden, output)`` fractions of missing spikes above which a batch bumps
            instead of stepping (the code's ``max_num_missing_spikes`` = (0.3, 0.0)).
        bump_exp: double the bump when the same layer is bumped on consecutive batches (the
            code's ``weight_bumping_exp``).

    Weight bumping as the official code does it (``check_bump_weights``, targeted): after the
    forward pass, the first hidden layer whose fraction of missing spikes (over batch and
    neurons) exceeds ``max_missing[0]`` - or else the output layer, if its fraction exceeds
    ``max_missing[1]`` - is *bumped instead of trained*: no gradient step for this batch, and
    every neuron of that layer that was silent for any sample gets ``bump`` added to all its
    input weights (:class:`~snnlab.rules.base.WeightBumping`). :meth:`gradients` never bumps:
    it returns the rule's gradient of the batch.
    """

    default_T = 40
    default_encoding = "latency"
    default_lr = 5e-3
    default_epochs = 30

    def __init__(self, tau_steps: float = 10.0, xi: float = 0.2, alpha: float = 0.005,
                 beta: float = 1.0, t_silent: float = 6.0, max_dw: float | None = 0.2,
                 bump: float = 5e-4, max_missing=(0.3, 0.0), bump_exp: bool = True):
        self.tau_steps = check_float("tau_steps", tau_steps, low=0.0, low_open=True)
        self.xi = check_float("xi", xi, low=0.0, low_open=True)
        self.alpha = check_float("alpha", alpha, low=0.0)
        self.beta = check_float("beta", beta, low=0.0, low_open=True)
        self.t_silent = check_float("t_silent", t_silent, low=0.0, low_open=True)
        self.max_dw = None if max_dw is None else check_float("max_dw", max_dw, low=0.0,
                                                              low_open=True)
        self.bumping = WeightBumping("ttfs", bump, max_missing, bump_exp)
        self.bump, self.max_missing, self.bump_exp = bump, tuple(max_missing), bump_exp
        self._times = None

    def build_model(self, n_in, hidden, n_out, **kw):
        """Bias-free Linear layers with the Göltz-style positive-mean initialisation, non-leaky
        ``antlr_lif`` neurons and a first-spike readout: :func:`make_model` with this rule's
        ``tau_steps`` (``kw``: ``weight_mean``, ``weight_std``, ``seed``)."""
        if isinstance(n_in, (tuple, list)):
            if len(n_in) != 1:
                raise ValueError(f"rule 'ttfs' needs flat inputs (a fully connected network), "
                                 f"got input shape {tuple(n_in)}")
            n_in = n_in[0]
        return make_model(n_in, hidden, n_out, tau_steps=self.tau_steps, **kw)

    def check_model(self, model):
        """The exact closed form (1) holds for the non-leaky neuron with an exponential synapse
        only: every layer and the readout must be ``antlr_lif`` with ``beta = 1`` and
        ``alpha = exp(-1/tau_steps)`` (what :meth:`build_model` makes), fully connected, no
        bias, first-spike readout."""
        _weights(model)
        want = math.exp(-1.0 / self.tau_steps)
        neurons = [layer.neuron for layer in model.layers] + [getattr(model.readout, "neuron",
                                                                      None)]
        for n in neurons:
            ok = isinstance(n, AntlrLIF) and n.beta == 1.0 and abs(n.alpha - want) < 1e-9 \
                and n.threshold == 1.0
            if not ok:
                desc = type(n).__name__ if not isinstance(n, AntlrLIF) else \
                    f"antlr_lif(alpha={n.alpha:g}, beta={n.beta:g}, threshold={n.threshold:g})"
                raise ValueError(
                    f"rule 'ttfs' computes exact spike times of the non-leaky neuron with an "
                    f"exponential synapse only: antlr_lif with beta=1, alpha=exp(-1/tau_steps)="
                    f"{want:.4g}, threshold=1; got {desc}. Build the model with "
                    "snnlab.rules.get('ttfs').build_model(n_in, hidden, n_out)")
        if getattr(model.readout, "mode", None) != "first_spike":
            raise ValueError(f"rule 'ttfs' needs readout='first_spike', got "
                             f"{getattr(model.readout, 'mode', None)!r}")

    def setup(self, model, data, *, T, encoding, seed):
        self.check_model(model)
        check_data("ttfs", data, encoding, why="it decodes one spike time per input from the "
                   "first spike (direct or rate input has no spike times)")
        self.bumping.reset()

    def logits(self, model, x_seq, *, max_dw=None):
        times = forward_exact(model, x_seq, self.tau_steps, max_dw=max_dw)
        self._times = [t.detach() for t in times]
        t_out = times[-1]
        t_out = torch.where(torch.isfinite(t_out), t_out.clamp(max=self.t_silent),
                            torch.full_like(t_out, self.t_silent))
        return -t_out / self.xi, t_out

    def _loss(self, logits, t_out, y):
        t_label = t_out.gather(1, y[:, None]).squeeze(1)
        early = self.alpha * (torch.exp(t_label / self.beta) - 1).mean()
        return TF.cross_entropy(logits, y) + early

    def loss(self, model, x_seq, y):
        """Göltz et al.'s loss of the exact output times (no bumping, no gradient chopping)."""
        return self._loss(*self.logits(model, x_seq), y)

    def backward(self, model, x_seq, y, optimizer=None) -> float:
        logits, t_out = self.logits(model, x_seq, max_dw=self.max_dw)
        loss = self._loss(logits, t_out, y)
        return self._step_or_bump(loss, [~torch.isfinite(t) for t in self._times])

    def _bump_weights(self, model):
        return _weights(model)


def make_model(n_in: int = 5, hidden=(120,), n_out: int = 3, *, tau_steps: float = 10.0,
               weight_mean: float = 1.0, weight_std: float = 1.0, seed: int | None = None):
    """The shared :class:`~snnlab.models.SpikingNet` for ``ttfs``: non-leaky ``antlr_lif``
    neurons (:math:`\\beta = 1`, :math:`\\alpha = e^{-1/\\tau}`), first-spike readout, no bias;
    weights N(mean, std) / sqrt(fan_in)·2 (Göltz et al. initialise with a positive mean too)."""
    check_float("tau_steps", tau_steps, low=0.0, low_open=True)
    return _antlr_model(n_in, hidden, n_out, readout="first_spike",
                       alpha=math.exp(-1.0 / tau_steps), beta=1.0, weight_mean=weight_mean,
                       weight_std=weight_std, seed=seed)


@torch.no_grad()
def evaluate_exact(model, dataset, T: int, tau_steps: float = 10.0) -> dict:
    """Accuracy of the exact continuous-time network (earliest output spike; silent outputs
    lose), the fraction of samples whose outputs are all silent, and mean spikes per sample."""
    x, y = dataset.tensors
    times = forward_exact(model, encode(x, T, "latency"), tau_steps)
    t_out = times[-1]
    pred = torch.where(torch.isfinite(t_out), t_out, torch.full_like(t_out, 1e9)).argmin(1)
    spikes = sum(float(torch.isfinite(t).sum()) for t in times) / len(y)
    return {"acc": float((pred == y).float().mean()),
            "all_silent": float((~torch.isfinite(t_out)).all(1).float().mean()),
            "spikes_per_sample": spikes}
