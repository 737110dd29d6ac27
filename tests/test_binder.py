"""The Binder environment builds from ``binder/`` alone and runs a course notebook.

repo2docker (what mybinder.org runs) reads ``binder/`` first: ``runtime.txt`` picks the Python,
``requirements.txt`` installs the CPU build of torch, ``postBuild`` installs snnlab with its
``lab`` extra and registers a kernel. ``test_binder_environment_runs_a_notebook`` repeats those
steps in a fresh virtual environment (no system site packages) and executes
``notebooks/01_spiking_neurons.ipynb`` in it with ``FAST=True`` on the registered kernel.

Deviations from a real Binder build, on purpose:

* the ``--extra-index-url`` line is dropped before installing: PyTorch's wheel index cannot be
  reached from the project's machines. ``torch==2.13.0`` then resolves to the CPU wheel this
  machine's pip configuration provides; the test checks that it is a CPU build.
* pip's cache is used (no ``--no-cache-dir``), so a second run does not fetch anything again.
* the repository is copied (tracked and untracked-but-not-ignored files) into a temporary folder,
  so the editable install and the executed notebook never touch the working tree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
NOTEBOOK = "notebooks/01_spiking_neurons.ipynb"
KERNEL = "snnlab"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
INDEX_OPTIONS = ("--extra-index-url", "--index-url", "-i", "--find-links", "-f")


def _requirements() -> list[str]:
    lines = []
    for raw in (BINDER / "requirements.txt").read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _runtime_version() -> str:
    text = (BINDER / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-(\d+\.\d+)", text)
    assert m, f"binder/runtime.txt must read python-X.Y, got {text!r}"
    return m.group(1)


def test_binder_files():
    """Cheap layout check: the files repo2docker needs, with the CPU torch and the kernel."""
    assert _runtime_version() == "3.11"
    reqs = _requirements()
    assert f"--extra-index-url {CPU_INDEX}" in reqs, "the CPU wheel index must be an *extra* index"
    pins = [r for r in reqs if r.startswith("torch")]
    assert pins == ["torch==2.13.0"], f"torch must be pinned exactly once, got {pins}"
    make_pin = re.search(r"^TORCH_SPEC \?= (\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert make_pin and make_pin.group(1) == pins[0], "binder and the Makefile pin different torch"
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert text.startswith("#!"), "binder/postBuild needs a shebang"
    commands = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    assert 'pip install -e ".[lab]"' in commands
    assert "ipykernel install --sys-prefix" in commands and "--user" not in commands


def _copy_repository(dest: Path) -> None:
    """Tracked and untracked-but-not-ignored files (what a clone plus the work in progress has)."""
    try:
        cmd = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
        out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "artifacts",
                                        "runs", ".pytest_cache", ".ruff_cache")
        shutil.copytree(ROOT, dest, ignore=ignore, dirs_exist_ok=True)
        return
    for rel in files:
        src = ROOT / rel
        if src.is_file():  # deleted-but-tracked files are listed too
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _run(cmd, *, env, cwd, timeout, what):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, (f"{what} failed (exit {proc.returncode}):\n"
                                  f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    print(f"[binder] {what}: {seconds:.1f} s")
    return proc


EXECUTE = """
import json, sys
import papermill as pm
from snnlab import nbtools

nbtools.patch_nbclient()  # the nbclient#312 widget-output hang, see snnlab/nbtools.py
nb = pm.execute_notebook(sys.argv[1], sys.argv[2], parameters={"FAST": True},
                         kernel_name=sys.argv[3], cwd=sys.argv[4], execution_timeout=240,
                         progress_bar=False)
errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
print(json.dumps({"errors": [f"{e['ename']}: {e['evalue']}" for e in errors]}))
"""

PROBE = """
import json, sys, torch
from jupyter_client.kernelspec import KernelSpecManager
spec = KernelSpecManager().get_kernel_spec(sys.argv[1])
print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda,
                  "kernel_argv0": spec.argv[0], "kernel_dir": spec.resource_dir,
                  "prefix": sys.prefix}))
"""


@pytest.mark.slow
def test_binder_environment_runs_a_notebook(tmp_path):
    version = _runtime_version()
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        python = sys.executable
    else:
        python = shutil.which(f"python{version}")
    if python is None:
        pytest.skip(f"no python{version} (binder/runtime.txt) on this machine")

    repo, venv, home = tmp_path / "repo", tmp_path / "env", tmp_path / "home"
    _copy_repository(repo)
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV", "CONDA", "MPLBACKEND"))}
    env.update({
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        # no user-level kernels, settings or runtime files: only what the environment holds
        "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
        "MPLCONFIGDIR": str(home / "mpl"),
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PIP_PROGRESS_BAR": "off",
        # byte-compiling every installed module (torch, jupyterlab, ...) is most of pip's time;
        # the kernel compiles what it imports
        "PIP_NO_COMPILE": "1",
    })
    t0 = time.perf_counter()
    _run([python, "-m", "venv", str(venv)], env=env, cwd=tmp_path, timeout=120,
         what="fresh virtual environment")

    # requirements.txt without its index lines (the PyTorch index is unreachable here)
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("\n".join(r for r in _requirements() if not r.startswith(INDEX_OPTIONS)))
    py = str(venv / "bin" / "python")
    _run([py, "-m", "pip", "install", "-q", "-r", str(reqs)], env=env, cwd=repo, timeout=600,
         what="pip install -r binder/requirements.txt")
    _run(["bash", str(repo / "binder" / "postBuild")], env=env, cwd=repo, timeout=600,
         what="binder/postBuild")

    probe = json.loads(_run([py, "-c", PROBE, KERNEL], env=env, cwd=tmp_path, timeout=120,
                            what="probe").stdout.strip().splitlines()[-1])
    assert probe["cuda"] is None, f"binder installed a CUDA build of torch: {probe['torch']}"
    assert Path(probe["kernel_dir"]).is_relative_to(venv), \
        f"kernel {KERNEL!r} is registered outside the environment: {probe['kernel_dir']}"
    assert Path(probe["kernel_argv0"]).parent == venv / "bin", probe["kernel_argv0"]

    out = tmp_path / "executed.ipynb"
    result = _run([py, "-c", EXECUTE, str(repo / NOTEBOOK), str(out), KERNEL,
                   str(repo / "notebooks")], env=env, cwd=repo, timeout=300,
                  what=f"papermill {NOTEBOOK} (FAST=True)")
    errors = json.loads(result.stdout.strip().splitlines()[-1])["errors"]
    assert not errors, f"{NOTEBOOK} failed in the Binder environment: {errors}"
    print(f"[binder] total {time.perf_counter() - t0:.1f} s; torch {probe['torch']}")
