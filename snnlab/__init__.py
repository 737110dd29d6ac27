"""snnlab: one spiking network, many ways to get its gradient.

>>> import snnlab
>>> data = snnlab.data.load("digits")
>>> net = snnlab.models.mlp(64, [128], 10)
>>> history = snnlab.train(net, data, rule="bptt", T=8, epochs=3, progress=False)
>>> snnlab.evaluate(net, data.test, T=8)["acc"] > 0.9
True
"""

from __future__ import annotations

from . import data, encoding, functional, metrics, models, neurons, rules, surrogate, zoo
from .data import load
from .encoding import encode
from .train import History, evaluate, load_checkpoint, save_checkpoint, train

__version__ = "0.1.0"

__all__ = [
    "data", "encoding", "functional", "metrics", "models", "neurons", "rules", "surrogate", "zoo",
    "load", "encode", "train", "evaluate", "History", "save_checkpoint", "load_checkpoint",
    "compare", "__version__",
]


def __getattr__(name):
    # heavier or optional pieces load on first use (matplotlib, ipywidgets)
    if name in ("compare", "plot", "widgets", "exercises", "conversion", "hardware"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'snnlab' has no attribute {name!r}")
