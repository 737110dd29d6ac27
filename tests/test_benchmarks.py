"""The benchmarks run end to end in their smoke modes (times are not asserted: speed is the
benchmarks' job, not a unit test's)."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SpikingJelly uses torch.jit.script
def test_bench_conv_smoke(capsys):
    pytest.importorskip("snntorch")
    bench = _load("bench_conv")
    results = bench.main(["--smoke", "--memory"])
    out = capsys.readouterr().out
    rows = results["speed"][0]
    assert {"snntorch", "snnlab", "snnlab + ConvPool"} <= set(rows)
    for name, row in rows.items():
        assert row["ms"] > 0 and row["vs snntorch"] > 0
        assert name in out
    assert "vs snntorch" in out
    lines = [ln for ln in out.splitlines() if ln.startswith("snnlab ")]
    assert len(lines) >= 2 and all(ln.count("x [") >= 1 for ln in lines)  # the ratio columns
    mem = results["memory"]
    assert set(mem) == set(bench.MEMORY_RULES)
    assert "growth T=2->4" in out
    # memory held for backward is deterministic: bptt grows with T, the online rules do not
    assert mem["bptt"][4] > 1.5 * mem["bptt"][2]
    for rule in ("ottt", "ltl_online"):
        assert mem[rule][4] <= 1.05 * mem[rule][2]
