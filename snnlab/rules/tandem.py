r"""Tandem Learning: spike counts forward through the SNN, gradients backward through its ANN twin.

Wu, Chua, Zhang, Li, Li & Tan, "A Tandem Learning Rule for Effective Training and Rapid Inference
of Deep Spiking Neural Networks", IEEE TNNLS 2021 (arXiv:1907.01167); reference code
``deepspike/tandem_learning``.

Every hidden layer is a *tandem layer*: an SNN layer and an ANN layer that share W and b.

* **SNN forward** (no autograd). The layer's own neuron (IF with reset by subtraction in the paper)
  integrates the previous layer's spikes over the window of T steps and emits the spike count
  :math:`c^l = \sum_t s^l_t \in \{0..T\}`. The total charge it integrated is
  :math:`W c^{l-1} + T b` (the model's per-step bias b is the paper's bias spread over the window,
  :math:`b_{paper} = T b`), so for an IF neuron with threshold 1,
  :math:`c^l \approx \mathrm{clip}(\lfloor W c^{l-1} + T b \rfloor, 0, T)` (exact for a constant
  input current, up to the boundary below).
* **ANN on the counts.** :math:`a^l = \mathrm{ReLU}(W c^{l-1} + T b)` - the ANN twin evaluated on
  the *SNN's* counts, not on its own activations.
* **Straight-through coupling.** The layer outputs the count but passes gradients as if it were
  :math:`a^l`: ``out = a + (c - a).detach()``. So with :math:`\delta^l = \partial L/\partial c^l`,
  :math:`\partial L/\partial W^l = (\delta^l \odot f'(\cdot))\, c^{l-1\,\top}` and
  :math:`\partial L/\partial c^{l-1} = W^{l\top}(\delta^l \odot f'(\cdot))` - plain backprop through
  an ANN whose activations were replaced by spike counts. No surrogate, no BPTT.
* **Readout.** Non-spiking: the mean input current :math:`(W c^L + T b)/T`, i.e. a membrane
  readout with leak 0 (:meth:`Tandem.build_model` builds it, :meth:`Tandem.check_model` asks for
  it), so :func:`snnlab.evaluate` reports exactly this.

Reconstructions: the first layer's "count" is the summed input :math:`\sum_t x_t` (``T·x`` for
direct input, as the reference code's ``InputDuplicate``). snnlab's neurons fire on
:math:`v > \vartheta` (strict), the reference code on :math:`v \ge \vartheta`: the counts differ
only where :math:`W c^{l-1} + T b` is an exact integer, a set of measure zero. The model's neurons
are used as they are: IF (``mlp(..., neuron="if")``) reproduces the paper; with LIF the leak makes
counts fall below the ReLU of the charge and the coupling is looser (the reference code also
allows LIF).

Measured on digits (``mlp(64, [128], 10, neuron="if")``, Adam lr 3e-3, 20 epochs, seed 0):
tandem 97.2% / 96.9% / 97.5% / 96.4% at T = 1 / 2 / 4 / 8, against 97.2% for the ReLU ANN of
the same architecture; converting that ANN (p99.9, v0 = 0) gives 13.9% / 93.6% / 96.7% / 97.5%.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_choice
from .base import ScaledInputRule, batch_norms, cross_entropy, register

__all__ = ["Tandem", "tandem_forward"]


def _bias(synapse: nn.Module, like: torch.Tensor) -> torch.Tensor:
    """The synapse's output for a zero input: its bias, broadcastable (works for wrapped or
    perturbed synapses and for conv + pool, where the bias is not a single tensor to read)."""
    return synapse(torch.zeros_like(like[:1]))


def tandem_forward(model, x_seq: torch.Tensor, activation: nn.Module | None = None):
    """Run the tandem network. Returns ``(logits, counts, ann)``: the logits (mean readout
    current, differentiable through the ANN), each hidden layer's SNN spike counts (detached) and
    the ANN activations on the counts (with the graph)."""
    act = activation if activation is not None else nn.ReLU()
    T = x_seq.shape[0]
    spikes = x_seq
    c_st = x_seq.sum(0)  # the input's "count": T·x for direct input
    counts, anns = [], []
    for layer in model.layers:
        with torch.no_grad():  # SNN forward: integrate the spikes of the layer below
            spikes = layer.neuron.simulate(layer.current(spikes))[0]
        c = spikes.sum(0)
        a = act(layer.synapse(c_st) + (T - 1) * _bias(layer.synapse, c_st))  # ReLU(W c + T b)
        c_st = a + (c - a).detach()  # value: the SNN count; gradient: the ANN's
        counts.append(c)
        anns.append(a)
    head = model.readout.synapse
    logits = (head(c_st) + (T - 1) * _bias(head, c_st)) / T
    return logits, counts, anns


@register("tandem")
class Tandem(ScaledInputRule):
    """Tandem learning (Wu et al. 2021): cross-entropy on the counts-based logits, gradients
    through the ANN twin evaluated on the SNN's spike counts.

    Args:
        activation: the ANN's activation, ``"relu"`` (paper) or ``"clamp"`` (``clamp(z, 0, T)``,
            the count's own range).
        input_norm: train the first layer in units of the input's amplitude when that exceeds
            1 (:class:`~snnlab.rules.base.InputScale`; off to fine-tune such a network).
    """

    default_T = 4
    default_encoding = "direct"
    default_lr = 3e-3
    default_epochs = 20

    def __init__(self, activation: str = "relu", input_norm: bool = True):
        self.activation = check_choice("activation", activation, ("relu", "clamp"))
        self._set_input_norm(input_norm)

    def _act(self, T):
        return nn.ReLU() if self.activation == "relu" else _ClampT(T)

    def build_model(self, n_in, hidden, n_out, **kw):
        """The rule's network: the default one with the paper's readout, the mean input current
        (a membrane readout with leak ``readout_beta = 0``)."""
        if kw.get("readout", "membrane") != "membrane" or kw.get("readout_beta", 0.0) != 0.0:
            raise ValueError("tandem learning builds a membrane readout with readout_beta=0")
        kw.update(readout="membrane", readout_beta=0.0)
        return super().build_model(n_in, hidden, n_out, **kw)

    def check_model(self, model):
        ro = model.readout
        if getattr(ro, "mode", None) != "membrane" or float(ro.beta) != 0.0:
            what = (f"a {ro.mode!r} readout" if getattr(ro, "mode", None) != "membrane" else
                    f"a membrane readout with leak beta={float(ro.beta):g}")
            raise ValueError(f"tandem learning needs the mean input current as its readout (a "
                             f"membrane readout with leak 0), this model has {what}: build it "
                             "with snnlab.rules.get('tandem').build_model(n_in, hidden, n_out) "
                             "or snnlab.models.mlp(..., readout_beta=0)")
        for i, layer in enumerate(model.layers):
            if batch_norms(layer.synapse):
                raise ValueError(
                    f"tandem learning cannot train layer {i}: its synapse has batch norm. The "
                    "ANN side computes W c + T b from the spike count c, which needs an affine "
                    "synapse; training-mode batch norm is not affine (fold it into the weights "
                    "first, snnlab.conversion.fold_bn, or build without it: "
                    "zoo.vgg(..., batch_norm=False))")

    def loss(self, model, x_seq, y):
        logits, _, _ = tandem_forward(model, x_seq, self._act(x_seq.shape[0]))
        return cross_entropy(logits, y)


class _ClampT(nn.Module):
    def __init__(self, T):
        super().__init__()
        self.T = T

    def forward(self, z):
        return z.clamp(0.0, float(self.T))
