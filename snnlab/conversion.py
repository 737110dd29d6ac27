r"""ANN-to-SNN conversion, and where its error comes from.

A ReLU network trained as usual becomes a spiking network by replacing every ReLU with an
integrate-and-fire (IF) neuron with reset by subtraction and reading its *firing rate* as the
activation. With threshold :math:`\vartheta`, initial membrane :math:`v_0` and a constant input
current :math:`z` (Rueckauer et al. 2017, eq. 2-5),

.. math::  N(T)\,\vartheta = T z + v_0 - v(T)
           \quad\Rightarrow\quad
           \frac{\vartheta N(T)}{T} = z - \frac{v(T) - v_0}{T},

so the rate equals :math:`z/\vartheta` up to a residual that shrinks as :math:`1/T`, as long as
:math:`0 \le z \le \vartheta` (above it the neuron saturates at one spike per step).

What this module gives:

* :func:`convert` - copy the ANN's synapses (BatchNorm folded in, with eps; a residual layer's
  identity skip is rescaled like its weights), scale every layer so
  its threshold sits at :math:`\lambda^l` (``W^l <- W^l lambda^{l-1}/lambda^l``,
  ``b^l <- b^l/lambda^l``, threshold 1; Diehl et al. 2015), with :math:`\lambda^l` from
  ``"max"`` (data-based max, Diehl 2015), ``"percentile"`` (Rueckauer 2017; p = 99.9 over the
  non-zero activations by default, as snn_toolbox), ``"model"`` (Diehl 2015's weight-based
  bound) or ``"qcfs"`` (the trained clipping level of a QCFS network);
* :class:`QCFS` and :func:`train_qcfs` - the quantisation-clip-floor-shift activation of Bu et al.
  (ICLR 2022), :math:`h(z) = \lambda\,\mathrm{clip}(\lfloor zL/\lambda + 1/2\rfloor / L, 0, 1)`
  with trainable :math:`\lambda`; converted with :math:`\vartheta = \lambda` and
  :math:`v_0 = \vartheta/2` its even-input error is zero at T = L;
* :func:`errors` - the exact per-layer decomposition of SNN-vs-ANN error into clipping,
  quantisation and unevenness (see there), and :func:`accuracy_vs_T`.

Measured on digits (ReLU MLP 64-128-128-10, 96.9%; notebook 06): p99.9 with v0 = 0 gives
21.9 / 94.4 / 96.7 / 96.9 / 97.2% at T = 2 / 4 / 8 / 16 / 64, with v0 = θ/2 94.7 / 96.7 / 96.9%
at T = 2 / 4 / 8; max norm at T = 4 87.8% (v0 = 0); the model-based norm needs T = 32-64. At
T = 4, v0 = 0 the mean |error| is quantisation 0.166 (layer 1) and 0.485 (layer 2), unevenness
0.000 and 0.0005, clipping ~0; v0 = θ/2 roughly halves quantisation. QCFS (L = 4, lambda from 2):
ANN 96.9%, SNN 94.4 / 96.4 / 96.9 / 97.2% at T = 1 / 2 / 4 / 8, zero quantisation error at T = L.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ._checks import check_choice, check_float, check_int, check_tensor
from .encoding import encode
from .models import ANNTwin, SpikingLayer, SpikingNet
from .neurons import ConvertedIF
from .readouts import MembraneReadout
from .teacher import _load, fit_ann, fresh_like
from .teacher import ann_accuracy as teacher_ann_accuracy
from .zoo import Residual

__all__ = ["QCFS", "QCFSTwin", "train_qcfs", "fold_bn", "fold_synapse",
           "percentile", "layer_scales", "convert", "errors", "accuracy_vs_T", "NORMS",
           "staircase"]

NORMS = ("max", "percentile", "model", "qcfs")


# --------------------------------------------------------------------------- QCFS (Bu et al.)
class _FloorSTE(torch.autograd.Function):
    """floor forward, identity backward (the straight-through estimator of QCFS)."""

    @staticmethod
    def forward(ctx, x):
        return torch.floor(x)

    @staticmethod
    def backward(ctx, g):
        return g


class QCFS(nn.Module):
    r"""Quantisation-clip-floor-shift activation (Bu et al., ICLR 2022, eq. 13):
    :math:`h(z) = \lambda\,\mathrm{clip}(\lfloor z L/\lambda + \varphi\rfloor / L, 0, 1)`.

    ``lam`` (:math:`\lambda`, trainable) starts at 8 as in the authors' code (issue #10 of
    their repository: initialising at 1 lets it drift negative). With the floor's straight-through
    estimator, autograd gives :math:`\partial h/\partial z = 1` on (0, lambda) and
    :math:`\partial h/\partial\lambda = (h - z)/\lambda` inside, 1 above."""

    def __init__(self, levels: int = 4, lam: float = 8.0, shift: float = 0.5):
        super().__init__()
        self.levels = check_int("levels", levels, low=1)
        self.shift = check_float("shift", shift, low=0.0, high=1.0)
        self.lam = nn.Parameter(torch.tensor(check_float("lam", lam, low=0.0, low_open=True)))

    def forward(self, z):
        x = z / self.lam
        x = _FloorSTE.apply(x * self.levels + self.shift) / self.levels
        return x.clamp(0.0, 1.0) * self.lam

    def extra_repr(self) -> str:
        return f"levels={self.levels}, lam={float(self.lam.detach()):.3g}, shift={self.shift:g}"


class QCFSTwin(ANNTwin):
    """An :class:`ANNTwin` with one :class:`QCFS` per hidden layer (each its own lambda)."""

    def __init__(self, snn: SpikingNet, levels: int = 4, lam: float = 8.0):
        super().__init__(snn, nn.Identity())
        self.acts = nn.ModuleList([QCFS(levels, lam) for _ in self.synapses])

    def activations(self, x):
        out, h = [], x
        for syn, act in zip(self.synapses, self.acts):
            h = act(syn(h))
            out.append(h)
        out.append(self.readout(h))
        return out


def train_qcfs(data, like: SpikingNet | None = None, *, hidden=(128,), levels: int = 4,
               lam: float = 8.0, epochs: int = 20, lr: float = 1e-3, batch_size: int = 64,
               seed: int = 0, progress: bool = False) -> QCFSTwin:
    """Train a QCFS network (quantised clipped ReLU with trainable lambda) with ``like``'s
    architecture; returns a :class:`QCFSTwin` with ``test_acc``, ``config``, ``input_shape``."""
    data = _load(data, seed)
    torch.manual_seed(check_int("seed", seed, low=0))
    net = fresh_like(like, data, hidden)
    twin = QCFSTwin(net, levels, lam)
    accs = fit_ann(twin, data, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                   progress=progress)
    twin.eval()
    twin.test_acc = accs[-1] if accs else float("nan")
    twin.acc_history = accs
    twin.config = dict(net.config)
    twin.input_shape = tuple(net.input_shape)
    return twin


# --------------------------------------------------------------------------- BatchNorm folding
_BN = (nn.BatchNorm1d, nn.BatchNorm2d)
_WEIGHTED = (nn.Linear, nn.Conv2d, nn.Conv1d)


@torch.no_grad()
def fold_bn(layer: nn.Module, bn: nn.Module) -> nn.Module:
    r"""A copy of ``layer`` (Linear/Conv) with the eval-mode BatchNorm ``bn`` that follows it
    folded in: :math:`\tilde W = W\gamma/\sqrt{\sigma^2+\epsilon}`,
    :math:`\tilde b = \beta + \gamma(b - \mu)/\sqrt{\sigma^2+\epsilon}` (with eps, as QCFS)."""
    if not isinstance(layer, _WEIGHTED):
        raise TypeError(f"fold_bn needs a Linear or Conv layer, got {type(layer).__name__}")
    if not isinstance(bn, _BN):
        raise TypeError(f"fold_bn needs a BatchNorm layer, got {type(bn).__name__}")
    out = copy.deepcopy(layer)
    if out.bias is None:
        out.bias = nn.Parameter(torch.zeros(out.weight.shape[0], dtype=out.weight.dtype))
    gamma = bn.weight if bn.weight is not None else torch.ones_like(bn.running_var)
    beta = bn.bias if bn.bias is not None else torch.zeros_like(bn.running_var)
    scale = gamma / torch.sqrt(bn.running_var + bn.eps)
    out.weight.mul_(scale.reshape(-1, *([1] * (out.weight.ndim - 1))))
    out.bias.copy_(beta + scale * (out.bias - bn.running_mean))
    return out


def fold_synapse(synapse: nn.Module) -> nn.Module:
    """A copy of a synapse with every BatchNorm folded into the Linear/Conv before it (in the
    branch of a :class:`~snnlab.zoo.Residual` synapse; its identity skip has nothing to fold)."""
    if isinstance(synapse, Residual):
        return Residual(fold_synapse(synapse.branch), synapse.skip_scale)
    if isinstance(synapse, _WEIGHTED):
        return copy.deepcopy(synapse)
    if not isinstance(synapse, nn.Sequential):
        return copy.deepcopy(synapse)
    parts: list[nn.Module] = []
    for m in synapse:
        if isinstance(m, _BN):
            if not parts or not isinstance(parts[-1], _WEIGHTED):
                raise ValueError("a BatchNorm must directly follow a Linear/Conv to be folded")
            parts[-1] = fold_bn(parts[-1], m)
        else:
            parts.append(copy.deepcopy(m))
    return nn.Sequential(*parts)


def _weighted(synapse: nn.Module) -> nn.Module:
    mods = [m for m in synapse.modules() if isinstance(m, _WEIGHTED)]
    if len(mods) != 1:
        raise ValueError(f"conversion needs exactly one Linear/Conv per synapse, found {len(mods)}"
                         f" in {synapse}")
    for m in synapse.modules():
        if isinstance(m, _BN):
            raise ValueError("fold BatchNorm first (fold_synapse)")
    return mods[0]


# --------------------------------------------------------------------------- normalisation
def percentile(x: torch.Tensor, p: float) -> torch.Tensor:
    """The ``p``-th percentile of all elements of ``x`` by nearest rank, without interpolation
    (``numpy.percentile(x, p, method="nearest")``; the LTL code's kthvalue percentile)."""
    check_float("p", p, low=0.0, high=100.0)
    flat = x.detach().reshape(-1)
    k = 1 + int(round(0.01 * p * (flat.numel() - 1)))
    return flat.float().kthvalue(k).values.to(x.dtype)


@torch.no_grad()
def _max_input(synapse, lo, hi):
    """Upper bound of ``synapse(x)`` over the box ``lo <= x <= hi`` (Diehl's model-based norm):
    positive weights see ``hi``, negative weights see ``lo``."""
    if isinstance(synapse, Residual):
        raise ValueError("norm='model' does not bound residual layers (the skip adds the "
                         "input); use norm='max' or 'percentile'")
    pos, neg = copy.deepcopy(synapse), copy.deepcopy(synapse)
    wp, wn = _weighted(pos), _weighted(neg)
    wp.weight.clamp_(min=0.0)
    wn.weight.clamp_(max=0.0)
    if wn.bias is not None:
        wn.bias.zero_()
    return pos(hi) + neg(lo)


@torch.no_grad()
def layer_scales(ann: ANNTwin, x: torch.Tensor, norm: str = "percentile",
                 p: float = 99.9) -> list[float]:
    r"""The normalisation factor :math:`\lambda^l` of every hidden layer (ANN units).

    ``max``: the largest activation on ``x``; ``percentile``: the ``p``-th percentile of the
    *non-zero* activations on ``x``; ``model``: the largest input any neuron can receive when the
    inputs range over the data's per-feature box and every hidden layer over
    :math:`[0, \lambda^{l-1}]`; ``qcfs``: the trained ``lam`` of each QCFS activation."""
    check_choice("norm", norm, NORMS)
    synapses = [fold_synapse(s) for s in ann.synapses]
    if norm == "qcfs":
        if not isinstance(ann, QCFSTwin):
            raise ValueError("norm='qcfs' needs a QCFSTwin (train it with train_qcfs)")
        return [float(a.lam) for a in ann.acts]
    if norm == "model":
        lo, hi = x.min(0, keepdim=True).values, x.max(0, keepdim=True).values
        scales = []
        for syn in synapses:
            lam = float(_max_input(syn, lo, hi).max())
            lam = lam if lam > 0 else 1.0
            scales.append(lam)
            shape = syn(lo).shape
            lo, hi = torch.zeros(shape), torch.full(shape, lam)
        return scales
    scales = []
    for a in ann.activations(x)[:-1]:
        if norm == "max":
            lam = float(a.max())
        else:
            nz = a[a > 0]
            lam = float(percentile(nz, p)) if nz.numel() else 0.0
        scales.append(lam if lam > 0 else 1.0)
    return scales


@torch.no_grad()
def convert(ann: ANNTwin, x: torch.Tensor, *, norm: str | None = None, p: float = 99.9,
            v0: float = 0.0, threshold_scale: float = 1.0) -> SpikingNet:
    r"""Convert a trained ReLU (or QCFS) :class:`ANNTwin` into an IF spiking network.

    Args:
        ann: the ANN (``teacher.train_teacher(..., activation="relu")``, ``train_qcfs`` or any
            ``SpikingNet.ann_twin()``); its synapses are copied, BatchNorm folded in.
        x: calibration inputs ``[N, ...]`` (static, as the ANN takes them) for the data-based
            norms and the input range of the model-based one.
        norm: ``"max"``, ``"percentile"`` (default for ReLU), ``"model"``, ``"qcfs"`` (default
            for a :class:`QCFSTwin`).
        p: percentile for ``norm="percentile"`` (99.9, over non-zero activations).
        v0: initial membrane as a fraction of the threshold (0, or 0.5 as QCFS).
        threshold_scale: multiplies every :math:`\lambda^l` (each threshold and the value a spike
            stands for); < 1 clips more, > 1 quantises more coarsely.

    Returns:
        a :class:`SpikingNet` of :class:`ConvertedIF` neurons (threshold 1, reset by subtraction)
        whose readout is the mean input current (``beta = 0``), so ``snn(encode(x, T))``
        approximates ``ann(x)``; ``snn.conversion`` holds ``scales``, ``norm``, ``v0``.
    """
    if not isinstance(ann, ANNTwin):
        raise TypeError(f"ann must be an ANNTwin (SpikingNet.ann_twin(), train_teacher, "
                        f"train_qcfs), got {type(ann).__name__}")
    check_tensor("x", x, min_ndim=2, floating=True)
    norm = norm if norm is not None else ("qcfs" if isinstance(ann, QCFSTwin) else "percentile")
    check_choice("norm", norm, NORMS)
    check_float("v0", v0, low=0.0, high=1.0)
    k = check_float("threshold_scale", threshold_scale, low=0.0, low_open=True)
    was = ann.training
    ann.eval()
    scales = [lam * k for lam in layer_scales(ann, x, norm, p)]
    ann.train(was)
    layers, prev = [], 1.0
    for syn, lam in zip(ann.synapses, scales):
        s = fold_synapse(syn)
        w = _weighted(s)
        w.weight.mul_(prev / lam)
        if w.bias is not None:
            w.bias.div_(lam)
        if isinstance(s, Residual):  # the skip carries the input in units of lambda^{l-1} too
            s.skip_scale *= prev / lam
        layers.append(SpikingLayer(s, ConvertedIF(threshold=1.0, v0=v0)))
        prev = lam
    head = fold_synapse(ann.readout)
    _weighted(head).weight.mul_(prev)
    readout = MembraneReadout(head, beta=0.0)
    config = dict(getattr(ann, "config", {}) or {})
    if config:
        config.update(neuron=ConvertedIF.kind, readout="membrane",
                      neuron_kw=dict(threshold=1.0, v0=float(v0), beta=0.0))
    snn = SpikingNet(layers, readout, tuple(x.shape[1:]), config)
    snn.conversion = dict(scales=scales, norm=norm, v0=float(v0), p=p, threshold_scale=k)
    return snn


# --------------------------------------------------------------------------- error analysis
def staircase(z: torch.Tensor, lam: float, T: int, v0: float = 0.0) -> torch.Tensor:
    r"""What an IF neuron outputs (ANN units) after T steps of a constant input current ``z``
    (ANN units), threshold ``lam``, initial membrane ``v0*lam``:
    :math:`Q_T(z) = \frac{\lambda}{T}\,\mathrm{clip}(\lfloor T z/\lambda + v_0\rfloor, 0, T)`
    (Bu et al. 2022, eq. 9; the SNN fires when :math:`v > \vartheta`, so at the measure-zero
    boundaries where :math:`Tz/\lambda + v_0` is an integer it fires one spike less)."""
    return torch.floor((z / lam) * T + v0).clamp(0, T) * (lam / T)


def _ann_activation(ann: ANNTwin, index: int):
    if isinstance(ann, QCFSTwin):
        return ann.acts[index]
    return ann.activation


@torch.no_grad()
def errors(ann: ANNTwin, snn: SpikingNet, x: torch.Tensor, T: int, *,
           return_terms: bool = False, encoding: str = "direct", seed: int = 0) -> list[dict]:
    r"""Per hidden layer, the exact decomposition of the SNN's error against the ANN.

    For layer l let :math:`\bar z` be the SNN's **actual** mean input current over the T steps
    (from the SNN's own previous-layer spikes; in ANN units), :math:`\varphi` the SNN's output
    (firing rate times :math:`\lambda^l`), :math:`f` the ANN's activation (ReLU or QCFS) and
    :math:`Q_T` the even-input :func:`staircase`. Then, exactly,

    .. math::
        f(\bar z) - \varphi =
          \underbrace{f(\bar z) - \mathrm{clip}(f(\bar z), 0, \lambda)}_{\text{clipping}}
        + \underbrace{\mathrm{clip}(f(\bar z), 0, \lambda) - Q_T(\bar z)}_{\text{quantisation}}
        + \underbrace{Q_T(\bar z) - \varphi}_{\text{unevenness}}.

    Because :math:`\bar z` comes from the SNN, each term is *local* to its layer; the error that
    has *accumulated* up to layer l, :math:`a^l_{ANN}(x) - \varphi^l`, is reported separately.

    The input is ``encode(x, T, encoding)``: with ``"direct"`` (constant current) layer 1 has no
    unevenness; with ``"rate"`` (Bernoulli spikes, seeded by ``seed``) it has.

    Returns one dict per hidden layer with the mean absolute value of ``clipping``,
    ``quantisation``, ``unevenness``, ``total`` (:math:`f(\bar z) - \varphi`) and
    ``accumulated``; with ``return_terms=True`` also ``terms``: the signed element-wise tensors.
    """
    if not hasattr(snn, "conversion"):
        raise ValueError("snn must come from snnlab.conversion.convert (it needs .conversion)")
    check_int("T", T, low=1)
    check_tensor("x", x, min_ndim=2, floating=True)
    scales = snn.conversion["scales"]
    a_ann = ann.activations(x)
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    x_seq = encode(x, T, encoding, generator=gen)
    h, out = x_seq, []
    for i, layer in enumerate(snn.layers):
        current = layer.current(h)
        s, _ = layer.neuron.simulate(current)
        lam = scales[i] * layer.neuron.threshold
        z = current.mean(0) * scales[i]
        phi = s.mean(0) * scales[i]
        f = _ann_activation(ann, i)(z)
        clipped = f.clamp(0.0, lam)
        q = staircase(z, lam, T, getattr(layer.neuron, "v0", 0.0))
        terms = dict(clipping=f - clipped, quantisation=clipped - q, unevenness=q - phi,
                     total=f - phi, accumulated=a_ann[i] - phi)
        row = {"layer": i + 1, **{k: float(v.abs().mean()) for k, v in terms.items()}}
        if return_terms:
            row["terms"] = terms
        out.append(row)
        h = s
    return out


def accuracy_vs_T(snn: SpikingNet, dataset, Ts=(1, 2, 4, 8, 16, 32, 64)) -> dict[int, float]:
    """Test accuracy of a converted network for each simulation length T (direct input)."""
    x, y = dataset.tensors
    was_training = snn.training
    snn.eval()
    out = {}
    with torch.no_grad():
        for T in Ts:
            T = check_int("T", T, low=1)
            # batches of 512 as snnlab.train.evaluate takes them, so the numbers are the same
            correct = sum(int((snn.run(encode(x[i:i + 512], T)).logits.argmax(1)
                               == y[i:i + 512]).sum()) for i in range(0, len(y), 512))
            out[T] = correct / len(y)
    snn.train(was_training)
    return out


def ann_accuracy(ann, dataset) -> float:
    """Accuracy of the (static-input) ANN, for the reference line of accuracy-vs-T plots."""
    return teacher_ann_accuracy(ann, dataset)
