"""The teaching layer: plots return figures and reject bad input, dashboards are pure functions
behind thin widgets, exercise checkers pass the reference and fail (with a hint) a wrong answer."""

from __future__ import annotations

import math
import time

import matplotlib

matplotlib.use("Agg")  # this module only: headless figures

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import snnlab  # noqa: E402
from snnlab import exercises as E  # noqa: E402
from snnlab import functional as F  # noqa: E402
from snnlab import plot, widgets  # noqa: E402
from snnlab.course import n01_neurons  # noqa: E402
from snnlab.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# =========================================================================== plot
def test_palette_is_okabe_ito():
    assert len(plot.PALETTE) == 8 and plot.PALETTE[0] == "#0072B2"


@pytest.mark.parametrize("shape", [(20, 30), (20, 4, 30), (10, 2, 3, 4, 4)])
def test_raster_shapes(shape):
    s = (torch.rand(shape) > 0.8).float()
    ax = plot.raster(s, sample=1 if len(shape) > 2 else 0)
    per_sample = s if s.ndim == 2 else s[:, 1].reshape(s.shape[0], -1)
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert drawn == int(per_sample.sum())
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_raster_scales_to_thousands_of_neurons():
    s = (torch.rand(100, 5000) > 0.95).float()
    t0 = time.perf_counter()
    ax = plot.raster(s, dt_ms=1.0)
    ax.figure.canvas.draw()
    assert time.perf_counter() - t0 < 5.0
    assert "ms" in ax.get_xlabel()


def test_raster_delta_events_and_numpy():
    s = torch.zeros(5, 3)
    s[0, 0], s[1, 2] = 1, -1
    ax = plot.raster(s.numpy())
    assert sum(len(c.get_offsets()) for c in ax.collections) == 2


def test_raster_errors():
    with pytest.raises(TypeError, match="spikes"):
        plot.raster([[0, 1]])
    with pytest.raises(ValueError, match="spikes"):
        plot.raster(torch.zeros(5))
    with pytest.raises(ValueError, match="sample"):
        plot.raster(torch.zeros(5, 2, 3), sample=2)
    with pytest.raises(TypeError, match="ax"):
        plot.raster(torch.zeros(5, 3), ax="left")
    with pytest.raises(ValueError, match="dt_ms"):
        plot.raster(torch.zeros(5, 3), dt_ms=0)


def test_membrane_threshold_line_and_spikes():
    r = widgets.simulate_lif(current=0.3, T=50)
    ax = plot.membrane(r["u"], threshold=1.0, spikes=r["s"])
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_ydata()[0] == 1.0
    assert len(ax.collections[0].get_offsets()) == r["n_spikes"]
    ax = plot.membrane(torch.randn(30, 4, 8), neurons=[0, 7], sample=3)
    assert len([ln for ln in ax.lines if ln.get_linestyle() == "-"]) == 2


def test_membrane_errors():
    with pytest.raises(ValueError, match="spikes"):
        plot.membrane(torch.zeros(10, 3), spikes=torch.zeros(10, 4))
    with pytest.raises(ValueError, match="neurons"):
        plot.membrane(torch.zeros(10, 3), neurons=[5])
    with pytest.raises(TypeError, match="neurons"):
        plot.membrane(torch.zeros(10, 3), neurons="all")
    with pytest.raises(TypeError, match="threshold"):
        plot.membrane(torch.zeros(10, 3), threshold="1")


def _history(name, accs):
    return History(name, [{"epoch": i + 1, "train_loss": 1.0 / (i + 1), "test_acc": a}
                          for i, a in enumerate(accs)])


def test_training_curves_one_and_many():
    ax = plot.training_curves(_history("bptt", [0.5, 0.7, 0.9]))
    assert len(ax.get_lines()) + len(ax.figure.axes[1].get_lines()) == 2
    ax = plot.training_curves({"a": _history("a", [0.5, 0.6]), "b": _history("b", [0.4, 0.8])},
                              keys=("test_acc",))
    assert len(ax.get_lines()) == 2 and ax.get_xlabel() == "epoch"
    assert plot.training_curves(_history("x", [0.1])) is not None
    ax = plot.training_curves([_history("bptt", [0.5]), _history("bptt", [0.6])],
                              keys=("test_acc",))
    assert [ln.get_label() for ln in ax.get_lines()] == ["bptt: test_acc", "bptt #2: test_acc"]


def test_training_curves_errors():
    with pytest.raises(TypeError, match="history"):
        plot.training_curves([1, 2])
    with pytest.raises(TypeError, match="history"):
        plot.training_curves("bptt")
    with pytest.raises(TypeError, match=r"history\['a'\]"):
        plot.training_curves({"a": 3})
    with pytest.raises(ValueError, match="history"):
        plot.training_curves({})
    with pytest.raises(ValueError, match="keys"):
        plot.training_curves(_history("a", [0.1]), keys=("a", "b", "c"))


def test_surrogates_plot():
    ax = plot.surrogates()
    assert len(ax.get_lines()) == len(snnlab.surrogate.available()) + 1
    with pytest.raises(ValueError, match="names"):
        plot.surrogates(names=["sigmoidish"])


def test_encodings_figure():
    x = torch.rand(3, 64)
    fig = plot.encodings(x, 8, image_shape=(8, 8), sample=2)
    assert len(fig.axes) == 5
    fig = plot.encodings(torch.rand(10), 4, methods=("rate",))
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="methods"):
        plot.encodings(x, 8, methods=("morse",))
    with pytest.raises(ValueError, match="methods"):
        plot.encodings(x, 8, methods="rate")
    with pytest.raises(ValueError, match="sample"):
        plot.encodings(x, 8, sample=3)
    with pytest.raises(ValueError, match="T"):
        plot.encodings(x, 0)
    with pytest.raises(ValueError, match="image_shape"):
        plot.encodings(x, 4, image_shape=(7, 7))


def test_fi_curve():
    cur = torch.linspace(0, 1, 5)
    ax = plot.fi_curve(cur, [cur, cur / 2], labels=["a", "b"])
    assert len(ax.get_lines()) == 2
    with pytest.raises(ValueError, match="rates"):
        plot.fi_curve(cur, torch.zeros(4))
    with pytest.raises(ValueError, match="labels"):
        plot.fi_curve(cur, cur, labels=["a", "b"])


# =========================================================================== widgets
def test_simulate_lif_matches_functional_and_theory():
    r = widgets.simulate_lif(current=0.3, tau_ms=10.0, T=100, dt_ms=1.0)
    beta = math.exp(-0.1)
    s, u = F.lif_sequence(torch.full((100, 1), 0.3, dtype=torch.float64), beta=beta,
                          threshold=1.0, surrogate=snnlab.surrogate.FastSigmoid())
    assert torch.equal(r["s"], s[:, 0]) and torch.allclose(r["u"], u[:, 0])
    assert r["beta"] == pytest.approx(beta) and r["v_inf"] == pytest.approx(0.3 / (1 - beta))
    assert r["rate_hz"] == pytest.approx(1000 * r["n_spikes"] / 100)
    # below rheobase a LIF neuron is silent, an IF neuron is not
    assert widgets.simulate_lif(current=0.08, tau_ms=10.0)["n_spikes"] == 0
    assert widgets.simulate_lif(current=0.08, tau_ms=math.inf)["n_spikes"] > 0
    assert widgets.simulate_lif(current=0.08, beta=1.0)["n_spikes"] > 0
    # hard reset never fires more than soft reset
    soft = widgets.simulate_lif(current=0.6, reset="subtract")["n_spikes"]
    hard = widgets.simulate_lif(current=0.6, reset="zero")["n_spikes"]
    assert hard < soft
    noisy = widgets.simulate_lif(current=0.08, noise=0.2, seed=1)
    assert noisy["n_spikes"] > 0
    assert torch.equal(noisy["s"], widgets.simulate_lif(current=0.08, noise=0.2, seed=1)["s"])


def test_simulate_lif_errors():
    with pytest.raises(ValueError, match="reset"):
        widgets.simulate_lif(reset="bounce")
    with pytest.raises(ValueError, match="threshold"):
        widgets.simulate_lif(threshold=0)
    with pytest.raises(ValueError, match="tau_ms"):
        widgets.simulate_lif(tau_ms=-1)
    with pytest.raises(ValueError, match="tau_ms or beta"):
        widgets.simulate_lif(tau_ms=None)
    with pytest.raises(ValueError, match="beta"):
        widgets.simulate_lif(beta=1.5)
    with pytest.raises(TypeError, match="T"):
        widgets.simulate_lif(T=10.5)


def test_lif_dashboard_updates_on_value_change():
    dash = widgets.lif_dashboard(current=0.3)
    assert set(dash.controls) == {"tau_ms", "threshold", "current", "reset"}
    n0 = dash.result["n_spikes"]
    assert n0 == widgets.simulate_lif(current=0.3, T=100)["n_spikes"]
    dash.controls["threshold"].value = 2.5
    assert dash.result["n_spikes"] < n0
    assert dash.result == dash.result  # a dict, replaced on every change
    dash.controls["current"].value = 0.0
    assert dash.result["n_spikes"] == 0
    dash.controls["reset"].value = "zero"
    assert dash.result["n_spikes"] == 0
    assert dash.widget is not None and dash.output is not None


def test_simulate_encoding():
    x = torch.rand(64)
    r = widgets.simulate_encoding(x, T=32, method="rate", seed=0)
    assert r["seq"].shape == (32, 64) and r["n_spikes"] == int(r["seq"].sum())
    assert r["error"] < 0.2
    lat = widgets.simulate_encoding(x, T=32, method="latency")
    assert lat["n_spikes"] <= 64 and lat["error"] < 0.02
    long = widgets.simulate_encoding(x, T=256, method="latency")
    assert long["error"] < lat["error"]
    delta = widgets.simulate_encoding(x, T=8, method="delta")
    assert delta["seq"][1:].abs().sum() == 0  # a static input: only the onset
    with pytest.raises(TypeError, match="x"):
        widgets.simulate_encoding([0.1, 0.2])
    with pytest.raises(ValueError, match="method"):
        widgets.simulate_encoding(x, method="morse")


def test_encoding_dashboard_updates():
    dash = widgets.encoding_dashboard(torch.rand(64), T=8)
    assert dash.result["seq"].shape[0] == 8
    dash.controls["T"].value = 40
    assert dash.result["seq"].shape[0] == 40
    n = dash.result["n_spikes"]
    dash.controls["gain"].value = 0.0
    assert dash.result["n_spikes"] == 0 < n
    dash.controls["method"].value = "latency"
    assert dash.result["n_spikes"] <= 64


def test_simulate_surrogate_and_dashboard():
    d = torch.linspace(-1, 1, 1001)
    wide = widgets.simulate_surrogate(name="fast_sigmoid", scale=2.0, distances=d)
    sharp = widgets.simulate_surrogate(name="fast_sigmoid", scale=200.0, distances=d)
    assert sharp["reach"] < wide["reach"] <= 1.0 and wide["peak"] == pytest.approx(1.0)
    tri = widgets.simulate_surrogate(name="triangle", scale=1.0, x_range=3.0)
    assert tri["area"] == pytest.approx(1.0, abs=1e-3) and tri["reach"] is None
    with pytest.raises(ValueError, match="name"):
        widgets.simulate_surrogate(name="smooth")
    with pytest.raises(TypeError, match="distances"):
        widgets.simulate_surrogate(distances=[0.1])
    dash = widgets.surrogate_dashboard(d)
    r0 = dash.result["reach"]
    dash.controls["scale"].value = 300.0
    assert dash.result["reach"] < r0


def test_live_curve_prints_and_keeps_records(capsys):
    live = widgets.LiveCurve()
    live({"epoch": 1, "train_loss": 1.5, "test_acc": 0.5})
    live({"epoch": 2, "train_loss": 0.5})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("epoch   1") and "test_acc 0.5000" in out[0]
    assert "test_acc" not in out[1] and len(live.records) == 2


def test_live_curve_as_train_callback(capsys):
    data = snnlab.load("digits")
    net = snnlab.models.mlp(64, [16], 10)
    live = widgets.LiveCurve()
    snnlab.train(net, data, "bptt", T=2, epochs=2, progress=False, callback=live)
    assert [r["epoch"] for r in live.records] == [1, 2]
    assert capsys.readouterr().out.count("epoch") == 2


# =========================================================================== exercises
@pytest.fixture(autouse=False)
def fresh_progress():
    E.reset_progress()
    yield
    E.reset_progress()


def _not_implemented(*args, **kwargs):
    raise NotImplementedError


def _lif_step_ok(v, current, beta, threshold):
    u = beta * v + current
    s = (u > threshold).float()
    return s, u - threshold * s


def _lif_step_hard(v, current, beta, threshold):
    u = beta * v + current
    s = (u > threshold).float()
    return s, u * (1 - s)


def _rate_ok(current, beta, threshold):
    return E.lif_rate_closed_form(current, beta, threshold)


def _rate_encode_ok(x, T):
    return torch.bernoulli(x.expand(T, *x.shape))


def _latency_ok(x, T):
    t = torch.round((1 - x) * (T - 1))
    steps = torch.arange(T).reshape(T, *([1] * x.ndim))
    return ((steps == t) & (x > 0)).float()


def _latency_reversed(x, T):
    return _latency_ok(x, T).flip(0)


def _fs_ok(x, scale):
    return 1 / (scale * x.abs() + 1) ** 2


class _SpikeOK(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _fs_ok(x, 10.0)


class _SpikeZeroGrad(_SpikeOK):
    @staticmethod
    def backward(ctx, g):
        return g * 0


CASES = [
    # checker, reference solution, wrong answer, a phrase expected in the wrong answer's message
    (E.check_lif_step, _lif_step_ok, _lif_step_hard, "reset to zero"),
    (E.check_lif_step, _lif_step_ok, _not_implemented, "NotImplementedError"),
    (E.check_lif_step, _lif_step_ok, lambda v, c, b, t: v, "tuple"),
    (E.check_firing_rate, _rate_ok, lambda c, b, t: 1000 * _rate_ok(c, b, t), "Hz"),
    (E.check_firing_rate, _rate_ok, lambda c, b, t: c / t, "expected"),
    (E.check_if_rate, 0.25, 0.2, "expected"),
    (E.check_if_rate, 0.25, ..., "no answer yet"),
    (E.check_rate_code, _rate_encode_ok, lambda x, T: x.expand(T, *x.shape), "0 and 1"),
    (E.check_rate_code, _rate_encode_ok,
     lambda x, T: torch.bernoulli(x.expand(T // 2 + 1, *x.shape)), "shape"),
    (E.check_latency_code, _latency_ok, _latency_reversed, "reversed"),
    (E.check_latency_code, _latency_ok, lambda x, T: torch.ones(T, *x.shape), "exactly once"),
    (E.check_spike_count, 6.0, 0.3, "expected 6"),
    (E.check_spike_count, 6.0, None, "no answer yet"),
    (E.check_surrogate_derivative, _fs_ok, lambda x, k: 1 / (k * x.abs() + 1), "squared"),
    (E.check_spike_function, _SpikeOK.apply, _SpikeZeroGrad.apply, "zero everywhere"),
    (E.check_spike_function, _SpikeOK.apply, lambda x: (x > 0).float(), "no gradient"),
]


@pytest.mark.parametrize("checker, good, bad, phrase", CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_checker_passes_reference_and_fails_wrong(checker, good, bad, phrase, capsys,
                                                  fresh_progress):
    name = checker.__name__.removeprefix("check_")
    assert checker(bad) is False
    out = capsys.readouterr().out
    assert out.startswith(f"❌ {name}:") and "hint:" in out and phrase in out
    assert out.count("\n") == 1  # exactly one line
    assert E.PROGRESS[name] is False
    assert checker(good) is True
    assert capsys.readouterr().out.startswith(f"✅ {name}: passed")
    assert E.PROGRESS[name] is True


def test_checkers_reject_the_wrong_kind_of_answer():
    with pytest.raises(TypeError, match="function"):
        E.check_lif_step(3)
    with pytest.raises(TypeError, match="number"):
        E.check_if_rate("0.25")
    with pytest.raises(TypeError, match="number"):
        E.check_spike_count(True)
    with pytest.raises(TypeError, match="SpikingNet"):
        E.check_bptt_accuracy(42, snnlab.load("digits"))


def test_lif_rate_closed_form_matches_simulation():
    for cur, beta, thr in [(0.3, 0.9, 1.0), (0.11, 0.9, 1.0), (0.05, 0.9, 1.0), (0.4, 1.0, 1.0)]:
        assert E.lif_rate_closed_form(cur, beta, thr) == pytest.approx(
            n01_neurons._simulated_rate(cur, beta, thr, "zero"), rel=0.02, abs=1e-9)


def test_check_bptt_accuracy(capsys, fresh_progress):
    data = snnlab.load("digits")

    def train_fn(d):
        torch.manual_seed(0)
        net = snnlab.models.mlp(64, [32], 10)
        snnlab.train(net, d, "bptt", T=4, epochs=3, progress=False)
        return net

    assert E.check_bptt_accuracy(train_fn, data, T=4, target=0.8) is True
    untrained = snnlab.models.mlp(64, [32], 10)
    assert E.check_bptt_accuracy(untrained, data, T=4, target=0.8) is False
    assert E.check_bptt_accuracy(_not_implemented, data) is False
    assert E.check_bptt_accuracy(lambda d: "model", data) is False
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✅") and all(line.startswith("❌") for line in out[1:])


def test_progress_summary(capsys, fresh_progress):
    E.check_if_rate(0.25)
    E.check_spike_count(1.0)
    summary = E.progress()
    assert summary == {"if_rate": True, "spike_count": False}
    assert "1/2 exercises passed" in capsys.readouterr().out
    E.reset_progress()
    assert E.progress(verbose=False) == {}


def test_import_without_ipywidgets_is_lazy():
    import subprocess
    import sys

    code = ("import sys; import snnlab.widgets, snnlab.plot, snnlab.exercises; "
            "print('ipywidgets' in sys.modules, 'matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


# =========================================================================== 15 capstone
_ROWS = [dict(rule="bptt", test_acc=0.95, energy_nj_per_sample=150.0, spikes_per_sample=200.0,
              synops_per_sample=2000.0, seconds_per_epoch=0.1, step_memory_mib=0.6, T=8),
         dict(rule="ttfs", test_acc=0.80, energy_nj_per_sample=4.0, spikes_per_sample=400.0,
              synops_per_sample=7000.0, seconds_per_epoch=0.3, step_memory_mib=11.0, T=40),
         dict(rule="tandem", test_acc=0.90, energy_nj_per_sample=80.0, spikes_per_sample=100.0,
              synops_per_sample=1000.0, seconds_per_epoch=0.02, step_memory_mib=0.1, T=4),
         dict(rule="antlr", test_acc=0.40, energy_nj_per_sample=6.0, spikes_per_sample=110.0,
              synops_per_sample=5000.0, seconds_per_epoch=0.2, step_memory_mib=6.0, T=40)]


def test_pareto_optimal_on_a_known_table():
    from snnlab.compare import Comparison, pareto_optimal

    assert pareto_optimal(_ROWS) == ["bptt", "ttfs", "tandem"]  # antlr: ttfs is cheaper, better
    assert pareto_optimal(Comparison(rows=_ROWS), cost="step_memory_mib") == ["bptt", "tandem"]
    twins = [dict(rule="a", energy_nj_per_sample=1.0, test_acc=0.5),
             dict(rule="b", energy_nj_per_sample=1.0, test_acc=0.5)]
    assert pareto_optimal(twins) == ["a", "b"]
    with pytest.raises(ValueError, match="test_acc"):
        pareto_optimal([dict(rule="a", energy_nj_per_sample=1.0)])


def test_rule_comparison_plot():
    ax = plot.rule_comparison(_ROWS)
    assert ax.get_xlabel() == "energy per sample (nJ)"
    assert ax.get_ylabel() == "test accuracy (fraction)"
    assert ax.get_title() and ax.get_xscale() == "log"  # 4 to 150 nJ spans > 10x
    assert len(ax.collections) == len(_ROWS)
    assert {t.get_text() for t in ax.texts} == {r["rule"] for r in _ROWS}
    assert ax.collections[0].get_facecolor()[0][:3] == pytest.approx(
        matplotlib.colors.to_rgb(plot.PALETTE[0]))
    front = [line for line in ax.lines if line.get_label() == "Pareto front"]
    assert len(front) == 1 and len(front[0].get_xdata()) == 3
    ax2 = plot.rule_comparison(_ROWS, x="step_memory_mib", y="seconds_per_epoch", log_x=False,
                               pareto=False, title="t")
    assert ax2.get_xscale() == "linear" and ax2.get_title() == "t" and not ax2.lines
    assert "MiB" in ax2.get_xlabel() and "(s)" in ax2.get_ylabel()


def test_rule_comparison_plot_errors():
    with pytest.raises(ValueError, match="x"):
        plot.rule_comparison(_ROWS, x="accuracy")
    with pytest.raises(TypeError, match="comparison"):
        plot.rule_comparison([])
    with pytest.raises(ValueError, match="spikes_per_sample"):
        plot.rule_comparison([dict(rule="a", test_acc=0.5)], x="spikes_per_sample")


def test_simulate_rule_comparison_and_dashboard():
    r = widgets.simulate_rule_comparison(_ROWS)
    assert r["rules"] == ["bptt", "ttfs", "tandem", "antlr"]
    assert r["pareto"] == ["bptt", "ttfs", "tandem"]
    assert r["best_x"] == "ttfs" and r["best_y"] == "bptt"
    # accuracy on x: higher is better on that axis too
    r2 = widgets.simulate_rule_comparison(_ROWS, x="test_acc", y="step_memory_mib")
    assert r2["best_x"] == "bptt" and r2["best_y"] == "tandem"
    assert r2["pareto"] == ["bptt", "tandem"]
    with pytest.raises(ValueError, match="y"):
        widgets.simulate_rule_comparison(_ROWS, y="nope")
    with pytest.raises(ValueError, match="rows"):
        widgets.simulate_rule_comparison([])
    dash = widgets.rule_comparison_dashboard(_ROWS)
    assert dash.result["x_metric"] == "energy_nj_per_sample"
    dash.controls["x"].value = "spikes_per_sample"
    assert dash.result["x_metric"] == "spikes_per_sample" and dash.result["best_x"] == "tandem"


def _energy_ok(synops, macs):
    return (macs * 4.6 + synops * 0.9) / 1000


def _pareto_ok(rows):
    return [r["rule"] for r in rows
            if not any(o["energy_nj_per_sample"] <= r["energy_nj_per_sample"]
                       and o["test_acc"] >= r["test_acc"]
                       and (o["energy_nj_per_sample"] < r["energy_nj_per_sample"]
                            or o["test_acc"] > r["test_acc"]) for o in rows)]


def _pareto_strict_ties(rows):  # drops rows that are merely tied
    return [r["rule"] for r in rows
            if not any(o is not r and o["energy_nj_per_sample"] <= r["energy_nj_per_sample"]
                       and o["test_acc"] >= r["test_acc"] for o in rows)]


@pytest.mark.parametrize("good, bad, phrase", [
    (_energy_ok, lambda s, m: m * 4.6 + s * 0.9, "pJ"),
    (_energy_ok, lambda s, m: (s * 4.6 + m * 0.9) / 1000, "swapped"),
    (_energy_ok, _not_implemented, "NotImplementedError"),
])
def test_check_energy_estimate(good, bad, phrase, capsys, fresh_progress):
    assert E.check_energy_estimate(bad) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ energy_estimate:") and phrase in out and out.count("\n") == 1
    assert E.check_energy_estimate(good) is True
    assert capsys.readouterr().out.startswith("✅ energy_estimate: passed")


@pytest.mark.parametrize("bad, phrase", [
    (_pareto_strict_ties, "expected"),
    (lambda rows: [max(rows, key=lambda r: r["test_acc"])["rule"]], "expected"),
    (lambda rows: "a", "list"),
    (_not_implemented, "NotImplementedError"),
])
def test_check_pareto(bad, phrase, capsys, fresh_progress):
    assert E.check_pareto(bad) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ pareto:") and phrase in out and "hint:" in out
    assert E.check_pareto(_pareto_ok) is True
    assert E.PROGRESS["pareto"] is True
    with pytest.raises(TypeError, match="function"):
        E.check_pareto(3)


def test_many_runs_never_share_a_colour_and_labels_do_not_overlap():
    import matplotlib.pyplot as plt

    from snnlab import plot
    styles = [plot.run_style(i) for i in range(16)]
    assert len({c for c, _ in styles}) == 16  # the capstone overlays 14 rules
    # crowded points, as on the capstone's energy axis: two rules almost on top of each other
    rows = [{"rule": name, "energy_nj_per_sample": e, "test_acc": a} for name, e, a in (
        ("antlr", 5.0, 0.880), ("timing", 5.6, 0.889), ("ttfs", 5.9, 0.887),
        ("kd", 78.7, 0.957), ("hta_kl", 78.7, 0.959), ("akl", 78.7, 0.961),
        ("tandem", 79.0, 0.962), ("ltl", 158.0, 0.969), ("rate_bp", 156.8, 0.965))]
    fig, ax = plt.subplots(figsize=(6, 4))
    plot.rule_comparison(rows, ax=ax, labels="all", legend="none")
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in ax.texts]
    assert len(boxes) == len(rows)
    overlaps = [(ax.texts[i].get_text(), ax.texts[j].get_text())
                for i in range(len(boxes)) for j in range(i) if boxes[i].overlaps(boxes[j])]
    plt.close(fig)
    assert not overlaps, overlaps
