"""Keep freed tensor memory in the process instead of handing it back to the OS every step.

Why: the fused time loops allocate a few whole-sequence tensors (``[T, B, N]``, megabytes) per
layer per step. glibc's malloc serves such sizes with fresh ``mmap`` pages, or trims them from the
heap top when freed, so every training step pays a page fault for each 4 KiB page it touches
again. Measured on the project's 2-core machine this made a 64-256-10 BPTT step ~2.3x slower.
Raising glibc's mmap and trim thresholds keeps that memory in the heap for reuse (what the
``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` environment variables do).

It changes only when this process returns freed memory to the OS (peak RSS is unchanged; RSS may
stay near its peak). Set ``SNNLAB_NO_MALLOC_TUNING=1`` before importing snnlab to skip it. It is
a no-op outside glibc (macOS, Windows, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

applied = False


def tune() -> bool:
    """Apply the malloc settings once; returns whether they are in force."""
    global applied
    if applied or os.environ.get("SNNLAB_NO_MALLOC_TUNING") or not sys.platform.startswith("linux"):
        return applied
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    ok = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)   # glibc's maximum on 64-bit
    ok &= mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024)
    ok &= mallopt(M_TOP_PAD, 64 * 1024 * 1024)
    applied = bool(ok)
    return applied
