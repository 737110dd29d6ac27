"""The compiled LIF loop (snnlab/_lif_kernel.c) against the PyTorch-ops path it replaces."""

import os
import subprocess
import sys

import pytest
import torch

from snnlab import _native
from snnlab import functional as F
from snnlab import surrogate as S
from snnlab.models import mlp

needs_kernel = pytest.mark.skipif(_native.lif_kernel() is None,
                                  reason=f"no compiled kernel: {_native.status()}")
SURROGATES = [S.FastSigmoid(), S.FastSigmoid(3.0), S.ATan(), S.Triangle(0.7), S.Rectangle(2.0)]


def _run(native, current, w, **kw):
    old = F.NATIVE
    F.NATIVE = native
    try:
        s, u = F.lif_sequence(current, **kw)
        grads = torch.autograd.grad((s * w).sum(), [t for t in (current, kw.get("v0"))
                                                     if t is not None and t.requires_grad])
    finally:
        F.NATIVE = old
    return s, u, *grads


@needs_kernel
@pytest.mark.parametrize("surrogate", SURROGATES, ids=repr)
@pytest.mark.parametrize("mode,detach", [(m, d) for m in F.RESETS for d in (True, False)])
def test_bit_identical_to_pytorch_ops(surrogate, mode, detach):
    """Same float32 operations in the same order: not close, equal."""
    torch.manual_seed(0)
    current = (torch.randn(17, 5, 23) * 0.9).requires_grad_(True)
    w = torch.randn(17, 5, 23)
    kw = dict(beta=0.83, threshold=0.6, reset_mode=mode, detach_reset=detach,
              surrogate=surrogate)
    for a, b in zip(_run(True, current, w, **kw), _run(False, current, w, **kw)):
        assert torch.equal(a, b)


@needs_kernel
def test_initial_state_and_constant_input():
    """An initial membrane v0 and an input repeated over time (stride 0, as direct encoding
    makes it) take the compiled path and still agree bit for bit."""
    torch.manual_seed(1)
    step = torch.randn(6, 11, requires_grad=True)
    current = step.unsqueeze(0).expand(9, 6, 11)
    v0 = torch.randn(6, 11, requires_grad=True)
    w = torch.randn(9, 6, 11)
    kw = dict(beta=0.9, surrogate=S.FastSigmoid(), v0=v0)
    for a, b in zip(_run(True, current, w, **kw), _run(False, current, w, **kw)):
        assert torch.equal(a, b)


@needs_kernel
def test_kernel_is_used_for_float32_and_skipped_otherwise(monkeypatch):
    calls = []
    lib = _native.lif_kernel()

    class Spy:
        def __getattr__(self, name):
            fn = getattr(lib, name)
            return lambda *a: calls.append(name) or fn(*a)

    monkeypatch.setattr(F._native, "lif_kernel", lambda: Spy())
    cur = torch.randn(4, 3, 5, requires_grad=True)
    w = torch.randn(4, 3, 5)
    s, _ = F.lif_sequence(cur, beta=0.9, surrogate=S.FastSigmoid())
    (s * w).sum().backward()
    assert calls == ["lif_forward", "lif_backward"]
    calls.clear()
    F.lif_sequence(cur.double(), beta=0.9, surrogate=S.FastSigmoid())  # float64: PyTorch ops
    F.lif_sequence(cur, beta=torch.full((5,), 0.9), surrogate=S.FastSigmoid())  # tensor beta
    assert calls == []
    s, _ = F.lif_sequence(cur, beta=0.9, surrogate=S.FastSigmoid(), reset_mode="zero")
    (s * w).sum().backward()  # dv/du is not 1: the backward stays in PyTorch ops
    assert calls == ["lif_forward"]


@needs_kernel
def test_training_is_unchanged_by_the_kernel():
    """A whole BPTT step (weights after Adam) is bit-identical with and without the kernel."""
    torch.manual_seed(2)
    x = (torch.rand(12, 16, 20) < 0.3).float()
    y = torch.randint(0, 4, (16,))
    out = []
    for native in (True, False):
        torch.manual_seed(3)
        net = mlp(20, [32, 24], 4, beta=0.9)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        F.NATIVE = native
        try:
            for _ in range(3):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(x), y).backward()
                opt.step()
        finally:
            F.NATIVE = True
        out.append([p.detach().clone() for p in net.parameters()])
    for a, b in zip(*out):
        assert torch.equal(a, b)


def _fresh(env_extra, tmp_path):
    env = {**os.environ, "SNNLAB_DATA": str(tmp_path), **env_extra}
    code = ("import torch; from snnlab import _native, functional as F, surrogate as S;"
            "s, _ = F.lif_sequence(torch.ones(3, 2, 4), beta=0.5, surrogate=S.FastSigmoid());"
            "print(_native.status()); print(int(s.sum()))")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)


def test_without_a_compiler_or_when_disabled_pytorch_ops_run(tmp_path):
    for extra, reason in (({"SNNLAB_NO_NATIVE": "1"}, "disabled"),
                          ({"CC": "/nonexistent/cc"}, "build failed")):
        proc = _fresh(extra, tmp_path)
        assert proc.returncode == 0, proc.stderr
        status, spikes = proc.stdout.split("\n")[:2]
        assert status.startswith("PyTorch ops") and reason in status
        assert spikes == "16"  # u = 1, 1.5, 1.25: each of the 8 neurons fires at steps 1, 2


@needs_kernel
def test_builds_into_a_fresh_cache(tmp_path):
    proc = _fresh({}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("C (compiled)")
    assert list((tmp_path / "kernels").glob("lif-*.so"))
