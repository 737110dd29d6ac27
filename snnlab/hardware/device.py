r"""The device: non-idealities of a mixed-signal neuromorphic chip (:class:`NoiseModel`), the
chips it programs (:meth:`NoiseModel.program`), inspecting them and writing updated weights to
them (:func:`reprogram`). Calibration, sweeps and notebook 13's views are the other modules of
:mod:`snnlab.hardware`.

The device model, in the order the chip applies it to weight :math:`w` of a layer
(:class:`Crossbar`), with conductances in units of :math:`g_{max}` (:math:`g_{max} = 1`):

1. **Differential-pair mapping** (e.g. Joshi et al. 2020; IBM aihwkit's PCM model): with a
   per-layer scale :math:`s = w_{max} / (g_{max} - g_{min})`, :math:`w_{max} = \max |W|` at
   programming time,

   .. math:: G^{+} = g_{min} + \max(w, 0)/s, \qquad G^{-} = g_{min} + \max(-w, 0)/s,
             \qquad w_{eff} = s\,(G^{+} - G^{-}).                                   \quad (1)

2. **b-bit conductance quantisation**: each device can only be programmed to :math:`2^b`
   evenly spaced levels in :math:`[g_{min}, g_{max}]`,
   :math:`Q(G) = g_{min} + \Delta\,\mathrm{round}((G - g_{min})/\Delta)`,
   :math:`\Delta = (g_{max}-g_{min})/(2^b - 1)` (2). Multi-level RRAM/PCM cells typically hold
   2-6 bits in practice; far more levels have been shown in the lab (e.g. Rao et al., Nature
   2023, report thousands of levels).
3. **Device-to-device variation** (frozen programming error), per device,
   log-normal :math:`G \leftarrow G\,e^{\sigma \varepsilon}` or Gaussian
   :math:`G \leftarrow \max(G\,(1 + \sigma \varepsilon), 0)`, :math:`\varepsilon \sim N(0, 1)`
   (3). Resistive-switching conductances are commonly reported as log-normally distributed
   (e.g. Ambrogio et al., IEEE TED 2014, for HfO\ :sub:`x` RRAM); we treat
   :math:`\sigma \approx 0.1`-:math:`0.5` (log units) as the usual range and 0.6 as a
   pessimistic corner (our choice of range, not a figure quoted from one measurement).
   Also our choice: the log-normal factor is *not* mean-corrected, so it raises the mean
   conductance by :math:`e^{\sigma^2/2}`, as a real skewed spread would.
4. **Conductance drift** (PCM), a power law in the time since programming,
   :math:`G(t) = G(t_0)\,(t/t_0)^{-\nu}` for :math:`t > t_0`, with a per-device exponent
   :math:`\nu \sim N(\mu_\nu, \sigma_\nu)` clipped at 0 (4). IBM's PCM model (Nandakumar et al.
   2019; Joshi et al. 2020, as implemented in aihwkit) uses :math:`t_0 = 20` s,
   :math:`\mu_\nu \approx 0.05`-:math:`0.1` and :math:`\sigma_\nu \approx 0.01`-:math:`0.045`.
   RRAM drifts much less. Our simplification: :math:`\nu` does not depend on the conductance.
5. **Stuck-at faults**: a fraction of devices is stuck *on* (:math:`G = g_{max}`, low
   resistance) or *off* (:math:`G = g_{min}`) whatever is programmed (5). Rates of a few
   per cent up to ~10 % are reported for fabricated RRAM arrays; the RRAM fault-tolerance
   literature (e.g. Xia et al., DAC 2017) quotes 1.75 % stuck-at-0 and 9.04 % stuck-at-1 from
   Chen et al., IEEE Trans. Computers 2015 (figures not checked against the original here).
6. **Cycle-to-cycle read noise**, redrawn at every read, i.e. every time step and sample:
   each device reads :math:`G\,(1 + \sigma_r \xi)`, :math:`\xi \sim N(0,1)` (6). PCM's
   1/f read noise is a few per cent of :math:`G` (aihwkit's PCM model:
   :math:`Q_s \lesssim 0.2`, typically 0.01-0.05).

   Implementation: the synapse is applied to all T steps at once (``functional.over_time``), so
   the weights cannot carry per-step noise. Instead a forward hook on the Linear/Conv adds to
   its output the *exact* distribution of the summed device noise: for input :math:`x`
   (one row per step and sample), the noise on output :math:`j` is Gaussian with variance
   :math:`\sigma_r^2 s^2 \sum_i x_i^2 \,((G^+_{ij})^2 + (G^-_{ij})^2)` (7), computed with the
   same Linear/Conv applied to :math:`x^2` with weights :math:`(G^+)^2 + (G^-)^2`. The noise is
   independent across rows, i.e. across time steps and samples, and carries no gradient.

Neuron circuits (analogue CMOS, transistor mismatch; parameter spreads of roughly 10-30 %
coefficient of variation are what studies of DYNAP-SE-class subthreshold circuits work with,
e.g. Büchel et al., Sci. Rep. 2021; Zendrikov et al. 2023 - approximate, not quoted):

7. **Threshold mismatch** :math:`\vartheta_i = \vartheta\,\max(1 + \sigma_\vartheta
   \varepsilon_i, 0.05)` (8). Implemented *equivalently* by scaling neuron i's input current by
   :math:`\vartheta/\vartheta_i`: with :math:`u' = u\,\vartheta/\vartheta_i` the LIF equations
   :math:`u = \beta v + I`, :math:`s = H(u - \vartheta_i)`, :math:`v = u - \vartheta_i s`
   (or :math:`u(1-s)`) become exactly :math:`u' = \beta v' + I\vartheta/\vartheta_i`,
   :math:`s = H(u' - \vartheta)`, :math:`v' = u' - \vartheta s`: identical spikes, membrane in
   units of the nominal threshold. (Surrogate gradients see the rescaled membrane.)
8. **Leak mismatch**: the membrane time constant varies, :math:`\tau_i = \tau\,\max(1 +
   \sigma_\tau \varepsilon_i, 0.05)`, so :math:`\beta_i = e^{-dt/\tau_i} = \beta^{\tau/\tau_i}`
   (9); IF neurons (:math:`\beta = 1`) are unaffected. Stored as a per-neuron decay on the
   neuron (the fused LIF loop takes a tensor ``beta``).

What the chip does *not* model: wire resistance / IR drop, sneak paths, ADC/DAC resolution,
non-linear or asymmetric update pulses, and biases (kept ideal: on a chip they are usually a
peripheral current source). The readout integrator is ideal too; its crossbar is not.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as TF
from torch import nn
from torch.nn.utils import parametrize

from .._checks import check_choice, check_float, check_int

__all__ = ["NoiseModel", "Crossbar", "NeuronMismatch", "VARIATIONS", "PARAMETERS", "is_chip",
           "crossbars", "programmed_weights", "effective_weights", "reprogram"]

VARIATIONS = ("lognormal", "gaussian")
_CROSSBAR_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d)


@dataclass(frozen=True)
class NoiseModel:
    r"""The non-idealities of a mixed-signal chip (equations in the module docstring).

    Conductances are in units of :math:`g_{max}` (so ``g_max = 1`` by default).

    Args:
        sigma: device-to-device variation :math:`\sigma` (eq. 3); 0 = ideal devices.
        variation: ``"lognormal"`` (:math:`G e^{\sigma\varepsilon}`) or ``"gaussian"``
            (:math:`G(1 + \sigma\varepsilon)`).
        read_noise: cycle-to-cycle read noise :math:`\sigma_r`, relative to each device's
            conductance, redrawn every time step (eqs. 6-7).
        bits: conductance levels per device :math:`2^b` (eq. 2); ``None`` = analogue.
        g_min, g_max: the conductance range; ``g_min / g_max`` is the inverse on/off ratio.
        stuck_on, stuck_off: fractions of devices stuck at ``g_max`` / ``g_min`` (eq. 5).
        drift_nu, drift_nu_std: mean and spread of the drift exponent (eq. 4).
        drift_time: seconds since programming at which the chip is read; drift starts after
            ``drift_t0`` (default 20 s, as IBM's PCM model).
        threshold_mismatch: relative spread of per-neuron thresholds (eq. 8).
        leak_mismatch: relative spread of per-neuron membrane time constants (eq. 9).

    ``noise.program(model, seed)`` returns a chip; ``noise.replace(sigma=0.3)`` a modified copy.
    """

    sigma: float = 0.0
    variation: str = "lognormal"
    read_noise: float = 0.0
    bits: int | None = None
    g_min: float = 0.0
    g_max: float = 1.0
    stuck_on: float = 0.0
    stuck_off: float = 0.0
    drift_nu: float = 0.0
    drift_nu_std: float = 0.0
    drift_time: float = 0.0
    drift_t0: float = 20.0
    threshold_mismatch: float = 0.0
    leak_mismatch: float = 0.0

    def __post_init__(self):
        check_float("sigma", self.sigma, low=0.0)
        check_choice("variation", self.variation, VARIATIONS)
        check_float("read_noise", self.read_noise, low=0.0)
        if self.bits is not None:
            check_int("bits", self.bits, low=1, high=16)
        check_float("g_max", self.g_max, low=0.0, low_open=True)
        check_float("g_min", self.g_min, low=0.0, high=self.g_max, high_open=True)
        check_float("stuck_on", self.stuck_on, low=0.0, high=1.0)
        check_float("stuck_off", self.stuck_off, low=0.0, high=1.0)
        if self.stuck_on + self.stuck_off > 1.0:
            raise ValueError(f"stuck_on + stuck_off must be <= 1, got "
                             f"{self.stuck_on} + {self.stuck_off}")
        check_float("drift_nu", self.drift_nu, low=0.0)
        check_float("drift_nu_std", self.drift_nu_std, low=0.0)
        check_float("drift_time", self.drift_time, low=0.0)
        check_float("drift_t0", self.drift_t0, low=0.0, low_open=True)
        check_float("threshold_mismatch", self.threshold_mismatch, low=0.0)
        check_float("leak_mismatch", self.leak_mismatch, low=0.0)

    # -- what is switched on ----------------------------------------------------------------
    @property
    def drifts(self) -> bool:
        return (self.drift_nu > 0 or self.drift_nu_std > 0) and self.drift_time > self.drift_t0

    @property
    def changes_weights(self) -> bool:
        """Whether the frozen weights differ from the programmed ones (eqs. 2-5)."""
        return (self.sigma > 0 or self.bits is not None or self.stuck_on > 0
                or self.stuck_off > 0 or self.drifts)

    @property
    def ideal(self) -> bool:
        """No non-ideality at all: a chip of this model computes exactly the model."""
        return (not self.changes_weights and self.read_noise == 0
                and self.threshold_mismatch == 0 and self.leak_mismatch == 0)

    def replace(self, **changes) -> NoiseModel:
        """A copy with some fields changed (``noise.replace(sigma=0.3)``)."""
        unknown = set(changes) - set(PARAMETERS)
        if unknown:
            raise ValueError(f"unknown noise parameter(s) {sorted(unknown)}; "
                             f"choose from {list(PARAMETERS)}")
        return dataclasses.replace(self, **changes)

    def program(self, model: nn.Module, seed: int = 0) -> nn.Module:
        """Program ``model`` onto a chip with this noise model.

        Returns a deep copy of ``model`` (the original is not touched) in which

        * every Linear/Conv weight (hidden layers and readout) is parametrized by a
          :class:`Crossbar` holding the frozen device draws; ``module.weight`` is the effective
          weight, ``module.parametrizations.weight.original`` the programmed one (what
          calibration updates);
        * with ``read_noise > 0`` a forward hook adds per-read noise to the currents (eq. 7);
        * with threshold or leak mismatch, each hidden layer gets a
          :class:`NeuronMismatch` (``layer.mismatch``) and its neuron per-neuron decays.

        The same ``seed`` always gives the same chip. The chip carries ``noise_model`` and
        ``chip_seed`` attributes.
        """
        check_int("seed", seed, low=0)
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a SpikingNet (nn.Module), got {type(model).__name__}")
        if is_chip(model):
            raise ValueError("model is already a chip; program the original network instead")
        chip = copy.deepcopy(model)
        gen = torch.Generator().manual_seed(seed)
        shapes = _neuron_shapes(chip) if hasattr(chip, "layers") else []
        # weights first, in module order, so each device's draw depends only on (seed, layer)
        targets = [m for m in chip.modules() if isinstance(m, _CROSSBAR_TYPES)]
        if not targets:
            raise ValueError("model has no Linear/Conv synapses to program")
        for m in targets:
            xbar = Crossbar(m.weight, self, gen)
            parametrize.register_parametrization(m, "weight", xbar)
            if self.read_noise > 0:
                m.register_forward_hook(_ReadNoiseHook(self.read_noise))
        if (self.threshold_mismatch > 0 or self.leak_mismatch > 0) and not shapes:
            raise ValueError("threshold/leak mismatch needs a SpikingNet (with .layers)")
        for layer, shape in zip(getattr(chip, "layers", []), shapes):
            mm = NeuronMismatch(shape, self, layer.neuron, gen).to(_device_of(layer))
            if self.threshold_mismatch > 0 or self.leak_mismatch > 0:
                layer.mismatch = mm  # inspectable, saved in the state_dict
            if self.threshold_mismatch > 0:
                layer.synapse.register_forward_hook(_ThresholdGain(mm))
            if self.leak_mismatch > 0:
                _set_beta(layer.neuron, mm.beta)
        chip.noise_model = self
        chip.chip_seed = seed
        return chip


#: names of the :class:`NoiseModel` fields (what :func:`sweep` can vary)
PARAMETERS = tuple(f.name for f in dataclasses.fields(NoiseModel))


# --------------------------------------------------------------------------- devices
class Crossbar(nn.Module):
    r"""Parametrization of one weight tensor: programmed weights -> effective weights.

    Holds the frozen per-device draws as buffers (device 0 is :math:`G^+`, device 1
    :math:`G^-`; shape ``[2, *weight.shape]``): ``gain`` (eq. 3), ``drift`` (eq. 4) and
    ``stuck`` (0 healthy, 1 stuck off, 2 stuck on; eq. 5), and the layer's ``w_max``.
    ``forward(w)`` returns the effective weight with a straight-through gradient:
    :math:`w + \mathrm{sg}(w_{eff}(w) - w)`, so a learning rule's gradient with respect to the
    effective weight is applied, unchanged, to the programmed weight - what an on-chip learning
    circuit (or a chip-in-the-loop host) does, since neither knows each device's error.
    """

    def __init__(self, weight: torch.Tensor, noise: NoiseModel, gen: torch.Generator):
        super().__init__()
        self.noise = noise
        w = weight.detach()
        w_max = float(w.abs().max()) if w.numel() else 0.0
        self.register_buffer("w_max", torch.tensor(w_max if w_max > 0 else 1.0,
                                                   dtype=w.dtype, device=w.device))
        shape = (2, *w.shape)
        # every draw is made whatever is switched on, so one non-ideality's draw does not
        # depend on which others are active (same seed -> same devices in every experiment)
        eps = torch.randn(shape, generator=gen)
        u = torch.rand(shape, generator=gen)
        nu_eps = torch.randn(shape, generator=gen)
        n = noise
        if n.variation == "lognormal":
            gain = torch.exp(n.sigma * eps)
        else:
            gain = (1.0 + n.sigma * eps).clamp_min(0.0)
        nu = (n.drift_nu + n.drift_nu_std * nu_eps).clamp_min(0.0)
        ratio = max(n.drift_time, n.drift_t0) / n.drift_t0
        drift = ratio ** (-nu)
        stuck = torch.zeros(shape, dtype=torch.int8)
        stuck[u < n.stuck_off] = 1
        stuck[(u >= n.stuck_off) & (u < n.stuck_off + n.stuck_on)] = 2
        opts = dict(dtype=w.dtype, device=w.device)
        self.register_buffer("gain", gain.to(**opts))
        self.register_buffer("drift", drift.to(**opts))
        self.register_buffer("stuck", stuck.to(w.device))

    @property
    def scale(self) -> torch.Tensor:
        """Weight per unit conductance, :math:`s = w_{max} / (g_{max} - g_{min})`."""
        return self.w_max / (self.noise.g_max - self.noise.g_min)

    def quantise(self, g: torch.Tensor) -> torch.Tensor:
        """Eq. (2): nearest of the :math:`2^b` levels in ``[g_min, g_max]``."""
        n = self.noise
        if n.bits is None:
            return g
        delta = (n.g_max - n.g_min) / (2 ** n.bits - 1)
        return n.g_min + torch.round((g - n.g_min) / delta) * delta

    def target(self, w: torch.Tensor) -> torch.Tensor:
        """Eq. (1): the ideal conductances ``[2, *w.shape]`` of a (clipped) weight tensor."""
        w = torch.minimum(torch.maximum(w, -self.w_max), self.w_max)
        return self.noise.g_min + torch.stack([w.clamp_min(0), (-w).clamp_min(0)]) / self.scale

    def conductances(self, w: torch.Tensor) -> torch.Tensor:
        """What the devices hold (eqs. 1-5): ``[2, *w.shape]``, ``[0]`` = G+, ``[1]`` = G-."""
        n = self.noise
        g = self.quantise(self.target(w))
        if n.sigma > 0:
            g = g * self.gain
        if n.drifts:
            g = g * self.drift
        if n.stuck_on > 0 or n.stuck_off > 0:
            g = torch.where(self.stuck == 2, torch.full_like(g, n.g_max), g)
            g = torch.where(self.stuck == 1, torch.full_like(g, n.g_min), g)
        return g

    def effective(self, w: torch.Tensor) -> torch.Tensor:
        """The weight the chip computes with, :math:`s (G^+ - G^-)`."""
        g = self.conductances(w)
        return (g[0] - g[1]) * self.scale

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        if not self.noise.changes_weights:
            return w  # bit-identical: the ideal chip is the model
        return w + (self.effective(w) - w).detach()

    def extra_repr(self) -> str:
        return f"w_max={float(self.w_max):.4g}"


class _ReadNoiseHook:
    """Forward hook adding eq. (7) to a crossbar's output (a plain object: deep-copies)."""

    def __init__(self, sigma: float):
        self.sigma = float(sigma)

    def __call__(self, module, inputs, output):
        x = inputs[0]
        xbar = module.parametrizations.weight[0]
        with torch.no_grad():
            g = xbar.conductances(module.parametrizations.weight.original)
            g2 = (g[0] ** 2 + g[1] ** 2) * (self.sigma * xbar.scale) ** 2
            x2 = x * x
            if isinstance(module, nn.Linear):
                var = TF.linear(x2, g2)
            else:
                var = module._conv_forward(x2, g2, None)
            noise = var.clamp_min(0).sqrt() * torch.randn_like(output)
        return output + noise


class NeuronMismatch(nn.Module):
    r"""Frozen per-neuron draws of one layer: ``threshold`` :math:`\vartheta_i` (eq. 8),
    ``gain`` :math:`\vartheta/\vartheta_i` applied to the input current, and ``beta``
    :math:`\beta_i` (eq. 9), each of the layer's neuron shape."""

    def __init__(self, shape, noise: NoiseModel, neuron: nn.Module, gen: torch.Generator):
        super().__init__()
        eps_th = torch.randn(tuple(shape), generator=gen)
        eps_tau = torch.randn(tuple(shape), generator=gen)
        theta = float(getattr(neuron, "threshold", 1.0))
        rel = (1.0 + noise.threshold_mismatch * eps_th).clamp_min(0.05)
        self.register_buffer("threshold", theta * rel)
        self.register_buffer("gain", 1.0 / rel)
        beta = getattr(neuron, "beta", 1.0)
        tau_rel = (1.0 + noise.leak_mismatch * eps_tau).clamp_min(0.05)
        if isinstance(beta, torch.Tensor):
            beta_i = beta.detach() ** (1.0 / tau_rel)
        else:
            beta_i = float(beta) ** (1.0 / tau_rel)
        self.register_buffer("beta", beta_i)


class _ThresholdGain:
    """Forward hook on a hidden layer's synapse: eq. (8) as a per-neuron current gain."""

    def __init__(self, mismatch: NeuronMismatch):
        self.mismatch = mismatch

    def __call__(self, module, inputs, output):
        return output * self.mismatch.gain.to(dtype=output.dtype)


def _set_beta(neuron: nn.Module, beta_i: torch.Tensor) -> None:
    """Give a LIF-type neuron per-neuron fixed decays (eq. 9)."""
    if not hasattr(neuron, "beta_logit"):
        raise ValueError(f"leak mismatch needs a LIF-type neuron, got {type(neuron).__name__}")
    if isinstance(neuron.beta_logit, nn.Parameter):
        raise ValueError("leak mismatch needs a neuron with a fixed decay; this one learns its "
                         "beta (learn_beta=True)")
    if float(getattr(neuron, "beta", 1.0)) >= 1.0:
        return  # IF: no leak to mismatch
    # a buffer with the decay's logit is how LIF stores per-neuron decays (sigmoid(logit))
    neuron.beta_logit = torch.logit(beta_i.clamp(1e-6, 1 - 1e-6).double()).to(beta_i.dtype)


def _device_of(module: nn.Module) -> torch.device:
    p = next(iter(module.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def _neuron_shapes(net) -> list[tuple[int, ...]]:
    """The output shape (per sample) of every hidden layer's synapse."""
    h = torch.zeros(1, 1, *net.input_shape, device=_device_of(net))
    shapes = []
    for layer in net.layers:
        c = layer.current(h)
        shapes.append(tuple(c.shape[2:]))
        h = torch.zeros_like(c)
    return shapes


# --------------------------------------------------------------------------- inspection
def is_chip(model: nn.Module) -> bool:
    """Whether ``model`` was made by :meth:`NoiseModel.program`."""
    return isinstance(model, nn.Module) and any(
        isinstance(m, _CROSSBAR_TYPES) and parametrize.is_parametrized(m, "weight")
        and isinstance(m.parametrizations.weight[0], Crossbar) for m in model.modules())


def crossbars(chip: nn.Module) -> list[tuple[str, nn.Module, Crossbar]]:
    """``(name, module, crossbar)`` for every programmed Linear/Conv of a chip."""
    if not is_chip(chip):
        raise ValueError("not a chip: make one with NoiseModel(...).program(model, seed)")
    return [(name, m, m.parametrizations.weight[0]) for name, m in chip.named_modules()
            if isinstance(m, _CROSSBAR_TYPES) and parametrize.is_parametrized(m, "weight")]


def programmed_weights(chip: nn.Module) -> dict[str, torch.Tensor]:
    """What was written to the chip (``original``): the weights calibration updates."""
    return {name: m.parametrizations.weight.original.detach().clone()
            for name, m, _ in crossbars(chip)}


@torch.no_grad()
def effective_weights(chip: nn.Module) -> dict[str, torch.Tensor]:
    """The weights the chip actually computes with (frozen draws; no read noise)."""
    return {name: xbar.effective(m.parametrizations.weight.original).clone()
            if xbar.noise.changes_weights else m.parametrizations.weight.original.clone()
            for name, m, xbar in crossbars(chip)}


@torch.no_grad()
def reprogram(chip: nn.Module, *, rounding: str = "stochastic",
              generator: torch.Generator | None = None) -> None:
    """Write updated weights to the devices as the chip can hold them: clip to the programmed
    range :math:`[-w_{max}, w_{max}]` and, with ``bits``, round to the differential pair's grid
    :math:`w_{max}\\,k/(2^b-1)`. ``rounding="stochastic"`` rounds up with probability equal
    to the remainder (unbiased, so updates smaller than a level still count on average;
    e.g. Gupta et al., ICML 2015), ``"nearest"`` drops them."""
    check_choice("rounding", rounding, ("stochastic", "nearest"))
    for _, m, xbar in crossbars(chip):
        w = m.parametrizations.weight.original
        w.copy_(torch.minimum(torch.maximum(w, -xbar.w_max), xbar.w_max))
        if xbar.noise.bits is not None:
            step = xbar.w_max / (2 ** xbar.noise.bits - 1)
            k = w / step
            if rounding == "stochastic":
                r = torch.rand(k.shape, generator=generator).to(k.device, k.dtype)
                k = torch.floor(k + r)
            else:
                k = torch.round(k)
            w.copy_(k * step)
