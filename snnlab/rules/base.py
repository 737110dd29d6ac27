"""The contract every learning rule follows.

A rule decides *how the gradient flows* through the shared network; it never re-implements the
network. It works on encoded batches ``x_seq [T, B, ...]`` and labels ``y [B]``:

* ``loss(model, x_seq, y)`` - the scalar whose gradient defines the rule (local losses summed
  with detached inputs are fine);
* ``backward(model, x_seq, y, optimizer=None)`` - fills the parameters' ``.grad`` and returns the
  loss as a float; by default ``loss(...).backward()``. Online rules override it (they
  back-propagate each time step as it is computed; a rule that updates at every time step uses
  the ``optimizer`` it is given);
* ``after_backward`` / ``after_step`` - hooks around the optimizer step (gradient clipping,
  silent-neuron bumps / weight clamps, weight bumping, ...);
* ``step(model, x_seq, y, optimizer)`` - one update, written once here (the template below) and
  never overridden;
* ``gradients(model, x_seq, y)`` - the parameter gradients ``backward`` computes, without
  updating anything (for comparing rules);
* ``state_dict()`` / ``load_state_dict(state)`` - what the rule keeps across epochs (EICIL's
  phase counter, a teacher trained in ``setup``), saved in every checkpoint and restored after
  ``setup`` on resume (default: nothing);
* ``build_model(n_in, hidden, n_out, **kw)`` / ``check_model(model)`` - the network the rule
  trains: built by ``train`` (given a spec), the CLI and ``compare``; a model the user passes in
  is checked, never rebuilt or changed.

The template::

    optimizer.zero_grad()
    loss = rule.backward(model, x_seq, y)      # default: rule.loss(...).backward()
    rule.after_backward(model, x_seq, y)
    optimizer.step()
    rule.after_step(model, x_seq, y)

Class attributes give the defaults the trainer and CLI use when the user says nothing:
``default_T``, ``default_encoding``, ``default_lr``, ``default_epochs``.
"""

from __future__ import annotations

import abc

import torch
import torch.nn.functional as TF
from torch import nn

from .._checks import check_float
from ..encoding import encode
from ..models import convnet, mlp

__all__ = ["Rule", "ScaledInputRule", "InputScale", "WeightBumping", "BumpingRule", "register",
           "registry", "cross_entropy", "batch_norms"]

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
    _probing = False  # True while gradients() runs (see there)

    @abc.abstractmethod
    def loss(self, model: nn.Module, x_seq: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The scalar whose gradient defines the rule (every rule defines it)."""

    def backward(self, model, x_seq, y, optimizer=None) -> float:
        """Fill the parameters' ``.grad`` for this batch and return the loss (a float).

        Default: ``loss(...).backward()``. Online rules override this (and only this); a rule
        that steps at every time step (OTTT_O) uses ``optimizer``, which :meth:`step` passes and
        :meth:`gradients` does not."""
        loss = self.loss(model, x_seq, y)
        loss.backward()
        return float(loss.detach())

    def after_backward(self, model, x_seq, y) -> None:  # noqa: B027
        """Between ``backward`` and the optimizer step (gradient clipping, bumps...)."""

    def after_step(self, model, x_seq, y) -> None:  # noqa: B027
        """After the optimizer step (weight clamps, weight bumping...)."""

    def log(self) -> dict:
        """Extra values of the last step to report next to the loss (default: none)."""
        return {}

    def step(self, model, x_seq, y, optimizer) -> dict:
        """One training update: the template every rule shares (do not override)."""
        optimizer.zero_grad(set_to_none=True)
        loss = self.backward(model, x_seq, y, optimizer=optimizer)
        self.after_backward(model, x_seq, y)
        optimizer.step()
        self.after_step(model, x_seq, y)
        return {"loss": loss, **self.log()}

    def gradients(self, model, x_seq, y) -> dict[str, torch.Tensor]:
        """``{parameter name: gradient}`` that :meth:`backward` computes for this batch (before
        any ``after_backward`` hook); the model's ``.grad`` are restored. While it runs,
        ``self._probing`` is True: a ``backward`` with a step policy (weight bumping instead of a
        step) computes the gradient and leaves that policy's state alone."""
        saved = {n: p.grad for n, p in model.named_parameters()}
        for p in model.parameters():
            p.grad = None
        self._probing = True  # backward computes the gradient only: no step-policy side effects
        try:
            self.backward(model, x_seq, y)
            return {n: (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p))
                    for n, p in model.named_parameters() if p.requires_grad}
        finally:
            self._probing = False
            for n, p in model.named_parameters():
                p.grad = saved[n]

    # The network the rule trains.
    def build_model(self, n_in, hidden, n_out, **kw) -> nn.Module:
        """A network this rule can train: ``mlp(n_in, hidden, n_out, **kw)``, or, when ``n_in`` is
        an image shape ``(C, H, W)``, ``convnet(n_in, n_out=n_out, hidden=hidden, **kw)``.
        Rules that need a particular network override it (and :meth:`check_model`)."""
        from_shape = isinstance(n_in, (tuple, list))
        if from_shape and len(n_in) == 1:
            n_in, from_shape = n_in[0], False
        if from_shape:
            return convnet(tuple(n_in), n_out=n_out, hidden=hidden, **kw)
        return mlp(n_in, hidden, n_out, **kw)

    def check_model(self, model) -> None:  # noqa: B027
        """Raise one ``ValueError`` naming what in ``model`` this rule cannot train and how to
        build a fitting one (default: every :class:`~snnlab.models.SpikingNet` fits)."""

    # Hooks for rules that need more than batches (a teacher, a phase schedule, ...).
    def setup(self, model, data, *, T: int, encoding: str, seed: int) -> None:
        """Called once by :func:`snnlab.train` before the first epoch (default: check the
        model). Rules that need more (a teacher, a phase schedule) extend it."""
        self.check_model(model)

    def on_epoch_end(self, model, epoch: int) -> dict:
        """Called after every epoch; may return extra values to log in the history."""
        return {}

    # State a rule keeps across steps or epochs (a phase counter, a teacher trained in setup).
    def state_dict(self) -> dict:
        """What this rule must carry across a checkpoint for a resumed run to continue
        bit-identically: plain values and tensors only (``torch.load(weights_only=True)`` reads
        them). Default: ``{}``. :func:`snnlab.train` saves it after every epoch and, on resume,
        calls :meth:`load_state_dict` *after* :meth:`setup`, so ``setup`` may initialise freely.
        Per-step scratch (the last recording) and per-epoch sums, empty at every epoch's end,
        need not be saved."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (called after :meth:`setup`). The default
        accepts only ``{}``: a rule that keeps no state cannot silently drop someone's."""
        if state:
            raise ValueError(f"rule {self.name!r} keeps no state, but was given "
                             f"{sorted(state)}")

    def hparams(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")
                and isinstance(v, (int, float, str, bool))}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hparams().items())
        return f"{type(self).__name__}({args})"


class InputScale:
    r"""Train the first layer in units of the input's amplitude, so that defaults set on inputs
    of order 1 hold for inputs of any larger scale.

    The defaults (initialisation, threshold 1, Adam's lr, which moves a weight by about lr per
    step whatever its gradient) assume encoded inputs of order 1. Multiply the inputs by c and
    the first layer's currents, and every Adam step's effect on them, grow c-fold: the neurons
    saturate and training collapses (measured on held-out blobs with features in [0, 10]:
    BPTT 30 % against 62 % with the same features in [0, 1]; ``docs/heldout.md``).

    With ``s`` the root-mean-square of the encoded training inputs (from ``setup``), when
    ``s > 1`` the first synapse's weights are divided by ``s`` once and every optimizer update
    of them is divided by ``s``. That is training :math:`W' = sW` on :math:`x/s` - the same run
    as on inputs rescaled to RMS 1, for any c. For ``s <= 1`` (inputs in [0, 1], spike codes,
    standardised features) nothing changes. Biases are untouched (they do not see the input).

    Dividing the initial weights is right for a freshly built network; to fine-tune a network
    whose first layer was already trained on such inputs, switch it off (``input_norm=False``).
    """

    def __init__(self):
        self.scale = 1.0
        self._old: list[torch.Tensor] | None = None

    @staticmethod
    def _weights(model) -> list[torch.Tensor]:
        syn = model.layers[0].synapse
        return [p for n, p in syn.named_parameters()
                if n.endswith("weight") or n.endswith("weight.original")]

    @staticmethod
    @torch.no_grad()
    def measure(data, T: int, encoding: str) -> float:
        """``s``: the RMS of (up to 1024) encoded training inputs, at least 1; 1 without
        training data."""
        if data is None or getattr(data, "train", None) is None:
            return 1.0
        x = data.train.tensors[0][:1024]
        x_seq = encode(x, T, encoding, generator=torch.Generator().manual_seed(0))
        return max(float(x_seq.float().pow(2).mean().sqrt()), 1.0)

    @torch.no_grad()
    def setup(self, model, data, T: int, encoding: str) -> float:
        """Measure ``s`` on (up to 1024) encoded training inputs; rescale the first layer's
        weights if ``s > 1``. Returns ``s``. Without training data (``setup(model, None, ...)``,
        a rule driven by hand) there is nothing to measure and the scale stays 1."""
        self.scale = self.measure(data, T, encoding)
        if self.scale > 1.0:
            for w in self._weights(model):
                w.div_(self.scale)
        return self.scale

    def before_step(self, model) -> None:
        if self.scale > 1.0:
            self._old = [w.detach().clone() for w in self._weights(model)]

    @torch.no_grad()
    def after_step(self, model) -> None:
        if self.scale > 1.0 and self._old is not None:
            for w, old in zip(self._weights(model), self._old):
                w.copy_(old + (w - old) / self.scale)
            self._old = None


class ScaledInputRule(Rule):
    """A rule whose first layer trains in units of the input's amplitude (:class:`InputScale`,
    on by default; ``input_norm=False`` switches it off). Subclasses call
    :meth:`_set_input_norm` in ``__init__``; a subclass with its own ``setup`` calls
    :meth:`_setup_input` in it."""

    def _set_input_norm(self, input_norm: bool) -> None:
        if not isinstance(input_norm, bool):
            raise TypeError(f"input_norm must be a bool, got {type(input_norm).__name__}")
        self.input_norm = input_norm
        self._input = InputScale()

    def _setup_input(self, model, data, T: int, encoding: str) -> None:
        if self.input_norm:
            self._input.setup(model, data, T, encoding)

    def setup(self, model, data, *, T: int, encoding: str, seed: int) -> None:
        super().setup(model, data, T=T, encoding=encoding, seed=seed)
        self._setup_input(model, data, T, encoding)

    def after_backward(self, model, x_seq, y) -> None:
        self._input.before_step(model)

    def after_step(self, model, x_seq, y) -> None:
        self._input.after_step(model)


class WeightBumping:
    r"""Göltz et al.'s remedy for silent neurons in timing-based learning, as their released code
    does it (``fastAndDeep``, ``training.py``: ``check_bump_weights``, targeted, exponential;
    Yin-Yang configuration ``max_num_missing_spikes: [0.3, 0.0]``,
    ``weight_bumping_value: 0.0005``). Shared by ``ttfs`` and ``timing``.

    A timing gradient reaches a neuron only through its spike times, so a neuron that never
    fires gets no gradient and never learns to. After the forward pass, the first hidden layer
    whose fraction of missing spikes (over batch and neurons) exceeds ``max_missing[0]`` - or
    else the output layer, if its fraction exceeds ``max_missing[1]`` - is *bumped instead of
    trained*: the batch makes no gradient step, and every neuron of that layer that was silent
    for any sample of the batch gets ``bump`` added to all its input weights. With ``exp`` the
    bump doubles while the same layer is bumped on consecutive batches, and falls back to
    ``bump`` after a step or a bump of another layer.

    A rule calls :meth:`decide` with the silent masks of its layers (``[B, n]`` booleans, hidden
    layers first, output last): ``True`` means "do not back-propagate this batch"; then
    :meth:`apply` with the layers' input weights after the optimizer step (which moves nothing,
    there being no gradient). ``bump = 0`` switches it off.
    """

    def __init__(self, rule_name: str, bump: float = 5e-4, max_missing=(0.3, 0.0),
                 exp: bool = True, *, exp_name: str = "bump_exp"):
        self.bump = check_float("bump", bump, low=0.0)
        if not isinstance(max_missing, (tuple, list)) or len(max_missing) != 2:
            raise ValueError(f"rule {rule_name!r}: max_missing must be a pair (hidden, output) "
                             f"of fractions in [0, 1], got {max_missing!r}")
        self.max_missing = tuple(check_float("max_missing", m, low=0.0, high=1.0)
                                 for m in max_missing)
        if not isinstance(exp, bool):
            raise TypeError(f"{exp_name} must be a bool, got {exp!r}")
        self.exp = exp
        self.rule_name = rule_name
        self.reset()

    def reset(self) -> None:
        """Forget the run so far (``setup`` of a new run)."""
        self.value = self.bump     # the bump the next bumped batch adds
        self.last = None           # layer bumped on the previous batch (None: it stepped)
        self.pending = None        # (layer, neurons) to bump after this batch's step
        self.count = 0             # bumped batches since the last epoch_log

    def decide(self, silent: list[torch.Tensor]) -> bool:
        """``silent``: per layer, ``[B, n]`` (or ``[B, ...]``) booleans, True where the neuron
        did not fire for that sample. Returns True when this batch is bumped (skip the step)."""
        layer = None
        if self.bump > 0:
            *hidden, out = silent
            for k, s in enumerate(hidden):
                if float(s.float().mean()) > self.max_missing[0]:
                    layer = k
                    break
            if layer is None and float(out.float().mean()) > self.max_missing[1]:
                layer = len(hidden)
        if layer is None:
            self.pending = self.last = None
            return False
        same = self.last == layer
        self.value = 2 * self.value if (self.exp and same) else self.bump
        s = silent[layer]
        self.pending = (layer, s.reshape(s.shape[0], -1).any(0))
        self.last = layer
        return True

    @torch.no_grad()
    def apply(self, weights: list[torch.Tensor]) -> None:
        """Raise the input weights (rows of ``weights[layer]``, ``[n_out, n_in]``) of the
        neurons :meth:`decide` found silent; nothing if the batch stepped."""
        if self.pending is None:
            return
        layer, neurons = self.pending
        if weights[layer] is not None:
            weights[layer][neurons] += self.value
        self.pending = None
        self.count += 1

    def epoch_log(self) -> dict:
        """``{"bumped_batches": n}`` since the last call (for ``on_epoch_end``)."""
        n, self.count = self.count, 0
        return {"bumped_batches": n}

    def state_dict(self) -> dict:
        return {"bump_val": self.value, "last_bumped": -1 if self.last is None else self.last}

    def load_state_dict(self, state: dict) -> None:
        if set(state) != {"bump_val", "last_bumped"}:
            raise ValueError(f"rule {self.rule_name!r}: unexpected state keys {sorted(state)}")
        self.value = float(state["bump_val"])
        last = int(state["last_bumped"])
        self.last = None if last < 0 else last


class BumpingRule(Rule):
    """A rule that bumps silent neurons instead of stepping (:class:`WeightBumping` in
    ``self.bumping``): its ``backward`` computes the loss and the silent masks and returns
    :meth:`_step_or_bump`; it says where the input weights are (:meth:`_bump_weights`). The
    hooks, the per-epoch log and the checkpointed state are written here once."""

    bumping: WeightBumping

    def _bump_weights(self, model) -> list[torch.Tensor | None]:
        """The input weights of every layer, output last, indexed by unit first (``[n_out,
        n_in]``, or a convolution's ``[C_out, ...]``); None where a layer has none to bump."""
        raise NotImplementedError

    def _step_or_bump(self, loss: torch.Tensor, silent: list[torch.Tensor]) -> float:
        """Back-propagate ``loss`` unless this batch is bumped (``gradients`` never bumps)."""
        if self._probing or not self.bumping.decide(silent):
            loss.backward()  # a bumped batch leaves no .grad: the optimizer moves nothing
        return float(loss.detach())

    def after_step(self, model, x_seq, y):
        self.bumping.apply(self._bump_weights(model))

    def on_epoch_end(self, model, epoch: int) -> dict:
        return self.bumping.epoch_log()

    def state_dict(self) -> dict:
        return self.bumping.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.bumping.load_state_dict(state)


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return TF.cross_entropy(logits, y)


def batch_norms(module: nn.Module) -> list[nn.Module]:
    """The batch-norm layers inside ``module`` (any dimension), for rules whose mathematics
    needs an affine synapse or one synapse pass per step."""
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
