"""The course package (one module per notebook) and its two faces, ``snnlab.exercises`` and
``snnlab.widgets``: every name is exported once, explicitly; the simulate functions run on the
neuron layer and give what the old hand-written time loops gave."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # this module only: headless figures

import pytest  # noqa: E402
import torch  # noqa: E402

import snnlab.course as course  # noqa: E402
from snnlab import exercises, plot, widgets  # noqa: E402
from snnlab.course import (  # noqa: E402
    n10_ottt,
    n11_tssl,
    n12_rate_bp,
    ui,  # noqa: E402
)

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "snnlab"
MODULES = sorted(p.stem for p in (PKG / "course").glob("n[0-9][0-9]_*.py"))


def _literal_all(path: Path) -> list[str]:
    """The module's ``__all__``: assigned once, as a literal list of strings, never grown."""
    tree = ast.parse(path.read_text())
    assigned = [n for n in tree.body if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                and any(getattr(t, "id", None) == "__all__"
                        for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))]
    assert len(assigned) == 1 and isinstance(assigned[0], ast.Assign), path
    value = assigned[0].value
    assert isinstance(value, ast.List), path
    assert all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts), path
    return [e.value for e in value.elts]


# =========================================================================== layout
def test_one_module_per_notebook():
    notebooks = {p.stem[:2] for p in (ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py")}
    assert {m[1:3] for m in MODULES} == notebooks - {"00"}  # 00 is the course map only


@pytest.mark.parametrize("path", [PKG / "exercises.py", PKG / "widgets.py", PKG / "plot.py",
                                  *sorted((PKG / "course").glob("*.py"))],
                         ids=lambda p: p.name)
def test_all_is_a_literal_list_of_existing_names(path):
    names = _literal_all(path)
    assert len(names) == len(set(names))
    module = "snnlab." + ".".join(path.relative_to(PKG).with_suffix("").parts)
    mod = __import__(module.removesuffix(".__init__"), fromlist=["_"])
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing


def test_course_all_is_every_module_all():
    # the cross-notebook modules (ui, ledger_view) plus one module per notebook
    shared = sorted(p.stem for p in (PKG / "course").glob("*.py")
                    if p.stem != "__init__" and p.stem not in MODULES)
    assert "ui" in shared and "ledger_view" in shared, shared
    union = []
    for m in [*shared, *MODULES]:
        union += _literal_all(PKG / "course" / f"{m}.py")
    assert sorted(course.__all__) == sorted(set(union))


def test_faces_export_every_checker_and_dashboard():
    checkers = {n for n in course.__all__ if n.startswith("check_")}
    dashboards = {n for n in course.__all__ if n.endswith("_dashboard") or
                  n.startswith("simulate_")}
    assert checkers <= set(exercises.__all__)
    assert dashboards | {"Dashboard", "LiveCurve"} <= set(widgets.__all__)
    for face in (exercises, widgets):
        for n in face.__all__:
            assert getattr(face, n) is getattr(course, n)
    assert exercises.PROGRESS is ui.PROGRESS  # one record of progress, whichever face is used


def test_notebooks_use_only_names_the_faces_export():
    for src in sorted((ROOT / "notebooks" / "src").glob("*.py")):
        text = src.read_text()
        for face in ("exercises", "widgets"):
            used = set(re.findall(rf"\b{face}\.([A-Za-z_]\w*)", text))
            missing = used - set(globals()[face].__all__)
            assert not missing, (src.name, face, missing)


_OPTIONAL = {"ipywidgets", "IPython", "matplotlib"}  # matplotlib: plot.pyplot() only


@pytest.mark.parametrize("path", [PKG / "exercises.py", PKG / "widgets.py", PKG / "plot.py",
                                  *sorted((PKG / "course").glob("*.py"))],
                         ids=lambda p: p.name)
def test_function_local_imports_only_for_optional_dependencies(path):
    tree = ast.parse(path.read_text())
    local = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    local += [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    local.append("." if node.level else node.module.split(".")[0])
    assert set(local) <= _OPTIONAL, (path.name, local)
    if path.name == "plot.py":
        assert local == ["matplotlib"]  # the one lazy pyplot import, in plot.pyplot()


def test_plot_imports_no_experiment_code():
    tree = ast.parse((PKG / "plot.py").read_text())
    modules = {("." * n.level) + (n.module or "") for n in ast.walk(tree)
               if isinstance(n, ast.ImportFrom)}
    assert not {m for m in modules if re.match(r"\.(train|compare|rules|course|exercises|"
                                               r"widgets|hardware|export|cli)\b", m)}


def test_plot_pareto_front_matches_compare():
    from snnlab.compare import pareto_optimal

    g = torch.Generator().manual_seed(0)
    for n in (1, 2, 5, 9):
        c = torch.randint(0, 4, (n,), generator=g).tolist()  # ties on purpose
        s = torch.randint(0, 4, (n,), generator=g).tolist()
        rows = [dict(rule=i, energy_nj_per_sample=a, test_acc=b) for i, (a, b) in
                enumerate(zip(c, s))]
        assert plot.pareto_front(c, s) == pareto_optimal(rows)


def test_training_curves_take_anything_shaped_like_a_history():
    class Run:  # duck-typed: plot does not import snnlab.train
        rule = "mine"
        records = [{"epoch": 1, "test_acc": 0.5}, {"epoch": 2, "test_acc": 0.7}]

        def column(self, key):
            return [r.get(key) for r in self.records]

    ax = plot.training_curves(Run(), keys=("test_acc",))
    assert [ln.get_label() for ln in ax.get_lines()] == ["mine: test_acc"]
    plot.pyplot().close("all")


# ==================================================================== old loops -> neuron layer
# The simulate functions below once ran their own time loops; these are those loops, verbatim
# in what they computed. The neuron layer fuses the leak and the input into one multiply-add,
# so membranes and traces may differ in the last bits (<= 1e-12 here); spikes, rates and
# slopes are equal.
def _old_tssl_membrane(current, tau_m, T):
    beta = 1 - 1 / tau_m
    u, v = [], 0.0
    for _ in range(T):
        u_t = beta * v + current
        u.append(u_t)
        v = 0.0 if u_t > 1.0 else u_t
    return torch.tensor(u, dtype=torch.float64)


def _old_lif(c, beta, T):  # soft reset, threshold 1, detached: lif_sequence_reference's loop
    c = torch.as_tensor(c, dtype=torch.float64).reshape(1, -1)
    current = c.expand(T, *c.shape[1:])
    v = torch.zeros_like(current[0])
    spikes, membrane = [], []
    for i_t in current.unbind(0):
        u = beta * v + i_t
        s = (u - 1.0 > 0).to(u.dtype)
        v = u - 1.0 * s
        spikes.append(s)
        membrane.append(u)
    return torch.stack(spikes), torch.stack(membrane)


def _old_leaky(x, alpha):
    ys, y = [], torch.zeros_like(x[0])
    for x_t in x.unbind(0):
        y = alpha * y + x_t
        ys.append(y)
    return torch.stack(ys)


@pytest.mark.parametrize("current, tau_m, T", list(itertools.product(
    [0.0, 0.1, 0.25, 0.5, 0.7, 1.0, 1.5], [1.5, 3.0, 5.0, 12.0, 20.0], [2, 12, 30])))
def test_simulate_tssl_neuron_membrane_as_old_loop(current, tau_m, T):
    r = n11_tssl.simulate_tssl_neuron(current=current, tau_m=tau_m, T=T)
    old = _old_tssl_membrane(current, tau_m, T)
    assert r["u"].dtype == old.dtype and r["u"].shape == old.shape
    assert torch.allclose(r["u"], old, rtol=0, atol=1e-12)
    assert torch.equal(r["u"] > 1.0, old > 1.0)


@pytest.mark.parametrize("current, beta, T", list(itertools.product(
    [0.0, 0.1, 0.3, 0.77, 1.0, 1.5], [0.1, 0.5, 0.9, 1.0], [1, 16, 64])))
def test_simulate_rate_sensitivity_as_old_loop(current, beta, T):
    from snnlab.neurons import LIF
    from snnlab.rules.rate_bp import eligibility

    r = n12_rate_bp.simulate_rate_sensitivity(current=current, beta=beta, T=T)
    h = 0.2
    s, u = _old_lif(current, beta, T)
    assert r["rate"] == float(s.mean())
    if current == 1.0 and beta < 0.5 and T > 16:
        # on the threshold with a strong leak the membrane settles *on* 1.0 (1 + 0.1^k); its
        # last bit picks the step of the next spike, not how many there are
        assert float(r["spikes"].sum()) == float(s.sum())
    else:
        assert torch.equal(r["spikes"], s[:, 0])
        assert torch.allclose(r["u"], u[:, 0], rtol=0, atol=1e-12)
        e_old = float(eligibility(LIF(beta=beta), u, s))
        assert r["eligibility"] == pytest.approx(e_old, rel=1e-12, abs=1e-12)
    fd = float((_old_lif(current + h, beta, T)[0].mean()
                - _old_lif(current - h, beta, T)[0].mean()) / (2 * h))
    assert r["fd_slope"] == fd
    grid = torch.linspace(0.0, 1.5, 301, dtype=torch.float64)
    assert torch.equal(r["grid"], grid)
    assert torch.equal(r["rates"], _old_lif(grid, beta, T)[0].mean(0))


@pytest.mark.parametrize("rate, beta, decay, T, seed", list(itertools.product(
    [0.0, 0.3, 1.0], [0.0, 0.8, 0.9, 1.0], [0.0, 0.3, 0.9, 1.0], [1, 40], [0, 1])))
def test_simulate_ottt_trace_as_old_loop(rate, beta, decay, T, seed):
    r = n10_ottt.simulate_ottt_trace(rate=rate, beta=beta, trace_decay=decay, T=T, seed=seed)
    g = torch.Generator().manual_seed(seed)
    s = (torch.rand(T, generator=g, dtype=torch.float64) < rate).double()
    trace, sens = _old_leaky(s, decay), _old_leaky(s, beta)
    assert torch.equal(r["spikes"], s)
    assert torch.allclose(r["trace"], trace, rtol=1e-12, atol=1e-12)
    assert torch.allclose(r["sensitivity"], sens, rtol=1e-12, atol=1e-12)
    err = float((trace - sens).norm() / sens.norm().clamp(min=1e-12))
    assert r["rel_error"] == pytest.approx(err, rel=1e-9, abs=1e-12)
    if decay == beta:
        assert r["rel_error"] == 0.0


def test_train_seeds_reuses_done_runs_and_checks_their_length():
    import snnlab
    from snnlab.course import n05_activation_vs_timing as n05
    from snnlab.rules import antlr
    from snnlab.train import History

    data = antlr.latency_dataset(snnlab.load("yinyang", n_train=64))
    net = antlr.make_model(5, [4], 3, seed=0)
    one = History("bptt", [{"epoch": 1, "test_acc": 0.5}])
    out = n05.train_seeds(["bptt"], data, seeds=[0], T=20, epochs=1, hidden=4,
                          done={("bptt", 0): (net, one)})  # nothing trained
    assert out["bptt"]["curves"] == [[0.5]]
    with pytest.raises(ValueError, match="epochs"):
        n05.train_seeds(["bptt"], data, seeds=[0], T=20, epochs=2, hidden=4,
                        done={("bptt", 0): (net, one)})


def test_phase_dips_reads_falls_and_rises_of_the_stdp_epochs():
    from snnlab.course import n15_capstone as cap
    from snnlab.train import History
    acc = [0.80, 0.85, 0.60, 0.86, 0.87, 0.88, 0.90, 0.70]
    phase = ["excitatory", "excitatory", "inhibitory", "excitatory", "excitatory", "inhibitory",
             "excitatory", "inhibitory"]
    h = History("bptt_stdp_cycles", [{"test_acc": a, "phase": p} for a, p in zip(acc, phase)])
    # epoch 2 fell and rose after; epoch 5 rose against epoch 4 (no fall) and after; epoch 7
    # fell and is last (nothing after it)
    assert cap.phase_dips(h) == ([True, False, True], [True, True])
    assert cap.phase_dips(h, "excitatory")[0] == [False, False, False, False]  # all rose
