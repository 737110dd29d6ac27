"""Builds and loads the C version of the fused LIF loop (``_lif_kernel.c``), optionally.

The first use compiles the file with the system's C compiler (``$CC``, else ``cc``/``gcc``/
``clang``; well under a second) into the snnlab cache (``snnlab.data.cache_dir()/kernels``), keyed
by a hash of the source, compiler and CPU, and loads it with :mod:`ctypes`. Without a compiler,
or with ``SNNLAB_NO_NATIVE=1``, :func:`lif_kernel` returns None and snnlab runs the same
equations as PyTorch ops: same results, only slower (tests/test_native.py checks both agree bit
for bit). ``snnlab info`` says which is in use.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("_lif_kernel.c")
FLAGS = ["-O3", "-std=c99", "-ffp-contract=off", "-fno-fast-math", "-shared", "-fPIC"]

_P, _I64, _F, _I32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float, ctypes.c_int32
_state: dict = {"lib": None, "tried": False, "error": None}


def cpu_tag() -> str:
    """The CPU's architecture and feature flags (a cache key for what was built or measured)."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith(("flags", "Features")))
    except (OSError, StopIteration):
        flags = platform.processor()
    return f"{platform.machine()} {flags}"


def _compile(cc: str, out: Path) -> None:
    """Compile with -march=native where the compiler takes it, else portable flags."""
    errors = []
    for extra in (["-march=native"], ["-mcpu=native"], []):
        fd, name = tempfile.mkstemp(suffix=".so", dir=out.parent)
        os.close(fd)
        tmp = Path(name)
        cmd = [cc, *FLAGS, *extra, str(SOURCE), "-o", str(tmp), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode == 0:
            os.replace(tmp, out)  # atomic: parallel workers may race to build the same file
            return
        tmp.unlink(missing_ok=True)
        errors.append(proc.stderr.strip()[-300:])
    raise RuntimeError("; ".join(errors))


def lif_kernel():
    """The loaded C library, or None (no compiler, build failed, or disabled)."""
    if _state["tried"]:
        return _state["lib"]
    _state["tried"] = True
    if os.environ.get("SNNLAB_NO_NATIVE", "") not in ("", "0"):
        _state["error"] = "disabled by SNNLAB_NO_NATIVE"
        return None
    cc = os.environ.get("CC") or next(
        (c for c in ("cc", "gcc", "clang") if shutil.which(c)), None)
    if cc is None:
        _state["error"] = "no C compiler found (set CC)"
        return None
    try:
        from .data import cache_dir

        key = hashlib.sha256(
            SOURCE.read_bytes() + f"{cc}|{FLAGS}|{cpu_tag()}".encode()).hexdigest()[:16]
        out = cache_dir() / "kernels" / f"lif-{key}.so"
        out.parent.mkdir(parents=True, exist_ok=True)
        if not out.exists():
            _compile(cc, out)
        lib = ctypes.CDLL(str(out))
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        _state["error"] = f"build failed: {exc}"
        return None
    lib.lif_forward.argtypes = [_P, _I64, _P, _P, _P, _I64, _I64, _F, _F, _I32]
    lib.lif_forward.restype = None
    lib.lif_backward.argtypes = [_P, _P, _I64, _P, _I64, _I64, _F, _F, _I32, _F, _F]
    lib.lif_backward.restype = None
    _state["lib"] = lib
    return lib


def status() -> str:
    """One line for ``snnlab info``."""
    lib = lif_kernel()
    return "C (compiled)" if lib is not None else f"PyTorch ops ({_state['error']})"
