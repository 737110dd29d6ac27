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
    r"""Dual adaptive LIF (DA-LIF; Zhang, Yu, Zhang & Wang, ICASSP 2025, arXiv:2502.10422): a
    learnable *spatial* decay :math:`\alpha` on the input and a learnable *temporal* decay
    :math:`\beta` on the membrane, per layer (default) or per channel (:func:`dalif_per_channel`):

    .. math::

        V^{t,n} = \beta^n H^{t-1,n} + \alpha^n X^{t,n}                                   \quad (1)

        S^{t,n} = \Theta(V^{t,n} - V_{th}), \qquad H^{t,n} = V^{t,n} - V_{th} S^{t,n}
        \;\;(\text{or } V^{t,n}(1 - S^{t,n}) \text{ with } \texttt{reset="zero"})       \quad (2)

    with :math:`X^{t,n}` the layer's synaptic input (``Wx + b`` of the spikes of layer
    :math:`n-1`), :math:`\beta = \sigma(b) \in (0, 1)` and :math:`\alpha = \mathrm{softplus}(a) > 0`
    (or :math:`\sigma(a) \in (0, 1)`). ``simulate`` is ``lif_sequence(alpha * current,
    beta=beta)``, so the fused loop (and every rule built on LIF) works unchanged and both decays
    get their gradient. Special cases: :math:`\alpha = 1`, :math:`\beta` fixed is :class:`LIF`;
    :math:`\alpha = 1 - \beta` is PLIF (Fang et al. 2021, ``decay_input``).

    **Provenance.** Only the abstract and the opening of the arXiv HTML page of 2502.10422 could
    be read, plus two third-party summaries of the full text: sciencestack.ai gives eq. (1)
    (its numbering in the paper could not be checked; the numbers here are snnlab's), says the
    decays are adapted per layer, come from "separate time constants :math:`\tau_a` and
    :math:`\tau_b`", and that an ablation shows "the advantage of the tanh activation";
    themoonlight.io gives the continuous form :math:`\tau_m\,du/dt = -\mu(u - u_{rest}) +
    \lambda I(t)` with two adaptive coefficients. **Unverified, and chosen here:** the map from
    :math:`\tau_a, \tau_b` to :math:`\alpha, \beta` (sigmoid/softplus here; the paper's "tanh"
    may be that map or the surrogate - the summary does not say), the initial values (here the
    plain LIF: :math:`\alpha = 1`, :math:`\beta` = LIF's, so a paired DA-LIF/LIF comparison
    starts from the same network), the reset (the summaries name a post-reset membrane
    :math:`H` but not its form; here LIF's default, subtractive, so the comparison changes only
    :math:`\alpha, \beta`) and the placement relative to batch norm (here the input of the
    neuron, i.e. after the synapse and any normalisation).

    **What** :math:`\alpha` **buys.** Where :math:`X = Wx + b` with a learnable :math:`W, b`,
    :math:`\alpha X = (\alpha W)x + \alpha b`: a per-layer or per-output-channel :math:`\alpha` is
    a *reparameterisation* of the synapse (after a BN layer it rescales BN's affine, again
    redundant). The function class of DA-LIF is therefore that of a LIF with a learnable decay
    :math:`\beta` (per layer or channel); :math:`\alpha` changes only the optimisation - the
    effective step size of :math:`W` and the scale of the surrogate's window relative to the
    weights - which is what the paper's ablation could be measuring, not a larger
    representation. Only with a fixed or shared :math:`W` would :math:`\alpha` add capacity.
    Measured on MNIST-1D (``tests/test_dalif.py``) DA-LIF does *not* beat LIF at few time steps.

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
