"""The course through nbgrader: convert, release, autograde a solved and an unsolved submission.

:func:`snnlab.nbtools.write_nbgrader` (the CLI ``snnlab notebooks nbgrader --out DIR``) writes
an nbgrader course directory: ``nbgrader_config.py`` and ``source/<NN_name>/<NN_name>.ipynb``,
one assignment per notebook. Each exercise is one nbgrader solution cell (the course's stub, then
the solution between ``### BEGIN SOLUTION`` / ``### END SOLUTION``), each checker an autograded
test cell worth 1 point (``assert exercises.check_...(...)``).

* ``test_nbgrader_source_metadata`` (no nbgrader needed): every notebook with exercises converts,
  and the cells follow nbgrader's schema (version 3): unique ``grade_id``, solution cells
  unlocked and ungraded, test cells locked, graded, 1 point each, one per exercise.
* ``test_release_and_autograde`` runs nbgrader itself (its Python API, in this process, with the
  course's ``nbgrader_config.py`` loaded as nbgrader loads it) on two short notebooks with
  ``FAST = True``: ``generate_assignment`` must give back exactly the course's stubs, a solved
  submission must score full points and an unsolved one (the release as handed out) zero, and
  the unsolved one must run to the end: the only errors are the failed test cells' assertions.
  Skipped when nbgrader is not installed (``pip install -e '.[test]'`` installs it).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("nbformat")  # a lab/test extra (absent on the GPU image)

from snnlab import nbtools  # noqa: E402

NOTEBOOKS = nbtools.sources()
#: short notebooks (FAST runs of a few seconds); 12 feeds its exercises to later cells through
#: exercises.use_or_reference, so an unsolved submission exercises that path
GRADED = ["01_spiking_neurons", "12_rate_based_bp"]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("src", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_nbgrader_source_metadata(src):
    course = nbtools.read_source(src)
    pairs = nbtools.exercise_pairs(course)
    if not pairs:
        pytest.skip(f"{src.stem} has no exercises")
    nb = nbtools.nbgrader_source(course)
    solution = [c for c in nb.cells if _meta(c).get("solution")]
    tests = [c for c in nb.cells if _meta(c).get("grade")]
    # a stub with its checker cell before the solution is graded; a prediction (checked later,
    # in the cell that makes the run) is an ungraded answer cell
    graded_pairs = [(e, s) for e, s in pairs
                    if any(nbtools._is_checker_cell(course.cells[i]) for i in range(e + 1, s))]
    assert len(solution) == len(pairs) and len(tests) == len(graded_pairs)
    ids = [_meta(c)["grade_id"] for c in solution + tests]
    assert len(set(ids)) == len(ids), ids
    assert all(i.replace("_", "").replace("-", "").isalnum() for i in ids), ids
    for cell in nb.cells:
        m = _meta(cell)
        if m:
            assert m["schema_version"] == 3 and cell.cell_type == "code"
            assert m["locked"] is (not m["solution"])
        assert "solution" not in cell.metadata.get("tags", [])
        assert "exercise" not in cell.metadata.get("tags", [])
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    for cell, (e, s) in zip(solution, pairs):
        stub, answer = cell.source.split(f"\n{BEGIN}\n")
        assert stub == course.cells[e].source.rstrip()
        assert answer.endswith(f"\n{END}") and "exercises.check_" not in answer
        assert answer.removesuffix(f"\n{END}") in course.cells[s].source  # the whole solution
        assert not _meta(cell)["grade"]
    for cell in tests:
        assert cell.source.startswith("assert ") and "exercises.check_" in cell.source
        assert _meta(cell)["points"] == 1 and not _meta(cell)["solution"]
    # each test cell follows its solution cell, with nothing graded in between
    graded = "".join("S" if _meta(c).get("solution") else "T" for c in nb.cells if _meta(c))
    assert "TT" not in graded and not graded.startswith("T")
    assert graded.count("T") == len(graded_pairs)


def test_cli_entry_writes_a_course(tmp_path, capsys):
    assert nbtools.nbgrader_main(["1", "--out", str(tmp_path), "--fast"]) == 0
    out = capsys.readouterr().out
    nb_path = tmp_path / "source" / "01_spiking_neurons" / "01_spiking_neurons.ipynb"
    assert str(nb_path) in out and nb_path.is_file()
    assert (tmp_path / "nbgrader_config.py").read_text() == nbtools.NBGRADER_CONFIG
    assert "FAST = True" in nb_path.read_text()
    assert nbtools.nbgrader_main(["no_such_notebook", "--out", str(tmp_path)]) == 2


def _solved(released, source):
    """The released notebook with every solution cell answered as the source answers it."""
    import copy

    nb = copy.deepcopy(released)
    answers = {_meta(c)["grade_id"]: c.source.split(f"{BEGIN}\n")[1].split(f"\n{END}")[0]
               for c in source.cells if _meta(c).get("solution")}
    for cell in nb.cells:
        if _meta(cell).get("solution"):
            cell.source = answers[_meta(cell)["grade_id"]]
    return nb


@pytest.mark.slow  # 60-110 s on two shared cores: four FAST executions and nbgrader's imports
def test_release_and_autograde(tmp_path, monkeypatch):
    pytest.importorskip("nbgrader", reason="pip install nbgrader (in the test extra)")
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    t0 = time.perf_counter()
    course = tmp_path / "course"
    written = nbtools.write_nbgrader(course, GRADED, fast=True)
    assert [p.parent.name for p in written] == GRADED
    # nbgrader's gradebook migrations run the `alembic` script: it lives next to this python
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}"
                               f"{os.environ.get('PATH', '')}")
    monkeypatch.chdir(course)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    api = NbGraderAPI(config=config)
    scores, seconds = {}, {"convert": time.perf_counter() - t0}
    for name in GRADED:
        t1 = time.perf_counter()
        result = api.generate_assignment(name)
        seconds[f"release {name[:2]}"] = time.perf_counter() - t1
        assert result["success"], result.get("error") or result.get("log")
        released_path = course / "release" / name / f"{name}.ipynb"
        released = nbformat.read(released_path, as_version=4)
        source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
        # the release hands out exactly the course's stubs (and no solution)
        stubs = [c.source.split(f"\n{BEGIN}\n")[0] for c in source.cells
                 if _meta(c).get("solution")]
        handed_out = [c.source.rstrip("\n") for c in released.cells if _meta(c).get("solution")]
        assert handed_out == stubs
        assert BEGIN not in released_path.read_text()
        for student, nb in [("solved", _solved(released, source)), ("unsolved", released)]:
            dest = course / "submitted" / student / name / f"{name}.ipynb"
            dest.parent.mkdir(parents=True)
            nbformat.write(nb, dest)
            t1 = time.perf_counter()
            result = api.autograde(name, student)
            seconds[f"autograde {name[:2]} {student}"] = time.perf_counter() - t1
            assert result["success"], result.get("error") or result.get("log")
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            for student in ("solved", "unsolved"):
                sub = gb.find_submission(name, student)
                scores[name, student] = (sub.score, sub.max_score)
        # the unsolved submission ran to the end: no error other than the tests' assertions
        graded = nbformat.read(course / "autograded" / "unsolved" / name / f"{name}.ipynb",
                               as_version=4)
        for cell in graded.cells:
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if _meta(cell).get("grade"):
                assert [o["ename"] for o in errors] == ["AssertionError"], cell.source
                assert "❌" in "".join(o.get("text", "") for o in cell.outputs)
            else:
                assert not errors, (f"{name}: an unsolved submission breaks a cell:\n"
                                    f"{cell.source}\n{errors[0]['ename']}: "
                                    f"{errors[0]['evalue']}")
    shutil.rmtree(course / "autograded", ignore_errors=True)
    print(f"\n[nbgrader] {time.perf_counter() - t0:.1f} s ("
          + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
          + f"); scores (score, max): {scores}")
    for name in GRADED:
        course_nb = nbtools.read_source(nbtools.SOURCES / f"{name}.py")
        # one point per exercise with its own checker cell (predictions are ungraded answers)
        n_ex = sum(any(nbtools._is_checker_cell(course_nb.cells[i]) for i in range(e + 1, s))
                   for e, s in nbtools.exercise_pairs(course_nb))
        assert scores[name, "solved"] == (n_ex, n_ex), scores
        assert scores[name, "unsolved"] == (0, n_ex), scores
