"""Neuron modules: they own parameters and call the pure dynamics in :mod:`snnlab.functional`.

Every neuron offers the same three ways to run, so each learning rule picks what it needs:

* ``neuron(current)`` - the whole sequence ``[T, B, ...] -> spikes [T, B, ...]`` (fused loop);
* ``neuron.simulate(current)`` - ``(spikes, membrane)``, the membrane taken before the reset;
* ``neuron.step(current_t, state)`` - one time step with explicit state (online rules).

Setting ``neuron.fused = False`` swaps the fused loop for the unrolled reference; tests use it.
New neuron types register themselves with :func:`register` and are then available by name in
``snnlab.models.mlp(..., neuron="name")``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import functional as F
from . import surrogate as S
from ._checks import check_choice, check_float

__all__ = ["LIF", "IF", "SynapticLIF", "DALIF", "register", "make", "available",
           "dalif_per_channel", "dalif_decays"]


class LIF(nn.Module):
    r"""Leaky integrate-and-fire neuron, eqs. (1)-(3) of :mod:`snnlab.functional`.

    Args:
        beta: membrane decay per step, :math:`e^{-dt/\tau_m}`, in (0, 1].
        threshold: firing threshold :math:`\vartheta > 0`.
        reset: ``"subtract"`` (soft), ``"zero"`` (hard) or ``"none"``.
        surrogate: name or :class:`~snnlab.surrogate.Surrogate` (default fast sigmoid, scale 25).
        surrogate_scale: sharpness of the surrogate when given by name.
        detach_reset: stop the gradient through the reset (default, as snnTorch).
        learn_beta: make the decay a trainable parameter (PLIF, Fang et al. 2021), kept in (0, 1)
            by a sigmoid; ``beta_shape`` (e.g. ``(n,)``) gives one decay per neuron.
    """

    kind = "lif"

    def __init__(self, beta: float = 0.9, threshold: float = 1.0, reset: str = "subtract",
                 surrogate="fast_sigmoid", surrogate_scale: float | None = None,
                 detach_reset: bool = True, learn_beta: bool = False,
                 beta_shape: tuple[int, ...] = ()):
        super().__init__()
        beta = check_float("beta", beta, low=0.0, high=1.0, low_open=True)
        self.threshold = check_float("threshold", threshold, low=0.0, low_open=True)
        self.reset_mode = check_choice("reset", reset, F.RESETS)
        self.surrogate = S.get(surrogate, surrogate_scale)
        self.detach_reset = bool(detach_reset)
        self.fused = True
        if learn_beta:
            b = min(beta, 1 - 1e-4)
            self.beta_logit = nn.Parameter(torch.full(tuple(beta_shape), math.log(b / (1 - b))))
        else:
            self.register_buffer("beta_logit", None)
            self._beta = beta

    @property
    def beta(self):
        """The decay: a float, or a tensor in (0, 1) when learnable."""
        if self.beta_logit is not None:
            return torch.sigmoid(self.beta_logit)
        return self._beta

    # -- the three ways to run -------------------------------------------------------------
    def simulate(self, current: torch.Tensor, v0=None):
        """Run over ``current [T, B, ...]``; return ``(spikes, membrane)``."""
        fn = F.lif_sequence if self.fused else F.lif_sequence_reference
        return fn(current, beta=self.beta, threshold=self.threshold, reset_mode=self.reset_mode,
                  detach_reset=self.detach_reset, surrogate=self.surrogate, v0=v0)

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        return self.simulate(current)[0]

    def init_state(self, like: torch.Tensor):
        return torch.zeros_like(like)

    def step(self, current: torch.Tensor, state):
        """One step; ``state`` from :meth:`init_state`. Returns ``(spikes, new_state)``."""
        return F.lif_step(current, state, beta=self.beta, threshold=self.threshold,
                          reset_mode=self.reset_mode, detach_reset=self.detach_reset,
                          surrogate=self.surrogate)

    def extra_repr(self) -> str:
        beta = "learnable" if self.beta_logit is not None else f"{self._beta:g}"
        return (f"beta={beta}, threshold={self.threshold:g}, reset={self.reset_mode!r}, "
                f"surrogate={self.surrogate}")


class IF(LIF):
    """Integrate-and-fire: LIF without leak (``beta = 1``); the neuron of ANN-to-SNN conversion."""

    kind = "if"

    def __init__(self, threshold: float = 1.0, reset: str = "subtract",
                 surrogate="fast_sigmoid", surrogate_scale: float | None = None,
                 detach_reset: bool = True, **_ignored_beta):
        if set(_ignored_beta) - {"beta"}:
            raise TypeError(f"IF got unexpected arguments {sorted(set(_ignored_beta) - {'beta'})}")
        super().__init__(1.0, threshold, reset, surrogate, surrogate_scale, detach_reset)


class SynapticLIF(LIF):
    r"""LIF driven by an exponentially decaying synaptic current, eq. (4): ``alpha`` =
    :math:`e^{-dt/\tau_s}` in [0, 1). The PSP becomes a difference of exponentials."""

    kind = "lif_syn"

    def __init__(self, alpha: float = 0.8, beta: float = 0.9, **kw):
        super().__init__(beta, **kw)
        self.alpha = check_float("alpha", alpha, low=0.0, high=1.0, high_open=True)

    def simulate(self, current, v0=None):
        if self.fused:
            i = F.leaky_integrate(current, self.alpha)
        else:
            i = F.leaky_integrate_reference(current, self.alpha)
        return super().simulate(i, v0)

    def init_state(self, like):
        return (torch.zeros_like(like), torch.zeros_like(like))

    def step(self, current, state):
        return F.lif_syn_step(current, state, alpha=self.alpha, beta=self.beta,
                              threshold=self.threshold, reset_mode=self.reset_mode,
                              detach_reset=self.detach_reset, surrogate=self.surrogate)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:g}, " + super().extra_repr()


_NEURONS: dict[str, type[nn.Module]] = {}


def register(name: str, cls: type[nn.Module]) -> type[nn.Module]:
    """Make a neuron class available by name (``mlp(..., neuron=name)``)."""
    _NEURONS[name] = cls
    return cls


for _cls in (LIF, IF, SynapticLIF):
    register(_cls.kind, _cls)


def available() -> list[str]:
    return sorted(_NEURONS)


def make(name: str, **kw) -> nn.Module:
    """Build a neuron by name with keyword parameters."""
    if isinstance(name, str) and name not in _NEURONS:
        # neuron types registered by rule modules (e.g. tssl's psp_lif) must also resolve when a
        # checkpoint is rebuilt before any rule was loaded
        from . import rules

        rules.available()
    cls = _NEURONS[check_choice("neuron", name, _NEURONS)]
    try:
        return cls(**kw)
    except TypeError as e:
        raise TypeError(f"neuron {name!r}: {e}") from None


# --------------------------------------------------------------------------- DA-LIF
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
        return torch.nn.functional.softplus(self.alpha_raw)

    def simulate(self, current: torch.Tensor, v0=None):
        return super().simulate(self.alpha * current, v0)

    def step(self, current: torch.Tensor, state):
        return super().step(self.alpha * current, state)

    def extra_repr(self) -> str:
        a = f"learnable ({self.alpha_param})" if self.alpha_raw is not None else f"{self._alpha:g}"
        return f"alpha={a}, " + super().extra_repr()


register(DALIF.kind, DALIF)


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
