"""Builds and loads the C version of the fused LIF loop (``_lif_kernel.c``), optionally.

The first use compiles the file with the system's C compiler (``$CC``, else ``cc``/``gcc``/
``clang``; well under a second) and loads it with :mod:`ctypes`. Without a compiler, or with
``SNNLAB_NO_NATIVE=1``, :func:`lif_kernel` returns None and snnlab runs the same equations as
PyTorch ops: same results, only slower (tests/test_native.py checks both agree bit for bit).
``snnlab info`` says which is in use.

Loading a shared object runs its code, so where it comes from matters:

* It is built into a **private directory**, :func:`private_dir`: ``$XDG_CACHE_HOME/snnlab-native``
  (else ``~/.cache/snnlab-native``), created with mode 0700 and used only while it is owned by
  this user, is neither group- nor world-writable, and no directory above it can be written by
  another user (a sticky directory such as ``/tmp`` is fine). Never the data cache
  (``SNNLAB_DATA``), which users are invited to move and share.
* The file name is keyed by a hash of the source, compiler, flags and CPU; next to it a
  ``.sha256`` file records the SHA-256 of what was compiled. Right before :class:`ctypes.CDLL`
  the object must again be a regular file owned by this user, not group- or world-writable, and
  have that digest; anything else is thrown away and rebuilt, never loaded.
* If the private directory cannot be trusted, the kernel is built into a fresh ``mkdtemp``
  directory (mode 0700) for this process only, with a one-line warning saying why.

:func:`read_private`/:func:`write_private` keep other per-machine verdicts (the int8 timing
probe of :mod:`snnlab.spikemm`) in the same directory under the same checks.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["SOURCE", "FLAGS", "DIR_NAME", "UntrustedPath", "cpu_tag", "private_dir",
           "read_private", "write_private", "lif_kernel", "status"]

SOURCE = Path(__file__).with_name("_lif_kernel.c")
FLAGS = ["-O3", "-std=c99", "-ffp-contract=off", "-fno-fast-math", "-shared", "-fPIC"]
DIR_NAME = "snnlab-native"

_P, _I64, _F, _I32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float, ctypes.c_int32
_state: dict = {"lib": None, "tried": False, "error": None, "where": None}


class UntrustedPath(Exception):
    """A file or directory that another user could have written."""


def cpu_tag() -> str:
    """The CPU's architecture and feature flags (a cache key for what was built or measured)."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith(("flags", "Features")))
    except (OSError, StopIteration):
        flags = platform.processor()
    return f"{platform.machine()} {flags}"


def _warn(message: str) -> None:
    print(f"snnlab: warning: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------- ownership checks

def _uid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def _check_owned(st: os.stat_result, path: Path, kind: str) -> None:
    """``path`` (lstat'ed as ``st``) must be a ``kind`` owned by us, not group/world-writable."""
    is_kind = stat.S_ISDIR(st.st_mode) if kind == "directory" else stat.S_ISREG(st.st_mode)
    if not is_kind:
        raise UntrustedPath(f"{path} is not a plain {kind}")
    if st.st_uid != _uid():
        raise UntrustedPath(f"{path} is owned by uid {st.st_uid}, not by you (uid {_uid()})")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UntrustedPath(f"{path} is group- or world-writable "
                            f"(mode {stat.S_IMODE(st.st_mode):o}; chmod 700 it)")


def _check_parents(path: Path) -> None:
    """No directory above ``path`` may let another user replace what is below it: each is owned
    by us or root and is not group/world-writable unless sticky (like /tmp)."""
    for parent in Path(os.path.realpath(path)).parents:
        st = os.stat(parent)
        if st.st_uid not in (0, _uid()):
            raise UntrustedPath(f"{parent} (above {path}) is owned by uid {st.st_uid}")
        writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if writable and not st.st_mode & stat.S_ISVTX:
            raise UntrustedPath(f"{parent} (above {path}) is group- or world-writable")


def _checked_dir(path: Path) -> Path:
    """``path`` as a directory only we can write (created with mode 0700 if missing)."""
    _check_parents(path)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    _check_owned(os.lstat(path), path, "directory")
    return path


def private_dir() -> Path:
    """The per-user directory for compiled code and machine verdicts, checked; raises
    :class:`UntrustedPath` (or OSError) if it cannot be trusted or created."""
    if _uid() is None:
        raise UntrustedPath("no file ownership to check on this platform")
    if os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"]).expanduser()
    else:
        base = Path.home() / ".cache"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    return _checked_dir(base / DIR_NAME)


def _read_checked(path: Path) -> bytes:
    """The bytes of ``path``, a plain file of ours that only we can write (else raises)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        _check_owned(os.fstat(f.fileno()), path, "file")
        return f.read()


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)  # atomic: a parallel process never reads a half-written file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_private(name: str) -> str | None:
    """The text of ``name`` in :func:`private_dir`, or None if missing or not trustworthy."""
    try:
        return _read_checked(private_dir() / name).decode()
    except (OSError, UnicodeDecodeError, UntrustedPath):
        return None


def write_private(name: str, text: str) -> bool:
    """Keep ``text`` as ``name`` in :func:`private_dir`; False if there is no trusted place."""
    try:
        _write_atomic(private_dir() / name, text.encode())
        return True
    except (OSError, UntrustedPath):
        return False


# ------------------------------------------------------------------------------- build and load

def _compile(cc: str, directory: Path) -> Path:
    """Compile into a new file in ``directory`` with -march=native where the compiler takes it,
    else portable flags; returns the new file."""
    errors = []
    for extra in (["-march=native"], ["-mcpu=native"], []):
        fd, name = tempfile.mkstemp(suffix=".so", prefix=".build-", dir=directory)
        os.close(fd)
        tmp = Path(name)
        cmd = [cc, *FLAGS, *extra, str(SOURCE), "-o", str(tmp), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode == 0:
            os.chmod(tmp, 0o700)
            return tmp
        tmp.unlink(missing_ok=True)
        errors.append(proc.stderr.strip()[-300:])
    raise RuntimeError("; ".join(errors))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verified(so: Path) -> bool:
    """Whether ``so`` is ours, only we can write it, and it has the digest recorded at build."""
    try:
        want = _read_checked(so.with_suffix(".sha256")).decode().strip()
        return _digest(_read_checked(so)) == want
    except (OSError, UnicodeDecodeError, UntrustedPath):
        return False


def _build_private(cc: str, key: str) -> Path:
    """Path of a verified kernel in :func:`private_dir`, built (again) if needed."""
    directory = private_dir()
    so = directory / f"lif-{key}.so"
    if _verified(so):
        return so
    if so.exists() or so.is_symlink():
        _warn(f"{so} does not match the digest recorded when it was built; rebuilding it")
    tmp = _compile(cc, directory)
    try:
        digest = _digest(_read_checked(tmp))
        os.replace(tmp, so)  # atomic: parallel workers may race to build the same file
    finally:
        tmp.unlink(missing_ok=True)
    _write_atomic(so.with_suffix(".sha256"), f"{digest}\n".encode())
    if not _verified(so):  # a parallel build replaced one of the two files in between
        raise UntrustedPath(f"{so} changed while it was being built")
    return so


def _load(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    lib.lif_forward.argtypes = [_P, _I64, _P, _P, _P, _I64, _I64, _F, _F, _I32]
    lib.lif_forward.restype = None
    lib.lif_backward.argtypes = [_P, _P, _I64, _P, _I64, _I64, _F, _F, _I32, _F, _F]
    lib.lif_backward.restype = None
    return lib


def _load_from_temp(cc: str) -> ctypes.CDLL:
    """Build into a fresh mode-0700 directory of this process, load, and delete the files."""
    directory = Path(tempfile.mkdtemp(prefix="snnlab-native-"))
    try:
        _checked_dir(directory)
        so = _compile(cc, directory)
        return _load(so)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


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
    key = hashlib.sha256(
        SOURCE.read_bytes() + f"{cc}|{FLAGS}|{cpu_tag()}".encode()).hexdigest()[:16]
    try:
        try:
            so = _build_private(cc, key)
        except UntrustedPath as exc:
            _warn(f"{exc}; building the C LIF kernel in a temporary directory instead")
            lib, where = _load_from_temp(cc), "a temporary directory"
        else:
            lib, where = _load(so), str(so.parent)
    except (OSError, RuntimeError, UntrustedPath, subprocess.SubprocessError) as exc:
        _state["error"] = f"build failed: {exc}"
        return None
    _state["lib"], _state["where"] = lib, where
    return lib


def status() -> str:
    """One line for ``snnlab info``."""
    lib = lif_kernel()
    return (f"C (compiled), built in {_state['where']}" if lib is not None
            else f"PyTorch ops ({_state['error']})")
