"""Every neuron model, each with its fused time loop; one file per family.

* :mod:`~snnlab.neurons.lif` - :class:`LIF`, :class:`IF`, :class:`SynapticLIF` (the pure steps and
  the shared fused LIF loop are in :mod:`snnlab.functional`);
* :mod:`~snnlab.neurons.dalif` - :class:`DALIF` (learnable spatial and temporal decays);
* :mod:`~snnlab.neurons.antlr` - :class:`AntlrLIF`, the ANTLR paper's neuron with both gradient
  routes;
* :mod:`~snnlab.neurons.psp` - :class:`PSPLIF`, TSSL-BP's PSP neuron and its timing backward;
* :mod:`~snnlab.neurons.converted` - :class:`ConvertedIF`, the neuron of ANN-to-SNN conversion.

Every neuron runs three ways: ``neuron(current)`` (spikes over ``[T, B, ...]``),
``neuron.simulate(current)`` (``(spikes, membrane)``) and ``neuron.advance(current_t, state)``
(one step with explicit state from ``neuron.init_state(like)``, for online rules).

:func:`make` builds a neuron by name from the table below (``mlp(..., neuron="name")`` uses it);
:func:`register` adds a user's own class to it.
"""

from __future__ import annotations

from torch import nn

from .._checks import check_choice
from .antlr import AntlrLIF, ExpSurrogate, psp_kernel
from .converted import ConvertedIF
from .dalif import DALIF, dalif_decays, dalif_per_channel
from .lif import IF, LIF, SynapticLIF
from .psp import PSPLIF, psp, tssl_spikes

__all__ = ["LIF", "IF", "SynapticLIF", "DALIF", "AntlrLIF", "PSPLIF", "ConvertedIF",
           "ExpSurrogate", "psp_kernel", "psp", "tssl_spikes", "dalif_per_channel",
           "dalif_decays", "register", "make", "available"]

# name -> class: every built-in neuron, in one place (a new model adds one line here)
_NEURONS: dict[str, type[nn.Module]] = {
    "lif": LIF,
    "if": IF,
    "lif_syn": SynapticLIF,
    "dalif": DALIF,
    "antlr_lif": AntlrLIF,
    "psp_lif": PSPLIF,
    "if_conv": ConvertedIF,
}


def register(name: str, cls: type[nn.Module]) -> type[nn.Module]:
    """Make a user's neuron class available by name (``mlp(..., neuron=name)``)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    _NEURONS[name] = cls
    return cls


def available() -> list[str]:
    """Names of every neuron :func:`make` can build."""
    return sorted(_NEURONS)


def make(name: str, **kw) -> nn.Module:
    """Build a neuron by name with keyword parameters."""
    cls = _NEURONS[check_choice("neuron", name, _NEURONS)]
    try:
        return cls(**kw)
    except TypeError as e:
        raise TypeError(f"neuron {name!r}: {e}") from None
