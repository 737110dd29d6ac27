"""The ANN teacher shared by ANN-guided rules (LTL, knowledge distillation) and calibration.

:func:`train_teacher` builds a fresh network with the *same architecture* as a student
:class:`~snnlab.models.SpikingNet` (or a default MLP), takes its rate-based twin
(:meth:`SpikingNet.ann_twin`) with a ReLU or clipped-ReLU activation, and trains it with
cross-entropy on static inputs. The result is an :class:`~snnlab.models.ANNTwin`:
``teacher(x)`` gives logits, ``teacher.activations(x)`` the per-layer activations a student
layer can be asked to mimic.

The default activation ``clamp`` is ``clamp(z, 0, 2)``, the ``ReLUX(2)`` teacher of the Local
Tandem Learning reference code (Yang et al., NeurIPS 2022): bounded activations are easy targets
for bounded firing rates.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as TF
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from ._checks import check_choice, check_float, check_int
from .data import DataSplit, load
from .models import ANNTwin, SpikingNet, from_config, mlp

__all__ = ["Clamp", "train_teacher", "fit_ann", "ann_accuracy", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "clamp")


class Clamp(nn.Module):
    """``clamp(z, 0, max)``: a ReLU that saturates at ``max`` (ReLUX of the LTL code)."""

    def __init__(self, max: float = 2.0):
        super().__init__()
        self.max = check_float("clamp_max", max, low=0.0, low_open=True)

    def forward(self, z):
        return z.clamp(0.0, self.max)

    def extra_repr(self) -> str:
        return f"max={self.max:g}"


def _activation(activation, clamp_max) -> nn.Module:
    if isinstance(activation, nn.Module):
        return activation
    check_choice("activation", activation, ACTIVATIONS)
    return nn.ReLU() if activation == "relu" else Clamp(clamp_max)


@torch.no_grad()
def ann_accuracy(ann: nn.Module, dataset: TensorDataset, batch_size: int = 1024) -> float:
    """Top-1 accuracy of a static-input network on a dataset."""
    was = ann.training
    ann.eval()
    correct = n = 0
    for xb, yb in DataLoader(dataset, batch_size=batch_size):
        correct += int((ann(xb).argmax(1) == yb).sum())
        n += len(yb)
    ann.train(was)
    return correct / max(n, 1)


def fit_ann(ann: nn.Module, data, *, epochs: int = 20, lr: float = 1e-3, batch_size: int = 64,
            seed: int = 0, weight_decay: float = 0.0, progress: bool = False) -> list[float]:
    """Train any static-input network (``ann(x) -> logits``) with cross-entropy and Adam.

    Shared by :func:`train_teacher` and :func:`snnlab.conversion.train_qcfs`. Returns the test
    accuracy after each epoch."""
    check_int("epochs", epochs, low=0)
    check_float("lr", lr, low=0.0, low_open=True)
    check_int("batch_size", batch_size, low=1)
    check_int("seed", seed, low=0)
    params = [p for p in ann.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    accs = []
    for epoch in tqdm(range(epochs), desc="teacher", disable=not progress, unit="epoch"):
        gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        ann.train()
        for xb, yb in DataLoader(data.train, batch_size=batch_size, shuffle=True, generator=gen):
            opt.zero_grad(set_to_none=True)
            loss = TF.cross_entropy(ann(xb), yb)
            if not math.isfinite(float(loss.detach())):
                raise RuntimeError(f"teacher training diverged at epoch {epoch + 1}; "
                                   f"try a smaller lr (now {lr:g})")
            loss.backward()
            opt.step()
        accs.append(ann_accuracy(ann, data.test))
    ann.eval()
    return accs


def _load(data, seed):
    if isinstance(data, str):
        data = load(data, seed=seed)
    if not isinstance(data, DataSplit):
        raise TypeError(f"data must be a DataSplit or a dataset name, got {type(data).__name__}")
    return data


def fresh_like(like: SpikingNet | None, data, hidden=(128,)) -> SpikingNet:
    """A freshly initialised network with ``like``'s architecture, or ``mlp(n_in, hidden, C)``."""
    if like is None:
        if len(data.input_shape) != 1:
            raise ValueError(f"data {data.name!r} has samples of shape {data.input_shape}; "
                             "pass like=<a SpikingNet> (e.g. a convnet) to choose the architecture")
        return mlp(data.input_shape[0], list(hidden), data.n_classes)
    if not isinstance(like, SpikingNet):
        raise TypeError(f"like must be a SpikingNet or None, got {type(like).__name__}")
    if not like.config:
        raise ValueError("like has no .config; build it with snnlab.models.mlp / convnet")
    if tuple(like.input_shape) != tuple(data.input_shape):
        raise ValueError(f"like expects inputs of shape {like.input_shape} but data "
                         f"{data.name!r} has shape {data.input_shape}")
    return from_config(like.config)


def train_teacher(data, like: SpikingNet | None = None, *, hidden=(128,),
                  activation="clamp", clamp_max: float = 2.0, epochs: int = 20, lr: float = 1e-3,
                  batch_size: int = 64, seed: int = 0, progress: bool = False,
                  freeze: bool = True) -> ANNTwin:
    """Train an ANN teacher with the architecture of ``like``.

    Args:
        data: a :class:`~snnlab.data.DataSplit` or a dataset name.
        like: the student; its ``config`` is rebuilt with fresh weights (it is not modified).
            ``None``: ``mlp(n_in, hidden, n_classes)`` from the data (flat inputs only).
        activation: ``"clamp"`` (``clamp(z, 0, clamp_max)``, LTL), ``"relu"``, or a module.
        freeze: return it with ``requires_grad_(False)`` (a teacher is not trained further).

    Returns:
        an :class:`~snnlab.models.ANNTwin` in eval mode, with attributes ``test_acc`` (final test
        accuracy), ``acc_history``, ``config`` and ``input_shape`` (of the network it twins).
    """
    data = _load(data, seed)
    torch.manual_seed(check_int("seed", seed, low=0))
    net = fresh_like(like, data, hidden)
    twin = net.ann_twin(_activation(activation, clamp_max))
    accs = fit_ann(twin, data, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                   progress=progress)
    twin.eval()
    if freeze:
        twin.requires_grad_(False)
    twin.test_acc = accs[-1] if accs else ann_accuracy(twin, data.test)
    twin.acc_history = accs
    twin.config = dict(net.config)
    twin.input_shape = tuple(net.input_shape)
    return twin
