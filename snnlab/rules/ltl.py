r"""Local Tandem Learning (LTL): every SNN layer mimics an ANN teacher's layer, locally.

Yang, Wu, Zhang, Chua, Wang & Li, "Training Spiking Neural Networks with Local Tandem Learning",
NeurIPS 2022 (arXiv:2210.04532); reference code ``Aries231/Local_tandem_learning_rule``.

A pre-trained ANN teacher with the student's architecture (:func:`snnlab.teacher.train_teacher`,
``clamp(z, 0, 2)`` activations as the reference code's ``ReLUX(2)``) sees the same (static)
input. Its hidden activations, normalised per mini-batch, are the targets:

.. math::  \hat a^l = \mathrm{clip}\big(a^l / P_p(a^l),\ 0,\ 1\big)                 \tag{1}

where :math:`P_p` is the p-th percentile of the whole batch tensor of layer l (nearest rank, no
interpolation; p = 99.9 offline, 99 online, as the code). Each student layer l receives the
SNN's **own** previous-layer spikes, *detached*, so its gradient reaches only its own synapse:

* **offline** - with :math:`r^l = \frac1T\sum_t s^l_t` the layer's firing rate,

  .. math:: L = \mathrm{CE}(\bar y, y) + \sum_l \alpha_l\,\mathrm{MSE}(r^l, \hat a^l)        \tag{2}

  differentiated with BPTT *inside* each layer (surrogate spikes); the CE term trains only the
  non-spiking readout :math:`\bar y` (the model's membrane readout on detached spikes);
* **online** - membrane state and history are detached every step, so a step's gradient flows
  only through :math:`s^l_t \leftarrow u_t \leftarrow W s^{l-1}_t`; for every
  :math:`t \ge T_{warm}` the loss adds

  .. math:: \mathrm{CE}\big(\textstyle\sum_{k\le t}\bar y_k/(t+1), y\big)
            + \sum_l \alpha_l\,\mathrm{MSE}\big(n^l_t/(t+1), \hat a^l\big)             \tag{3}

  with :math:`n^l_t` the running spike count. The reference code sums these terms over t and
  calls ``backward`` once (so its memory still grows with T); because every step's graph is
  cut from the past, :meth:`LTL.backward` back-propagates each step as soon as it is computed -
  the same gradient (tested), with memory that does not grow with T. The optimiser still steps
  once per mini-batch, as in the reference code ("online" means temporally local gradients).

The student keeps the model's own neurons (the code uses hard-reset LIF, threshold 0.6, box
surrogate; snnlab's default LIF works as well on the small data sets). Reconstructions: the
teacher sees the time-average of ``x_seq`` (the image itself for direct input); the online
readout is the model's leaky membrane readout run step by step, so that at t = T-1 its logits
equal what :func:`snnlab.evaluate` uses (the code predicts with the sum over t >= T_warm).

Measured on digits (``mlp(64, [128], 10)`` LIF student, T = 8, Adam lr 1e-2, seed 0; teacher
clamp-ReLU 97.2%): offline and online both 97.2% after 10 epochs (86.9% after the first, 95.3%
after three); with two hidden layers of 128 (notebook 08), offline 97.2% / online 97.5%
(teacher 97.2%), BPTT 97.8%. Training
memory (:func:`memory_vs_T`): online flat in T (1.00x from T = 8 to 64), offline 7.5x.

Every quantity is computed through the model's own ``layer.current`` / ``layer.synapse`` /
``layer.neuron`` so LTL also trains a network whose forward pass runs through a perturbed
"chip" (:mod:`snnlab.hardware`): no weight tensor is cached.
"""

from __future__ import annotations

import torch
import torch.nn.functional as TF

from .._checks import check_choice, check_float, check_int
from ..conversion import percentile
from ..distributed import gather_rows
from ..metrics import peak_saved_bytes
from ..teacher import train_teacher
from .base import ScaledInputRule, register

__all__ = ["LTL", "layer_targets", "peak_saved_bytes", "memory_vs_T"]


@torch.no_grad()
def layer_targets(teacher, x: torch.Tensor, p: float = 99.9) -> list[torch.Tensor]:
    """Eq. (1): the teacher's hidden activations on static ``x``, each divided by its batch
    percentile ``P_p`` and clipped to [0, 1]. Under data-parallel training the percentile is
    taken over the global batch, so every process normalises as one process would."""
    acts = teacher.activations(x)[:-1]
    out = []
    for a in acts:
        scale = percentile(gather_rows(a), p)
        scale = scale if float(scale) > 0 else torch.ones_like(scale)
        out.append((a / scale).clamp(0.0, 1.0))
    return out


def _detach(state):
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


@register("ltl")
class LTL(ScaledInputRule):
    """Local tandem learning, offline (in-layer BPTT) or online (per-step, memory flat in T).

    Args:
        teacher: an ANN with ``activations(x)`` and the student's architecture (an
            :class:`~snnlab.models.ANNTwin`); ``None`` trains one in :meth:`setup` with
            :func:`snnlab.teacher.train_teacher` (``teacher_epochs``, ``teacher_lr``).
        mode: ``"offline"`` or ``"online"``.
        p: target percentile (default 99.9 offline, 99 online).
        alpha: weight of every layer's MSE term (the reference code uses 1).
        warmup: online only, first step with a loss, :math:`T_{warm}`; default ``3T/4``
            (12 of 16 in the code).
        input_norm: train the first layer in units of the input's amplitude when that exceeds
            1 (:class:`~snnlab.rules.base.InputScale`; off to fine-tune such a network).
    """

    default_T = 8
    default_encoding = "direct"
    default_lr = 5e-3
    default_epochs = 10

    def __init__(self, teacher=None, mode: str = "offline", p: float | None = None,
                 alpha: float = 1.0, warmup: int | None = None, teacher_epochs: int = 20,
                 teacher_lr: float = 3e-3, input_norm: bool = True):
        self.mode = check_choice("mode", mode, ("offline", "online"))
        self.p = check_float("p", p if p is not None else (99.9 if mode == "offline" else 99.0),
                             low=0.0, high=100.0, low_open=True)
        self.alpha = check_float("alpha", alpha, low=0.0)
        self.warmup = None if warmup is None else check_int("warmup", warmup, low=0)
        self.teacher_epochs = check_int("teacher_epochs", teacher_epochs, low=0)
        self.teacher_lr = check_float("teacher_lr", teacher_lr, low=0.0, low_open=True)
        if teacher is not None and not hasattr(teacher, "activations"):
            raise TypeError("teacher must have .activations(x) (an ANNTwin from "
                            f"snnlab.teacher.train_teacher), got {type(teacher).__name__}")
        self._set_input_norm(input_norm)
        self.teacher = teacher
        self._sums: dict[str, float] = {}
        self._n = 0
        self._parts: dict = {}

    # -- setup and checks ---------------------------------------------------------------------
    def setup(self, model, data, *, T, encoding, seed):
        self.check_model(model)
        if self.teacher is None:
            self.teacher = train_teacher(data, like=model, epochs=self.teacher_epochs,
                                         lr=self.teacher_lr, seed=seed)
        # the teacher runs beside the student: on its device (a GPU run trained it on the CPU)
        self.teacher.to(next(model.parameters()).device)
        self._check(model)
        self._setup_input(model, data, T, encoding)

    def check_model(self, model):
        if getattr(model.readout, "mode", None) != "membrane":
            raise ValueError("LTL trains a non-spiking readout: build the model with "
                             "readout='membrane' (the default)")

    def _check(self, model):
        self.check_model(model)
        if self.teacher is None:
            raise ValueError("LTL needs a teacher: pass teacher=train_teacher(data, like=model) "
                             "or train with snnlab.train (which trains one in setup)")
        n_t = len(getattr(self.teacher, "synapses", [])) or None
        if n_t is not None and n_t != len(model.layers):
            raise ValueError(f"the teacher has {n_t} hidden layers but the student has "
                             f"{len(model.layers)}; train the teacher with like=model")

    def warmup_steps(self, T: int) -> int:
        w = (3 * T) // 4 if self.warmup is None else self.warmup
        if w >= T:
            raise ValueError(f"warmup must be < T; got warmup={w} with T={T}")
        return w

    def targets(self, x_seq):
        """Eq. (1) for this batch (the teacher sees the time-average of the input)."""
        was = self.teacher.training
        self.teacher.eval()
        t = layer_targets(self.teacher, x_seq.mean(0), self.p)
        self.teacher.train(was)
        return t

    def _log(self, parts: dict):
        for k, v in parts.items():
            self._sums[k] = self._sums.get(k, 0.0) + float(v)
        self._n += 1

    def on_epoch_end(self, model, epoch):
        out = {k: v / max(self._n, 1) for k, v in self._sums.items()}
        self._sums, self._n = {}, 0
        return out

    # -- offline: eq. (2) ----------------------------------------------------------------------
    def _offline(self, model, x_seq, y):
        self._check(model)
        targets = self.targets(x_seq)
        h, parts, total = x_seq, {}, 0.0
        for i, (layer, target) in enumerate(zip(model.layers, targets)):
            s, _ = layer.neuron.simulate(layer.current(h.detach()))  # own upstream, detached
            mse = TF.mse_loss(s.mean(0), target)
            parts[f"mse_{i + 1}"] = mse.detach()
            total = total + self.alpha * mse
            h = s
        logits = model.readout(h.detach())
        ce = TF.cross_entropy(logits, y)
        parts["ce"] = ce.detach()
        return total + ce, parts

    # -- online: eq. (3) -----------------------------------------------------------------------
    def _online(self, model, x_seq, y, backward: bool):
        """Run eq. (3) step by step. With ``backward`` each step's loss is back-propagated at
        once (memory independent of T); otherwise the summed loss is returned with its graph."""
        self._check(model)
        targets = self.targets(x_seq)
        T = x_seq.shape[0]
        warm = self.warmup_steps(T)
        states = [None] * len(model.layers)
        counts = [None] * len(model.layers)
        u_out = y_sum = None
        beta = model.readout.beta
        total, parts = 0.0, {}
        for t in range(T):
            with torch.set_grad_enabled(t >= warm and torch.is_grad_enabled()):
                h = x_seq[t]
                loss_t = 0.0
                for i, (layer, target) in enumerate(zip(model.layers, targets)):
                    current = layer.synapse(h.detach())
                    if states[i] is None:
                        states[i] = layer.neuron.init_state(current)
                    s, states[i] = layer.neuron.advance(current, _detach(states[i]))
                    counts[i] = s if counts[i] is None else counts[i].detach() + s
                    if t >= warm:
                        mse = TF.mse_loss(counts[i] / (t + 1), target)
                        loss_t = loss_t + self.alpha * mse
                        key = f"mse_{i + 1}"
                        parts[key] = parts.get(key, 0.0) + float(mse.detach())
                    h = s
                cur = model.readout.synapse(h.detach())
                u_out = cur if u_out is None else beta * u_out.detach() + cur
                y_sum = u_out if y_sum is None else y_sum.detach() + u_out
                if t >= warm:
                    ce = TF.cross_entropy(y_sum / (t + 1), y)
                    loss_t = loss_t + ce
                    parts["ce"] = parts.get("ce", 0.0) + float(ce.detach())
                    if backward:
                        loss_t.backward()
                        total = total + float(loss_t.detach())
                    else:
                        total = total + loss_t
        n = T - warm
        return total, {k: v / n for k, v in parts.items()}

    # -- the Rule contract ---------------------------------------------------------------------
    def loss(self, model, x_seq, y):
        """Eq. (2) (offline) or the sum over steps of eq. (3) (online, one graph: same gradient
        as :meth:`backward`, but memory grows with T)."""
        if self.mode == "offline":
            return self._offline(model, x_seq, y)[0]
        return self._online(model, x_seq, y, backward=False)[0]

    def backward(self, model, x_seq, y, optimizer=None) -> float:
        """Offline: eq. (2) back-propagated at once. Online: each step's loss of eq. (3)
        back-propagated as soon as it is computed (memory flat in T)."""
        if self.mode == "offline":
            loss, parts = self._offline(model, x_seq, y)
            loss.backward()
            loss = float(loss.detach())
        else:
            loss, parts = self._online(model, x_seq, y, backward=True)
        self._parts = parts
        return loss

    def after_step(self, model, x_seq, y):
        super().after_step(model, x_seq, y)
        self._log(self._parts)

    def log(self) -> dict:
        return {k: float(v) for k, v in self._parts.items()}

    def hparams(self) -> dict:
        h = super().hparams()
        h.pop("teacher", None)
        return h

    def state_dict(self) -> dict:
        """The teacher's weights (trained in :meth:`setup`, so a resumed run gets the very
        teacher the interrupted one had, whatever setup re-derives)."""
        return {} if self.teacher is None else {"teacher": self.teacher.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if "teacher" in state:
            if self.teacher is None:
                raise RuntimeError(f"rule {self.name!r}: call setup before load_state_dict")
            self.teacher.load_state_dict(state["teacher"])


# --------------------------------------------------------------------------- memory
def memory_vs_T(model, teacher, x: torch.Tensor, y: torch.Tensor, Ts=(8, 16, 32, 64),
                modes=("offline", "online")) -> dict[str, dict[int, int]]:
    """Peak autograd memory (bytes) of one LTL training step, per mode and window T."""
    out: dict[str, dict[int, int]] = {}
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    for mode in modes:
        rule = LTL(teacher=teacher, mode=mode)
        out[mode] = {}
        for T in Ts:
            x_seq = x.unsqueeze(0).expand(check_int("T", T, low=1), *x.shape).contiguous()
            out[mode][T] = peak_saved_bytes(rule.step, model, x_seq, y, opt)[0]
    return out
