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

import argparse
import ast
import copy
import os
import sys
import time
from pathlib import Path
from queue import Empty

__all__ = ["ROOT", "NOTEBOOKS", "SOURCES", "patch_nbclient", "sources", "notebooks",
           "to_notebook", "execute", "build", "exercise_pairs", "student_version",
           "with_solutions_injected", "write_students", "NBGRADER_CONFIG", "nbgrader_source",
           "read_source", "write_nbgrader", "nbgrader_main"]

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


# --------------------------------------------------------------------------- nbgrader
#: ``nbgrader_config.py`` written into a new course directory by :func:`write_nbgrader`. It is
#: Python, run by every nbgrader command: it also applies :func:`patch_nbclient` there (the
#: dashboards' ``Output`` widgets can otherwise stall nbgrader's executions too).
NBGRADER_CONFIG = '''\
# nbgrader configuration for the snnlab course (written by `snnlab notebooks nbgrader`).
c = get_config()  # noqa: F821

# Each exercise cell keeps the course's own stub above "### BEGIN SOLUTION": releasing removes
# the solution and puts nothing in its place, so the learner sees exactly the course's stub
# (nbgrader's default would add "raise NotImplementedError()", which stops "Run all" there).
c.ClearSolutions.code_stub = {"python": ""}

# some cells train a small network: nbgrader's default of 30 s per cell is too short
c.Execute.timeout = 600

# the dashboards write into ipywidgets Output widgets, which can stall a headless execution
# (jupyter/nbclient#312); snnlab polls the kernel in short slices instead
try:
    from snnlab.nbtools import patch_nbclient
except ImportError:
    pass
else:
    patch_nbclient()
'''

_BEGIN, _END = "### BEGIN SOLUTION", "### END SOLUTION"


def _checker_calls(source: str) -> list[tuple[str, int, int]]:
    """``(checker name, first line, last line)`` (1-based) of each top-level statement of
    ``source`` that is a bare call ``exercises.check_<name>(...)``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name) and call.func.value.id == "exercises"
                and call.func.attr.startswith("check_")):
            calls.append((call.func.attr, node.lineno, node.end_lineno))
    return calls


def _is_checker_cell(cell) -> bool:
    """A code cell holding nothing but one ``exercises.check_*(...)`` call."""
    if cell.cell_type != "code":
        return False
    calls = _checker_calls(cell.source)
    return len(calls) == 1 and len(ast.parse(cell.source).body) == 1


def _without_lines(source: str, spans: list[tuple[str, int, int]]) -> str:
    drop = {n for _, a, b in spans for n in range(a, b + 1)}
    lines = [ln for n, ln in enumerate(source.splitlines(), 1) if n not in drop]
    return "\n".join(lines).strip("\n")


def _nbgrader_meta(grade_id: str, *, solution: bool, grade: bool, points: int = 0) -> dict:
    """nbgrader's cell metadata (schema version 3)."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution,
            "schema_version": 3, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def nbgrader_source(nb, *, fast: bool = False):
    """A course notebook as an nbgrader *source* notebook (what an instructor puts in
    ``source/<assignment>/``).

    * each ``exercise`` stub and its ``solution`` become one nbgrader solution cell: the stub,
      then the solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (it redefines
      the stub's names, so the source notebook runs solved; ``nbgrader generate_assignment``
      removes the region and leaves the stub). The solution's own checker call is dropped;
    * the checker cell after each stub (``exercises.check_<name>(...)``) becomes an autograded
      test cell worth 1 point (a stub with no checker cell before its solution - a prediction,
      checked later in the cell that makes the run - stays an ungraded answer cell): ``assert``
      on the checker's boolean, so a failed check is an error nbgrader scores 0 (the
      checker's ✅/❌ line and hint stay in the output);
    * solution cells are removed, outputs cleared; with ``fast`` the parameters cell says
      ``FAST = True`` (small sizes: quick autograding).

    Cells that use an exercise's function later in a notebook go through
    ``exercises.use_or_reference``, so an unsolved submission still runs to the end."""
    import nbformat

    nb = copy.deepcopy(nb)
    pairs = exercise_pairs(nb)
    nb.metadata.pop("jupytext", None)
    nb.metadata.pop("papermill", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    for i, cell in enumerate(nb.cells):
        cell.setdefault("id", f"cell-{i:03d}")
    dropped = set()
    used: set[str] = set()
    for k, (e, s) in enumerate(pairs, 1):
        checks = [i for i in range(e + 1, s) if _is_checker_cell(nb.cells[i])]
        solution = nb.cells[s].source
        solution = _without_lines(solution, _checker_calls(solution))
        stub = nb.cells[e]
        # a prediction (or an answer read from a run) is written before the run that checks
        # it: such a stub has no checker cell of its own and becomes an ungraded answer cell
        name = (_checker_calls(nb.cells[checks[0]].source)[0][0].removeprefix("check_")
                if checks else "answer")
        answer_id = f"ex{k}_{name}"
        stub.source = f"{stub.source.rstrip()}\n{_BEGIN}\n{solution}\n{_END}"
        stub.metadata["tags"] = [t for t in _tags(stub) if t != "exercise"]
        stub.metadata["nbgrader"] = _nbgrader_meta(answer_id, solution=True, grade=False)
        for j, i in enumerate(checks):
            test = nb.cells[i]
            checker_name = _checker_calls(test.source)[0][0]
            grade_id = f"ex{k}_{checker_name}" + (f"_{j + 1}" if j else "")
            if grade_id in used:
                raise ValueError(f"two test cells would be called {grade_id}")
            used.add(grade_id)
            call = test.source.strip()
            test.source = (f"assert (\n    {call}\n), "
                           f"'{checker_name} did not pass: see its message above'"
                           if "\n" in call else
                           f"assert {call}, '{checker_name} did not pass: see its message above'")
            test.metadata["nbgrader"] = _nbgrader_meta(grade_id, solution=False, grade=True,
                                                       points=1)
        dropped.add(s)
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in dropped]
    for cell in nb.cells:
        if "solution" in _tags(cell):  # a solution cell outside the exercise pairs
            raise ValueError(f"cell {cell.get('id')} is tagged solution without an exercise")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        for key in ("papermill", "execution"):
            cell.metadata.pop(key, None)
    if fast:
        params = [c for c in nb.cells if "parameters" in _tags(c)]
        if not params or "FAST = False" not in params[0].source:
            raise ValueError("fast needs a parameters cell saying FAST = False")
        params[0].source = params[0].source.replace("FAST = False", "FAST = True", 1)
    nbformat.validate(nb)
    return nb


def _select(names) -> list[Path]:
    """The sources matching notebook numbers (``1``, ``01``) or names; all without names."""
    srcs = sources()
    if not names:
        return srcs
    picked = []
    for n in names:
        match = [s for s in srcs if s.stem == n or s.stem.startswith(f"{n}_")
                 or (n.isdigit() and s.stem.startswith(f"{int(n):02d}_"))]
        if not match:
            raise ValueError(f"no notebook matches {n!r}; expected one of "
                             f"{[s.stem for s in srcs]}")
        picked += [s for s in match if s not in picked]
    return picked


def read_source(src: Path):
    """A jupytext source as an ``nbformat`` notebook with the ids :func:`to_notebook` gives."""
    import jupytext

    nb = jupytext.read(src)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    return nb


def write_nbgrader(course_dir: Path, names=None, *, fast: bool = False) -> list[Path]:
    """Write nbgrader source notebooks into ``course_dir/source/<NN_name>/<NN_name>.ipynb``,
    one assignment per notebook with exercises (all of them unless ``names``), and the course's
    ``nbgrader_config.py`` unless ``course_dir`` already has one. Returns the notebooks."""
    import nbformat

    course_dir = Path(course_dir)
    course_dir.mkdir(parents=True, exist_ok=True)
    config = course_dir / "nbgrader_config.py"
    if not config.exists():
        config.write_text(NBGRADER_CONFIG)
    written = []
    for src in _select(names):
        nb = read_source(src)
        if not exercise_pairs(nb):  # the course map: nothing to grade
            continue
        dest = course_dir / "source" / src.stem / f"{src.stem}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbgrader_source(nb, fast=fast), dest)
        written.append(dest)
    return written


def nbgrader_main(argv=None) -> int:
    """``snnlab notebooks nbgrader [NAME ...] --out DIR [--fast]``."""
    p = argparse.ArgumentParser(
        prog="snnlab notebooks nbgrader",
        description="Write the course notebooks as nbgrader source notebooks (one assignment "
                    "per notebook) into an nbgrader course directory, then release and grade "
                    "with nbgrader: `cd DIR && nbgrader generate_assignment NN_name`, "
                    "`nbgrader autograde NN_name`.")
    p.add_argument("names", nargs="*", help="notebook numbers or names (default: all with "
                                            "exercises)")
    p.add_argument("--out", required=True, help="the nbgrader course directory (created; its "
                                                "nbgrader_config.py is kept if present)")
    p.add_argument("--fast", action="store_true",
                   help="FAST = True in the parameters cell: small sizes, quick autograding")
    args = p.parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        written = write_nbgrader(Path(args.out), args.names, fast=args.fast)
    except (ValueError, FileNotFoundError) as e:
        print(f"snnlab: error: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    config = Path(args.out) / "nbgrader_config.py"
    if NBGRADER_CONFIG not in config.read_text():
        print(f"note: kept the existing {config}; see snnlab.nbtools.NBGRADER_CONFIG for the "
              "settings the course needs (ClearSolutions.code_stub, Execute.timeout)")
    return 0
