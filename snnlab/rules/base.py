"""The contract every learning rule follows.

A rule decides *how the gradient flows* through the shared network; it never re-implements the
network. It works on encoded batches ``x_seq [T, B, ...]`` and labels ``y [B]``:

* ``loss(model, x_seq, y)`` - the scalar whose gradient defines the rule (local losses summed
  with detached inputs are fine);
* ``step(model, x_seq, y, optimizer)`` - one update, by default ``loss -> backward -> step``;
  online rules override it;
* ``gradients(model, x_seq, y)`` - the parameter gradients the rule would apply, without
  updating anything (for comparing rules).

Class attributes give the defaults the trainer and CLI use when the user says nothing:
``default_T``, ``default_encoding``, ``default_lr``, ``default_epochs``.
"""

from __future__ import annotations

import abc

import torch
import torch.nn.functional as TF
from torch import nn

registry: dict[str, type[Rule]] = {}


def register(name: str):
    """Class decorator: ``@register("bptt")`` makes the rule available by name."""

    def deco(cls):
        cls.name = name
        registry[name] = cls
        return cls

    return deco


class Rule(abc.ABC):
    name = "rule"
    default_T = 8
    default_encoding = "direct"
    default_lr = 2e-3
    default_epochs = 10

    @abc.abstractmethod
    def loss(self, model: nn.Module, x_seq: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The scalar whose gradient defines the rule (every rule defines it)."""

    def step(self, model, x_seq, y, optimizer) -> dict:
        optimizer.zero_grad(set_to_none=True)
        loss = self.loss(model, x_seq, y)
        loss.backward()
        optimizer.step()
        return {"loss": float(loss.detach())}

    def gradients(self, model, x_seq, y) -> dict[str, torch.Tensor]:
        """``{parameter name: gradient}`` for this batch; the model's ``.grad`` are restored."""
        saved = {n: p.grad for n, p in model.named_parameters()}
        for p in model.parameters():
            p.grad = None
        try:
            self.loss(model, x_seq, y).backward()
            return {n: (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p))
                    for n, p in model.named_parameters() if p.requires_grad}
        finally:
            for n, p in model.named_parameters():
                p.grad = saved[n]

    # Hooks for rules that need more than batches (a teacher, a phase schedule, ...).
    def setup(self, model, data, *, T: int, encoding: str, seed: int) -> None:  # noqa: B027
        """Called once by :func:`snnlab.train` before the first epoch (default: nothing)."""

    def on_epoch_end(self, model, epoch: int) -> dict:
        """Called after every epoch; may return extra values to log in the history."""
        return {}

    def hparams(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")
                and isinstance(v, (int, float, str, bool))}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hparams().items())
        return f"{type(self).__name__}({args})"


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return TF.cross_entropy(logits, y)
