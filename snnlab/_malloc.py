"""Opt-in: keep freed tensor memory in the process instead of handing it back to the OS.

Why: the fused time loops allocate a few whole-sequence tensors (``[T, B, N]``, megabytes) per
layer per step. glibc's malloc serves such sizes with fresh ``mmap`` pages, or trims them from the
heap top when freed, so every training step pays a page fault for each 4 KiB page it touches
again. Measured on the project's 2-core machine this made a 64-256-10 BPTT step ~2.3x slower.
Raising glibc's mmap and trim thresholds keeps that memory in the heap for reuse.

It changes the allocator of the *whole process* (every library in it, for its whole life; RSS
may stay near its peak), so importing snnlab does **not** do it. Opt in, either

* from Python, before training: ``from snnlab import _malloc; _malloc.tune()`` (what
  ``benchmarks/bench_bptt.py`` does, for every implementation it times alike), or
* for any process, without code, with glibc's own environment variables (same effect)::

      MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \\
      MALLOC_TOP_PAD_=67108864 snnlab train ...

:func:`tune` reaches ``mallopt`` in the C library already loaded in the process
(``ctypes.CDLL(None)``), so it spawns nothing (``ctypes.util.find_library`` would run
``ldconfig``). It is a no-op outside glibc (macOS, Windows, musl: no ``mallopt`` symbol).
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["M_TRIM_THRESHOLD", "M_TOP_PAD", "M_MMAP_THRESHOLD", "SETTINGS", "tune"]

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

SETTINGS = {  # the values of the environment variables above
    M_MMAP_THRESHOLD: 32 * 1024 * 1024,  # glibc's maximum on 64-bit
    M_TRIM_THRESHOLD: 1024 * 1024 * 1024,
    M_TOP_PAD: 64 * 1024 * 1024,
}

applied = False


def tune() -> bool:
    """Apply the malloc settings to this process once; returns whether they are in force."""
    global applied
    if applied or not sys.platform.startswith("linux"):
        return applied
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the running process's libc: no subprocess
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    applied = all([mallopt(param, value) == 1 for param, value in SETTINGS.items()])
    return applied
