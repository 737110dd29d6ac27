"""Build and execute the course notebooks.

Notebooks are written as plain Python in jupytext's percent format (``notebooks/src/NN_name.py``:
``# %% [markdown]`` cells for prose, ``# %%`` for code, ``# %% tags=["parameters"]`` for the
papermill parameters cell). ``build`` turns a source into ``notebooks/NN_name.ipynb`` and
executes it so the committed notebook carries real outputs; ``execute`` runs a notebook with
papermill in this process (the tests run every notebook with ``FAST=True``).

Running in-process (not through the papermill CLI) matters: it lets :func:`patch_nbclient` fix a
known hang where a cell writing into an ipywidgets ``Output`` stalls the execute-reply poll
(jupyter/nbclient#312): the async channel is polled in short slices instead of one long wait.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from queue import Empty

__all__ = ["ROOT", "NOTEBOOKS", "SOURCES", "patch_nbclient", "sources", "notebooks",
           "to_notebook", "execute", "build", "exercise_pairs", "student_version",
           "with_solutions_injected", "write_students"]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"
_patched = False


def patch_nbclient(slice_s: float = 0.25) -> None:
    """Poll the kernel's async channels in short slices (workaround for nbclient#312)."""
    global _patched
    if _patched:
        return

    from jupyter_client.channels import AsyncZMQSocketChannel

    async def get_msg(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = slice_s if deadline is None else deadline - time.monotonic()
            wait = max(0.0, min(slice_s, left))
            if await self.socket.poll(int(wait * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty

    AsyncZMQSocketChannel.get_msg = get_msg
    _patched = True


def sources() -> list[Path]:
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def to_notebook(src: Path, dest: Path | None = None) -> Path:
    """Convert a percent-format source into an (unexecuted) ``.ipynb``."""
    import jupytext

    nb = jupytext.read(src)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata.pop("jupytext", None)
    for i, cell in enumerate(nb.cells):  # stable ids: rebuilding a notebook gives small diffs
        cell["id"] = f"cell-{i:03d}"
    dest = dest or NOTEBOOKS / (src.stem + ".ipynb")
    jupytext.write(nb, dest, fmt="ipynb")
    return dest


def execute(path: Path, out: Path | None = None, *, fast: bool = True, timeout: int = 600,
            parameters: dict | None = None, cwd: Path | None = None):
    """Execute a notebook with papermill in this process; returns the executed notebook."""
    import papermill as pm

    patch_nbclient()
    params = {"FAST": fast, **(parameters or {})}
    env_threads = os.environ.get("OMP_NUM_THREADS")
    try:
        return pm.execute_notebook(
            str(path), str(out) if out else None, parameters=params, kernel_name="python3",
            cwd=str(cwd or path.parent), execution_timeout=timeout, progress_bar=False,
            log_output=False, request_save_on_cell_execute=False)
    finally:
        if env_threads is not None:
            os.environ["OMP_NUM_THREADS"] = env_threads


def build(src: Path, *, fast: bool = False, timeout: int = 1800) -> Path:
    """Source -> executed notebook with outputs (full run unless ``fast``)."""
    dest = to_notebook(Path(src))
    t0 = time.perf_counter()
    execute(dest, dest, fast=fast, timeout=timeout)
    _strip_papermill_metadata(dest)
    print(f"built {dest.name} in {time.perf_counter() - t0:.1f} s ({'fast' if fast else 'full'})")
    return dest


def _strip_papermill_metadata(path: Path) -> None:
    """Drop papermill's timing metadata so re-running a notebook gives small diffs."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    # papermill injects a cell with the parameters it was run with; a learner does not need it
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    nbformat.write(nb, path)


# --------------------------------------------------------------------------- student versions
def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def exercise_pairs(nb) -> list[tuple[int, int]]:
    """``(exercise cell index, solution cell index)`` pairs, in order of appearance.

    Convention: a stub cell tagged ``exercise`` (the learner fills it in), a checker call, then a
    cell tagged ``solution`` holding the reference answer (and the checker call again).
    """
    ex = [i for i, c in enumerate(nb.cells) if "exercise" in _tags(c)]
    sol = [i for i, c in enumerate(nb.cells) if "solution" in _tags(c)]
    if len(ex) != len(sol):
        raise ValueError(f"{len(ex)} exercise cells but {len(sol)} solution cells")
    for e, s in zip(ex, sol):
        if s < e:
            raise ValueError(f"solution cell {s} comes before its exercise cell {e}")
    return list(zip(ex, sol))


def student_version(nb):
    """A copy without solution cells and without outputs: what a learner starts from."""
    nb = copy.deepcopy(nb)
    exercise_pairs(nb)  # validates the convention
    nb.cells = [c for c in nb.cells if "solution" not in _tags(c)]
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    return nb


def with_solutions_injected(student_nb, source_nb):
    """The student version with every stub replaced by its reference solution, plus a last cell
    asserting that every checker run in the notebook passed (the autograde test runs this)."""
    import nbformat

    nb = copy.deepcopy(student_nb)
    solutions = [source_nb.cells[s].source for _, s in exercise_pairs(source_nb)]
    stubs = [i for i, c in enumerate(nb.cells) if "exercise" in _tags(c)]
    if len(stubs) != len(solutions):
        raise ValueError("student notebook does not match its source")
    for i, src in zip(stubs, solutions):
        nb.cells[i].source = src
    # a notebook without exercises (the 00 course map) only asserts that no checker failed
    need = "_ex.PROGRESS and " if solutions else ""
    nb.cells.append(nbformat.v4.new_code_cell(
        "import snnlab.exercises as _ex\n"
        "_failed = [k for k, ok in _ex.PROGRESS.items() if not ok]\n"
        f"assert {need}not _failed, f'checkers failed: {{_failed}}'\n"
        "print('all', len(_ex.PROGRESS), 'checkers passed')"))
    return nb


def write_students(out_dir: Path | None = None) -> list[Path]:
    """Write a student version of every notebook into ``out_dir`` (default notebooks/student)."""
    import nbformat

    out_dir = Path(out_dir or NOTEBOOKS / "student")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        dest = out_dir / path.name
        nbformat.write(student_version(nb), dest)
        written.append(dest)
    return written
