"""The claims ledger's machinery: statistics, verdict rules, the registry, the commands, the
README table, and every claim run once in ``--fast`` mode (2 seeds, tiny budgets; a smoke test
whose verdicts mean nothing). The full ledger (``make claims``) is not run here."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from snnlab import rules as R
from snnlab.claims import cli, readme
from snnlab.claims import ledger as L
from snnlab.claims import runner as RN
from snnlab.claims.ledger import Budget, Check, Claim, Verdict

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("p", [0.9, 0.95, 0.975, 0.995])
def test_t_quantile_matches_closed_forms(p):
    # df = 1 (Cauchy) and df = 2 have closed-form quantiles
    assert L.t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
    assert L.t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)),
                                               rel=1e-9)
    assert L.t_quantile(1 - p, 3) == pytest.approx(-L.t_quantile(p, 3), rel=1e-12)


def test_t_quantile_table_values():
    # the usual two-sided 95 % critical values
    for df, t in [(3, 3.182446), (4, 2.776445), (5, 2.570582), (9, 2.262157), (30, 2.042272)]:
        assert L.t_quantile(0.975, df) == pytest.approx(t, abs=2e-6)
    assert L.t_quantile(0.975, 10_000) == pytest.approx(1.959964, abs=1e-3)  # -> normal
    with pytest.raises(ValueError, match="p must lie"):
        L.t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="df"):
        L.t_quantile(0.9, 0)


def test_t_interval_on_known_numbers():
    mean, lo, hi = L.t_interval([1, 2, 3, 4, 5])
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)  # t(0.975, 4) * sd / sqrt(n)
    assert mean == 3 and lo == pytest.approx(3 - half, abs=1e-5)
    assert hi == pytest.approx(3 + half, abs=1e-5)
    mean, lo, hi = L.t_interval([0.0, 2.0])  # sd sqrt(2), se 1, t(0.975, 1) = tan(0.475 pi)
    assert (lo, hi) == pytest.approx((1 - 12.706205, 1 + 12.706205), abs=1e-5)
    assert L.t_interval([4.0, 4.0, 4.0]) == (4.0, 4.0, 4.0)
    assert L.t_interval([1.5])[1:] == (-math.inf, math.inf)
    assert L.paired([3, 5], [1, 1]) == [2, 4]
    with pytest.raises(ValueError):
        L.paired([1], [1, 2])


# --------------------------------------------------------------------------- verdicts
@pytest.mark.parametrize("margin, direction, lo, hi, expected", [
    (-0.5, "above", -0.4, 2.0, L.REPRODUCED),
    (-0.5, "above", -3.0, -0.6, L.NOT_REPRODUCED),
    (-0.5, "above", -1.0, 1.0, L.INCONCLUSIVE),
    (-0.5, "above", -0.5, 1.0, L.INCONCLUSIVE),   # touching the margin is not "above"
    (0.5, "below", 0.1, 0.4, L.REPRODUCED),
    (0.5, "below", 0.6, 0.9, L.NOT_REPRODUCED),
    (0.5, "below", 0.4, 0.6, L.INCONCLUSIVE),
    (0.0, "above", math.nan, math.nan, L.INCONCLUSIVE),
    (0.0, "above", -math.inf, math.inf, L.INCONCLUSIVE),
])
def test_verdict_rule(margin, direction, lo, hi, expected):
    assert Verdict(margin, direction).decide(lo, hi) == expected


def test_verdict_rejects_bad_definitions():
    with pytest.raises(ValueError, match="direction"):
        Verdict(0.0, "sideways")
    with pytest.raises(ValueError, match="finite"):
        Verdict(math.inf)
    with pytest.raises(ValueError, match="needs a baseline"):
        Check("x", "m", Verdict(0.0))
    with pytest.raises(ValueError, match="effect"):
        Check("x", "m", Verdict(0.0), "b", effect="log")


def test_combine():
    R_, N_, I_, E_ = L.REPRODUCED, L.NOT_REPRODUCED, L.INCONCLUSIVE, L.ERROR
    assert L.combine([R_, R_]) == R_
    assert L.combine([R_, I_]) == I_
    assert L.combine([R_, I_, N_]) == N_
    assert L.combine([N_, E_]) == E_
    assert L.combine([]) == E_


def test_evaluate_check_paired_ratio_value_and_constant():
    seeds = [{"a": 91.0, "b": 90.0, "s": 10.0, "t": 20.0}, {"a": 93.0, "b": 90.0, "s": 12.0,
                                                              "t": 20.0}]
    diff = L.evaluate_check(Check("d", "a", Verdict(0.0), "b"), seeds)
    assert diff["per_seed_effect"] == [1.0, 3.0] and diff["mean_effect"] == 2.0
    assert diff["value"] == 92.0 and diff["baseline"] == 90.0
    assert diff["ci95"][0] == pytest.approx(2 - 12.706205, abs=1e-5)
    assert diff["verdict"] == L.INCONCLUSIVE          # 2 seeds: a wide interval
    ratio_check = Check("r", "s", Verdict(1.0, "below"), "t", effect="ratio")
    ratio = L.evaluate_check(ratio_check, seeds)
    assert ratio["per_seed_effect"] == [0.5, 0.6] and ratio["verdict"] == L.INCONCLUSIVE
    three = [*seeds, {"a": 0.0, "b": 0.0, "s": 11.0, "t": 20.0}]  # 0.55 +- 4.303 * 0.0289
    ratio = L.evaluate_check(ratio_check, three)
    assert ratio["ci95"] == pytest.approx([0.55 - 0.124206, 0.55 + 0.124206], abs=1e-5)
    assert ratio["verdict"] == L.REPRODUCED
    const = L.evaluate_check(Check("c", "a", Verdict(-5.0), 95.9), seeds)
    assert const["baseline"] == 95.9 and const["baseline_name"] == "paper"
    assert const["per_seed_effect"] == pytest.approx([-4.9, -2.9])
    assert const["verdict"] == L.INCONCLUSIVE         # -3.9 +- 12.7 contains -5
    value = L.evaluate_check(Check("v", "s", Verdict(11.5, "below"), effect="value"), seeds)
    assert value["mean_effect"] == 11.0 and value["baseline"] is None


def _claim(measure, **kw):
    base = dict(id="toy", rules=("bptt",), paper="p", statement="s", task="t", regime="r",
                baseline="b", checks=(Check("a - b", "a", Verdict(0.0), "b"),),
                measure=measure, budget=Budget(epochs=1, T=1), fast=Budget(epochs=1, T=1),
                estimate_minutes=0.0)
    base.update(kw)
    return Claim(**base)


def test_run_claim_statistics_and_json_fields():
    res = L.run_claim(_claim(lambda seed, b: {"a": 10.0 + seed, "b": 5.0}), seeds=5)
    for key in ("id", "rules", "statement", "metric", "value", "baseline", "ci95", "seeds",
                "verdict", "seconds", "checks", "per_seed", "budget", "verdict_rule"):
        assert key in res
    assert res["seeds"] == 5 and res["effect"] == 7.0 and res["verdict"] == L.REPRODUCED
    json.dumps(res)  # plain JSON


def test_run_claim_error_is_a_verdict_not_a_crash():
    def broken(seed, b):
        raise RuntimeError("boom")

    res = L.run_claim(_claim(broken), seeds=2)
    assert res["verdict"] == L.ERROR and "boom" in res["error"]
    with pytest.raises(ValueError, match="seeds"):
        L.run_claim(_claim(broken), seeds=1)
    with pytest.raises(ValueError, match="2 seeds"):
        _claim(broken, seeds=1)


def test_a_changed_definition_needs_a_history_entry():
    import dataclasses

    toy = _claim(lambda seed, b: {"a": 1.0 + seed, "b": 0.0})
    rec = {"claims": [L.run_claim(toy, seeds=2)]}
    assert rec["claims"][0]["fingerprint"] == L.fingerprint(toy)
    assert L.undeclared_changes(rec, {"toy": toy}) == []
    reworded = dataclasses.replace(toy, notes="clarified", estimate_minutes=3.0,
                                   reported="94.1 % (Table 2)")
    assert L.undeclared_changes(rec, {"toy": reworded}) == []  # not part of the definition
    moved = dataclasses.replace(toy, checks=(Check("a - b", "a", Verdict(1.0), "b"),))
    assert L.fingerprint(moved) != L.fingerprint(toy)
    assert L.undeclared_changes(rec, {"toy": moved}) == ["toy"]
    declared = dataclasses.replace(moved, history=("2026-12-04: margin 0 -> 1 because ...",))
    assert L.undeclared_changes(rec, {"toy": declared}) == []


# --------------------------------------------------------------------------- the ledger
def test_definitions_cover_every_rule_and_fit_the_budget():
    ids = L.available()
    claims = [L.get(i) for i in ids]
    assert len(ids) >= 14 and len(set(ids)) == len(ids)
    covered = {r for c in claims for r in c.rules}
    assert set(R.available()) <= covered, set(R.available()) - covered
    assert {"conversion"} <= covered
    assert any(c.id.startswith("dalif") for c in claims)
    assert any(c.id.startswith("hardware") for c in claims)
    assert sum(c.estimate_minutes for c in claims) <= 45.0
    for c in claims:
        assert c.seeds >= 5 and c.statement and c.task and c.regime and c.baseline
        assert "reproduced if" in c.verdict_rule
        d = c.describe()
        json.dumps(d)
        assert d["budget"]["epochs"] >= d["fast_budget"]["epochs"]
    with pytest.raises(ValueError, match="unknown claim"):
        L.get("nope")


def test_build_is_the_one_model_builder():
    # class names, not imports: the rules/readouts refactor may move the classes
    net = RN.build("antlr", 5, (8,), 3, seed=0)
    assert type(net.layers[0].neuron).__name__ == "AntlrLIF"
    assert type(RN.build("ttfs", 5, (8,), 3).layers[0].neuron).__name__ == "AntlrLIF"
    assert type(RN.build("tandem", 4, (8,), 3).layers[0].neuron).__name__ == "IF"
    assert RN.build("bptt", 4, (8, 8), 3, neuron="dalif").config["neuron"] == "dalif"


def test_tasks_latency_and_subset():
    lat = RN.task("yinyang_latency", 100, 50)
    assert lat.input_shape == (5,) and len(lat.train) == 100 and len(lat.test) == 50
    x = lat.train.tensors[0]
    assert float(x[:, :4].min()) >= 0.5 and float(x[:, 4].max()) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="unknown task"):
        RN.task("nope")
    from snnlab.rules.antlr import latency_dataset

    ref = latency_dataset("yinyang")
    full = RN.task("yinyang_latency")
    assert (ref.train.tensors[0] == full.train.tensors[0]).all()


# --------------------------------------------------------------------------- commands
@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    """Every claim once in --fast mode through the command (the one slow piece here)."""
    import contextlib
    import io

    path = tmp_path_factory.mktemp("claims") / "claims.json"
    out = io.StringIO()
    RN.clear_cache()
    with contextlib.redirect_stdout(out):
        code = cli.main(["run", "--fast", "--json", "--no-progress", "--record", str(path)])
    return code, out.getvalue(), path


def test_fast_run_every_claim(fast_run):
    code, stdout, path = fast_run
    lines = [json.loads(s) for s in stdout.splitlines() if s.strip()]
    assert code == 0, [(r["id"], r.get("error")) for r in lines if r["verdict"] == L.ERROR]
    assert [r["id"] for r in lines] == L.available()
    for r in lines:
        for key in ("id", "rules", "statement", "metric", "value", "baseline", "ci95", "seeds",
                    "verdict", "seconds"):
            assert key in r, (r["id"], key)
        assert r["seeds"] == 2 and r["fast"] is True
        assert r["verdict"] in (L.REPRODUCED, L.NOT_REPRODUCED, L.INCONCLUSIVE)
        assert len(r["per_seed"]) == 2 and r["checks"]
    rec = L.load_record(path)
    assert rec["mode"] == "fast" and rec["environment"]["torch"]
    assert len(rec["claims"]) == len(lines)


def _small_record(path):
    res = L.run_claim(_claim(lambda seed, b: {"a": 10.0 + seed, "b": 5.0}), seeds=3)
    return L.record([res], path)


def test_show_json_and_text(tmp_path, capsys):
    path = _small_record(tmp_path / "c.json")
    assert cli.main(["show", "--json", "--file", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == json.loads(path.read_text())
    assert shown["claims"][0]["id"] == "toy" and shown["mode"] == "full"
    assert cli.main(["show", "--file", str(path)]) == 0
    text = capsys.readouterr().out
    assert "toy" in text and "reproduced" in text
    assert cli.main(["show", "--file", str(tmp_path / "missing.json")]) == 1
    assert "make claims" in capsys.readouterr().err


def test_run_usage_errors(capsys):
    assert cli.main(["run", "--only", "nope"]) == 2
    assert "unknown claim" in capsys.readouterr().err
    assert cli.main(["run", "--fast", "--seeds", "1"]) == 2
    assert cli.main(["run", "--fast", "--merge"]) == 2
    assert "--merge needs --record" in capsys.readouterr().err
    assert cli.main(["figures", "--file", "/nonexistent/claims.json"]) == 1
    assert "no recorded ledger" in capsys.readouterr().err
    assert cli.main(["bogus"]) == 2
    assert cli.main(["list", "--json"]) == 0
    defs = [json.loads(s) for s in capsys.readouterr().out.splitlines() if s.strip()]
    assert [d["id"] for d in defs] == L.available()


def test_run_only_text_output(capsys):
    assert cli.main(["run", "--fast", "--only", "ottt-memory", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ottt-memory") and "effect" in out


# --------------------------------------------------------------------------- README table
def test_readme_has_the_claims_block():
    text = (ROOT / "README.md").read_text()
    assert "## Claims ledger" in text
    assert text.index(readme.BEGIN) < text.index(readme.END)


def test_readme_table_generation(tmp_path, capsys):
    rec_path = _small_record(tmp_path / "c.json")
    doc = tmp_path / "README.md"
    doc.write_text(f"# x\n\n## Claims ledger\n\n{readme.BEGIN}\nnot run yet\n{readme.END}\n\n"
                   "## After\n")
    new = readme.update_readme(doc, L.load_record(rec_path))
    assert "not run yet" not in new and "| `toy` (**reproduced**) |" in new
    assert new.endswith(f"{readme.END}\n\n## After\n") and new.startswith("# x\n")
    assert readme.update_readme(doc, L.load_record(rec_path)) == new  # idempotent
    assert readme.update_readme(doc, None).count("not run yet") == 1
    assert readme.main(["--record", str(rec_path), "--readme", str(doc)]) == 0
    assert cli.main(["table", "--markdown", "--file", str(rec_path)]) == 0
    assert "| `toy` (**reproduced**) |" in capsys.readouterr().out
    bad = tmp_path / "bad.md"
    bad.write_text("no markers\n")
    with pytest.raises(ValueError, match="claims:begin"):
        readme.update_readme(bad, None)


def test_fast_record_table_says_verdicts_mean_nothing(fast_run):
    _, _, path = fast_run
    assert "Fast mode" in readme.table(L.load_record(path))


# --------------------------------------------------------------------------- figures
def test_one_figure_per_claim(fast_run, tmp_path, capsys):
    """`claims figures` writes a PNG per claim; a metric measured at several T is drawn
    against T, and every check gets its interval and margin."""
    import matplotlib

    matplotlib.use("Agg")
    from snnlab.claims import figures

    _, _, path = fast_run
    rec = L.load_record(path)
    assert cli.main(["figures", "--file", str(path), "--out", str(tmp_path / "figs")]) == 0
    pngs = sorted(p.name for p in (tmp_path / "figs").glob("*.png"))
    assert pngs == sorted(f"{c['id']}.png" for c in rec["claims"])
    assert all((tmp_path / "figs" / p).stat().st_size > 5000 for p in pngs)
    tandem = next(c for c in rec["claims"] if c["id"] == "tandem-low-T")
    fig = figures.figure(tandem)
    axes = fig.axes
    assert axes[0].get_xlabel() == "time steps T"               # acc_tandem_T2, _T4 -> a sweep
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["2", "4"]
    labels = [t.get_text() for t in axes[-1].get_yticklabels()]
    assert len(labels) == len(tandem["checks"]) and all("(" in s for s in labels)
    assert "tandem-low-T" in fig._suptitle.get_text()
    import matplotlib.pyplot as plt

    plt.close("all")


def test_notebooks_read_the_ledger(fast_run, capsys):
    """What the course shows: the claims of a rule, from a record, with their figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from snnlab import widgets

    _, _, path = fast_run
    lines = []
    rows = widgets.claims_panel(["tandem"], record=path, out=lines.append)
    assert [r["id"] for r in rows] == ["tandem-low-T"]
    text = "\n".join(lines)
    assert "FAST MODE" in text and "tandem-low-T" in text and "accuracy: tandem at T=2" in text
    assert len(plt.get_fignums()) == 1
    plt.close("all")
    v = widgets.verdicts(["ltl"], record=path)
    assert set(v) == {c["id"] for c in L.load_record(path)["claims"] if "ltl" in c["rules"]}
    with pytest.raises(ValueError, match="no claim about"):
        widgets.claims_panel("nonexistent_rule", record=path, figures=False)
    assert L.find_record(path) == path
    assert L.find_record().name == "claims.json"


def test_record_merge_replaces_only_the_claims_run(tmp_path):
    a = L.run_claim(_claim(lambda seed, b: {"a": 10.0 + seed, "b": 5.0}), seeds=3)
    path = L.record([a], tmp_path / "c.json")
    b = dict(a, value=99.0)
    other = dict(a, id="other")
    L.record([other], path, merge=True)
    ids = [c["id"] for c in L.load_record(path)["claims"]]
    assert sorted(ids) == ["other", "toy"]
    L.record([b], path, merge=True)
    rec = L.load_record(path)
    assert sorted(c["id"] for c in rec["claims"]) == ["other", "toy"]
    assert next(c for c in rec["claims"] if c["id"] == "toy")["value"] == 99.0
    assert all("recorded" in c for c in rec["claims"])
    with pytest.raises(ValueError, match="cannot merge"):
        L.record([b], path, fast=True, merge=True)


def test_the_recorded_ledger_is_complete():
    """The committed record: a full run of every registered claim with its current
    definition, >= 5 seeds, an interval and a verdict each, and the README's table made from
    it."""
    rec = L.load_record(ROOT / "data" / "results" / "claims.json")
    assert rec["mode"] == "full"
    assert sorted(c["id"] for c in rec["claims"]) == sorted(L.available())
    assert not L.undeclared_changes(rec)
    for c in rec["claims"]:
        assert c["seeds"] >= 5 and c["verdict"] in (L.REPRODUCED, L.NOT_REPRODUCED,
                                                     L.INCONCLUSIVE), c["id"]
        assert c["fingerprint"] == L.fingerprint(L.get(c["id"])), c["id"]
        assert all(ch["ci95"][0] is not None for ch in c["checks"]), c["id"]
        # what the paper reports travels with the record (the README's column)
        assert c.get("reported") and c["reported"] == L.get(c["id"]).reported, c["id"]
    covered = {r for c in rec["claims"] for r in c["rules"]}
    assert covered >= set(R.available()), set(R.available()) - covered
    text = (ROOT / "README.md").read_text()
    assert readme.table(rec) in text
    figs = ROOT / "data" / "results" / "claims"
    assert sorted(p.stem for p in figs.glob("*.png")) == sorted(L.available())
