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

**Checkers.** ``check_<name>(answer, *, hint=None) -> bool`` where ``answer`` is the learner's
function or value, decorated with :func:`checker` (which registers its three hints and the
library's reference with the learner's signature). A checker tests the learner's function on
random inputs and parameters over their valid ranges, drawn from a private
``torch.Generator`` (the global torch/random/numpy state is restored after the learner's code
runs), plus the edge cases, against :mod:`snnlab`'s own functions; answers count as tensors of
any float dtype, numpy arrays, lists or 0-d tensors (:func:`answer_tensor`,
:func:`need_number`). It calls the learner's code through :func:`call` (an exception in it, e.g.
the stub's ``NotImplementedError``, becomes a failed check, not a traceback) and finishes with
:func:`passed` or :func:`failed`: one line, ``✅ <name>: passed`` or ``❌ <name>: <what is wrong>
— hint: <hint>``, recorded in :data:`PROGRESS`. Hints progress per checker: the first failure
gives the idea (no code, no equation), later ones the equation; code only on request
(``hint="code"`` or :func:`show_solution`). It never raises on a wrong answer; only a wrong
*kind* of thing (e.g. a number where a function is expected) raises ``TypeError``.
:func:`progress` summarises what a learner has passed so far in this kernel, and
:func:`use_or_reference` lets a later notebook cell run on the reference while an exercise is
unsolved.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import random
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .. import plot
from ..train import History

__all__ = ["Dashboard", "build", "LiveCurve",
           "PROGRESS", "Progress", "progress", "reset_progress", "LearnerError", "passed",
           "failed", "call", "need_callable", "need_number", "unanswered", "as_tensor", "Hints",
           "HINTS", "checker", "show_solution", "reference", "use_or_reference",
           "answer_tensor", "close", "predicted", "need_choice", "seed_stats"]


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
class Progress(dict):
    """name -> passed? (the latest attempt counts) for every checker run in this process, plus
    :attr:`failures`: name -> how many times that checker has failed (it picks the hint)."""

    def __init__(self):
        super().__init__()
        self.failures: dict[str, int] = {}
        self.predictions: dict[str, bool] = {}  # predict-then-observe: was the guess right?

    def clear(self) -> None:
        super().clear()
        self.failures.clear()
        self.predictions.clear()


#: name -> passed? for every checker run in this process; ``PROGRESS.failures`` counts failures.
PROGRESS = Progress()


@dataclass(frozen=True)
class Hints:
    """A checker's three hints, from least to most given away, and the library's reference
    function with the learner's signature (``None`` for answers that are values)."""

    idea: str
    equation: str
    code: str
    reference: Callable | None = None


#: checker name (``"lif_step"``) -> its :class:`Hints`; filled by :func:`checker`.
HINTS: dict[str, Hints] = {}
HINT_LEVELS = ("idea", "equation", "code")
_REQUESTED: dict[str, str | None] = {}  # checker name -> hint level asked for by hint=...


class LearnerError(Exception):
    """The learner's code raised, or returned something unusable; a readable one-liner."""


def passed(name: str, detail: str = "") -> bool:
    """Record and print a pass; returns ``True``."""
    PROGRESS[name] = True
    print(f"✅ {name}: passed" + (f" ({detail})" if detail else ""))
    return True


def predicted(name: str, guess, measured, right: bool, why: str) -> bool:
    """The verdict of a predict-then-observe checker: any honest prediction passes (the exercise
    is to commit to one before the run), whether it matched the run is recorded in
    ``PROGRESS.predictions`` and said on the first line, and ``why`` explains the measurement
    on a second line. Returns ``True``."""
    PROGRESS.predictions[name] = bool(right)
    verdict = "right" if right else "not what happened"
    ok = passed(name, f"you predicted {guess}, the run gave {measured}: {verdict}")
    print(f"   {why}")
    return ok


def judge_points(name: str, got: float, gain: float, detail: str, order: str) -> bool | None:
    """What every "difference in accuracy points read from your run" checker shares: pass within
    half a point of ``100 * gain``; a fraction given for points, or the difference taken the wrong
    way round (``order`` says the right one, e.g. "KD minus CE only"), fail with that named.
    ``None``: none of these - the caller goes on to its own plausible wrong answers."""
    want = 100 * gain
    if abs(got - want) <= 0.5:
        return passed(name, detail)
    if abs(want) > 0.5 and abs(got - gain) <= 0.005:
        return failed(name, f"{got:g} looks like a fraction; give accuracy points")
    if abs(want) > 0.5 and abs(got + want) <= 0.5:
        return failed(name, f"the sign is reversed: {order}")
    return None


def seed_stats(accs) -> tuple[float, float]:
    """``(mean, sample std)`` of a list of per-seed (or per-chip) accuracies, std 0 for one
    seed: the one mean ± std every notebook and checker reports over seeds."""
    a = torch.tensor([float(v) for v in accs], dtype=torch.float64)
    if a.numel() == 0:
        raise ValueError("seed_stats needs at least one accuracy")
    return float(a.mean()), float(a.std()) if len(a) > 1 else 0.0


def need_choice(answer, options) -> str:
    """The learner's choice among ``options`` (strings, matched without case or surrounding
    spaces, or their letters a, b, c... in order); a :class:`LearnerError` otherwise."""
    options = [str(o) for o in options]
    if not isinstance(answer, str):
        raise LearnerError(f"answer with one of {options} (a string), got "
                           f"{type(answer).__name__}")
    a = answer.strip().strip("()").lower()
    for i, o in enumerate(options):
        if a == o.lower() or (len(a) == 1 and a == "abcdefgh"[i]):
            return o
    raise LearnerError(f"{answer!r} is not one of {options}")


def hint_for(name: str, level: str) -> str:
    """The ``level`` (``idea``, ``equation`` or ``code``) hint of a registered checker."""
    return getattr(HINTS[name], level)


def failed(name: str, problem: str, hint: str = "") -> bool:
    """Record and print a failure with what is wrong and a hint; returns ``False``.

    For a checker registered with :func:`checker` the hint progresses: the first failure gives
    the idea, later ones the equation; code only when asked (``hint="code"`` or
    :func:`show_solution`). ``hint`` is used only for checkers without registered hints."""
    PROGRESS[name] = False
    n = PROGRESS.failures[name] = PROGRESS.failures.get(name, 0) + 1
    if name in HINTS:
        level = _REQUESTED.get(name) or ("idea" if n == 1 else "equation")
        hint = hint_for(name, level)
        if level == "equation":
            hint += f" (still stuck? exercises.show_solution(\"check_{name}\"))"
        elif level == "code":  # asked for: the code follows the one line, indented
            hint = "one way to write it:\n" + "\n".join("    " + line
                                                         for line in hint.splitlines())
    print(f"❌ {name}: {problem} — hint: {hint}")
    return False


def show_solution(checker_name: str) -> str:
    """Print (and return) a checker's idea, equation and code: the explicit way to see code."""
    name = _checker_key(checker_name)
    h = HINTS[name]
    code = "\n".join("      " + line for line in h.code.splitlines())
    text = f"{name}\n  idea: {h.idea}\n  equation: {h.equation}\n  code:\n{code}"
    print(text)
    return text


def reference(checker_name: str) -> Callable:
    """The library's reference for an exercise, with the learner's function's signature."""
    ref = HINTS[_checker_key(checker_name)].reference
    if ref is None:
        raise ValueError(f"{checker_name} checks a value: it has no reference function")
    return ref


def _checker_key(checker_name: str) -> str:
    name = str(checker_name).removeprefix("check_")
    if name not in HINTS:
        raise ValueError(f"unknown checker {checker_name!r}; expected one of "
                         f"{sorted('check_' + k for k in HINTS)}")
    return name


@contextlib.contextmanager
def _global_rng_kept():
    """Whatever the learner's code draws from the global generators (torch, random, numpy),
    their state after a check is what it was before: a check never shifts a notebook's random
    numbers. The checkers themselves draw only from private ``torch.Generator`` objects."""
    torch_state = torch.get_rng_state()
    py_state = random.getstate()
    np_mod = sys.modules.get("numpy")
    np_state = np_mod.random.get_state() if np_mod is not None else None
    try:
        yield
    finally:
        torch.set_rng_state(torch_state)
        random.setstate(py_state)
        if np_state is not None:
            np_mod.random.set_state(np_state)


def checker(name: str, *, idea: str, equation: str, code: str,
            reference: Callable | None = None):
    """Decorator for ``check_<name>``: registers its hints (and reference), adds the
    keyword-only ``hint=`` argument (``"idea"``, ``"equation"`` or ``"code"`` forces that hint
    on a failure), turns a :class:`LearnerError` anywhere in the check into a failure, and keeps
    the global random state unchanged."""

    def wrap(fn):
        HINTS[name] = Hints(idea, equation, code, reference)

        @functools.wraps(fn)
        def check(*args, hint: str | None = None, **kwargs):
            if hint is not None and hint not in HINT_LEVELS:
                raise ValueError(f"hint must be one of {HINT_LEVELS} or None, got {hint!r}")
            _REQUESTED[name] = hint
            try:
                with _global_rng_kept(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # a learner's warning is not the result
                    try:
                        return fn(*args, **kwargs)
                    except LearnerError as e:
                        return failed(name, str(e))
            finally:
                _REQUESTED.pop(name, None)

        sig = inspect.signature(fn)
        params = [p for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD]
        params.append(inspect.Parameter("hint", inspect.Parameter.KEYWORD_ONLY, default=None))
        check.__signature__ = sig.replace(parameters=params)
        check.checker_name = name
        return check

    return wrap


def need_callable(name: str, fn) -> None:
    """Raise ``TypeError`` unless the learner passed a function (not its result)."""
    if not callable(fn):
        raise TypeError(f"{name} expects your function (e.g. {name.removeprefix('check_')}), "
                        f"got {type(fn).__name__}; pass the function itself, without calling it")


def unanswered(answer) -> bool:
    """``None`` or ``...`` (the stub's placeholder) means "not answered yet"."""
    return answer is None or answer is Ellipsis


def need_number(checker_name: str, answer) -> float:
    """The learner's number as a float: ``int``, ``float``, numpy scalars and one-element
    tensors/arrays all count. Raise ``TypeError`` for the wrong kind of thing (a string, a
    ``bool``, a function); a :class:`LearnerError` for an array or tensor that is not one
    number."""
    if isinstance(answer, bool) or isinstance(answer, (str, bytes)) or callable(answer):
        raise TypeError(f"{checker_name} expects a number, got {type(answer).__name__}")
    if isinstance(answer, (int, float)):
        return float(answer)
    t = _to_tensor(answer)
    if t is None:
        raise TypeError(f"{checker_name} expects a number, got {type(answer).__name__}")
    if t.dtype == torch.bool:
        raise LearnerError("that is a boolean, not a number")
    if t.numel() != 1:
        raise LearnerError(f"expected one number, got {t.numel()} values")
    return float(t.reshape(()))


def returned_number(value, what: str = "your function") -> float:
    """What the learner's function returned, as one float; a :class:`LearnerError` (a failed
    check, not a ``TypeError``) when it is not one number."""
    try:
        return need_number(what, value)
    except TypeError:
        raise LearnerError(f"{what} must return a number, got {type(value).__name__}") from None


def call(fn: Callable, *args, **kwargs):
    """Run the learner's function; turn any exception into a :class:`LearnerError`."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise LearnerError("your function still raises NotImplementedError (not filled in "
                           "yet)") from None
    except Exception as e:  # the learner's bug, reported in one line
        raise LearnerError(f"your function raised {type(e).__name__}: {e}") from None


def _to_tensor(value) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        return torch.as_tensor(value)
    except Exception:
        return None


def as_tensor(value, like: torch.Tensor | None = None) -> torch.Tensor | None:
    """Numbers, lists and arrays become tensors; anything else gives ``None``."""
    t = _to_tensor(value)
    if t is not None and like is not None:
        t = t.to(like.dtype)
    return t


def answer_tensor(value, shape, what: str = "the result", *, bools: bool = False
                  ) -> torch.Tensor:
    """The learner's array-like answer (tensor of any dtype, numpy array, list) as a float64
    tensor of ``shape``; a :class:`LearnerError` saying what is wrong otherwise. Booleans are
    refused unless ``bools`` (spikes are floats: ``True - True`` is an error in torch)."""
    t = _to_tensor(value)
    shape = tuple(shape)
    if t is None or t.dtype.is_complex:
        raise LearnerError(f"{what} must be a tensor of shape {shape}, got "
                           f"{type(value).__name__}")
    if t.dtype == torch.bool and not bools:
        raise LearnerError(f"{what} is a tensor of booleans: make it float (0.0 / 1.0)")
    if tuple(t.shape) != shape:
        raise LearnerError(f"{what} must have shape {shape}, got {tuple(t.shape)}")
    return t.to(torch.float64)


def close(got: torch.Tensor, want: torch.Tensor, *, rtol: float = 1e-4,
          atol: float = 1e-5) -> bool:
    """``got`` (float64, from :func:`answer_tensor`) matches ``want``; NaN never matches."""
    want = want.detach().to(torch.float64)
    if got.shape != want.shape:
        return False
    return bool(torch.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False))


def where(params: dict) -> str:
    """``"beta=0.9, T=4"``: the parameters of the failing case, for the message."""
    return ", ".join(f"{k}={_short(v)}" for k, v in params.items())


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, torch.Tensor):
        return f"tensor{tuple(v.shape)}" if v.numel() > 1 else f"{float(v):.4g}"
    return str(v)


def uniform(gen: torch.Generator, low: float, high: float) -> float:
    """One float uniform in ``[low, high)`` from a private generator."""
    return low + (high - low) * float(torch.rand((), generator=gen, dtype=torch.float64))


def randint(gen: torch.Generator, low: int, high: int) -> int:
    """One int uniform in ``[low, high]`` from a private generator."""
    return int(torch.randint(low, high + 1, (), generator=gen))


def rand_shape(gen: torch.Generator, ndim_max: int = 2, size_max: int = 6) -> tuple:
    """A random shape of 1..ndim_max dimensions of sizes 1..size_max."""
    return tuple(randint(gen, 1, size_max) for _ in range(randint(gen, 1, ndim_max)))


def use_or_reference(learner_fn: Callable, reference_fn: Callable | str,
                     name: str | None = None) -> Callable:
    """A function that calls the learner's ``learner_fn`` and, while the exercise is unsolved
    (its stub raises ``NotImplementedError``, or its checker has not passed), calls the
    library's reference instead, with one visible note, so the rest of a notebook runs.

    ``reference_fn`` is a function, or a checker's name (``"check_cosine"``) whose reference to
    use; that checker's result in :data:`PROGRESS` then decides too. ``name`` is what the note
    calls the exercise (by default the learner's function's name)."""
    learner_fn = getattr(learner_fn, "learner", learner_fn)  # re-running the cell: no nesting
    checker_key = None
    if isinstance(reference_fn, str):
        checker_key = _checker_key(reference_fn)
        reference_fn = reference(reference_fn)
    if not callable(reference_fn):
        raise TypeError(f"reference_fn must be a function, got {type(reference_fn).__name__}")
    label = name or getattr(learner_fn, "__name__", "this exercise")
    noted = []

    def fallback(*args, **kwargs):
        if not noted:
            noted.append(True)
            print(f"ℹ️ {label} is not solved yet: using snnlab's reference so the rest of the "
                  "notebook runs")
        return reference_fn(*args, **kwargs)

    @functools.wraps(learner_fn)
    def run(*args, **kwargs):
        if not callable(learner_fn) or (checker_key is not None
                                        and PROGRESS.get(checker_key) is not True):
            return fallback(*args, **kwargs)
        try:
            return learner_fn(*args, **kwargs)
        except NotImplementedError:
            return fallback(*args, **kwargs)

    run.learner = learner_fn
    return run


def progress(verbose: bool = True) -> dict[str, bool]:
    """Summary of the exercises checked so far: prints one line each and returns a copy."""
    if verbose:
        done = sum(PROGRESS.values())
        print(f"{done}/{len(PROGRESS)} exercises passed")
        for name, ok in PROGRESS.items():
            tries = PROGRESS.failures.get(name, 0)
            guess = PROGRESS.predictions.get(name)
            note = "" if guess is None else (", prediction right" if guess
                                             else ", prediction off")
            print(f"  {'✅' if ok else '❌'} {name}" + (f" ({tries} failed tries)" if tries
                                                        else "") + note)
    return dict(PROGRESS)


def reset_progress() -> None:
    """Forget every result and failure count (a fresh start in this kernel)."""
    PROGRESS.clear()
