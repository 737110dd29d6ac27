"""The compiled LIF loop (snnlab/_lif_kernel.c) against the PyTorch-ops path it replaces."""

import hashlib
import os
import shutil
import stat
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


def _fresh(env_extra, tmp_path, data=None, xdg=None):
    """Run a new process that uses the kernel, with its data cache and XDG cache in tmp_path."""
    env = {**os.environ, "SNNLAB_DATA": str(data or tmp_path / "data"),
           "XDG_CACHE_HOME": str(xdg or tmp_path / "xdg"), **env_extra}
    env = {k: v for k, v in env.items() if v is not None}
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
def test_builds_into_a_private_directory_not_the_data_cache(tmp_path):
    proc = _fresh({}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("C (compiled)") and proc.stderr == ""
    private = tmp_path / "xdg" / "snnlab-native"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    (so,) = private.glob("lif-*.so")
    digest = so.with_suffix(".sha256").read_text().strip()
    assert hashlib.sha256(so.read_bytes()).hexdigest() == digest
    assert not list(tmp_path.joinpath("data").rglob("*.so"))


# ------------------------------------------------- tampering: planted or altered shared objects

CC = os.environ.get("CC") or next((c for c in ("cc", "gcc", "clang") if shutil.which(c)), None)


def _key(cc):
    """The name's key, computed as snnlab (today and before the private directory) does."""
    return hashlib.sha256(_native.SOURCE.read_bytes()
                          + f"{cc}|{_native.FLAGS}|{_native.cpu_tag()}".encode()).hexdigest()[:16]


def _plant(path, marker):
    """A working kernel whose constructor (run by dlopen) writes ``marker``: what an attacker
    would put where snnlab looks for its kernel."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ctor = path.parent / "evil.c"
    ctor.write_text('#include <stdio.h>\n__attribute__((constructor)) static void evil(void) {'
                    f' FILE *f = fopen("{marker}", "w"); if (f) fclose(f); }}\n')
    subprocess.run([CC, "-shared", "-fPIC", "-O1", str(_native.SOURCE), str(ctor), "-o",
                    str(path), "-lm"], check=True, capture_output=True, timeout=120)
    ctor.unlink()


def _matches_digest(so):
    recorded = so.with_suffix(".sha256").read_text().strip()
    return hashlib.sha256(so.read_bytes()).hexdigest() == recorded


def _works(proc):
    assert proc.returncode == 0, proc.stderr
    status, spikes = proc.stdout.split("\n")[:2]
    assert spikes == "16"
    return status


@needs_kernel
def test_a_planted_kernel_is_never_loaded(tmp_path):
    """Under the predicted name in the data cache (where kernels used to live) and in the
    private directory (without a digest of ours): never run, the kernel is built afresh."""
    marker = tmp_path / "pwned"
    key = _key(CC)
    _plant(tmp_path / "data" / "kernels" / f"lif-{key}.so", marker)
    private = tmp_path / "xdg" / "snnlab-native"
    private.mkdir(parents=True, mode=0o700)
    _plant(private / f"lif-{key}.so", marker)
    status = _works(_fresh({"CC": CC}, tmp_path))
    assert not marker.exists()
    assert status.startswith("C (compiled)")
    so = private / f"lif-{key}.so"
    assert _matches_digest(so)


@needs_kernel
def test_a_world_writable_cache_is_not_used(tmp_path):
    """The XDG cache (the default data cache's parent too) is world-writable and holds a planted
    kernel in both places, with a digest file: nothing there runs, one warning, a temp build."""
    marker = tmp_path / "pwned"
    key = _key(CC)
    xdg = tmp_path / "xdg"
    _plant(xdg / "snnlab" / "kernels" / f"lif-{key}.so", marker)  # the old default location
    private = xdg / "snnlab-native"
    _plant(private / f"lif-{key}.so", marker)
    so = private / f"lif-{key}.so"
    so.with_suffix(".sha256").write_text(hashlib.sha256(so.read_bytes()).hexdigest())
    xdg.chmod(0o777)
    status = _works(_fresh({"CC": CC, "SNNLAB_DATA": None}, tmp_path))
    assert not marker.exists()
    assert status.startswith("C (compiled)")
    proc = _fresh({"CC": CC, "SNNLAB_DATA": None}, tmp_path)
    assert len(proc.stderr.strip().splitlines()) == 1 and "world-writable" in proc.stderr
    xdg.chmod(0o700)
    private.chmod(0o777)  # the private directory itself: same
    _works(_fresh({"CC": CC}, tmp_path))
    assert not marker.exists()


@needs_kernel
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown (root)")
def test_a_private_directory_owned_by_someone_else_is_not_used(tmp_path):
    marker = tmp_path / "pwned"
    private = tmp_path / "xdg" / "snnlab-native"
    _plant(private / f"lif-{_key(CC)}.so", marker)
    private.chmod(0o700)
    os.chown(private, 4242, 4242)
    proc = _fresh({"CC": CC}, tmp_path)
    _works(proc)
    assert not marker.exists() and "not by you" in proc.stderr


@needs_kernel
def test_a_tampered_kernel_is_rebuilt_not_loaded(tmp_path):
    """The built object is replaced after the fact (same name, same owner, same mode): its
    digest no longer matches, so it is rebuilt before anything loads it."""
    marker = tmp_path / "pwned"
    _works(_fresh({"CC": CC}, tmp_path))
    (so,) = [p for p in tmp_path.rglob("lif-*.so")]  # wherever snnlab built it
    mode = stat.S_IMODE(so.stat().st_mode)
    _plant(so, marker)
    so.chmod(mode)
    proc = _fresh({"CC": CC}, tmp_path)
    status = _works(proc)
    assert not marker.exists()
    assert status.startswith("C (compiled)") and "digest" in proc.stderr
    assert _matches_digest(so)


def test_the_int8_probe_verdict_is_not_taken_from_a_shared_place(tmp_path, monkeypatch):
    """A verdict planted in the data cache (where it used to be kept), or in a group-writable
    file, is ignored: the probe runs again and its answer is kept in the private directory."""
    from snnlab import spikemm

    monkeypatch.setenv("SNNLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    key = hashlib.sha256(f"{_native.cpu_tag()}|{torch.__version__}".encode()).hexdigest()[:16]
    name = f"int8-probe-{key}.txt"
    planted = tmp_path / "data" / "kernels" / name
    planted.parent.mkdir(parents=True)
    planted.write_text("faster")
    probes = []
    monkeypatch.setattr(spikemm, "_probe", lambda: probes.append(1) or False)
    assert spikemm._cached_probe() is False and probes == [1]
    kept = tmp_path / "xdg" / "snnlab-native" / name
    assert kept.read_text() == "slower"
    kept.write_text("faster")
    kept.chmod(0o666)
    assert spikemm._cached_probe() is False and probes == [1, 1]
