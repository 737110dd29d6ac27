"""Importing snnlab stays cheap and has no side effects on the process.

Each check runs in a fresh interpreter (what a user's ``import snnlab`` or ``snnlab train``
starts from): no scikit-learn, matplotlib or torch._dynamo (each costs about a second), no child
process (``ctypes.util.find_library`` used to run ``/sbin/ldconfig -p``), and no change to the
process's memory allocator (``mallopt``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sklearn", "matplotlib", "torch._dynamo", "pandas", "scipy")


def _python(*args, code=None):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    cmd = [sys.executable, *args] + (["-c", code] if code is not None else [])
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def _imported(importtime_stderr: str) -> set[str]:
    """Module names from ``python -X importtime`` output."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def _heavy(names: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY))


def test_import_snnlab_does_not_import_heavy_modules():
    proc = _python("-X", "importtime", code="import snnlab")
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = _imported(proc.stderr)
    assert "snnlab" in names and "torch" in names
    assert _heavy(names) == []


def test_loading_digits_does_not_import_scikit_learn():
    proc = _python("-X", "importtime", code="import snnlab; snnlab.data.load('digits')")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _heavy(_imported(proc.stderr)) == []


def test_import_spawns_no_process_and_leaves_malloc_alone():
    code = textwrap.dedent("""
        import ctypes, os, subprocess

        def refuse(*a, **k):
            raise AssertionError(f"a process was started at import: {a!r}")

        subprocess.Popen = refuse
        for name in ("system", "posix_spawn", "posix_spawnp", "fork", "execv", "execve"):
            if hasattr(os, name):
                setattr(os, name, refuse)

        calls = []
        real_getattr = ctypes.CDLL.__getattr__

        def spy(self, name):
            if name == "mallopt":
                calls.append(name)
            return real_getattr(self, name)

        ctypes.CDLL.__getattr__ = spy
        real_getitem = ctypes.CDLL.__getitem__

        def spy_item(self, name):
            if name == "mallopt":
                calls.append(name)
            return real_getitem(self, name)

        ctypes.CDLL.__getitem__ = spy_item

        import snnlab
        from snnlab import _malloc

        assert calls == [], calls
        assert not _malloc.applied
        print("ok")
    """)
    proc = _python(code=code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"


def test_malloc_tuning_is_opt_in_and_spawns_nothing():
    code = textwrap.dedent("""
        import subprocess

        def refuse(*a, **k):
            raise AssertionError(f"a process was started: {a!r}")

        subprocess.Popen = refuse
        from snnlab import _malloc

        print(_malloc.tune(), _malloc.applied)
    """)
    proc = _python(code=code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expect = "True True" if sys.platform.startswith("linux") else "False False"
    assert proc.stdout.strip() == expect


def test_one_epoch_cli_run_imports_no_dynamo_or_scikit_learn():
    """``snnlab train`` end to end: the digits loader reads the file itself, and the optimizer
    (snnlab/_optim.py) does not pull in torch._dynamo on its first call."""
    proc = _python("-X", "importtime", "-m", "snnlab", "train", "--rule", "bptt", "--data",
                   "digits", "--epochs", "1", "--no-progress", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"test_acc"' in proc.stdout.splitlines()[-1]
    assert _heavy(_imported(proc.stderr)) == []


def test_optimizers_are_torch_optim_bit_for_bit():
    """Ours first, in a fresh process (so without torch._dynamo), then torch.optim's: same
    weights and optimizer state after a few steps, for each optimizer train() builds."""
    code = textwrap.dedent("""
        import sys
        import torch
        from snnlab import _optim

        CASES = {"Adam": dict(lr=1e-2, weight_decay=1e-3), "AdamW": dict(lr=1e-2),
                 "SGD": dict(lr=0.1, momentum=0.9, weight_decay=1e-3)}

        def run(cls, kw):
            torch.manual_seed(0)
            net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(),
                                      torch.nn.Linear(7, 3))
            opt = cls(net.parameters(), **kw)
            x = torch.randn(8, 5)
            for _ in range(4):
                opt.zero_grad(set_to_none=True)
                net(x).square().sum().backward()
                opt.step()
            assert torch.is_grad_enabled()  # the grad mode step() switched off is restored
            state = [v for s in opt.state_dict()["state"].values() for v in s.values()]
            return [p.detach().clone() for p in net.parameters()] + state

        ours = {n: run(getattr(_optim, n), kw) for n, kw in CASES.items()}
        assert "torch._dynamo" not in sys.modules
        assert isinstance(_optim.Adam([torch.zeros(1, requires_grad=True)]), torch.optim.Adam)
        for n, kw in CASES.items():
            theirs = run(getattr(torch.optim, n), kw)
            assert len(ours[n]) == len(theirs)
            for a, b in zip(ours[n], theirs):
                assert torch.equal(torch.as_tensor(a), torch.as_tensor(b)), n
        assert "torch._dynamo" in sys.modules  # torch.optim's own classes do import it
        print("ok")
    """)
    proc = _python(code=code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
