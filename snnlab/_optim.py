"""PyTorch's Adam, AdamW and SGD, minus a 1.5-second import on first use.

``torch.optim.Optimizer`` marks ``add_param_group`` (called by every constructor),
``zero_grad``, ``state_dict`` and ``load_state_dict`` with ``torch._disable_dynamo``, and every
``step`` with ``_use_grad_for_differentiable``; both ``import torch._dynamo`` on the first call
(about 1.5 s, as long as ``import torch`` itself), only so that ``torch.compile`` does not trace
into them. No optimizer flag (``foreach``, ``fused``, ``capturable``) avoids it. A one-epoch
``snnlab train`` spent a third of its time there.

The classes below are the torch classes (same math, same state, same checkpoints,
``isinstance(opt, torch.optim.Adam)``); until ``torch._dynamo`` is in ``sys.modules`` they call
the undecorated functions those wrappers hold (``inspect.unwrap``), with gradients off around
``step`` exactly as the wrapper sets them. Once ``torch._dynamo`` has been imported (by
``torch.compile`` or anything else) the wrappers cost nothing more and are used as they are,
so compiled code sees the torch methods unchanged. tests/test_startup.py checks that results are
bit-identical to ``torch.optim`` and that training imports no ``torch._dynamo``.
"""

from __future__ import annotations

import inspect
import sys

import torch

__all__ = ["Adam", "AdamW", "SGD"]


def _dynamo_loaded() -> bool:
    return "torch._dynamo" in sys.modules


class _NoEagerDynamoImport:
    """Mixin for a ``torch.optim.Optimizer`` subclass (listed before it)."""

    def add_param_group(self, param_group):
        return _call(super().add_param_group, torch.optim.Optimizer.add_param_group,
                     self, param_group)

    def zero_grad(self, set_to_none: bool = True):
        return _call(super().zero_grad, torch.optim.Optimizer.zero_grad, self, set_to_none)

    def state_dict(self):
        return _call(super().state_dict, torch.optim.Optimizer.state_dict, self)

    def load_state_dict(self, state_dict):
        return _call(super().load_state_dict, torch.optim.Optimizer.load_state_dict,
                     self, state_dict)

    def step(self, closure=None):
        torch_cls = next(c for c in type(self).__mro__
                         if c.__module__.startswith("torch.optim") and "step" in vars(c))
        step = torch_cls.step
        while getattr(step, "hooked", False):  # torch's profiling hook: ours is hooked already
            step = step.__wrapped__
        if _dynamo_loaded():
            return step(self, closure)
        prev = torch.is_grad_enabled()
        try:  # what _use_grad_for_differentiable does, less its torch._dynamo.graph_break()
            torch.set_grad_enabled(self.defaults["differentiable"])
            return inspect.unwrap(step)(self, closure)
        finally:
            torch.set_grad_enabled(prev)


def _call(bound, torch_method, self, *args):
    """``bound(*args)`` once torch._dynamo is loaded, else the undecorated ``torch_method``."""
    if _dynamo_loaded():
        return bound(*args)
    return inspect.unwrap(torch_method)(self, *args)


class Adam(_NoEagerDynamoImport, torch.optim.Adam):
    __doc__ = torch.optim.Adam.__doc__


class AdamW(_NoEagerDynamoImport, torch.optim.AdamW):
    __doc__ = torch.optim.AdamW.__doc__


class SGD(_NoEagerDynamoImport, torch.optim.SGD):
    __doc__ = torch.optim.SGD.__doc__
