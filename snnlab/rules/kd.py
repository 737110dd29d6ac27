r"""Knowledge distillation from an ANN teacher into a spiking student: ``kd``, ``akl``, ``hta_kl``.

All three rules train the student by surrogate-gradient BPTT; what changes is the target. Besides
the labels, the student matches the *soft* class distribution of a trained ANN teacher. With the
student's time-averaged output :math:`\bar o = \frac1T\sum_t o_t` (the membrane readout's logits),
the teacher's logits :math:`z` and a temperature :math:`\tau`:

.. math::

    p = \mathrm{softmax}(z/\tau), \qquad q = \mathrm{softmax}(\bar o/\tau)            \quad (1)

    L = (1-\alpha)\,\mathrm{CE}(\bar o, y) + \alpha\,\tau^2\, D(p, q)                  \quad (2)

* ``kd`` (Hinton, Vinyals & Dean 2015): :math:`D = \mathrm{KL}(p \,\|\, q)` (forward KL). The
  :math:`\tau^2` keeps the soft-target gradient :math:`\tau(q_i - p_i)` on the same scale for
  every temperature.
* ``akl`` - Adaptive KL (Wu, Tao, Wang, Mao & Wong 2024, "Rethinking Kullback-Leibler Divergence
  in Knowledge Distillation for Large Language Models", arXiv:2404.02657), eqs. (3)-(5) below
  with the head mask of the authors' released ``get_ratio``.
* ``hta_kl`` - HTA-KL (Zhang, Zhu, Yu & Wang 2025, "Head-Tail-Aware KL Divergence in Knowledge
  Distillation for Spiking Neural Networks", arXiv:2504.20445): the same eqs. (3)-(5) with the
  "smallest head reaching μ" mask. **Read the provenance note below: the paper's own equations
  could not be read.**

Eqs. (3)-(5), per sample. Sort the teacher's probabilities in descending order; a cumulative-
probability threshold :math:`\mu` splits the classes into a *head* (mask :math:`M_i = 1`) and a
*tail* (:math:`M_i = 0`); the mask is put back in the original class order:

.. math::

    g_H = \sum_i M_i\,|p_i - q_i|, \qquad g_T = \sum_i (1-M_i)\,|p_i - q_i|             \quad (3)

    w_H = \frac{g_H}{g_H + g_T}, \qquad w_T = \frac{g_T}{g_H + g_T}                      \quad (4)

    D = w_H\, \mathrm{KL}(p \,\|\, q) + w_T\, \mathrm{KL}(q \,\|\, p)                    \quad (5)

Where the head ends (:func:`head_mask`), with :math:`c_k` the cumulative sum of the sorted
probabilities:

* ``crossing=False`` (``akl``; Wu et al.'s code): class :math:`k` is tail iff :math:`c_k > \mu`,
  except that the top class is always head;
* ``crossing=True`` (``hta_kl``; the course's notebook 09): the smallest set of top classes whose
  cumulative probability reaches :math:`\mu` - class :math:`k` is head iff
  :math:`c_k - p_{(k)} < \mu`, i.e. the class that crosses :math:`\mu` is in the head.

The two differ only in the class that crosses :math:`\mu`. :math:`\mu \ge 1` puts every class in
the head (eq. 5 is then forward KL, and ``hta_kl``/``akl`` with ``mu=1`` *is* ``kd``).

Forward KL is mean-seeking (it punishes missing mass where the teacher has it, mostly the head);
reverse KL is mode-seeking (it punishes mass the student puts where the teacher has little, the
tail). The weights move the loss toward the region the student currently gets more wrong.

**Provenance (what was read, what was not).** For HTA-KL only the abstract and the opening of the
arXiv HTML page (title, authors, abstract, start of the introduction) could be reached; its
method section, equation numbers, hyper-parameters and tables could not. The abstract specifies
three components: (i) a *cumulative-probability-based mask* that separates high- (head) from low-
probability (tail) classes, (ii) *adaptive weights* that balance the two regions, (iii) a
combination of *forward and reverse KL* so that both regions are aligned. A third-party summary
(aitrendblend.com) adds that the FKL/RKL weights depend on where the student is currently
misaligned. Eqs. (3)-(5) are Adaptive KL's, which has exactly these three components; whether
HTA-KL takes both KLs over all classes (as here) or restricts FKL to the head and RKL to the tail,
where its mask puts the crossing class, whether its weights are detached, and its values of
:math:`\tau, \mu, \alpha` are **unverified**. ``hta_kl`` therefore names the *intent* (the
abstract's three components, applied to ANN-to-SNN distillation); ``akl`` is the honest name of
the formula, checked against Wu et al.'s released code (sorted teacher probabilities, the student
gathered in the same order, ``mask = cumsum > mu`` with the top class forced into the head, gaps
``|p - q|``, ratios ``s1/(s1+s2)``, student probabilities detached).

Choices where the sources are silent: the weights are detached by default (Wu et al. detach the
student probabilities in the ratio); when both gaps are zero :math:`w_H = 1, w_T = 0` (then
:math:`p = q` and the loss is zero anyway; Wu et al.'s code divides 0/0); the temperature and the
:math:`\tau^2` factor are Hinton's (Wu et al. use no temperature); the total (2) uses the same
:math:`(1-\alpha)/\alpha` mix as ``kd`` so the rules differ only in :math:`D`.

**The teacher sees the static input.** A rule gets encoded batches ``x_seq [T, B, ...]``; the
teacher gets ``x_seq.mean(0)``. For direct encoding that is exactly the sample; for rate
encoding it is the empirical rate, a noisy estimate of it (the teacher is then evaluated on what
the student saw, not on the clean image). If no teacher is given, :meth:`setup` trains one with
:func:`snnlab.teacher.train_teacher` (same layer sizes as the student), so
``snnlab train --rule kd --data digits`` works with no other argument.

**Measured** - see ``tests/test_kd.py`` (``test_hta_kl_versus_kd_at_low_T``) for the paired
comparison with ``kd``; the paper's claim "HTA-KL beats KD with fewer time steps" is *not*
reproduced at this scale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as TF
from torch import nn

from .._checks import check_float, check_int
from ..teacher import train_teacher
from .base import ScaledInputRule, register

__all__ = ["KD", "AKL", "HTAKL", "soft_targets", "forward_kl", "reverse_kl", "head_mask",
           "akl_weights", "akl_divergence", "hta_weights", "hta_kl_divergence", "static_input"]


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


def head_mask(p: torch.Tensor, mu: float, crossing: bool = True) -> torch.Tensor:
    """Boolean ``[B, C]`` mask of the head classes of each row of probabilities ``p``.

    Sort each row in descending order, with cumulative sums ``c_k``. ``crossing=True``: the
    smallest set of top classes whose cumulative probability reaches ``mu`` (head iff the
    classes ranked above hold less than ``mu``; the class that crosses ``mu`` is head).
    ``crossing=False``: Wu et al.'s AKL code (head iff ``c_k <= mu``, the top class always).
    The mask is scattered back to the original class order (a mask left in sorted order would
    silently pair the wrong classes with the gaps of eq. 3). ``mu >= 1`` puts every class in the
    head (tested explicitly: a float cumsum can exceed 1 by rounding). Ties are ranked in
    ``torch.sort``'s order.
    """
    mu = check_float("mu", mu, low=0.0, high=1.0, low_open=True)
    if mu >= 1.0:
        return torch.ones_like(p, dtype=torch.bool)
    p_sorted, order = p.sort(dim=-1, descending=True)
    cum = p_sorted.cumsum(-1)
    if crossing:
        in_head_sorted = (cum - p_sorted) < mu  # probability held by higher-ranked classes
    else:
        in_head_sorted = cum <= mu
        in_head_sorted[..., 0] = True
    return torch.zeros_like(p, dtype=torch.bool).scatter(-1, order, in_head_sorted)


def akl_weights(p: torch.Tensor, q: torch.Tensor, mask: torch.Tensor):
    """Eqs. (3)-(4): per-sample ``(w_head, w_tail)``, each ``[B]``, summing to one
    (``(1, 0)`` where both gaps are zero)."""
    gap = (p - q).abs()
    g_head = (gap * mask).sum(-1)
    g_tail = (gap * ~mask).sum(-1)
    total = g_head + g_tail
    w_tail = torch.where(total > 0, g_tail / total.clamp_min(torch.finfo(total.dtype).tiny),
                         torch.zeros_like(total))
    return 1.0 - w_tail, w_tail


hta_weights = akl_weights  # the name notebook 09 and its checker use


def akl_divergence(teacher_logits: torch.Tensor, student_logits: torch.Tensor, *,
                   tau: float = 1.0, mu: float = 0.5, crossing: bool = False,
                   detach_weights: bool = True, return_parts: bool = False):
    """Eq. (5), per sample ``[B]``. ``return_parts`` also returns a dict with the mask, weights
    and both divergences (what the notebook plots). Defaults: Wu et al.'s mask
    (``crossing=False``)."""
    p = soft_targets(teacher_logits, tau)
    q = soft_targets(student_logits, tau)
    mask = head_mask(p.detach(), mu, crossing)
    w_head, w_tail = akl_weights(p.detach() if detach_weights else p,
                                 q.detach() if detach_weights else q, mask)
    fkl = forward_kl(teacher_logits, student_logits, tau)
    rkl = reverse_kl(teacher_logits, student_logits, tau)
    loss = w_head * fkl + w_tail * rkl
    if return_parts:
        return loss, dict(p=p, q=q, mask=mask, w_head=w_head, w_tail=w_tail, fkl=fkl, rkl=rkl)
    return loss


def hta_kl_divergence(teacher_logits: torch.Tensor, student_logits: torch.Tensor, *,
                      tau: float = 1.0, mu: float = 0.5, crossing: bool = True,
                      detach_weights: bool = True, return_parts: bool = False):
    """``hta_kl``'s divergence: eq. (5) with the "smallest head reaching mu" mask
    (``crossing=True``). See the module's provenance note: the paper's own form is unverified."""
    return akl_divergence(teacher_logits, student_logits, tau=tau, mu=mu, crossing=crossing,
                          detach_weights=detach_weights, return_parts=return_parts)


def static_input(x_seq: torch.Tensor) -> torch.Tensor:
    """What the teacher sees: the time average of the encoded batch (exact for direct
    encoding, the empirical rate for spike encodings)."""
    return x_seq.mean(0)


# --------------------------------------------------------------------------- the rules
@register("kd")
class KD(ScaledInputRule):
    """Hinton distillation, eq. (2) with forward KL, on the student's time-averaged output.

    Args:
        teacher: a module mapping static input ``[B, ...]`` to logits (e.g. the ANN of
            :func:`snnlab.teacher.train_teacher`); trained automatically in :meth:`setup`
            when ``None``.
        tau: temperature τ > 0 of the soft targets.
        alpha: weight of the distillation term in [0, 1] (0 = plain cross-entropy).
        teacher_epochs: epochs for the automatically trained teacher.
        input_norm: train the student's first layer in units of the input's amplitude when that
            exceeds 1 (:class:`~snnlab.rules.base.InputScale`; ``False`` switches it off).
    """

    default_T = 4
    default_encoding = "direct"
    default_lr = 2e-3
    default_epochs = 10

    def __init__(self, teacher: nn.Module | None = None, tau: float = 4.0, alpha: float = 0.5,
                 teacher_epochs: int = 20, input_norm: bool = True):
        if teacher is not None and not isinstance(teacher, nn.Module):
            raise TypeError(f"teacher must be a torch nn.Module mapping [B, ...] to logits, "
                            f"got {type(teacher).__name__}")
        self.teacher = teacher
        self.tau = check_float("tau", tau, low=0.0, low_open=True)
        self.alpha = check_float("alpha", alpha, low=0.0, high=1.0)
        self.teacher_epochs = check_int("teacher_epochs", teacher_epochs, low=1)
        self._set_input_norm(input_norm)

    def setup(self, model, data, *, T, encoding, seed):
        if self.teacher is None:
            self.teacher = train_teacher(data, like=model, epochs=self.teacher_epochs,
                                         seed=seed, progress=False)
        shared = {id(p) for p in self.teacher.parameters()} & {id(p) for p in model.parameters()}
        if shared:
            raise ValueError("the teacher shares parameters with the student; distillation needs "
                             "a separately trained teacher (not model.ann_twin())")
        # the teacher runs beside the student: on its device (a GPU run trained it on the CPU)
        self.teacher.to(next(model.parameters()).device)
        self.teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self._setup_input(model, data, T, encoding)

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


@register("akl")
class AKL(KD):
    """Adaptive KL (Wu et al. 2024): eq. (2) with :math:`D` of eq. (5), Wu et al.'s head mask.

    Args:
        mu: cumulative-probability threshold of the head, in (0, 1] (1 = forward KL only).
        detach_weights: treat the adaptive weights (4) as constants in the gradient.
        crossing: where the head ends (see :func:`head_mask`); ``False`` is Wu et al.'s code.
        teacher, tau, alpha, teacher_epochs, input_norm: as for :class:`KD`.
    """

    crossing_default = False

    def __init__(self, teacher: nn.Module | None = None, tau: float = 4.0, alpha: float = 0.5,
                 mu: float = 0.5, detach_weights: bool = True, teacher_epochs: int = 20,
                 crossing: bool | None = None, input_norm: bool = True):
        super().__init__(teacher, tau, alpha, teacher_epochs, input_norm)
        self.mu = check_float("mu", mu, low=0.0, high=1.0, low_open=True)
        self.detach_weights = bool(detach_weights)
        self.crossing = self.crossing_default if crossing is None else bool(crossing)

    def divergence(self, teacher_logits, student_logits):
        return akl_divergence(teacher_logits, student_logits, tau=self.tau, mu=self.mu,
                              crossing=self.crossing, detach_weights=self.detach_weights)


@register("hta_kl")
class HTAKL(AKL):
    """HTA-KL as far as its abstract specifies it (cumulative-probability head/tail mask,
    adaptive weights, forward + reverse KL), instantiated with eqs. (3)-(5) and the "smallest
    head reaching mu" mask (``crossing=True``). The paper's own equations could not be read: this
    is :class:`AKL` with another mask boundary, not a verified reproduction (module docstring).
    """

    crossing_default = True
