"""Every course notebook runs, its solutions pass their checkers, its stable outputs match, and it
is in sync with its jupytext source.

* ``test_notebook_runs_fast`` (autograding): for each ``notebooks/NN_*.ipynb`` the learner's
  version (:func:`snnlab.nbtools.student_version`: no solutions, no outputs) gets the reference
  solutions pasted into its stubs (:func:`snnlab.nbtools.with_solutions_injected`, which appends
  a cell asserting that every checker passed), and papermill executes it in this process with
  ``FAST=True`` (small sizes; < 60 s each on one core). This is the only FAST execution of each
  notebook. New notebooks are picked up automatically from :func:`snnlab.nbtools.notebooks`.
  The same run then checks the *stable* outputs, nbval-lax style: every cell tagged
  ``nbval-check-output`` must print what the committed notebook (a full ``FAST=False`` run)
  printed, after the substitutions of ``notebooks/nbval_sanitize.cfg``; cells are matched by id.
  The one exception is a checker call right after a stub: it printed ``❌`` in the committed
  notebook by design and must print ``✅`` with the solution injected. Notebooks therefore tag
  only cells whose output depends neither on ``FAST`` nor on floating-point noise.
* ``test_cli_writes_student_versions``: ``snnlab notebooks student --out DIR`` writes every
  notebook without solution cells and without outputs.
* ``test_nbval_smoke``: real nbval (``pytest --nbval-lax`` with the sanitize file) on a
  ``FAST = True`` copy of notebook 01, so ``pytest --nbval-lax notebooks/`` keeps working for
  anyone who runs nbval directly (it would otherwise re-run the full notebooks).
* ``test_notebook_matches_source``: the ``.ipynb`` has exactly the cells of ``notebooks/src``.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import time

import pytest

from snnlab import nbtools

NOTEBOOKS = nbtools.notebooks()
IDS = [p.stem for p in NOTEBOOKS]
SANITIZE = nbtools.NOTEBOOKS / "nbval_sanitize.cfg"
#: notebooks that are a map of the course, exempt from the exercise and widget requirements
MAP_PAGES = {"00_start_here"}


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return "".join(parts)


def _sanitizers() -> list[tuple[re.Pattern, str]]:
    cp = configparser.ConfigParser()
    cp.read(SANITIZE, encoding="utf-8")
    return [(re.compile(cp[sec]["regex"]), cp[sec]["replace"]) for sec in cp.sections()]


def _stable_text(cell, subs) -> str:
    text = _text(cell)
    for pattern, repl in subs:
        text = pattern.sub(repl, text)
    return text


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3, f"expected the course notebooks in {nbtools.NOTEBOOKS}"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_fast(path, tmp_path):
    """The one FAST execution per notebook: the learner's version with the reference solutions
    pasted into the stubs (autograding), compared with the committed full run."""
    import nbformat

    source = nbformat.read(path, as_version=4)
    injected = nbtools.with_solutions_injected(nbtools.student_version(source), source)
    injected_path = tmp_path / path.name
    nbformat.write(injected, injected_path)
    t0 = time.perf_counter()
    nb = nbtools.execute(injected_path, injected_path, fast=True, timeout=300,
                         cwd=path.parent)
    seconds = time.perf_counter() - t0
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    # the appended last cell asserts that every checker run in the kernel passed
    last = nb.cells[-1]
    assert "checkers passed" in _text(last), f"{path.name}: the autograde cell printed " \
                                             f"{_text(last)!r}"
    # a stub now holding its solution passes the checker it calls
    for cell in nb.cells:
        if "exercise" in _tags(cell):
            assert "❌" not in _text(cell), f"{path.name}: a solution fails its checker:\n" \
                                           f"{_text(cell)}"
    # stable outputs match the committed full run (nbval-lax semantics, sanitised); the checker
    # right after a stub failed in the committed notebook by design and must pass now
    committed = {c.get("id"): c for c in source.cells}
    subs = _sanitizers()
    checked = 0
    for cell in nb.cells:
        if "nbval-check-output" not in _tags(cell):
            continue
        assert cell.get("id") in committed, f"{path.name}: cell id {cell.get('id')} was lost"
        want = _stable_text(committed[cell.get("id")], subs)
        have = _stable_text(cell, subs)
        checked += 1
        if "❌" in want:
            assert "✅" in have and "❌" not in have, (
                f"{path.name}: with the solution in place this checker should pass.\n"
                f"cell:\n{cell.source}\nnow:\n{have}")
            continue
        assert have == want, (f"{path.name}: a cell tagged nbval-check-output printed something "
                              f"else than the committed notebook.\ncell:\n{cell.source}\n"
                              f"committed:\n{want}\nnow:\n{have}")
    print(f"{path.name}: FAST run (solutions injected) in {seconds:.1f} s, "
          f"{checked} checked cells")


def test_student_versions_are_preserving_ids():
    """Student and injected versions keep the cell ids the output comparison matches on."""
    import nbformat

    for path in NOTEBOOKS:
        source = nbformat.read(path, as_version=4)
        student = nbtools.student_version(source)
        ids = {c.get("id") for c in source.cells}
        assert all(c.get("id") in ids for c in student.cells), path.name
        injected = nbtools.with_solutions_injected(student, source)
        assert [c.get("id") for c in injected.cells[:-1]] == [c.get("id") for c in student.cells]


def test_cli_writes_student_versions(tmp_path):
    import nbformat

    out = tmp_path / "student"
    proc = subprocess.run([sys.executable, "-m", "snnlab", "notebooks", "student", "--out",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.name for p in out.glob("*.ipynb"))
    assert written == [p.name for p in NOTEBOOKS]
    for path in out.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert not any("solution" in _tags(c) for c in nb.cells), f"{path.name} has solutions"
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), \
            f"{path.name} still has outputs"
        source = nbformat.read(nbtools.NOTEBOOKS / path.name, as_version=4)
        n_ex = len(nbtools.exercise_pairs(source))
        assert sum("exercise" in _tags(c) for c in nb.cells) == n_ex


def _has_checked_cells(path) -> bool:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return any("nbval-check-output" in _tags(c) for c in nb.cells)


NBVAL_SMOKE = [p for p in NOTEBOOKS if p.stem.startswith("01_")]


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NBVAL_SMOKE, ids=[p.stem for p in NBVAL_SMOKE])
def test_nbval_smoke(path, tmp_path):
    import nbformat

    assert _has_checked_cells(path), f"{path.name} tags no cell nbval-check-output"
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if "parameters" in _tags(c)]
    assert params, f"{path.name} has no cell tagged 'parameters'"
    src = params[0].source
    assert "FAST = False" in src, f"{path.name}: the parameters cell must say FAST = False"
    params[0].source = src.replace("FAST = False", "FAST = True", 1)
    copy = tmp_path / path.name
    nbformat.write(nb, copy)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
           "--nbval-sanitize-with", str(SANITIZE), "--nbval-cell-timeout", "300",
           "--rootdir", str(tmp_path), "-c", os.devnull, str(copy)]
    proc = subprocess.run(cmd, cwd=nbtools.NOTEBOOKS, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"nbval failed for {path.name}:\n{proc.stdout[-6000:]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_matches_source(path):
    import jupytext
    import nbformat

    src = nbtools.SOURCES / (path.stem + ".py")
    assert src.is_file(), f"{path.name} has no jupytext source {src}"
    want = [(c.cell_type, c.source.strip()) for c in jupytext.read(src).cells]
    nb = nbformat.read(path, as_version=4)
    have = [(c.cell_type, c.source.strip()) for c in nb.cells
            if "injected-parameters" not in _tags(c)]
    assert have == want, (f"{path.name} is out of sync with {src.name}: rebuild it with "
                          f"nbtools.build(nbtools.SOURCES / '{src.name}')")


def test_every_source_has_a_notebook():
    missing = [s.name for s in nbtools.sources()
               if not (nbtools.NOTEBOOKS / (s.stem + ".ipynb")).is_file()]
    assert not missing, f"sources without a built notebook: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_anatomy(path):
    """The course conventions: parameters cell first, exercises with solutions, a widget."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and "parameters" in _tags(code[0]), "the first code cell must be tagged parameters"
    assert "SEED" in code[0].source and "FAST" in code[0].source
    n_ex = sum("exercise" in _tags(c) for c in code)
    n_sol = sum("solution" in _tags(c) for c in code)
    if path.stem in MAP_PAGES:  # the course map: exercises optional (00 has two small ones)
        assert n_sol >= n_ex, f"{path.name}: {n_ex} exercises, {n_sol} solutions"
    else:
        assert n_ex >= 2 and n_sol >= n_ex, f"{path.name}: {n_ex} exercises, {n_sol} solutions"
        assert any("exercises.check_" in c.source for c in code), "no checker is called"
        assert any("widget" in c.source or "interact" in c.source for c in code), "no widget"
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
    assert "what to notice" in md and "further reading" in md
