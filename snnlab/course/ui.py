"""What every notebook module of :mod:`snnlab.course` shares: the dashboard machinery, the live
training curve, and the plumbing of the exercise checkers.

**Dashboards.** A dashboard is a **pure function** ``simulate_<thing>(**params) -> dict`` that
does all the work with :mod:`snnlab` and returns plain tensors and numbers (tested in pytest like
any function), plus a thin **builder** ``<thing>_dashboard(...) -> Dashboard`` that imports
ipywidgets *inside* the function (so the course imports without it), makes the sliders, and
redraws into an ``Output`` through :func:`build`, calling the pure function and a plot from
:mod:`snnlab.plot`. A :class:`Dashboard` exposes ``controls`` (name -> widget), ``output``,
``result`` (the last dict the pure function returned) and ``widget`` (the laid-out box to
display). Setting ``dash.controls["threshold"].value = 1.5`` re-runs the update immediately, also
without a kernel, so tests can drive a dashboard and check ``dash.result``.

**Checkers.** ``check_<name>(answer) -> bool`` where ``answer`` is the learner's function or
value. A checker computes the reference answer itself from :mod:`snnlab`, calls the learner's
code through :func:`call` (so an exception in it, e.g. the stub's ``NotImplementedError``,
becomes a failed check, not a traceback), and finishes with :func:`passed` or :func:`failed`: it
prints exactly one line, ``✅ <name>: passed`` or ``❌ <name>: <what is wrong> — hint: <hint>``,
records the result in :data:`PROGRESS` and returns ``True``/``False``. It never raises on a
wrong answer; only a wrong *kind* of thing (e.g. a number where a function is expected) raises
``TypeError``. :func:`progress` summarises what a learner has passed so far in this kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .. import plot
from ..train import History

__all__ = ["Dashboard", "build", "LiveCurve",
           "PROGRESS", "progress", "reset_progress", "LearnerError", "passed", "failed",
           "call", "need_callable", "need_number", "unanswered", "as_tensor"]


# =========================================================================== dashboards
@dataclass
class Dashboard:
    """Widgets of one dashboard; ``update()`` re-runs the pure function and redraws."""

    controls: dict
    output: object
    widget: object
    update: Callable[..., dict]
    result: dict = field(default_factory=dict)

    def _ipython_display_(self):  # show the laid-out box when a dashboard ends a cell
        from IPython.display import display

        display(self.widget)


def build(controls: dict, compute: Callable[..., dict], draw: Callable[[dict], None],
          layout=None) -> Dashboard:
    """Wire sliders to ``compute(**values)`` and ``draw(result)`` inside an Output."""
    import ipywidgets as W

    out = W.Output()
    box = W.VBox([layout or W.HBox(list(controls.values())), out])
    dash = Dashboard(controls=controls, output=out, widget=box, update=lambda: {})

    def update(_change=None) -> dict:
        dash.result = compute(**{k: w.value for k, w in controls.items()})
        with out:
            out.clear_output(wait=True)
            draw(dash.result)
        return dash.result

    dash.update = update
    for w in controls.values():
        w.observe(update, names="value")
    update()
    return dash


class LiveCurve:
    """A ``snnlab.train(..., callback=LiveCurve())`` callback: prints one line per epoch and, in
    a notebook, redraws one training-curve figure in place (headless runs just print).

    ``records`` keeps everything it was given, so it also works as a simple logger.
    """

    def __init__(self, keys=("train_loss", "test_acc"), *, plot: bool = True, name="run"):
        self.keys = tuple(keys)
        self.plot = bool(plot)
        self.name = name
        self.records: list[dict] = []
        self._handle = None

    def __call__(self, record: dict) -> None:
        self.records.append(dict(record))
        parts = [f"epoch {record.get('epoch', len(self.records)):>3}"]
        parts += [f"{k} {record[k]:.4f}" for k in self.keys if record.get(k) is not None]
        print("  ".join(parts))
        if self.plot:
            self._redraw()

    def _redraw(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover - IPython ships with the [lab] extra
            return
        if get_ipython() is None:  # not in a kernel: printing is enough
            return
        ax = plot.training_curves({self.name: History(self.name, self.records)}, keys=self.keys,
                                  title=f"Training {self.name} (live)")
        fig = ax.figure
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plot.pyplot().close(fig)


# =========================================================================== checkers
#: name -> passed? for every checker run in this process (the latest attempt counts).
PROGRESS: dict[str, bool] = {}


class LearnerError(Exception):
    """The learner's code raised; carries a readable one-line description."""


def passed(name: str, detail: str = "") -> bool:
    """Record and print a pass; returns ``True``."""
    PROGRESS[name] = True
    print(f"✅ {name}: passed" + (f" ({detail})" if detail else ""))
    return True


def failed(name: str, problem: str, hint: str) -> bool:
    """Record and print a failure with what is wrong and a hint; returns ``False``."""
    PROGRESS[name] = False
    print(f"❌ {name}: {problem} — hint: {hint}")
    return False


def need_callable(name: str, fn) -> None:
    """Raise ``TypeError`` unless the learner passed a function (not its result)."""
    if not callable(fn):
        raise TypeError(f"{name} expects your function (e.g. {name.removeprefix('check_')}), "
                        f"got {type(fn).__name__}; pass the function itself, without calling it")


def unanswered(answer) -> bool:
    """``None`` or ``...`` (the stub's placeholder) means "not answered yet"."""
    return answer is None or answer is Ellipsis


def need_number(checker: str, answer) -> None:
    """Raise ``TypeError`` unless ``answer`` is a real number (``bool`` is not)."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        raise TypeError(f"{checker} expects a number, got {type(answer).__name__}")


def call(fn: Callable, *args, **kwargs):
    """Run the learner's function; turn any exception into a :class:`LearnerError`."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise LearnerError("your function still raises NotImplementedError (not filled in "
                           "yet)") from None
    except Exception as e:  # the learner's bug, reported in one line
        raise LearnerError(f"your function raised {type(e).__name__}: {e}") from None


def as_tensor(value, like: torch.Tensor | None = None) -> torch.Tensor | None:
    """Numbers, lists and arrays become tensors; anything else gives ``None``."""
    try:
        t = torch.as_tensor(value)
    except Exception:
        return None
    if like is not None:
        t = t.to(like.dtype)
    return t


def progress(verbose: bool = True) -> dict[str, bool]:
    """Summary of the exercises checked so far: prints one line each and returns a copy."""
    if verbose:
        done = sum(PROGRESS.values())
        print(f"{done}/{len(PROGRESS)} exercises passed")
        for name, ok in PROGRESS.items():
            print(f"  {'✅' if ok else '❌'} {name}")
    return dict(PROGRESS)


def reset_progress() -> None:
    """Forget every result (a fresh start in this kernel)."""
    PROGRESS.clear()
