"""Checkers for the notebook exercises.

The pattern every checker here follows (append new ones the same way):

* ``check_<name>(answer) -> bool`` where ``answer`` is the learner's function or value;
* the checker computes the reference answer itself from :mod:`snnlab`, calls the learner's code
  through :func:`_call` (so an exception in it, e.g. the stub's ``NotImplementedError``, becomes
  a failed check, not a traceback), and finishes with :func:`_passed` or :func:`_failed`;
* it prints exactly one line, ``✅ <name>: passed`` or ``❌ <name>: <what is wrong> — hint:
  <hint>``, records the result in :data:`PROGRESS` and returns ``True``/``False``;
* it never raises on a wrong answer; only a wrong *kind* of thing (e.g. a number where a function
  is expected) raises ``TypeError``.

:func:`progress` summarises what a learner has passed so far in this kernel.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from . import functional as F
from . import surrogate as S

__all__ = ["PROGRESS", "progress", "reset_progress",
           "check_lif_step", "check_firing_rate", "check_if_rate",
           "check_rate_code", "check_latency_code", "check_spike_count",
           "check_surrogate_derivative", "check_spike_function", "check_bptt_accuracy",
           "check_quantise", "check_read_noise_std",
           "check_vdot_estimate", "check_timing_dv", "check_timing_error", "check_cosine"]

#: name -> passed? for every checker run in this process (the latest attempt counts).
PROGRESS: dict[str, bool] = {}


class _LearnerError(Exception):
    """The learner's code raised; carries a readable one-line description."""


# --------------------------------------------------------------------------- shared helpers
def _passed(name: str, detail: str = "") -> bool:
    PROGRESS[name] = True
    print(f"✅ {name}: passed" + (f" ({detail})" if detail else ""))
    return True


def _failed(name: str, problem: str, hint: str) -> bool:
    PROGRESS[name] = False
    print(f"❌ {name}: {problem} — hint: {hint}")
    return False


def _need_callable(name: str, fn) -> None:
    if not callable(fn):
        raise TypeError(f"{name} expects your function (e.g. {name.removeprefix('check_')}), "
                        f"got {type(fn).__name__}; pass the function itself, without calling it")


def _unanswered(answer) -> bool:
    """``None`` or ``...`` (the stub's placeholder) means "not answered yet"."""
    return answer is None or answer is Ellipsis


def _need_number(checker: str, answer) -> None:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        raise TypeError(f"{checker} expects a number, got {type(answer).__name__}")


def _call(fn: Callable, *args, **kwargs):
    """Run the learner's function; turn any exception into a :class:`_LearnerError`."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise _LearnerError("your function still raises NotImplementedError (not filled in "
                            "yet)") from None
    except Exception as e:  # the learner's bug, reported in one line
        raise _LearnerError(f"your function raised {type(e).__name__}: {e}") from None


def _as_tensor(value, like: torch.Tensor | None = None) -> torch.Tensor | None:
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
    PROGRESS.clear()


# =========================================================================== 01 spiking neurons
def _lif_reference(v, current, beta, threshold):
    u = F.charge(v, current, beta)
    s = (u > threshold).to(u.dtype)
    return s, F.reset(u, s, threshold, "subtract", detach=True)


def check_lif_step(lif_step: Callable) -> bool:
    """``lif_step(v, current, beta, threshold) -> (s, v_new)``: charge, fire, reset by
    subtraction (eqs. 1, 2, 3a)."""
    name = "lif_step"
    _need_callable("check_lif_step", lif_step)
    g = torch.Generator().manual_seed(0)
    v = torch.rand(64, generator=g) * 1.5
    current = torch.rand(64, generator=g) * 0.8 - 0.1
    cases = [(0.9, 1.0), (0.5, 0.7), (1.0, 1.2)]
    try:
        for beta, thr in cases:
            out = _call(lif_step, v.clone(), current.clone(), beta, thr)
            if not isinstance(out, tuple) or len(out) != 2:
                return _failed(name, f"expected a tuple (s, v_new), got {type(out).__name__}",
                               "end with `return s, v_new`")
            s, v_new = (_as_tensor(o, v) for o in out)
            if s is None or v_new is None or s.shape != v.shape or v_new.shape != v.shape:
                return _failed(name, "s and v_new must be tensors shaped like v",
                               "work elementwise on the whole tensor, no loops needed")
            s_ref, v_ref = _lif_reference(v, current, beta, thr)
            if not torch.equal(s, s_ref):
                return _failed(name, f"wrong spikes for beta={beta}, threshold={thr}",
                               "charge first, u = beta*v + current, then s = (u > threshold)")
            if not torch.allclose(v_new, v_ref, atol=1e-6):
                if torch.allclose(v_new, (F.charge(v, current, beta)) * (1 - s_ref), atol=1e-6):
                    return _failed(name, "you reset to zero", "this exercise asks for reset "
                                   "by subtraction: v_new = u - threshold * s")
                return _failed(name, f"wrong new state for beta={beta}, threshold={thr}",
                               "v_new = u - threshold * s, with u the membrane before reset")
    except _LearnerError as e:
        return _failed(name, str(e), "implement the three lines charge, fire, reset")
    return _passed(name)


def _simulated_rate(current: float, beta: float, threshold: float, reset: str,
                    T: int = 2000) -> float:
    i_seq = torch.full((T, 1), current, dtype=torch.float64)
    s, _ = F.lif_sequence(i_seq, beta=beta, threshold=threshold, reset_mode=reset,
                          surrogate=S.FastSigmoid())
    return float(s.sum()) / T


def lif_rate_closed_form(current: float, beta: float, threshold: float) -> float:
    r"""Spikes per step of a LIF neuron with reset to zero under a constant current ``I``.

    From rest, :math:`u[n] = I(1-\beta^n)/(1-\beta)` after n steps, so the neuron fires first
    at the smallest :math:`n` with :math:`u[n] > \vartheta` and then repeats every n steps:
    rate :math:`= 1/n`, and 0 when :math:`I/(1-\beta) \le \vartheta` (it never gets there).
    """
    if current <= 0:
        return 0.0
    if beta >= 1.0:
        n = math.floor(threshold / current) + 1
    else:
        if current / (1.0 - beta) <= threshold:
            return 0.0
        n, u = 0, 0.0
        while u <= threshold:  # exact on the discrete grid (the log formula has rounding edges)
            u = beta * u + current
            n += 1
    return 1.0 / n


def check_firing_rate(firing_rate: Callable) -> bool:
    """``firing_rate(current, beta, threshold) -> spikes per step`` of a LIF neuron with reset to
    zero under a constant current (analytically or by simulating; within 2%)."""
    name = "firing_rate"
    _need_callable("check_firing_rate", firing_rate)
    cases = [(0.3, 0.9, 1.0), (0.15, 0.9, 1.0), (0.05, 0.9, 1.0), (0.6, 0.8, 1.5),
             (1.5, 0.95, 1.0)]
    try:
        for cur, beta, thr in cases:
            got = _as_tensor(_call(firing_rate, cur, beta, thr))
            if got is None or got.numel() != 1:
                return _failed(name, "return one number (spikes per time step)",
                               "count the spikes and divide by the number of steps")
            ref = _simulated_rate(cur, beta, thr, "zero")
            got = float(got)
            if ref == 0.0 and got != 0.0:
                return _failed(name, f"I={cur}, beta={beta}: the neuron never fires but you "
                               f"return {got:.3g}",
                               "the membrane saturates at I/(1-beta); below threshold no spikes")
            if ref > 0 and abs(got - ref) > 0.02 * ref:
                unit = " (looks like Hz: give spikes per step)" if got > 1 else ""
                return _failed(name, f"I={cur}, beta={beta}, threshold={thr}: expected "
                               f"{ref:.4f} spikes/step, got {got:.4f}{unit}",
                               "after a reset to zero the neuron needs the same number of steps "
                               "n to reach threshold again; the rate is 1/n")
    except _LearnerError as e:
        return _failed(name, str(e), "simulate a few hundred steps with your lif step, or use "
                       "u[n] = I (1 - beta^n) / (1 - beta)")
    return _passed(name)


def check_if_rate(answer) -> bool:
    """The long-run rate of an IF neuron (beta = 1, reset by subtraction) with current 0.25 and
    threshold 1, in spikes per step (a number; ``None`` or ``...`` means "not answered yet")."""
    name = "if_rate"
    if _unanswered(answer):
        return _failed(name, "no answer yet", "replace ... by a number")
    _need_number("check_if_rate", answer)
    ref = _simulated_rate(0.25, 1.0, 1.0, "subtract", T=4000)
    if abs(answer - ref) <= 0.01:
        return _passed(name, f"{ref:.3f} spikes per step")
    return _failed(name, f"expected about {ref:.3f}, got {answer:.3g}",
                   "without leak and with reset by subtraction no charge is ever lost, so in "
                   "the long run the rate is I/θ")


# =========================================================================== 02 encodings
def check_rate_code(rate_encode: Callable) -> bool:
    """``rate_encode(x, T) -> [T, *x.shape]`` of 0/1 spikes with P(spike) = x per step."""
    name = "rate_code"
    _need_callable("check_rate_code", rate_encode)
    torch.manual_seed(0)
    x = torch.linspace(0.0, 1.0, 11)
    T = 4000
    try:
        seq = _as_tensor(_call(rate_encode, x.clone(), T))
    except _LearnerError as e:
        return _failed(name, str(e), "torch.bernoulli(x.expand(T, *x.shape)) draws it at once")
    if seq is None or tuple(seq.shape) != (T, *x.shape):
        got = None if seq is None else tuple(seq.shape)
        return _failed(name, f"expected shape {(T, *x.shape)}, got {got}",
                       "time goes first: [T, ...]")
    if not bool(((seq == 0) | (seq == 1)).all()):
        return _failed(name, "the output must contain only 0 and 1", "a spike is 1, silence 0")
    mean = seq.float().mean(0)
    err = float((mean - x).abs().max())
    if err > 0.04:
        return _failed(name, f"the spike probability does not match x (worst error {err:.2f})",
                       "each step spikes independently with probability x")
    if bool((seq.float().std(0)[1:-1] == 0).any()):
        return _failed(name, "the spikes are deterministic", "draw random numbers")
    return _passed(name, f"mean rate within {err:.3f} of x")


def check_latency_code(latency_encode: Callable) -> bool:
    """``latency_encode(x, T) -> [T, *x.shape]``: one spike at ``round((1 - x)(T - 1))``, none
    where ``x == 0`` (same as ``snnlab.encode(x, T, "latency")``)."""
    from .encoding import encode

    name = "latency_code"
    _need_callable("check_latency_code", latency_encode)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 16, generator=g)
    x[:, :3] = torch.tensor([0.0, 1.0, 0.5])
    for T in (5, 16):
        ref = encode(x, T, "latency")
        try:
            got = _as_tensor(_call(latency_encode, x.clone(), T), ref)
        except _LearnerError as e:
            return _failed(name, str(e), "build it from t_spike = round((1 - x) * (T - 1))")
        if got is None or got.shape != ref.shape:
            return _failed(name, f"expected shape {tuple(ref.shape)}, got "
                           f"{None if got is None else tuple(got.shape)}", "time goes first")
        if torch.equal(got, ref):
            continue
        if torch.equal(got.flip(0), ref):
            return _failed(name, "your spike times are reversed",
                           "bright pixels (x near 1) must fire FIRST, at t = 0")
        n = got.sum(0)
        if bool((n[x > 0] != 1).any()):
            return _failed(name, "every nonzero pixel must spike exactly once",
                           "compare torch.arange(T) with t_spike to get a one-hot over time")
        if bool((n[x == 0] != 0).any()):
            return _failed(name, "pixels with x = 0 must stay silent",
                           "multiply the one-hot by (x > 0)")
        return _failed(name, f"spike times differ from round((1 - x)(T - 1)) for T={T}",
                       "use torch.round, and scale by T - 1 so x = 0+ fires at the last step")
    return _passed(name)


def check_spike_count(answer, *, x: float = 0.3, T: int = 20, gain: float = 1.0) -> bool:
    """Expected number of spikes of one rate-coded input ``x`` over ``T`` steps (a number)."""
    name = "spike_count"
    if _unanswered(answer):
        return _failed(name, "no answer yet", "replace ... by a number")
    _need_number("check_spike_count", answer)
    ref = T * min(max(gain * x, 0.0), 1.0)
    if abs(answer - ref) <= 1e-6 * max(1.0, ref):
        return _passed(name, f"{ref:g} spikes on average")
    return _failed(name, f"expected {ref:g}, got {answer:g}",
                   "each of the T steps spikes with probability gain·x: the mean is T·gain·x")


# =========================================================================== 03 surrogate BPTT
def check_surrogate_derivative(derivative: Callable, scale: float = 10.0) -> bool:
    """``derivative(x, scale) -> 1 / (scale*|x| + 1)**2`` (the fast-sigmoid surrogate)."""
    name = "surrogate_derivative"
    _need_callable("check_surrogate_derivative", derivative)
    x = torch.linspace(-2.0, 2.0, 81)
    ref = S.FastSigmoid(scale).derivative(x)
    try:
        got = _as_tensor(_call(derivative, x.clone(), scale), ref)
    except _LearnerError as e:
        return _failed(name, str(e), "1 / (scale * x.abs() + 1) ** 2")
    if got is None or got.shape != x.shape:
        return _failed(name, "return a tensor shaped like x", "work elementwise")
    if torch.allclose(got, ref, atol=1e-6):
        return _passed(name)
    if torch.allclose(got, 1.0 / (scale * x.abs() + 1.0), atol=1e-6):
        return _failed(name, "the denominator must be squared", "(scale*|x| + 1) ** 2")
    if float(got[40]) != 1.0:
        return _failed(name, f"at x = 0 the derivative must be 1, got {float(got[40]):.3g}",
                       "the peak sits at the threshold")
    return _failed(name, "values differ from 1/(scale|x|+1)^2", "use x.abs(), not x")


def check_spike_function(spike: Callable, scale: float = 10.0) -> bool:
    """``spike(x)``: Heaviside ``(x > 0)`` forward, fast-sigmoid derivative (``scale``) backward
    (e.g. ``MySpike.apply`` of an ``autograd.Function``)."""
    name = "spike_function"
    _need_callable("check_spike_function", spike)
    x = torch.linspace(-1.0, 1.0, 41, dtype=torch.float64).requires_grad_(True)
    try:
        out = _call(spike, x)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            return _failed(name, "spike(x) must return a tensor shaped like x",
                           "forward returns (x > 0).to(x.dtype)")
        if not torch.equal(out.detach(), (x.detach() > 0).to(out.dtype)):
            return _failed(name, "the forward pass must be the step H(x): 1 where x > 0",
                           "(x > 0).to(x.dtype)")
        if not out.requires_grad:
            return _failed(name, "no gradient flows through your spike",
                           "wrap it in a torch.autograd.Function with a custom backward")
        (g,) = _call(torch.autograd.grad, out.sum(), x)
    except _LearnerError as e:
        return _failed(name, str(e), "forward: save x, return (x > 0); backward: grad * σ'(x)")
    ref = S.FastSigmoid(scale).derivative(x.detach())
    if torch.allclose(g, ref, atol=1e-6):
        return _passed(name)
    if float(g.abs().max()) == 0.0:
        return _failed(name, "the gradient is zero everywhere (the true Heaviside gradient)",
                       "in backward return grad_output * surrogate derivative, not zero")
    return _failed(name, "the backward pass is not the fast-sigmoid derivative",
                   f"grad_output / ({scale:g} * x.abs() + 1) ** 2")


def check_bptt_accuracy(model_or_train_fn, data, *, T: int = 8, encoding: str = "direct",
                        target: float = 0.9) -> bool:
    """The test accuracy of a trained network reaches ``target``.

    Pass the trained :class:`~snnlab.models.SpikingNet`, or your function
    ``train_fn(data) -> SpikingNet`` (it is called once here).
    """
    from .models import SpikingNet
    from .train import evaluate

    name = "bptt_accuracy"
    model = model_or_train_fn
    if not isinstance(model, SpikingNet):
        if not callable(model):
            raise TypeError("check_bptt_accuracy expects a SpikingNet or a function "
                            f"train_fn(data) -> SpikingNet, got {type(model).__name__}")
        try:
            model = _call(model_or_train_fn, data)
        except _LearnerError as e:
            return _failed(name, str(e), "build snnlab.models.mlp(...) and snnlab.train it "
                           "with rule='bptt', then return the model")
        if not isinstance(model, SpikingNet):
            return _failed(name, f"your function returned {type(model).__name__}, not a "
                           "SpikingNet", "return the trained model itself")
    dataset = getattr(data, "test", data)
    try:
        acc = evaluate(model, dataset, T, encoding=encoding)["acc"]
    except (TypeError, ValueError) as e:
        return _failed(name, f"could not evaluate: {e}", "train the model on the same data "
                       "and T")
    if acc >= target:
        return _passed(name, f"test accuracy {acc:.3f} ≥ {target:.2f}")
    return _failed(name, f"test accuracy {acc:.3f} < {target:.2f}",
                   "train with a surrogate (not the true step), lr ≈ 2e-3, a few more epochs")


# --------------------------------------------------------------------------- hardware (nb 13)
def check_quantise(quantise: Callable) -> bool:
    """Your ``quantise(g, bits, g_min, g_max)`` rounds conductances to the nearest of the
    ``2**bits`` evenly spaced levels in ``[g_min, g_max]`` (eq. 2 of :mod:`snnlab.hardware`)."""
    from .hardware import Crossbar, NoiseModel

    name = "quantise"
    _need_callable("check_quantise", quantise)
    gen = torch.Generator().manual_seed(0)
    for bits, g_min in ((1, 0.0), (2, 0.1), (3, 0.0), (4, 0.25)):
        g = g_min + (1.0 - g_min) * torch.rand(200, generator=gen)
        xbar = Crossbar(torch.ones(1), NoiseModel(bits=bits, g_min=g_min), gen)
        want = xbar.quantise(g)
        try:
            got = _as_tensor(_call(quantise, g.clone(), bits, g_min, 1.0), want)
        except _LearnerError as e:
            return _failed(name, str(e), "delta = (g_max - g_min) / (2**bits - 1); "
                           "g_min + torch.round((g - g_min) / delta) * delta")
        if got is None or got.shape != want.shape:
            return _failed(name, f"expected a tensor of shape {tuple(want.shape)}",
                           "return one quantised value per input conductance")
        if not torch.allclose(got, want, atol=1e-5):
            n_levels = int(got.unique().numel())
            hint = ("there are 2**bits levels, so 2**bits - 1 steps between g_min and g_max"
                    if n_levels != 2 ** bits else "measure the levels from g_min, not from 0")
            return _failed(name, f"wrong levels for bits={bits}, g_min={g_min} "
                           f"({n_levels} distinct values)", hint)
    return _passed(name, "at most 2**bits levels, nearest level chosen")


def check_read_noise_std(read_noise_std: Callable) -> bool:
    """Your ``read_noise_std(x, g_pos, g_neg, sigma_r, scale)`` gives the standard deviation of
    each output current when every device reads ``G (1 + sigma_r * xi)`` independently
    (eq. 7 of :mod:`snnlab.hardware`): ``x [B, n_in]``, ``g_pos, g_neg [n_out, n_in]``."""
    name = "read_noise_std"
    _need_callable("check_read_noise_std", read_noise_std)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3, 5, generator=gen)
    g_pos, g_neg = torch.rand(4, 5, generator=gen), torch.rand(4, 5, generator=gen)
    sigma_r, scale = 0.05, 0.3
    want = sigma_r * scale * torch.sqrt((x * x) @ (g_pos ** 2 + g_neg ** 2).T)
    try:
        got = _as_tensor(_call(read_noise_std, x.clone(), g_pos.clone(), g_neg.clone(),
                               sigma_r, scale), want)
    except _LearnerError as e:
        return _failed(name, str(e), "variances of independent devices add: "
                       "var_j = sum_i x_i^2 (sigma_r * scale)^2 (G+_ji^2 + G-_ji^2)")
    if got is None or got.shape != want.shape:
        return _failed(name, f"expected shape {tuple(want.shape)} ([B, n_out])",
                       "one standard deviation per sample and output neuron")
    if torch.allclose(got, want, rtol=1e-4, atol=1e-7):
        return _passed(name, "variances of independent device reads add up")
    if torch.allclose(got, want ** 2, rtol=1e-4, atol=1e-9):
        return _failed(name, "you returned the variance", "take the square root at the end")
    lin = sigma_r * scale * (x @ (g_pos + g_neg).T)
    if torch.allclose(got, lin, rtol=1e-4):
        return _failed(name, "you added standard deviations", "add variances (squares), "
                       "then take one square root")
    return _failed(name, "the values differ from the reference",
                   "std_j = sigma_r * scale * sqrt(sum_i x_i^2 (G+_ji^2 + G-_ji^2))")


# --------------------------------------------------------------------------- ANN-guided learning
# notebooks 06 (conversion), 07 (tandem learning), 08 (local tandem learning)
def check_staircase(staircase: Callable) -> bool:
    """Your ``staircase(z, lam, T, v0)``: what an IF neuron (threshold ``lam``, reset by
    subtraction, initial membrane ``v0 * lam``) outputs in ANN units after T steps of constant
    input ``z``: ``lam / T * clip(floor(T z / lam + v0), 0, T)``."""
    from .conversion import staircase as ref

    name = "staircase"
    _need_callable("check_staircase", staircase)
    z = torch.linspace(-0.5, 3.0, 301, dtype=torch.float64) + 1e-4
    for lam, T, v0 in ((1.0, 4, 0.0), (2.0, 8, 0.5), (1.5, 3, 0.5)):
        want = ref(z, lam, T, v0)
        try:
            got = _as_tensor(_call(staircase, z.clone(), lam, T, v0), want)
        except _LearnerError as e:
            return _failed(name, str(e), "(lam / T) * torch.clamp(torch.floor(T * z / lam + v0),"
                           " 0, T)")
        if got is None or got.shape != want.shape:
            return _failed(name, f"expected a tensor of shape {tuple(want.shape)}",
                           "return one value per input current")
        if not torch.allclose(got, want, atol=1e-6):
            if float(got.max()) > lam + 1e-6:
                return _failed(name, "values above lam", "at most one spike per step: clip the "
                               "count to [0, T]")
            if v0 and torch.allclose(got, ref(z, lam, T, 0.0), atol=1e-6):
                return _failed(name, f"wrong for v0={v0}", "the initial membrane adds v0 "
                               "(in units of the threshold) before the floor")
            return _failed(name, f"wrong for lam={lam}, T={T}, v0={v0}",
                           "count = floor(T z / lam + v0) spikes, each worth lam / T")
    return _passed(name, "the IF neuron's even-input staircase")


def check_weight_normalisation(normalise: Callable) -> bool:
    """Your ``normalise(W, b, lam_prev, lam)`` returns ``(W * lam_prev / lam, b / lam)``
    (Diehl et al. 2015), so that a layer whose activations reach ``lam`` fires at rate 1."""
    name = "weight_normalisation"
    _need_callable("check_weight_normalisation", normalise)
    gen = torch.Generator().manual_seed(0)
    W, b = torch.randn(4, 3, generator=gen), torch.randn(4, generator=gen)
    for lam_prev, lam in ((1.0, 2.0), (3.0, 0.5)):
        try:
            out = _call(normalise, W.clone(), b.clone(), lam_prev, lam)
        except _LearnerError as e:
            return _failed(name, str(e), "return (W * lam_prev / lam, b / lam)")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return _failed(name, "return a pair (W_new, b_new)", "return W_new, b_new")
        w2, b2 = _as_tensor(out[0], W), _as_tensor(out[1], b)
        if w2 is None or b2 is None or w2.shape != W.shape or b2.shape != b.shape:
            return _failed(name, "wrong shapes", "keep the shapes of W and b")
        if not torch.allclose(b2, b / lam, atol=1e-6):
            return _failed(name, "the bias is wrong", "the bias only divides by this layer's "
                           "lam: it does not see the previous layer's spikes")
        if not torch.allclose(w2, W * lam_prev / lam, atol=1e-6):
            return _failed(name, "the weights are wrong", "a spike of the previous layer stands "
                           "for lam_prev, so multiply by lam_prev and divide by lam")
    return _passed(name, "rates in [0, 1] now mean activations in [0, lam]")


def check_tandem_count(tandem_count: Callable) -> bool:
    """Your ``tandem_count(W, b, x, T)``: the spike counts of an IF layer (threshold 1, reset
    by subtraction) that receives ``W x + b / T`` at each of T steps (Wu et al. 2021):
    ``clip(floor(T W x + b), 0, T)``."""
    from . import functional as Fn

    name = "tandem_count"
    _need_callable("check_tandem_count", tandem_count)
    gen = torch.Generator().manual_seed(2)
    W, b, x = torch.randn(30, 6, generator=gen), torch.randn(30, generator=gen), \
        torch.rand(5, 6, generator=gen)
    for T in (1, 4, 9):
        charge = T * x @ W.T + b
        s, _ = Fn.lif_sequence((x @ W.T + b / T).expand(T, -1, -1), beta=1.0,
                               surrogate=S.FastSigmoid())
        want = s.sum(0)
        ok = (charge - charge.round()).abs() > 1e-4  # ignore exact-integer boundaries
        try:
            got = _as_tensor(_call(tandem_count, W, b, x, T), want)
        except _LearnerError as e:
            return _failed(name, str(e), "torch.clamp(torch.floor(T * x @ W.T + b), 0, T)")
        if got is None or got.shape != want.shape:
            return _failed(name, f"expected shape {tuple(want.shape)}", "one count per sample "
                           "and neuron")
        if not torch.equal(got[ok], want[ok]):
            if torch.equal(got[ok].clamp(0, T), want[ok]):
                return _failed(name, "counts outside [0, T]", "a neuron fires at most once per "
                               "step and never below zero: clip")
            return _failed(name, f"wrong counts for T={T}", "the whole window integrates "
                           "T (W x) + b; each spike removes 1")
    return _passed(name, "your closed form equals the simulated IF counts")


def check_straight_through(straight_through: Callable) -> bool:
    """Your ``straight_through(c, a)`` returns a tensor whose *value* is ``c`` (the SNN's
    counts) and whose *gradient* flows to ``a`` (the ANN's activations) unchanged."""
    name = "straight_through"
    _need_callable("check_straight_through", straight_through)
    c = torch.tensor([0.0, 2.0, 3.0, 1.0])
    a = torch.tensor([0.4, 1.7, 3.2, 0.0], requires_grad=True)
    g = torch.tensor([1.0, -2.0, 0.5, 3.0])
    try:
        out = _call(straight_through, c, a)
    except _LearnerError as e:
        return _failed(name, str(e), "return a + (c - a).detach()")
    if not isinstance(out, torch.Tensor) or out.shape != c.shape:
        return _failed(name, "return a tensor shaped like c", "return a + (c - a).detach()")
    if not torch.allclose(out.detach(), c):
        return _failed(name, "the value is not the count c", "the forward value must be c")
    if out.grad_fn is None:
        return _failed(name, "no gradient reaches a", "do not detach a itself, only (c - a)")
    (grad,) = torch.autograd.grad(out, a, g)
    if not torch.allclose(grad, g):
        return _failed(name, "the gradient reaching a is changed", "d out / d a must be 1: "
                       "a + (c - a).detach()")
    return _passed(name, "count forward, ANN gradient backward")


def check_ltl_target(ltl_target: Callable) -> bool:
    """Your ``ltl_target(a, p)`` divides a teacher activation tensor by its ``p``-th percentile
    (nearest rank, over the whole tensor) and clips to [0, 1] (eq. 1 of the LTL rule)."""
    from .conversion import percentile

    name = "ltl_target"
    _need_callable("check_ltl_target", ltl_target)
    gen = torch.Generator().manual_seed(3)
    a = (torch.randn(32, 20, generator=gen) * 0.8).clamp(0, 2)
    for p in (99.9, 99.0, 90.0):
        want = (a / percentile(a, p)).clamp(0, 1)
        try:
            got = _as_tensor(_call(ltl_target, a.clone(), p), want)
        except _LearnerError as e:
            return _failed(name, str(e), "(a / scale).clamp(0, 1) with scale from kthvalue")
        if got is None or got.shape != want.shape:
            return _failed(name, f"expected shape {tuple(want.shape)}", "one target per unit")
        if not torch.allclose(got, want, atol=1e-3):
            if float(got.max()) > 1 + 1e-6:
                return _failed(name, "targets above 1", "clip to [0, 1]: a rate cannot exceed 1")
            return _failed(name, f"wrong for p={p}", "scale = the k-th smallest of all elements "
                           "with k = 1 + round(p / 100 * (n - 1))")
    return _passed(name, "teacher activations as firing-rate targets")


def check_rate_mse(rate_mse: Callable) -> bool:
    """Your ``rate_mse(spikes, target)``: mean squared error between a layer's firing rate
    (``spikes [T, B, n]`` averaged over time) and its target ``[B, n]``, differentiable in the
    spikes."""
    name = "rate_mse"
    _need_callable("check_rate_mse", rate_mse)
    gen = torch.Generator().manual_seed(4)
    s = (torch.rand(6, 3, 5, generator=gen) < 0.4).float().requires_grad_()
    target = torch.rand(3, 5, generator=gen)
    want = ((s.detach().mean(0) - target) ** 2).mean()
    try:
        got = _call(rate_mse, s, target)
    except _LearnerError as e:
        return _failed(name, str(e), "torch.nn.functional.mse_loss(spikes.mean(0), target)")
    if not isinstance(got, torch.Tensor) or got.numel() != 1:
        return _failed(name, "return a scalar tensor", "mse_loss(...) returns one")
    if not torch.allclose(got.detach().reshape(()), want, atol=1e-6):
        if torch.allclose(got.detach().reshape(()), ((s.detach().sum(0) - target) ** 2).mean()):
            return _failed(name, "you compared the count, not the rate", "divide by T: "
                           "spikes.mean(0)")
        return _failed(name, "wrong value", "mse_loss(spikes.mean(0), target)")
    if got.grad_fn is None:
        return _failed(name, "no gradient reaches the spikes", "do not detach the spikes")
    return _passed(name, "the local loss of one LTL layer")


# =========================================================================== 04-05 timing / ANTLR
def _ref_vdot(v, s, vdot_min):
    prev = torch.cat([torch.zeros_like(v[:1]), v[:-1]])
    s_prev = torch.cat([torch.zeros_like(s[:1]), s[:-1]])
    return (v - (1.0 - s_prev) * prev).clamp(min=vdot_min)


def check_vdot_estimate(vdot: Callable, vdot_min: float = 0.01) -> bool:
    """``vdot(v, s, vdot_min) -> V[t] - (1 - s[t-1]) V[t-1]`` clamped below at ``vdot_min``
    (``v``, ``s`` are ``[T, ...]``; before t = 0 the neuron is at rest)."""
    name = "vdot_estimate"
    _need_callable("check_vdot_estimate", vdot)
    g = torch.Generator().manual_seed(4)
    v = torch.rand(12, 3, generator=g) * 1.4
    s = (v > 1.0).float()
    ref = _ref_vdot(v, s, vdot_min)
    try:
        got = _as_tensor(_call(vdot, v.clone(), s.clone(), vdot_min), ref)
    except _LearnerError as e:
        return _failed(name, str(e), "prev = torch.cat([zeros_like(v[:1]), v[:-1]])")
    if got is None or got.shape != v.shape:
        return _failed(name, "return a tensor shaped like v", "work on whole [T, ...] tensors")
    if torch.allclose(got, ref, atol=1e-6):
        return _passed(name)
    if torch.allclose(got, (v - torch.cat([torch.zeros_like(v[:1]), v[:-1]])).clamp(min=vdot_min),
                      atol=1e-6):
        return _failed(name, "after a spike the voltage restarts from 0",
                       "multiply V[t-1] by (1 - s[t-1])")
    if torch.allclose(got, _ref_vdot(v, s, -math.inf), atol=1e-6):
        return _failed(name, "the slope must be clamped from below", ".clamp(min=vdot_min)")
    return _failed(name, "values differ from V[t] - (1 - s[t-1]) V[t-1]",
                   "a backward difference over one step, V[-1] = 0")


def check_timing_dv(timing_dv: Callable) -> bool:
    """``timing_dv(grad_t, s, vdot) -> -s * grad_t / vdot``: the timing route's dL/dV."""
    name = "timing_dv"
    _need_callable("check_timing_dv", timing_dv)
    g = torch.Generator().manual_seed(5)
    grad_t = torch.randn(10, 4, generator=g)
    s = (torch.rand(10, 4, generator=g) > 0.7).float()
    vdot = 0.05 + torch.rand(10, 4, generator=g)
    ref = -s * grad_t / vdot
    try:
        got = _as_tensor(_call(timing_dv, grad_t.clone(), s.clone(), vdot.clone()), ref)
    except _LearnerError as e:
        return _failed(name, str(e), "return -s * grad_t / vdot")
    if got is None or got.shape != ref.shape:
        return _failed(name, "return a tensor shaped like s", "elementwise")
    if torch.allclose(got, ref, atol=1e-6):
        return _passed(name)
    if torch.allclose(got, -ref, atol=1e-6):
        return _failed(name, "wrong sign", "a higher V crosses earlier: dt/dV = -1/Vdot")
    if torch.allclose(got, -grad_t / vdot, atol=1e-6):
        return _failed(name, "non-zero at steps without a spike",
                       "a spike time exists only where s = 1: multiply by s")
    return _failed(name, "values differ from -s·grad_t/vdot", "divide by the slope")


def check_timing_error(timing_error: Callable) -> bool:
    """``timing_error(A, s) -> s * (A[t+1] - A[t-1]) / 2`` with ``A[T] = 0`` and ``A[-1] = A[0]``:
    eq. (7) of :mod:`snnlab.rules.antlr`, the spike-time error from the activation error."""
    from .rules.antlr import input_timing_gradient

    name = "timing_error"
    _need_callable("check_timing_error", timing_error)
    g = torch.Generator().manual_seed(6)
    A = torch.randn(15, 3, generator=g)
    s = (torch.rand(15, 3, generator=g) > 0.6).float()
    s[0, 0] = s[-1, 1] = 1.0
    ref = input_timing_gradient(s, A)
    try:
        got = _as_tensor(_call(timing_error, A.clone(), s.clone()), ref)
    except _LearnerError as e:
        return _failed(name, str(e), "nxt = torch.cat([A[1:], zeros]), prv = torch.cat([A[:1], "
                                     "A[:-1]])")
    if got is None or got.shape != ref.shape:
        return _failed(name, "return a tensor shaped like A", "whole-tensor shifts, no loop")
    if torch.allclose(got, ref, atol=1e-6):
        return _passed(name)
    if torch.allclose(got, -ref, atol=1e-6):
        return _failed(name, "wrong sign", "moving the spike later means reading A at t+1")
    inner = slice(1, -1)
    if torch.allclose(got[inner], ref[inner], atol=1e-6):
        return _failed(name, "the first or last step is wrong",
                       "use A[T] = 0 (nothing after the end) and A[-1] = A[0]")
    return _failed(name, "values differ from s·(A[t+1] - A[t-1])/2",
                   "a central difference in time, masked by the spikes")


def check_cosine(cosine: Callable) -> bool:
    """``cosine(a, b) -> float``: the cosine similarity of two gradient tensors of any shape."""
    name = "cosine"
    _need_callable("check_cosine", cosine)
    g = torch.Generator().manual_seed(7)
    a, b = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    ref = float((a * b).sum() / (a.norm() * b.norm()))
    try:
        got = float(_call(cosine, a.clone(), b.clone()))
        same = float(_call(cosine, a.clone(), 3 * a.clone()))
    except _LearnerError as e:
        return _failed(name, str(e), "(a * b).sum() / (a.norm() * b.norm())")
    except (TypeError, ValueError):
        return _failed(name, "return a number", "float(...) of a one-element tensor")
    if abs(got - ref) < 1e-5 and abs(same - 1.0) < 1e-5:
        return _passed(name)
    if abs(got - float((a * b).sum())) < 1e-4:
        return _failed(name, "that is the dot product", "divide by both norms")
    return _failed(name, f"expected {ref:.4f}, got {got:.4f}", "flatten both tensors first")


# =========================================================================== 09 distillation
def check_head_mask(head_mask: Callable, mu: float = 0.5) -> bool:
    """``head_mask(p, mu) -> bool [B, C]``: the smallest set of most probable classes whose
    cumulative probability reaches ``mu``, in the original class order (HTA-KL's head)."""
    from .rules.kd import head_mask as ref_mask

    name = "head_mask"
    _need_callable("check_head_mask", head_mask)
    g = torch.Generator().manual_seed(3)
    p = torch.softmax(torch.randn(6, 10, generator=g) * 2, -1)
    ref = ref_mask(p, mu)
    try:
        got = _call(head_mask, p.clone(), mu)
    except _LearnerError as e:
        return _failed(name, str(e), "sort descending, cumsum, keep classes whose mass above < mu")
    got = _as_tensor(got)
    if got is None or got.shape != p.shape:
        return _failed(name, "return a [B, C] mask shaped like p", "one flag per class")
    got = got.bool()
    if torch.equal(got, ref):
        return _passed(name, f"{float(ref.sum(-1).float().mean()):.1f} head classes on average")
    p_sorted, order = p.sort(-1, descending=True)
    if torch.equal(got, (p_sorted.cumsum(-1) - p_sorted) < mu):
        return _failed(name, "the mask is still in sorted order",
                       "scatter it back: torch.zeros_like(mask).scatter(-1, order, mask)")
    if torch.equal(got, torch.zeros_like(ref).scatter(-1, order, p_sorted.cumsum(-1) < mu)):
        return _failed(name, "the class that crosses mu is missing",
                       "compare the mass *above* each class (cumsum - p) with mu")
    return _failed(name, "the mask differs from the reference", "sort with descending=True")


def check_hta_weights(hta_weights: Callable) -> bool:
    """``hta_weights(p, q, mask) -> (w_head, w_tail)``: gaps |p - q| summed over head and tail,
    normalised to sum to one per sample."""
    from .rules.kd import hta_weights as ref_weights

    name = "hta_weights"
    _need_callable("check_hta_weights", hta_weights)
    g = torch.Generator().manual_seed(4)
    p = torch.softmax(torch.randn(5, 8, generator=g), -1)
    q = torch.softmax(torch.randn(5, 8, generator=g), -1)
    mask = torch.rand(5, 8, generator=g) < 0.4
    mask[:, 0] = True
    wh, wt = ref_weights(p, q, mask)
    try:
        got = _call(hta_weights, p.clone(), q.clone(), mask.clone())
        gh, gt = (_as_tensor(v, wh) for v in got)
    except _LearnerError as e:
        return _failed(name, str(e), "g_head = ((p - q).abs() * mask).sum(-1)")
    except (TypeError, ValueError):
        return _failed(name, "return two tensors (w_head, w_tail)", "return w_head, w_tail")
    if gh is None or gt is None or gh.shape != wh.shape:
        return _failed(name, "each weight must have one value per sample ([B])", "sum(-1)")
    if torch.allclose(gh, wh, atol=1e-5) and torch.allclose(gt, wt, atol=1e-5):
        return _passed(name)
    if torch.allclose(gh, wt, atol=1e-5):
        return _failed(name, "head and tail are swapped", "the head gap uses mask, the tail ~mask")
    if not torch.allclose(gh + gt, torch.ones_like(gh), atol=1e-5):
        return _failed(name, "the weights must sum to one", "divide both gaps by their sum")
    return _failed(name, "values differ from the reference", "use absolute differences |p - q|")


# =========================================================================== 14 EICIL
def check_stdp_traces(stdp: Callable) -> bool:
    """``stdp(pre [T,B,in], post [T,B,out], lam) -> (P, D)`` with traces decaying by ``lam``:
    P pairs each post spike with the pre trace up to it, D each pre input with the post trace up
    to it; both ``[out, in]``, averaged over batch and T."""
    from .rules.eicil import stdp_correlations

    name = "stdp_traces"
    _need_callable("check_stdp_traces", stdp)
    g = torch.Generator().manual_seed(5)
    pre = (torch.rand(6, 3, 4, generator=g) < 0.5).float()
    post = (torch.rand(6, 3, 2, generator=g) < 0.4).float()
    P, D = stdp_correlations(pre, post, 0.7, 0.7)
    try:
        got = _call(stdp, pre.clone(), post.clone(), 0.7)
        gP, gD = (_as_tensor(v, P) for v in got)
    except _LearnerError as e:
        return _failed(name, str(e), "loop over t: update both traces, then accumulate")
    except (TypeError, ValueError):
        return _failed(name, "return two tensors (P, D)", "return P, D")
    if gP is None or gD is None or gP.shape != P.shape or gD.shape != D.shape:
        return _failed(name, f"P and D must have shape [out, in] = {tuple(P.shape)}",
                       "post[t].T @ x_hat")
    if torch.allclose(gP, P, atol=1e-5) and torch.allclose(gD, D, atol=1e-5):
        return _passed(name)
    if torch.allclose(gP, P * 18, atol=1e-4) or torch.allclose(gD, D * 18, atol=1e-4):
        return _failed(name, "not normalised", "divide the sums by B * T")
    if torch.allclose(gP, D, atol=1e-5):
        return _failed(name, "P and D are swapped", "P uses the post spikes and the pre trace")
    return _failed(name, "values differ from the reference",
                   "update the trace before using it: x_hat = lam * x_hat + pre[t]")


def check_inhibitory_update(update: Callable) -> bool:
    """``update(W, P, D, eta, a_plus, a_minus) -> W_new``: only positive weights change, by
    ``eta * (a_plus * P - a_minus * D)``, and none is pushed below zero."""
    name = "inhibitory_update"
    _need_callable("check_inhibitory_update", update)
    W = torch.tensor([[0.5, -0.3, 0.0, 0.02], [0.1, 0.2, -0.1, 0.3]])
    P = torch.tensor([[0.2, 0.5, 0.5, 0.0], [1.0, 0.0, 0.0, 0.1]])
    D = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 0.5, 0.5, 0.2]])
    eta, ap, am = 0.1, 1.0, 1.5
    new = W + eta * (ap * P - am * D)
    ref = torch.where(W > 0, new.clamp(min=0.0), W)
    try:
        got = _as_tensor(_call(update, W.clone(), P.clone(), D.clone(), eta, ap, am), ref)
    except _LearnerError as e:
        return _failed(name, str(e), "torch.where(W > 0, new.clamp(min=0), W)")
    if got is None or got.shape != W.shape:
        return _failed(name, "return the new weight matrix", "same shape as W")
    if torch.allclose(got, ref, atol=1e-6):
        return _passed(name)
    if torch.allclose(got, new, atol=1e-6):
        return _failed(name, "negative and zero weights changed, and weights flipped sign",
                       "update only W > 0 and clamp at 0")
    if torch.allclose(got, torch.where(W > 0, new, W), atol=1e-6):
        return _failed(name, "a weight was pushed below zero", "clamp(min=0): silence, don't flip")
    return _failed(name, "values differ from the reference", "new = W + eta*(a_plus*P - a_minus*D)")


# =========================================================================== 10 OTTT
def check_ottt_trace(trace_step: Callable) -> bool:
    """``trace_step(trace, s, lam) -> new trace``: OTTT's presynaptic trace
    :math:`\\hat a[t] = \\lambda \\hat a[t-1] + s[t]`, run over a spike train by the checker."""
    name = "ottt_trace"
    _need_callable("check_ottt_trace", trace_step)
    g = torch.Generator().manual_seed(10)
    spikes = (torch.rand(12, 3, 5, generator=g) < 0.3).float()
    lam = 0.7
    ref = torch.zeros_like(spikes[0])
    got = torch.zeros_like(spikes[0])
    try:
        for s in spikes:
            ref = lam * ref + s
            got = _as_tensor(_call(trace_step, got.clone(), s.clone(), lam), ref)
            if got is None or got.shape != ref.shape:
                return _failed(name, "return the new trace, shaped like s", "lam * trace + s")
    except _LearnerError as e:
        return _failed(name, str(e), "lam * trace + s")
    if torch.allclose(got, ref, atol=1e-5):
        return _passed(name, "the trace equals du/dW of a LIF membrane with leak lam")
    if torch.allclose(got, spikes.sum(0), atol=1e-5):
        return _failed(name, "that is a plain spike count", "decay the old trace by lam first")
    return _failed(name, "values differ from lam * trace + s",
                   "decay the previous trace, then add this step's spikes")


def check_three_factor(weight_grad: Callable) -> bool:
    """``weight_grad(error, surrogate, trace) -> [N_out, N_in]``: the OTTT update accumulated
    over time, :math:`\\sum_t (e[t] \\odot \\sigma'[t])^\\top \\hat a[t]`, from per-step errors
    ``[T, B, N_out]``, surrogate derivatives ``[T, B, N_out]`` and traces ``[T, B, N_in]``."""
    name = "three_factor"
    _need_callable("check_three_factor", weight_grad)
    g = torch.Generator().manual_seed(11)
    err = torch.randn(6, 4, 3, generator=g)
    sg = torch.rand(6, 4, 3, generator=g)
    tr = torch.rand(6, 4, 5, generator=g) * 2
    ref = torch.einsum("tbo,tbi->oi", err * sg, tr)
    try:
        got = _as_tensor(_call(weight_grad, err.clone(), sg.clone(), tr.clone()), ref)
    except _LearnerError as e:
        return _failed(name, str(e), "sum over t of (error * surrogate)[t].T @ trace[t]")
    if got is None or tuple(got.shape) != (3, 5):
        return _failed(name, f"return a [N_out, N_in] = (3, 5) matrix, got "
                       f"{None if got is None else tuple(got.shape)}", "like a Linear weight")
    if torch.allclose(got, ref, atol=1e-4):
        return _passed(name)
    if torch.allclose(got, torch.einsum("tbo,tbi->oi", err, tr), atol=1e-4):
        return _failed(name, "the surrogate factor is missing", "multiply error * surrogate")
    if torch.allclose(got, torch.einsum("tbo,tbi->oi", err * sg, tr[-1:].expand_as(tr)),
                      atol=1e-4):
        return _failed(name, "you used the last trace at every step", "use trace[t] at step t")
    return _failed(name, "values differ from the reference",
                   "torch.einsum('tbo,tbi->oi', error * surrogate, trace)")


# =========================================================================== 11 TSSL-BP
def check_psp_kernel(psp_kernel: Callable) -> bool:
    """``psp_kernel(T, tau_s) -> [T]``: TSSL-BP's normalised PSP of one spike at t = 0,
    :math:`\\epsilon[k] = (1 - 1/\\tau_s)^k / \\tau_s`."""
    name = "psp_kernel"
    _need_callable("check_psp_kernel", psp_kernel)
    T, tau_s = 8, 3.0
    ref = torch.tensor([(1 - 1 / tau_s) ** k / tau_s for k in range(T)])
    try:
        got = _as_tensor(_call(psp_kernel, T, tau_s), ref)
    except _LearnerError as e:
        return _failed(name, str(e), "(1 - 1/tau_s) ** k / tau_s for k = 0..T-1")
    if got is None or got.shape != ref.shape:
        return _failed(name, f"return {T} values", "one per delay k = 0..T-1")
    if torch.allclose(got, ref, atol=1e-5):
        return _passed(name, f"sum over {T} steps = {float(ref.sum()):.3f}, -> 1 for long T")
    if torch.allclose(got, ref * tau_s, atol=1e-5):
        return _failed(name, "not normalised", "divide by tau_s so the kernel integrates to ~1")
    return _failed(name, "values differ from the reference",
                   "first-order trace: a[t] = (1 - 1/tau_s) a[t-1] + s[t]/tau_s")


def check_spike_time_derivative(dt_du: Callable) -> bool:
    """``dt_du(du) -> |dt/du|``: TSSL-BP's spike-time sensitivity ``1/du`` for a rising membrane
    (increment ``du``), clamped to [0, 8] as the reference code does (0 where du <= 0)."""
    name = "spike_time_derivative"
    _need_callable("check_spike_time_derivative", dt_du)
    du = torch.tensor([0.5, 1.0, 0.05, 0.2, -0.3, 2.0, 0.1])
    ref = torch.where(du > 0, (1 / du).clamp(max=8.0), torch.zeros_like(du))
    try:
        got = _as_tensor(_call(dt_du, du.clone()), ref)
    except _LearnerError as e:
        return _failed(name, str(e), "torch.clamp(1 / du, 0, 8)")
    if got is None or got.shape != du.shape:
        return _failed(name, "return one value per entry of du", "elementwise")
    if torch.allclose(got, ref, atol=1e-5):
        return _passed(name)
    if torch.allclose(got[du > 0.125], ref[du > 0.125], atol=1e-5):
        return _failed(name, "small or negative increments are not handled",
                       "clamp to [0, 8]: a falling membrane gives no timing gradient")
    return _failed(name, "values differ from clamp(1/du, 0, 8)",
                   "a spike moves earlier by du_extra/du when u rises by du per step")


# =========================================================================== 12 rate-based BP
def check_rate_kappa(kappa_fn: Callable) -> bool:
    """``kappa_fn(beta, T) -> [T]``: sensitivity of the membrane to a constant input,
    :math:`\\kappa[0] = 1`, :math:`\\kappa[t] = 1 + \\beta\\,\\kappa[t-1]` (detached soft reset)."""
    name = "rate_kappa"
    _need_callable("check_rate_kappa", kappa_fn)
    beta, T = 0.8, 10
    ref = torch.tensor([(1 - beta ** (t + 1)) / (1 - beta) for t in range(T)])
    try:
        got = _as_tensor(_call(kappa_fn, beta, T), ref)
    except _LearnerError as e:
        return _failed(name, str(e), "kappa[t] = 1 + beta * kappa[t-1], kappa[0] = 1")
    if got is None or got.shape != ref.shape:
        return _failed(name, f"return {T} values", "one per time step")
    if torch.allclose(got, ref, atol=1e-4):
        return _passed(name, f"kappa -> 1/(1-beta) = {1 / (1 - beta):.1f}")
    if torch.allclose(got, torch.ones(T)):
        return _failed(name, "the leak's memory is missing", "add beta * kappa[t-1]")
    return _failed(name, "values differ from the reference", "start at kappa[0] = 1")


def check_rate_eligibility(eligibility_fn: Callable) -> bool:
    """``eligibility_fn(sg, kappa) -> [B, N]``: the rate pass's :math:`\\partial r/\\partial c`,
    :math:`e = \\frac1T\\sum_t \\sigma'[t]\\,\\kappa[t]`, from surrogate derivatives
    ``sg [T, B, N]`` and ``kappa [T]``."""
    name = "rate_eligibility"
    _need_callable("check_rate_eligibility", eligibility_fn)
    g = torch.Generator().manual_seed(12)
    sg = torch.rand(7, 3, 4, generator=g)
    kappa = torch.linspace(1, 3, 7)
    ref = (sg * kappa.view(7, 1, 1)).mean(0)
    try:
        got = _as_tensor(_call(eligibility_fn, sg.clone(), kappa.clone()), ref)
    except _LearnerError as e:
        return _failed(name, str(e), "(sg * kappa.view(-1, 1, 1)).mean(0)")
    if got is None or got.shape != ref.shape:
        return _failed(name, "return [B, N]", "average over the time axis 0")
    if torch.allclose(got, ref, atol=1e-5):
        return _passed(name)
    if torch.allclose(got, ref * 7, atol=1e-4):
        return _failed(name, "that is the sum over t", "the rate is a mean: divide by T")
    if torch.allclose(got, sg.mean(0), atol=1e-5):
        return _failed(name, "kappa is missing", "weight each step by kappa[t]")
    return _failed(name, "values differ from the reference", "broadcast kappa over B and N")


__all__ += ["check_ottt_trace", "check_three_factor", "check_psp_kernel",
            "check_spike_time_derivative", "check_rate_kappa", "check_rate_eligibility"]


# =========================================================================== 16 deploy with NIR
def check_nir_lif(lif_to_nir: Callable) -> bool:
    """``lif_to_nir(beta, dt) -> (tau, r)``: the NIR LIF parameters that make one forward-Euler
    step of :math:`\\tau\\dot v = -v + R I` equal snnlab's ``u = beta v + I``."""
    name = "nir_lif"
    _need_callable("check_nir_lif", lif_to_nir)
    cases = [(0.9, 1e-4), (0.5, 1e-3), (0.99, 2e-4)]
    for beta, dt in cases:
        tau, r = dt / (1 - beta), 1 / (1 - beta)
        try:
            got = _call(lif_to_nir, beta, dt)
        except _LearnerError as e:
            return _failed(name, str(e), "Euler: beta = 1 - dt/tau, gain R dt/tau = 1")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return _failed(name, "return two numbers (tau, r)", "return tau, r")
        g_tau, g_r = (float(v) for v in got)
        if math.isclose(g_tau, -dt / math.log(beta), rel_tol=1e-6):
            return _failed(name, "that tau is the exact-exponential reading beta = exp(-dt/tau)",
                           "one forward-Euler step decays by 1 - dt/tau")
        if not math.isclose(g_tau, tau, rel_tol=1e-6):
            return _failed(name, f"tau wrong for beta={beta}, dt={dt}", "solve beta = 1 - dt/tau")
        if math.isclose(g_r, 1.0, rel_tol=1e-6):
            return _failed(name, "with R = 1 the input is scaled by dt/tau = 1 - beta",
                           "choose R so that R * dt / tau = 1")
        if not math.isclose(g_r, r, rel_tol=1e-6):
            return _failed(name, f"r wrong for beta={beta}", "R * dt / tau must be 1")
    return _passed(name, "tau = dt/(1-beta), R = 1/(1-beta)")


def check_nir_euler_step(euler_step: Callable) -> bool:
    """``euler_step(v, current, tau, r, dt) -> v_new``: one forward-Euler step of NIR's
    :math:`\\tau\\dot v = (0 - v) + R I` (no spike), elementwise on tensors."""
    name = "nir_euler_step"
    _need_callable("check_nir_euler_step", euler_step)
    g = torch.Generator().manual_seed(16)
    v, current = torch.rand(32, generator=g), torch.randn(32, generator=g)
    tau, r, dt = 1e-3, 7.0, 1e-4
    ref = v + dt / tau * (-v + r * current)
    try:
        got = _as_tensor(_call(euler_step, v.clone(), current.clone(), tau, r, dt), ref)
    except _LearnerError as e:
        return _failed(name, str(e), "v + dt / tau * (-v + r * current)")
    if got is None or got.shape != ref.shape:
        return _failed(name, "return a tensor shaped like v", "work elementwise")
    if torch.allclose(got, ref, atol=1e-6):
        beta = 1 - dt / tau
        same = F.charge(v, current * r * dt / tau, beta)
        return _passed(name, f"= snnlab's beta v + I' with beta = {beta:.2f}, "
                             f"I' = R dt/tau I" if torch.allclose(got, same, atol=1e-6) else "")
    if torch.allclose(got, v + dt / tau * (-v) + r * current, atol=1e-6):
        return _failed(name, "the input is not multiplied by dt/tau", "dv = dt/tau * (-v + R I)")
    return _failed(name, "values differ from the reference", "v_new = v + dt/tau * (R I - v)")


# =========================================================================== 15 capstone
def check_energy_estimate(energy_nj: Callable) -> bool:
    """``energy_nj(synops, macs) -> float``: energy per sample in nJ from the accumulate count
    (SynOps, one add each, :data:`snnlab.metrics.E_AC_PJ` = 0.9 pJ) and the multiply-accumulate
    count (MACs, :data:`snnlab.metrics.E_MAC_PJ` = 4.6 pJ)."""
    from .metrics import E_AC_PJ, E_MAC_PJ, energy_pj

    name = "energy_estimate"
    _need_callable("check_energy_estimate", energy_nj)
    cases = [(1000.0, 0.0), (0.0, 1000.0), (1981.0, 33280.0), (5107.0, 0.0), (12.5, 7.0)]
    got = []
    try:
        for synops, macs in cases:
            got.append(float(_call(energy_nj, synops, macs)))
    except _LearnerError as e:
        return _failed(name, str(e), "(macs * 4.6 + synops * 0.9) / 1000")
    except (TypeError, ValueError):
        return _failed(name, "return a number", "a float in nJ")
    ref = [energy_pj(m, s) / 1e3 for s, m in cases]
    if all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) for a, b in zip(got, ref)):
        return _passed(name, f"E_AC = {E_AC_PJ} pJ, E_MAC = {E_MAC_PJ} pJ")
    if all(math.isclose(a, b * 1e3, rel_tol=1e-6, abs_tol=1e-9) for a, b in zip(got, ref)):
        return _failed(name, "that is in pJ", "divide by 1000 for nJ")
    swapped = [energy_pj(s, m) / 1e3 for s, m in cases]
    if all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) for a, b in zip(got, swapped)):
        return _failed(name, "the two costs are swapped",
                       f"a SynOp is an add ({E_AC_PJ} pJ), a MAC a multiply-add ({E_MAC_PJ} pJ)")
    return _failed(name, f"for synops=1000, macs=0 expected {ref[0]:.3f} nJ, got {got[0]:.3f}",
                   "(macs * E_MAC_PJ + synops * E_AC_PJ) / 1000")


def check_pareto(pareto: Callable) -> bool:
    """``pareto(rows) -> list of rule names``: the rules of a comparison table (dicts with
    ``rule``, ``energy_nj_per_sample``, ``test_acc``) that no other rule beats, i.e. none has
    lower-or-equal energy and higher-or-equal accuracy with at least one strictly better."""
    from .compare import pareto_optimal

    name = "pareto"
    _need_callable("check_pareto", pareto)

    def table(spec):
        return [dict(rule=r, energy_nj_per_sample=e, test_acc=a) for r, e, a in spec]

    cases = [
        table([("a", 1.0, 0.70), ("b", 2.0, 0.90), ("c", 3.0, 0.80), ("d", 0.5, 0.60)]),
        table([("a", 1.0, 0.80), ("b", 1.0, 0.90), ("c", 5.0, 0.95)]),  # a tie in energy
        table([("a", 2.0, 0.9), ("b", 2.0, 0.9), ("c", 3.0, 0.9)]),  # exact twins both stay
        table([("only", 4.0, 0.5)]),
    ]
    for rows in cases:
        want = pareto_optimal(rows)
        try:
            got = _call(pareto, [dict(r) for r in rows])
        except _LearnerError as e:
            return _failed(name, str(e), "keep a row unless another is at least as good on "
                                         "both metrics and strictly better on one")
        if isinstance(got, str) or not isinstance(got, (list, tuple, set)):
            return _failed(name, f"return a list of rule names, got {type(got).__name__}",
                           "[r['rule'] for r in rows if not dominated(r)]")
        if sorted(map(str, got)) != sorted(want):
            spec = ", ".join(f"{r['rule']}: {r['energy_nj_per_sample']} nJ, {r['test_acc']:.2f}"
                             for r in rows)
            return _failed(name, f"for [{spec}] expected {want}, got {sorted(map(str, got))}",
                           "lower energy is better, higher accuracy is better; ties do not "
                           "dominate")
    return _passed(name)


__all__ += ["check_energy_estimate", "check_pareto"]
