"""Learning rules: one module each, all training the same :class:`~snnlab.models.SpikingNet`.

``available()`` lists the registered names, ``get(name, **hparams)`` builds one. Every module in
this package is imported on first use, so adding a rule means adding one file that defines a
:class:`Rule` subclass decorated with ``@register("name")`` - nothing else to edit.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import Rule, register, registry

__all__ = ["Rule", "register", "available", "get"]

_loaded = False


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_") and info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True


def available() -> list[str]:
    """Names of every registered learning rule."""
    _load_all()
    return sorted(registry)


def get(name: str | Rule, **hparams) -> Rule:
    """Build the rule ``name`` with its hyper-parameters (``snnlab.rules.get("bptt")``)."""
    if isinstance(name, Rule):
        if hparams:
            raise TypeError("hyper-parameters can only be given with a rule name, not an instance")
        return name
    _load_all()
    if not isinstance(name, str):
        raise TypeError(f"rule must be a name (str), got {type(name).__name__}")
    if name not in registry:
        raise ValueError(f"unknown rule {name!r}; available: {', '.join(sorted(registry))}")
    cls = registry[name]
    try:
        return cls(**hparams)
    except TypeError as e:
        raise TypeError(f"rule {name!r}: {e}") from None
