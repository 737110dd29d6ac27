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
same blind spot as the ``timing`` rule; like Göltz et al.'s "weight bumping", a silent
neuron's input weights are raised after each step (``bump``).

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
from .base import Rule, register

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


def forward_exact(model, x_seq, tau_steps: float):
    """Exact spike times of every layer: a list of ``[B, n]`` tensors, the output last."""
    t = decode_times(x_seq, tau_steps)
    times = []
    for w in _weights(model):
        t = spike_times_exact(t, w)
        times.append(t)
    return times


@register("ttfs")
class TTFS(Rule):
    r"""Exact first-spike-time gradients (Mostafa 2017 neuron, Göltz et al. 2021 loss).

    Args:
        tau_steps: simulation steps per synaptic time constant (how input steps map to time).
        xi, alpha, beta: loss constants (module docstring).
        t_silent: time used for a silent output in the loss (in tau_s).
        bump: weight raise per step for silent neurons (hidden: times the fraction of the batch
            they were silent for; output: for samples where the target was silent), added to
            the weights after the optimizer step.
    """

    default_T = 40
    default_encoding = "latency"
    default_lr = 5e-3
    default_epochs = 30

    def __init__(self, tau_steps: float = 10.0, xi: float = 0.2, alpha: float = 0.005,
                 beta: float = 1.0, t_silent: float = 6.0, bump: float = 0.01):
        self.tau_steps = check_float("tau_steps", tau_steps, low=0.0, low_open=True)
        self.xi = check_float("xi", xi, low=0.0, low_open=True)
        self.alpha = check_float("alpha", alpha, low=0.0)
        self.beta = check_float("beta", beta, low=0.0, low_open=True)
        self.t_silent = check_float("t_silent", t_silent, low=0.0, low_open=True)
        self.bump = check_float("bump", bump, low=0.0)
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

    def logits(self, model, x_seq):
        times = forward_exact(model, x_seq, self.tau_steps)
        self._times = [t.detach() for t in times]
        t_out = times[-1]
        t_out = torch.where(torch.isfinite(t_out), t_out.clamp(max=self.t_silent),
                            torch.full_like(t_out, self.t_silent))
        return -t_out / self.xi, t_out

    def loss(self, model, x_seq, y):
        logits, t_out = self.logits(model, x_seq)
        t_label = t_out.gather(1, y[:, None]).squeeze(1)
        early = self.alpha * (torch.exp(t_label / self.beta) - 1).mean()
        return TF.cross_entropy(logits, y) + early

    def after_step(self, model, x_seq, y):
        if self.bump > 0:  # weight bumping (Göltz et al.): straight onto the weights, since
            # Adam would scale a small gradient term away
            ws = _weights(model)
            with torch.no_grad():
                for k, (w, t) in enumerate(zip(ws, self._times)):
                    silent = (~torch.isfinite(t)).float()
                    if k == len(ws) - 1:
                        silent = silent * TF.one_hot(y, silent.shape[1]).float()
                    w.add_(self.bump * silent.mean(0)[:, None])


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
