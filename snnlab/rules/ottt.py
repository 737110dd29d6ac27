r"""Online Training Through Time (OTTT): gradients from presynaptic traces, memory flat in T.

Xiao, Meng, Zhang, Wang & Lin, "Online Training Through Time for Spiking Neural Networks",
NeurIPS 2022 (arXiv 2210.04195); official code pkuxmq/OTTT-SNN.

BPTT stores every time step so it can walk the membrane recursion backwards. OTTT cuts that
recursion: the membrane state is detached at every step, so a loss at step t only reaches the
weights through the *current* step (spatial backpropagation), and the missing temporal part is
replaced by a presynaptic trace that the forward pass keeps anyway:

.. math::

    \hat a^{l}[t] &= \lambda\,\hat a^{l}[t-1] + s^{l}[t]          && \text{trace (1)} \\
    \mathcal L[t] &= \tfrac{1}{T}\,\mathrm{CE}(o[t], y)
                     \;(+\lambda_{mse}\,\mathrm{MSE}(o[t], e_y))   && \text{per-step loss (2)} \\
    \delta^{l}[t] &= \sigma'(u^{l}[t]) \odot (W^{l+1})^\top \delta^{l+1}[t]
                                                                   && \text{spatial backprop (3)} \\
    \nabla_{W^{l}} &\mathrel{+}= \delta^{l}[t]\,\hat a^{l-1}[t]^\top
                                                                   && \text{three-factor update (4)}

With the membrane leak :math:`\lambda` and a detached reset, :math:`\partial u[t]/\partial W =
\sum_{k\le t}\lambda^{t-k}s[k] = \hat a[t]`, so the update is BPTT with the temporal Jacobian of
the membrane replaced by the leak (paths through earlier spikes and resets dropped). The update is
error x surrogate(u_post) x presynaptic trace: a three-factor Hebbian rule.

Implementation: each step computes the synaptic current with the *value* of ``W s[t]`` but the
*weight gradient* of ``W â[t]`` (the "Replace" trick of the official code), runs one
``neuron.advance`` on the detached state, and calls ``backward()`` on that step's loss at once, so
the graph never holds more than one step. Variants:

* ``variant="A"`` (OTTT_A): gradients accumulate over the T steps, one optimizer step per batch;
* ``variant="O"`` (OTTT_O): ``zero_grad/backward/step`` at every time step (``backward``
  receives the optimizer from the shared ``Rule.step``); also registered as ``ottt_o``.

Choices for snnlab's network (reconstructed, documented here):

* Each layer's trace decays with *its own postsynaptic* membrane decay :math:`\beta` (the paper
  uses one :math:`\lambda` = 0.5 everywhere, equal to the membrane decay); IF neurons give the
  plain-sum trace of the paper's IF variant.
* The instantaneous output :math:`o[t]` is the readout's leaky membrane at step t (the paper's
  output is a linear layer on the spikes). With its trace the readout's weight gradient is exact,
  because the readout is linear. Prediction uses the model's own readout (mean membrane), the
  analogue of the paper's :math:`\arg\max \sum_t o[t]`. Only ``readout="membrane"`` is supported.
* The first layer sees the analogue input through a trace as well (the paper's first conv is not
  wrapped); for a constant input this only rescales that layer's gradient.
* Bias gradients are instantaneous (no trace).
* Conv layers get scaled weight standardisation (no BN, as the paper):
  :math:`\hat W = g\,c\,(W - \bar W)/\sqrt{\mathrm{Var}(W)\,\mathrm{fan_{in}} + 10^{-4}}` per
  output channel, learnable gain g (init 1) and the paper's fixed gain c = 2.74 after spiking
  layers folded into the next conv. Applied by :meth:`OTTT.setup` (i.e. by ``snnlab.train``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as TF
from torch import nn
from torch.nn.utils import parametrize

from .._checks import check_choice, check_float
from ..metrics import SavedTensorMeter  # noqa: F401  (re-exported: notebooks import it here)
from ..neurons import DALIF, LIF, ConvertedIF
from .base import ScaledInputRule, batch_norms, register

__all__ = ["OTTT", "OTTTOnline", "SavedTensorMeter", "ScaledWS", "scaled_weight_standardization",
           "trace_synapse", "trace_update"]


# --------------------------------------------------------------------------- building blocks
def _check_neuron(neuron, where: str) -> None:
    """OTTT's trace (1) is exact only for a LIF-type membrane driven directly by ``W s`` (no
    synaptic filter, LIF's own step): ``lif``, ``if``, ``if_conv``, ``dalif``. Refuse the rest."""
    cls = type(neuron)
    lif_like = isinstance(neuron, LIF) and cls.advance in (LIF.advance, DALIF.advance) \
        and cls.simulate in (LIF.simulate, DALIF.simulate, ConvertedIF.simulate)
    if not lif_like:
        kind = getattr(neuron, "kind", type(neuron).__name__)
        raise ValueError(
            f"OTTT's presynaptic trace assumes the input current drives a LIF membrane directly "
            f"(no synaptic filter); {where} uses {kind!r} ({type(neuron).__name__}), whose "
            "dynamics it does not cover. Supported neurons: lif, if, if_conv, dalif")



def trace_update(trace: torch.Tensor | None, s: torch.Tensor, decay) -> torch.Tensor:
    r"""Eq. trace: :math:`\hat a[t] = \lambda \hat a[t-1] + s[t]`, held without gradient."""
    s = s.detach()
    if trace is None:
        return s.clone()
    if isinstance(decay, torch.Tensor):
        decay = decay.detach()
    return decay * trace + s


def trace_synapse(synapse: nn.Module, s: torch.Tensor, trace: torch.Tensor) -> torch.Tensor:
    """``synapse(s)`` in value; weight gradient as if the input were ``trace``; input gradient
    ``W^T g`` to ``s`` (so the error still reaches the lower layer's surrogate)."""
    x_mix = trace + (s - s.detach())  # value: the trace; gradient: flows to s
    y = synapse(x_mix)
    with torch.no_grad():
        y_value = synapse(s)
    return y + (y_value - y.detach())


def _detach(state):
    if isinstance(state, tuple):
        return tuple(_detach(x) for x in state)
    return state.detach()


def _decay(neuron) -> float | torch.Tensor:
    """The trace's decay lambda: the (postsynaptic) layer's membrane decay.

    With one decay per neuron (leak mismatch on a chip, per-neuron PLIF or DA-LIF decays) an
    exact trace would need one per *synapse*; OTTT then uses the layer's mean decay, an
    approximation that is exact when the decays agree."""
    beta = getattr(neuron, "beta", None)
    if beta is None:
        raise ValueError(f"OTTT needs neurons with a membrane decay `beta`; {type(neuron).__name__}"
                         " has none")
    if isinstance(beta, torch.Tensor):
        beta = beta.detach()
        return beta if beta.numel() == 1 else float(beta.mean())
    return float(beta)


class ScaledWS(nn.Module):
    """Parametrization: scaled weight standardisation of a conv weight (per output channel)."""

    def __init__(self, out_channels: int, scale: float = 1.0, eps: float = 1e-4, device=None):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(out_channels, 1, 1, 1, device=device))
        self.scale = float(scale)
        self.eps = float(eps)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(1, w.ndim))
        fan_in = w[0].numel()
        mean = w.mean(dim=dims, keepdim=True)
        var = w.var(dim=dims, keepdim=True, unbiased=False)
        return self.scale * self.gain * (w - mean) / torch.sqrt(var * fan_in + self.eps)


def scaled_weight_standardization(model, scale: float = 2.74) -> int:
    """Give every ``Conv2d`` synapse of ``model`` scaled weight standardisation (idempotent).

    The first conv (analogue input) gets gain constant 1, later ones ``scale`` (the paper's
    ``Scale(2.74)`` after each spiking layer, folded into the next weights). Returns how many
    convs were changed."""
    check_float("scale", scale, low=0.0, low_open=True)
    n = 0
    first = True
    for layer in model.layers:
        for m in layer.synapse.modules():
            if isinstance(m, nn.Conv2d):
                if not parametrize.is_parametrized(m, "weight"):
                    parametrize.register_parametrization(
                        m, "weight", ScaledWS(m.out_channels, 1.0 if first else scale,
                                              device=m.weight.device))
                    n += 1
                first = False
    return n


# --------------------------------------------------------------------------- the rule
@register("ottt")
class OTTT(ScaledInputRule):
    """Online training through time (variant A by default).

    Args:
        variant: ``"A"`` accumulate over T then one optimizer step; ``"O"`` one step per time step.
        mse_weight: :math:`\\lambda_{mse}` mixing an MSE-to-one-hot term into the per-step loss.
        weight_standardization: give conv synapses scaled WS in :meth:`setup` (no BN).
        ws_scale: the fixed gain after spiking layers (2.74 in the paper).
        input_norm: train the first layer in units of the input's amplitude when that exceeds
            1 (:class:`~snnlab.rules.base.InputScale`; off to fine-tune such a network).
    """

    default_T = 8
    default_encoding = "direct"
    default_epochs = 10

    @property
    def default_lr(self) -> float:
        return 5e-4 if self.variant == "O" else 2e-3

    def __init__(self, variant: str = "A", mse_weight: float = 0.0,
                 weight_standardization: bool = True, ws_scale: float = 2.74,
                 input_norm: bool = True):
        self.variant = check_choice("variant", variant, ("A", "O"))
        self.mse_weight = check_float("mse_weight", mse_weight, low=0.0, high=1.0)
        if not isinstance(weight_standardization, bool):
            raise TypeError("weight_standardization must be a bool")
        self.weight_standardization = weight_standardization
        self.ws_scale = check_float("ws_scale", ws_scale, low=0.0, low_open=True)
        self._set_input_norm(input_norm)

    # ---- hooks
    def check_model(self, model):
        self._check_model(model)

    def setup(self, model, data, *, T, encoding, seed):
        self.check_model(model)
        if self.weight_standardization:
            scaled_weight_standardization(model, self.ws_scale)
        self._setup_input(model, data, T, encoding)

    @staticmethod
    def _check_model(model):
        for i, layer in enumerate(model.layers):
            _check_neuron(layer.neuron, f"layer {i}")
        for where, syn in [(f"layer {i}", layer.synapse) for i, layer in enumerate(model.layers)
                           ] + [("the readout", model.readout.synapse)]:
            if batch_norms(syn):
                raise ValueError(
                    f"OTTT cannot train {where}: its synapse has batch norm. OTTT runs each "
                    "synapse on the presynaptic trace and on the spikes at every step, so batch "
                    "norm's statistics would mix the two; the paper uses no batch norm (scaled "
                    "weight standardisation instead, which this rule adds to conv synapses). "
                    "Build the network without batch norm (e.g. zoo.vgg(..., batch_norm=False))")
        mode = getattr(model.readout, "mode", None)
        if mode != "membrane":
            raise ValueError(f"OTTT needs a model with readout='membrane' (a leaky, non-spiking "
                             f"output whose per-step membrane is the instantaneous output o[t]); "
                             f"got readout={mode!r}")

    # ---- one time step, explicit state
    def init_state(self, model) -> dict:
        n = len(model.layers)
        return {"v": [None] * n, "trace": [None] * (n + 1), "out": None}

    def forward_step(self, model, x_t: torch.Tensor, state: dict) -> torch.Tensor:
        """One step of the network with detached state; returns the instantaneous output o[t].

        The returned tensor's graph covers this step only."""
        h = x_t
        for i, layer in enumerate(model.layers):
            state["trace"][i] = trace_update(state["trace"][i], h, _decay(layer.neuron))
            current = trace_synapse(layer.synapse, h, state["trace"][i])
            v = state["v"][i]
            v = layer.neuron.init_state(current) if v is None else _detach(v)
            h, v = layer.neuron.advance(current, v)
            state["v"][i] = _detach(v)
        ro = model.readout
        state["trace"][-1] = trace_update(state["trace"][-1], h, ro.beta)
        current = trace_synapse(ro.synapse, h, state["trace"][-1])
        out = current if state["out"] is None else ro.beta * state["out"] + current
        state["out"] = out.detach()
        return out

    def step_loss(self, out: torch.Tensor, y: torch.Tensor, T: int) -> torch.Tensor:
        """Instantaneous loss L[t] (already divided by T)."""
        loss = TF.cross_entropy(out, y)
        if self.mse_weight > 0:
            target = TF.one_hot(y, out.shape[-1]).to(out.dtype)
            loss = (1 - self.mse_weight) * loss + self.mse_weight * TF.mse_loss(out, target)
        return loss / T

    # ---- the Rule contract
    def loss(self, model, x_seq, y):
        """Sum of the per-step losses over one graph (same gradient as the online pass, but
        memory O(T)); :meth:`step` and :meth:`gradients` use the online pass, :meth:`backward`."""
        self._check_model(model)
        state = self.init_state(model)
        T = x_seq.shape[0]
        return sum(self.step_loss(self.forward_step(model, x_t, state), y, T)
                   for x_t in x_seq.unbind(0))

    def backward(self, model, x_seq, y, optimizer=None) -> float:
        """Run the T steps, calling ``backward`` on each step's loss at once (the graph never
        spans two steps). Variant O with an ``optimizer`` (what :meth:`step` passes) updates
        after every step but the last, whose update is the template's own optimizer step."""
        self._check_model(model)
        state = self.init_state(model)
        T = x_seq.shape[0]
        online = optimizer if self.variant == "O" else None
        total = 0.0
        for t, x_t in enumerate(x_seq.unbind(0)):
            if online is not None and t > 0:
                optimizer.zero_grad(set_to_none=True)
            loss_t = self.step_loss(self.forward_step(model, x_t, state), y, T)
            loss_t.backward()
            if online is not None and t < T - 1:
                self._input.before_step(model)
                optimizer.step()
                self._input.after_step(model)
            total += float(loss_t.detach())
        return total

@register("ottt_o")
class OTTTOnline(OTTT):
    """OTTT_O: an optimizer step at every time step (``ottt`` with ``variant="O"``)."""

    def __init__(self, mse_weight: float = 0.0, weight_standardization: bool = True,
                 ws_scale: float = 2.74, variant: str = "O", input_norm: bool = True):
        if variant != "O":
            raise ValueError("ottt_o is variant 'O'; use rule 'ottt' for variant 'A'")
        super().__init__("O", mse_weight, weight_standardization, ws_scale, input_norm)
