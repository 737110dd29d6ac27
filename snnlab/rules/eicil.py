r"""``bptt_stdp_cycles``: epochs of BPTT alternating with label-free, depression-biased STDP on the
positive weights. **This is not EICIL** - read the note below; the rule was registered as
``eicil`` until the paper's mechanism turned out to be unrecoverable from the text we could read.

**What EICIL proposes.** Shao, Fang, Li, Feng, Shen & Xu, "EICIL: Joint Excitatory Inhibitory
Cycle Iteration Learning for Deep Spiking Neural Networks", NeurIPS 2023 (OpenReview OMDgOjdqoZ;
proceedings pp. 32117-32128). Its abstract - the only part of the paper that could be reached
(OpenReview forum page, NeurIPS proceedings abstract page; the PDF body, the supplementary zip
and any code could not) - says that EICIL "integrates both excitatory and inhibitory behaviors
inspired by the signal transmission of biological neurons", "organically embedding these two
behavior patterns into one framework", which "improves the bio-mimicry and adaptability of
spiking neuron models, as well as expands the representation space of spiking neurons"; it
reports gains over "traditional methods" on CIFAR10 and CIFAR100. The OpenReview keywords are
"spiking neural networks, cycle learning, spike encoding". The aitopics copy of the abstract
words it as a method that "integrates excitatory and inhibitory behaviors *in neurons*".

**What could not be verified - i.e. everything that would make a rule.** The neuron model (how the
excitatory and inhibitory behaviours enter the membrane equation, if they do), the "cycle
iteration" (what alternates, over which unit - step, batch, epoch), any local/STDP component,
the encoding, hyper-parameters and results. The abstract puts the two behaviours *in the
neuron* and speaks of a larger representation space of the neuron: that points to a neuron model,
not to two learning phases. The procedure here is instead borrowed from the same group's later
EIHL (ICLR 2024: switch between global STBP learning, "excitation", and local STDP learning,
"inhibition", watching connectivity and sparsity) and BIRIL (per-epoch phase from
``epoch % K``). It is a useful teaching contrast (a global gradient phase against a local
label-free one) and nothing more; measured, it does worse than plain BPTT (issue 15: Yin-Yang
83.3 vs 91.3 %, digits 95.6 vs 96.9 %) - BPTT with periodic pruning, not EICIL.

``snnlab.rules.get("eicil")`` therefore raises (unknown rule): no rule carries the paper's name.
The class stays importable as ``EICIL`` from this module (an alias of
:class:`BPTTSTDPCycles`) only because the course module of notebook 14 imports that name.

**The cycle.** Training runs in cycles of ``cycle`` epochs. In each cycle ``inhibitory_epochs``
epochs are inhibitory and the others excitatory (``order="EI"``: excitatory first).

*Excitatory phase* - global, supervised: surrogate-gradient BPTT on cross-entropy (as ``bptt``),

.. math:: W \leftarrow W - \eta\, \mathrm{Adam}(\nabla_W\, \mathrm{CE}(\bar o, y)).      \quad (1)

*Inhibitory phase* - local, label-free, for every dense hidden layer with presynaptic input
:math:`x_j[t]` (input currents or spikes) and postsynaptic spikes :math:`s_i[t]`:

.. math::

    \hat x_j[t] = \lambda_{pre}\,\hat x_j[t-1] + x_j[t], \qquad
    \hat y_i[t] = \lambda_{post}\,\hat y_i[t-1] + s_i[t]                                   \quad (2)

    P_{ij} = \langle \textstyle\sum_t s_i[t]\,\hat x_j[t] \rangle, \qquad
    D_{ij} = \langle \textstyle\sum_t \hat y_i[t]\, x_j[t] \rangle                         \quad (3)

    W_{ij} \leftarrow \big[\,W_{ij} + \eta_I\,(A_+ P_{ij} - A_- D_{ij}
                      - \gamma W_{ij})\big]_0^{w_{max}}
                      \quad \text{for excitatory synapses } W_{ij} > 0                     \quad (4)

with :math:`\langle\cdot\rangle` the batch mean divided by T. :math:`P` pairs each post spike with
the pre activity up to it (potentiation), :math:`D` each pre input with the post spikes up to it
(depression); a coincident pair counts in both, so for a constant (direct-coded) input the two
balance and the sign of :math:`A_+ - A_-` decides: :math:`A_- > A_+` biases the rule toward
depression. :math:`\gamma` adds a contraction.
The phase acts on the excitatory (positive) synapses only and cannot turn one inhibitory: a
synapse depressed to zero is silenced (exactly 0). So the inhibitory phase lowers the network's
excitatory drive - fewer spikes - and leaves exact zeros, the weight sparsity logged per phase;
the next excitatory phase may regrow them. Negative (inhibitory) weights are left as they are.

``on_epoch_end`` logs, per epoch: ``phase``, ``cycle``, the mean hidden ``firing_rate`` during
that epoch's training batches and the ``weight_sparsity`` (fraction of exactly-zero hidden
weights) after it. Layers whose synapse is not an ``nn.Linear`` (conv) take part in the
excitatory phases only. ``gradients()`` returns the current phase's gradient: the excitatory
one, or zero in an inhibitory phase (its update is local, not a gradient). The phase counter
restarts at epoch 0 when ``setup`` is called (a resumed run restarts the cycle).
"""

from __future__ import annotations

import torch
import torch.nn.functional as TF
from torch import nn

from .._checks import check_choice, check_float, check_int
from .base import InputScale, ScaledInputRule, register

__all__ = ["BPTTSTDPCycles", "EICIL", "stdp_correlations", "inhibitory_update", "weight_sparsity",
           "phase_of"]

PHASES = ("excitatory", "inhibitory")


def phase_of(epoch: int, cycle: int, inhibitory_epochs: int, order: str = "EI") -> str:
    """The phase of a 0-based epoch: the cycle position decides."""
    pos = epoch % cycle
    if order == "EI":
        return "inhibitory" if pos >= cycle - inhibitory_epochs else "excitatory"
    return "inhibitory" if pos < inhibitory_epochs else "excitatory"


def stdp_correlations(pre: torch.Tensor, post: torch.Tensor, lambda_pre: float,
                      lambda_post: float):
    """Eqs. (2)-(3): causal ``P [out, in]`` and anti-causal ``D [out, in]`` pairings of
    ``pre [T, B, in]`` and ``post [T, B, out]``, averaged over batch and time."""
    T, B = pre.shape[:2]
    x_hat = torch.zeros_like(pre[0])
    y_hat = torch.zeros_like(post[0])
    P = pre.new_zeros(post.shape[-1], pre.shape[-1])
    D = torch.zeros_like(P)
    for t in range(T):
        x_hat = lambda_pre * x_hat + pre[t]
        y_hat = lambda_post * y_hat + post[t]
        P += post[t].T @ x_hat            # pre up to t meets post at t: potentiation
        D += y_hat.T @ pre[t]             # post up to t meets pre at t: depression
    return P / (B * T), D / (B * T)


@torch.no_grad()
def inhibitory_update(weight: torch.Tensor, P: torch.Tensor, D: torch.Tensor, *, eta: float,
                      a_plus: float, a_minus: float, contraction: float = 0.0,
                      w_max: float | None = None) -> torch.Tensor:
    """Eq. (4) in place on ``weight``: STDP on the positive entries, floored at 0 (silenced),
    capped at ``w_max``; zero and negative entries are not touched. Returns it."""
    exc = weight > 0
    new = weight + eta * (a_plus * P - a_minus * D - contraction * weight)
    new = new.clamp(min=0.0) if w_max is None else new.clamp(0.0, w_max)
    weight.copy_(torch.where(exc, new, weight))
    return weight


def _dense(synapse: nn.Module) -> nn.Linear | None:
    """The Linear of a dense synapse: ``nn.Linear``, or ``Flatten`` then ``Linear`` (a conv
    net's first dense layer); ``None`` for anything else."""
    if isinstance(synapse, nn.Linear):
        return synapse
    if isinstance(synapse, nn.Sequential) and len(synapse) == 2 \
            and isinstance(synapse[0], nn.Flatten) and isinstance(synapse[1], nn.Linear):
        return synapse[1]
    return None


def _dense_layers(model) -> list[int]:
    return [i for i, layer in enumerate(model.layers) if _dense(layer.synapse) is not None]


def weight_sparsity(model) -> float:
    """Fraction of exactly-zero weights in the dense hidden synapses (silenced synapses)."""
    idx = _dense_layers(model)
    if not idx:
        return 0.0
    zeros = sum(int((_dense(model.layers[i].synapse).weight == 0).sum()) for i in idx)
    total = sum(_dense(model.layers[i].synapse).weight.numel() for i in idx)
    return zeros / total


@register("bptt_stdp_cycles")
class BPTTSTDPCycles(ScaledInputRule):
    """Cycles of BPTT epochs and local depression-biased STDP epochs (not EICIL: module note).

    Args:
        cycle: epochs per cycle (>= 1).
        inhibitory_epochs: inhibitory epochs per cycle (0 = plain BPTT).
        order: ``"EI"`` (excitatory epochs first in each cycle) or ``"IE"``.
        eta_i: inhibitory learning rate :math:`\\eta_I`.
        a_plus, a_minus: potentiation and depression amplitudes (``a_minus > a_plus``
            biases toward depression).
        lambda_pre, lambda_post: trace decays in [0, 1).
        contraction: :math:`\\gamma`, extra shrinkage of every magnitude.
        w_max: cap on a weight's magnitude (None: no cap).
        input_norm: the excitatory (BPTT) phase trains the first layer in units of the input's
            amplitude when that exceeds 1 (:class:`~snnlab.rules.base.InputScale`), as ``bptt``
            does. The inhibitory STDP reads the input as activity of order 1, so while
            ``inhibitory_epochs > 0`` inputs of RMS > 1 are refused (one line) rather than
            trained: on held-out blobs with features in [0, 10] every inhibitory epoch took the
            network to chance (12 %), with or without rescaling the update.
    """

    default_T = 8
    default_encoding = "direct"
    default_lr = 2e-3
    default_epochs = 12

    def __init__(self, cycle: int = 3, inhibitory_epochs: int = 1, order: str = "EI",
                 eta_i: float = 0.02, a_plus: float = 1.0, a_minus: float = 1.5,
                 lambda_pre: float = 0.8, lambda_post: float = 0.8, contraction: float = 0.5,
                 w_max: float | None = None, input_norm: bool = True):
        self.cycle = check_int("cycle", cycle, low=1)
        self.inhibitory_epochs = check_int("inhibitory_epochs", inhibitory_epochs, low=0,
                                           high=self.cycle)
        self.order = check_choice("order", order, ("EI", "IE"))
        self.eta_i = check_float("eta_i", eta_i, low=0.0)
        self.a_plus = check_float("a_plus", a_plus, low=0.0)
        self.a_minus = check_float("a_minus", a_minus, low=0.0)
        self.lambda_pre = check_float("lambda_pre", lambda_pre, low=0.0, high=1.0,
                                      high_open=True)
        self.lambda_post = check_float("lambda_post", lambda_post, low=0.0, high=1.0,
                                       high_open=True)
        self.contraction = check_float("contraction", contraction, low=0.0)
        self.w_max = None if w_max is None else check_float("w_max", w_max, low=0.0,
                                                            low_open=True)
        self._set_input_norm(input_norm)
        self._epoch = 0
        self._phase = phase_of(0, self.cycle, self.inhibitory_epochs, self.order)
        self._rate_sum = 0.0
        self._batches = 0
        self._rec = None

    @property
    def phase(self) -> str:
        """The phase the next training batch gets."""
        return self._phase

    # -- schedule ---------------------------------------------------------------------------
    def setup(self, model, data, *, T, encoding, seed):
        self.check_model(model)
        self._epoch = 0
        self._phase = phase_of(0, self.cycle, self.inhibitory_epochs, self.order)
        self._rate_sum, self._batches = 0.0, 0
        if self.inhibitory_epochs and not _dense_layers(model):
            raise ValueError("bptt_stdp_cycles' inhibitory phase needs dense (nn.Linear) hidden "
                             "synapses; this model has none. Use snnlab.models.mlp, add "
                             "hidden=[...] to a convnet, or set inhibitory_epochs=0")
        if self.inhibitory_epochs:
            rms = InputScale.measure(data, T, encoding)
            if rms > 1.05:  # standardised features have RMS 1 (up to rounding)
                raise ValueError(
                    f"bptt_stdp_cycles' inhibitory STDP reads the first layer's input as "
                    f"presynaptic activity of order 1 (spikes, features in [0, 1] or "
                    f"standardised); the encoded training input has RMS {rms:.3g}: rescale the "
                    "data, or set inhibitory_epochs=0 (plain BPTT)")
        self._setup_input(model, data, T, encoding)

    def on_epoch_end(self, model, epoch: int) -> dict:
        record = {"phase": self._phase, "cycle": epoch // self.cycle,
                  "firing_rate": self._rate_sum / max(self._batches, 1),
                  "weight_sparsity": weight_sparsity(model)}
        self._epoch = epoch + 1
        self._phase = phase_of(self._epoch, self.cycle, self.inhibitory_epochs, self.order)
        self._rate_sum, self._batches = 0.0, 0
        return record

    def _log_rate(self, rec):
        rates = [float(s.detach().mean()) for s in rec.spikes]
        self._rate_sum += sum(rates) / max(len(rates), 1)
        self._batches += 1

    # -- the two behaviours -----------------------------------------------------------------
    def loss(self, model, x_seq, y):
        """Eq. (1)'s objective: cross-entropy through time (the excitatory gradient)."""
        return TF.cross_entropy(model(x_seq), y)

    def backward(self, model, x_seq, y, optimizer=None) -> float:
        """Excitatory phase: eq. (1)'s gradient, from one recorded run. Inhibitory phase: the
        recorded run only, no gradient (the optimizer step then changes nothing and
        :meth:`after_step` applies eqs. 2-4)."""
        if self.phase == "excitatory":
            self._rec = rec = model.run(x_seq)
            loss = TF.cross_entropy(rec.logits, y)
            loss.backward()
            return float(loss.detach())
        with torch.no_grad():
            self._rec = rec = model.run(x_seq)
            return float(TF.cross_entropy(rec.logits, y))

    def after_step(self, model, x_seq, y):
        super().after_step(model, x_seq, y)  # the input scale of the optimizer's update
        rec, self._rec = self._rec, None
        if self.phase == "inhibitory":
            self.inhibit(model, x_seq, rec)
        self._log_rate(rec)

    def log(self) -> dict:
        return {"phase": self.phase}

    @torch.no_grad()
    def inhibit(self, model, x_seq, rec=None) -> None:
        """Eqs. (2)-(4) on every dense hidden layer, from one recorded forward pass."""
        if rec is None:
            rec = model.run(x_seq)
        for i in _dense_layers(model):
            pre = x_seq if i == 0 else rec.spikes[i - 1]
            pre = pre.reshape(pre.shape[0], pre.shape[1], -1)
            P, D = stdp_correlations(pre, rec.spikes[i], self.lambda_pre, self.lambda_post)
            inhibitory_update(_dense(model.layers[i].synapse).weight, P, D, eta=self.eta_i,
                              a_plus=self.a_plus, a_minus=self.a_minus,
                              contraction=self.contraction, w_max=self.w_max)

    def state_dict(self) -> dict:
        """The phase schedule's position (``setup`` restarts it; resume restores it after)."""
        return {"epoch": self._epoch, "phase": self._phase, "rate_sum": self._rate_sum,
                "batches": self._batches}

    def load_state_dict(self, state: dict) -> None:
        self._epoch, self._phase = int(state["epoch"]), str(state["phase"])
        self._rate_sum, self._batches = float(state["rate_sum"]), int(state["batches"])

EICIL = BPTTSTDPCycles  # old name, kept importable for snnlab.course.n14_eicil; not registered
