r"""Knowledge distillation from an ANN teacher into a spiking student: ``kd`` and ``hta_kl``.

Both rules train the student by surrogate-gradient BPTT; what changes is the target. Besides the
labels, the student matches the *soft* class distribution of a trained ANN teacher. With the
student's time-averaged output :math:`\bar o = \frac1T\sum_t o_t` (the membrane readout's logits),
the teacher's logits :math:`z` and a temperature :math:`\tau`:

.. math::

    p = \mathrm{softmax}(z/\tau), \qquad q = \mathrm{softmax}(\bar o/\tau)            \quad (1)

    L = (1-\alpha)\,\mathrm{CE}(\bar o, y) + \alpha\,\tau^2\, D(p, q)                  \quad (2)

* ``kd`` (Hinton, Vinyals & Dean 2015): :math:`D = \mathrm{KL}(p \,\|\, q)` (forward KL). The
  :math:`\tau^2` keeps the soft-target gradient :math:`\tau(q_i - p_i)` on the same scale for
  every temperature.
* ``hta_kl`` (Zhang, Zhu, Yu & Wang 2025, "Head-Tail-Aware KL Divergence in Knowledge
  Distillation for Spiking Neural Networks", arXiv:2504.20445): :math:`D = L_{HTA}`, below.

HTA-KL, per sample. Sort the teacher's probabilities in descending order; the *head* is the
smallest set of top classes whose cumulative probability reaches :math:`\mu`, the rest is the
*tail* (mask :math:`M_i \in \{0, 1\}`, put back in the original class order):

.. math::

    g_H = \sum_i M_i\,|p_i - q_i|, \qquad g_T = \sum_i (1-M_i)\,|p_i - q_i|             \quad (3)

    w_T = \frac{g_T}{g_H + g_T}, \qquad w_H = 1 - w_T                                    \quad (4)

    L_{HTA} = w_H\, \mathrm{KL}(p \,\|\, q) + w_T\, \mathrm{KL}(q \,\|\, p)              \quad (5)

Forward KL is mean-seeking: it punishes the student for missing mass where the teacher has it,
so it mostly shapes the head. Reverse KL is mode-seeking: it punishes mass the student puts where
the teacher has little, i.e. it shapes the tail. The weights move the loss toward whichever region
the student currently gets more wrong.

**Reconstructed.** Only the paper's abstract could be checked (cumulative-probability mask,
adaptive weights, forward + reverse KL). Eqs. (3)-(5) follow the Adaptive KL of Wu et al. 2024
("Rethinking KL Divergence in KD for LLMs", arXiv:2404.02657), whose structure the abstract
describes; the paper's exact symbols, any extra terms and its values of τ, μ, α are unverified.
Choices made here: the weights are detached by default (they steer the loss, they are not
optimised); when both gaps are zero :math:`w_H = 1` (the loss is zero anyway), so
:math:`w_H + w_T = 1` always and :math:`\mu = 1` gives exactly forward KL; the total loss (2)
uses the same :math:`(1-\alpha)` / :math:`\alpha` mix as ``kd`` so the two rules differ only in
:math:`D` (with ``mu=1`` ``hta_kl`` *is* ``kd``).

**The teacher sees the static input.** A rule gets encoded batches ``x_seq [T, B, ...]``; the
teacher gets ``x_seq.mean(0)``. For direct encoding that is exactly the sample; for rate
encoding it is the empirical rate, a noisy estimate of it (the teacher is then evaluated on what
the student saw, not on the clean image). If no teacher is given, :meth:`setup` trains one with
:func:`snnlab.teacher.train_teacher` (same layer sizes as the student), so
``snnlab train --rule kd --data digits`` works with no other argument.

**Measured** (MNIST-1D, student ``mlp(40, [128], 10)``, direct encoding, 15 epochs, a 512-512
ReLU teacher at 0.489; mean test accuracy over seeds 0-4): T=1 CE-only 0.306, kd 0.364, hta_kl
0.357; T=2 0.313 / 0.353 / 0.366; T=4 0.296 / 0.316 / 0.316. On digits, where a one-step
student already matches its 0.967 teacher, distillation cost about a point (T=1: 0.960 /
0.952 / 0.949, 10 epochs). The tests calibrate a cheaper version (``tests/test_kd.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as TF
from torch import nn

from .._checks import check_float, check_int
from ..teacher import train_teacher
from .base import Rule, register

__all__ = ["KD", "HTAKL", "soft_targets", "forward_kl", "reverse_kl", "head_mask", "hta_weights",
           "hta_kl_divergence", "static_input"]


# --------------------------------------------------------------------------- pure functions
def soft_targets(logits: torch.Tensor, tau: float) -> torch.Tensor:
    """Eq. (1): ``softmax(logits / tau)`` over the last dimension."""
    return TF.softmax(logits / tau, dim=-1)


def forward_kl(teacher_logits, student_logits, tau: float = 1.0) -> torch.Tensor:
    r"""Per-sample :math:`\mathrm{KL}(p\,\|\,q) = \sum_i p_i (\log p_i - \log q_i)` (``[B]``)."""
    log_p = TF.log_softmax(teacher_logits / tau, dim=-1)
    log_q = TF.log_softmax(student_logits / tau, dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def reverse_kl(teacher_logits, student_logits, tau: float = 1.0) -> torch.Tensor:
    r"""Per-sample :math:`\mathrm{KL}(q\,\|\,p) = \sum_i q_i (\log q_i - \log p_i)` (``[B]``)."""
    return forward_kl(student_logits, teacher_logits, tau)


def head_mask(p: torch.Tensor, mu: float) -> torch.Tensor:
    """Boolean ``[B, C]`` mask of the head classes of each row of probabilities ``p``.

    The head is the smallest set of most probable classes whose cumulative probability reaches
    ``mu``: a class is in it if the classes ranked above it hold less than ``mu``. The mask is
    scattered back to the original class order (a mask left in sorted order would silently pair
    the wrong classes with the gaps of eq. 3). ``mu >= 1`` puts every class in the head.
    """
    mu = check_float("mu", mu, low=0.0, high=1.0, low_open=True)
    if mu >= 1.0:
        return torch.ones_like(p, dtype=torch.bool)
    p_sorted, order = p.sort(dim=-1, descending=True)
    mass_above = p_sorted.cumsum(-1) - p_sorted  # probability held by higher-ranked classes
    in_head_sorted = mass_above < mu
    return torch.zeros_like(p, dtype=torch.bool).scatter(-1, order, in_head_sorted)


def hta_weights(p: torch.Tensor, q: torch.Tensor, mask: torch.Tensor):
    """Eqs. (3)-(4): per-sample ``(w_head, w_tail)``, each ``[B]``, summing to one."""
    gap = (p - q).abs()
    g_head = (gap * mask).sum(-1)
    g_tail = (gap * ~mask).sum(-1)
    total = g_head + g_tail
    w_tail = torch.where(total > 0, g_tail / total.clamp_min(torch.finfo(total.dtype).tiny),
                         torch.zeros_like(total))
    return 1.0 - w_tail, w_tail


def hta_kl_divergence(teacher_logits: torch.Tensor, student_logits: torch.Tensor, *,
                      tau: float = 1.0, mu: float = 0.5, detach_weights: bool = True,
                      return_parts: bool = False):
    """Eq. (5), per sample ``[B]``. ``return_parts`` also returns a dict with the mask, weights
    and both divergences (what the notebook plots)."""
    p = soft_targets(teacher_logits, tau)
    q = soft_targets(student_logits, tau)
    mask = head_mask(p.detach(), mu)
    w_head, w_tail = hta_weights(p.detach() if detach_weights else p,
                                 q.detach() if detach_weights else q, mask)
    fkl = forward_kl(teacher_logits, student_logits, tau)
    rkl = reverse_kl(teacher_logits, student_logits, tau)
    loss = w_head * fkl + w_tail * rkl
    if return_parts:
        return loss, dict(p=p, q=q, mask=mask, w_head=w_head, w_tail=w_tail, fkl=fkl, rkl=rkl)
    return loss


def static_input(x_seq: torch.Tensor) -> torch.Tensor:
    """What the teacher sees: the time average of the encoded batch (exact for direct
    encoding, the empirical rate for spike encodings)."""
    return x_seq.mean(0)


# --------------------------------------------------------------------------- the rules
@register("kd")
class KD(Rule):
    """Hinton distillation, eq. (2) with forward KL, on the student's time-averaged output.

    Args:
        teacher: a module mapping static input ``[B, ...]`` to logits (e.g. the ANN of
            :func:`snnlab.teacher.train_teacher`); trained automatically in :meth:`setup`
            when ``None``.
        tau: temperature τ > 0 of the soft targets.
        alpha: weight of the distillation term in [0, 1] (0 = plain cross-entropy).
        teacher_epochs: epochs for the automatically trained teacher.
    """

    default_T = 4
    default_encoding = "direct"
    default_lr = 2e-3
    default_epochs = 10

    def __init__(self, teacher: nn.Module | None = None, tau: float = 4.0, alpha: float = 0.5,
                 teacher_epochs: int = 20):
        if teacher is not None and not isinstance(teacher, nn.Module):
            raise TypeError(f"teacher must be a torch nn.Module mapping [B, ...] to logits, "
                            f"got {type(teacher).__name__}")
        self.teacher = teacher
        self.tau = check_float("tau", tau, low=0.0, low_open=True)
        self.alpha = check_float("alpha", alpha, low=0.0, high=1.0)
        self.teacher_epochs = check_int("teacher_epochs", teacher_epochs, low=1)

    def setup(self, model, data, *, T, encoding, seed):
        if self.teacher is None:
            self.teacher = train_teacher(data, like=model, epochs=self.teacher_epochs,
                                         seed=seed, progress=False)
        shared = {id(p) for p in self.teacher.parameters()} & {id(p) for p in model.parameters()}
        if shared:
            raise ValueError("the teacher shares parameters with the student; distillation needs "
                             "a separately trained teacher (not model.ann_twin())")
        self.teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def teacher_logits(self, x_seq: torch.Tensor) -> torch.Tensor:
        if self.teacher is None:
            raise RuntimeError(f"rule {self.name!r} has no teacher: pass teacher=... or call "
                               "setup(model, data, ...) (snnlab.train does) to train one")
        self.teacher.eval()
        with torch.no_grad():
            return self.teacher(static_input(x_seq).to(x_seq.device))

    def divergence(self, teacher_logits, student_logits) -> torch.Tensor:
        """Per-sample D(p, q) of eq. (2)."""
        return forward_kl(teacher_logits, student_logits, self.tau)

    def loss(self, model, x_seq, y):
        logits = model(x_seq)
        ce = TF.cross_entropy(logits, y)
        if self.alpha == 0.0:
            return ce
        d = self.divergence(self.teacher_logits(x_seq), logits).mean()
        return (1.0 - self.alpha) * ce + self.alpha * self.tau ** 2 * d

    def state_dict(self) -> dict:
        """The teacher's weights (trained in :meth:`setup`, so a resumed run gets the very
        teacher the interrupted one had, whatever setup re-derives)."""
        return {} if self.teacher is None else {"teacher": self.teacher.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if "teacher" in state:
            if self.teacher is None:
                raise RuntimeError(f"rule {self.name!r}: call setup before load_state_dict")
            self.teacher.load_state_dict(state["teacher"])


@register("hta_kl")
class HTAKL(KD):
    """Head-tail-aware distillation: eq. (2) with :math:`D = L_{HTA}` of eq. (5).

    Args:
        mu: cumulative-probability threshold of the head, in (0, 1] (1 = forward KL only).
        detach_weights: treat the adaptive weights (4) as constants in the gradient.
        teacher, tau, alpha, teacher_epochs: as for :class:`KD`.
    """

    def __init__(self, teacher: nn.Module | None = None, tau: float = 4.0, alpha: float = 0.5,
                 mu: float = 0.5, detach_weights: bool = True, teacher_epochs: int = 20):
        super().__init__(teacher, tau, alpha, teacher_epochs)
        self.mu = check_float("mu", mu, low=0.0, high=1.0, low_open=True)
        self.detach_weights = bool(detach_weights)

    def divergence(self, teacher_logits, student_logits):
        return hta_kl_divergence(teacher_logits, student_logits, tau=self.tau, mu=self.mu,
                                 detach_weights=self.detach_weights)
