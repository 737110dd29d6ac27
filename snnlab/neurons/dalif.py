"""DA-LIF: LIF with learnable spatial and temporal decays, and its per-channel helpers."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as TF
from torch import nn

from .._checks import check_choice, check_float
from .lif import LIF

__all__ = ["DALIF", "dalif_per_channel", "dalif_decays"]


def _softplus_inverse(y: float) -> float:
    return y + math.log(-math.expm1(-y))  # log(exp(y) - 1), stable for large y


class DALIF(LIF):
    r"""Dual adaptive LIF (DA-LIF; Zhang, Yu, Zhang & Wang, ICASSP 2025, arXiv:2502.10422):
    a learnable *spatial* decay :math:`\alpha` on the input and a learnable *temporal* decay
    :math:`\beta` on the membrane, per layer (default) or per channel,

    .. math::

        u[t] = \beta\, v[t-1] + \alpha\, I[t], \qquad \beta = \sigma(b) \in (0, 1), \qquad
        \alpha = \mathrm{softplus}(a) > 0 \;\;\text{or}\;\; \sigma(a) \in (0, 1).

    Fire and reset are LIF's. ``simulate`` is ``lif_sequence(alpha * current, beta=beta)``, so
    the fused loop (and every rule built on LIF) works unchanged and both decays get their
    gradient. With :math:`\alpha = 1` and :math:`\beta` fixed this is :class:`LIF`; with
    :math:`\alpha = 1 - \beta` it is PLIF (Fang et al. 2021, ``decay_input``).

    Reconstructed: only the charge equation was verified (from a summary of the paper); the
    paper's exact mapping from raw parameters to decays and its initial values are unverified.
    The defaults start as the plain LIF (``beta=0.9``, ``alpha=1``) so DA-LIF can only add.

    Args:
        beta: initial temporal decay in (0, 1].
        alpha: initial spatial decay; default 1 (softplus) or ``1 - beta`` (sigmoid).
        learn_alpha, learn_beta: make each decay trainable.
        alpha_param: ``"softplus"`` (any positive gain) or ``"sigmoid"`` (a decay in (0, 1)).
        shape: parameter shape: ``()`` per layer, ``(n,)`` per neuron of a dense layer,
            ``(C, 1, 1)`` per channel of a conv layer (see :func:`dalif_per_channel`).
        threshold, reset, surrogate, surrogate_scale, detach_reset: as :class:`LIF`.
    """

    kind = "dalif"
    ALPHA_PARAMS = ("softplus", "sigmoid")

    def __init__(self, beta: float = 0.9, alpha: float | None = None, threshold: float = 1.0,
                 reset: str = "subtract", surrogate="fast_sigmoid",
                 surrogate_scale: float | None = None, detach_reset: bool = True,
                 learn_alpha: bool = True, learn_beta: bool = True,
                 alpha_param: str = "softplus", shape: tuple[int, ...] = ()):
        shape = tuple(int(d) for d in shape)
        super().__init__(beta, threshold, reset, surrogate, surrogate_scale, detach_reset,
                         learn_beta=learn_beta, beta_shape=shape)
        self.alpha_param = check_choice("alpha_param", alpha_param, self.ALPHA_PARAMS)
        sig = self.alpha_param == "sigmoid"
        if alpha is None:
            alpha = 1.0 - float(beta) if sig else 1.0
        alpha = check_float("alpha", alpha, low=0.0, high=1.0 if sig else None, low_open=True)
        if learn_alpha:
            a = min(alpha, 1 - 1e-4) if sig else alpha
            raw = math.log(a / (1 - a)) if sig else _softplus_inverse(a)
            self.alpha_raw = nn.Parameter(torch.full(shape, raw))
        else:
            self.register_buffer("alpha_raw", None)
            self._alpha = alpha

    @property
    def alpha(self):
        """The spatial decay: a float, or a positive tensor when learnable."""
        if self.alpha_raw is None:
            return self._alpha
        if self.alpha_param == "sigmoid":
            return torch.sigmoid(self.alpha_raw)
        return TF.softplus(self.alpha_raw)

    def simulate(self, current: torch.Tensor, v0=None):
        return super().simulate(self.alpha * current, v0)

    def advance(self, current: torch.Tensor, state):
        return super().advance(self.alpha * current, state)

    def extra_repr(self) -> str:
        a = f"learnable ({self.alpha_param})" if self.alpha_raw is not None else f"{self._alpha:g}"
        return f"alpha={a}, " + super().extra_repr()


@torch.no_grad()
def dalif_per_channel(net: nn.Module) -> nn.Module:
    """Give every :class:`DALIF` in a :class:`~snnlab.models.SpikingNet` one (alpha, beta) per
    channel (dense: per neuron), starting from its current per-layer values. Call it before
    creating the optimizer. The new shape is not in ``net.config``: rebuild from a checkpoint
    by calling this again on the rebuilt net before ``load_state_dict``."""
    x = torch.zeros(1, *net.input_shape)
    stages = [(layer.synapse, layer.neuron) for layer in net.layers]
    stages.append((net.readout.synapse, net.readout.neuron))
    for synapse, neuron in stages:
        x = synapse(x)
        if isinstance(neuron, DALIF):
            shape = (x.shape[1],) + (1,) * (x.dim() - 2)
            for name in ("alpha_raw", "beta_logit"):
                old = getattr(neuron, name)
                if old is not None:
                    new = old.detach().reshape(-1)[:1].expand(shape).clone()
                    setattr(neuron, name, nn.Parameter(new))
        x = torch.zeros_like(x)
    return net


def dalif_decays(net: nn.Module) -> list[dict]:
    """Per hidden layer the mean and spread of the learned decays (``alpha``, ``beta``)."""
    out = []
    for i, layer in enumerate(net.layers):
        n = layer.neuron
        if not isinstance(n, DALIF):
            continue
        row = {"layer": i}
        for key in ("alpha", "beta"):
            v = torch.as_tensor(getattr(n, key)).detach().float().reshape(-1)
            row[key] = float(v.mean())
            row[key + "_std"] = float(v.std()) if v.numel() > 1 else 0.0
        out.append(row)
    return out
