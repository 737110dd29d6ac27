r"""Readouts: how the last hidden layer's spikes become logits. One class per kind.

Every readout has a ``synapse`` (the output weights), ``read(h_seq)`` returning a
:class:`ReadoutResult` ``(logits, spikes, membrane)`` (``spikes``/``membrane`` are ``None`` where
the readout has none), ``forward(h_seq)`` returning the logits only (the fast path training
uses) and a read-only ``mode``, its name in :data:`READOUTS`:

* ``membrane`` (:class:`MembraneReadout`): a non-spiking leaky integrator; logits are its mean
  membrane over T;
* ``count`` (:class:`CountReadout`): spiking output neurons; logits are spike counts;
* ``first_spike`` (:class:`FirstSpikeReadout`): spiking output neurons; logits are minus the
  first-spike step (never firing counts as T), made differentiable by the surrogate through
  :math:`\sum_t \prod_{k \le t} (1 - s_k)`;
* ``psp`` (:class:`PSPReadout`): TSSL-BP's output layer of PSP neurons; logits are
  :math:`\sum_t a^{out}[t]`, the summed PSP of the output spikes.
"""

from __future__ import annotations

import abc
from typing import NamedTuple

import torch
from torch import nn

from . import functional as F
from ._checks import check_choice, check_float
from .functional import _has_hooks, over_time
from .neurons import psp

__all__ = ["ReadoutResult", "MembraneReadout", "CountReadout", "FirstSpikeReadout",
           "PSPReadout", "READOUTS", "make"]


class ReadoutResult(NamedTuple):
    """What a readout computed: logits ``[B, n_out]``, and its spikes and membrane
    ``[T, B, n_out]`` (``None`` where the readout has none)."""

    logits: torch.Tensor
    spikes: torch.Tensor | None = None
    membrane: torch.Tensor | None = None


class _TimeWeightedSum(torch.autograd.Function):
    """``sum_t c[t] x[t]`` with a broadcast backward (einsum's backward is a slow batched
    matmul with an inner dimension of 1). ``c`` is a constant."""

    @staticmethod
    def forward(ctx, x_seq, c):
        ctx.c = c
        T = x_seq.shape[0]
        return torch.mv(x_seq.reshape(T, -1).t(), c).reshape(x_seq.shape[1:])

    @staticmethod
    def backward(ctx, g):
        c = ctx.c
        return c.view(-1, *([1] * g.ndim)) * g.unsqueeze(0), None


class MembraneReadout(nn.Module):
    """A non-spiking leaky integrator with leak ``beta`` in [0, 1]; logits are its mean membrane
    over T (``beta = 0``: the mean input current)."""

    neuron = None  # no spiking neuron (what code that walks (synapse, neuron) pairs checks)

    def __init__(self, synapse: nn.Module, beta: float = 0.9):
        super().__init__()
        self.synapse = synapse
        self.beta = check_float("beta", beta, low=0.0, high=1.0)

    @property
    def mode(self) -> str:
        return "membrane"

    def read(self, h_seq: torch.Tensor) -> ReadoutResult:
        u = F.leaky_integrate(over_time(self.synapse, h_seq), self.beta)
        return ReadoutResult(u.mean(0), None, u)

    def forward(self, h_seq: torch.Tensor) -> torch.Tensor:
        if not _has_hooks(self.synapse):
            # mean_t u[t] = sum_k c_k I[k], c_k = (1 + b + ... + b^(T-1-k)) / T, and the synapse
            # A is affine, so the logits are A(sum_k c_k x[k]) + (sum_k c_k - 1) A(0): one small
            # matmul instead of T (matmuls with 10 outputs are the CPU's least efficient kind)
            c = self.time_weights(h_seq)
            z = _TimeWeightedSum.apply(h_seq, c)
            out = self.synapse(z)
            scale = self._c_cache[2] - 1.0  # sum_k c_k - 1
            if isinstance(self.synapse, nn.Linear):  # A(0) is the bias
                bias = self.synapse.bias
                return out if bias is None else out + scale * bias
            return out + scale * self.synapse(torch.zeros_like(z[:1]))
        current = over_time(self.synapse, h_seq)
        return torch.einsum("t,t...->...", self.time_weights(current), current)

    def time_weights(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``c_k``, the weight of step k's input in the mean membrane (sums over the time axis
        of ``x_seq``). Cached per (T, beta, dtype, device): it is a constant."""
        key = (x_seq.shape[0], self.beta, x_seq.dtype, x_seq.device)
        cached = getattr(self, "_c_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        T = x_seq.shape[0]
        k = torch.arange(T, dtype=x_seq.dtype, device=x_seq.device)
        steps = T - k  # how many readout steps the input at time k still contributes to
        if self.beta == 1.0:
            c = steps / T
        else:
            c = (1 - self.beta ** steps) / ((1 - self.beta) * T)
        self._c_cache = (key, c, float(c.sum()))
        return c

    def extra_repr(self) -> str:
        return f"beta={self.beta:g}"


class _SpikingReadout(nn.Module, abc.ABC):
    """Output neurons that spike; a subclass says how their spikes become logits."""

    name = ""

    def __init__(self, synapse: nn.Module, neuron: nn.Module):
        super().__init__()
        if neuron is None:
            raise ValueError(f"readout {self.name!r} needs a spiking neuron")
        self.synapse = synapse
        self.neuron = neuron

    @property
    def mode(self) -> str:
        return self.name

    @abc.abstractmethod
    def logits(self, s: torch.Tensor) -> torch.Tensor:
        """The logits from the output spikes ``s [T, B, n_out]`` (each readout defines them)."""

    def read(self, h_seq: torch.Tensor) -> ReadoutResult:
        s, u = self.neuron.simulate(over_time(self.synapse, h_seq))
        return ReadoutResult(self.logits(s), s, u)

    def forward(self, h_seq: torch.Tensor) -> torch.Tensor:
        return self.read(h_seq).logits


class CountReadout(_SpikingReadout):
    """Spiking output neurons; logits are their spike counts."""

    name = "count"

    def logits(self, s):
        return s.sum(0)


class FirstSpikeReadout(_SpikingReadout):
    """Spiking output neurons; logits are minus the first-spike step (T if silent)."""

    name = "first_spike"

    def logits(self, s):
        not_yet = torch.cumprod(1.0 - s, dim=0)  # 1 until the first spike
        return -not_yet.sum(0)


class PSPReadout(_SpikingReadout):
    """Output layer of PSP neurons (:class:`~snnlab.neurons.PSPLIF`); logits are
    :math:`\\sum_t a^{out}[t]`."""

    name = "psp"

    def __init__(self, synapse: nn.Module, neuron: nn.Module):
        super().__init__(synapse, neuron)
        if not hasattr(neuron, "tau_s"):
            raise ValueError(f"readout 'psp' needs PSP neurons (neuron='psp_lif'), got "
                             f"{type(neuron).__name__}")

    def logits(self, s):
        return psp(s, self.neuron.tau_s).sum(0)


# name -> class: every readout, in one place
READOUTS: dict[str, type[nn.Module]] = {
    "membrane": MembraneReadout,
    "count": CountReadout,
    "first_spike": FirstSpikeReadout,
    "psp": PSPReadout,
}


def make(name: str, synapse: nn.Module, *, beta: float = 0.9,
         neuron: nn.Module | None = None) -> nn.Module:
    """The readout ``name`` on ``synapse``: ``beta`` is the membrane readout's leak, ``neuron``
    the spiking readouts' output neuron."""
    cls = READOUTS[check_choice("readout", name, READOUTS)]
    if cls is MembraneReadout:
        return MembraneReadout(synapse, beta)
    return cls(synapse, neuron)
