"""Parallel autograde equals nbgrader's own sequential autograde, and trainee code cannot read what it must not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from kenshu.grading.simulate import submit_simulated_cohort

from .conftest import ASSIGNMENT, answer_cell, needs_root, released_course, solved_notebook, submit, writer

COHORT = {"t1": "full", "t2": "partial", "t3": "wrong", "t4": "raises", "t5": "full", "t6": "partial", "t7": "empty"}


def _gradebook_rows(db_url: str, course_id: str) -> dict:
    """Return every score nbgrader keeps, by (trainee, notebook, grade cell)."""
    rows = {}
    with Gradebook(db_url, course_id) as gradebook:
        for submission in gradebook.assignment_submissions(ASSIGNMENT):
            rows[(submission.student_id, "submission")] = (submission.score, submission.max_score, submission.timestamp)
            for notebook in submission.notebooks:
                rows[(submission.student_id, notebook.name, "penalty")] = notebook.late_submission_penalty
                for grade in notebook.grades:
                    rows[(submission.student_id, notebook.name, grade.name)] = (
                        grade.auto_score,
                        grade.manual_score,
                        grade.needs_manual_grade,
                    )
                for comment in notebook.comments:
                    rows[(submission.student_id, notebook.name, comment.name, "comment")] = comment.auto_comment
    return rows


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, project_factory):
    """Grade one cohort with `nbgrader autograde` on a copy, then with kenshu in two workers."""
    root = tmp_path_factory.mktemp("parallel")
    copy_root = tmp_path_factory.mktemp("sequential") / "project"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KENSHU_HOME", str(root))
        grader = released_course(root, project_factory, trainees=7)
        submit_simulated_cohort(grader, ASSIGNMENT, COHORT, root / "homes")
        grader.collect(ASSIGNMENT)
        grader.apply_deadlines()

        # The same course, submissions and gradebook, graded by nbgrader's command line.
        shutil.copytree(root, copy_root, symlinks=True)
        copy_nbgrader = copy_root / grader.root.relative_to(root)
        config = copy_nbgrader / "nbgrader_config.py"
        config.write_text(config.read_text(encoding="utf-8").replace(str(root), str(copy_root)), encoding="utf-8")
        environment = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
        sequential = subprocess.run(
            [str(Path(sys.executable).parent / "nbgrader"), "autograde", ASSIGNMENT, "--force"],
            cwd=copy_nbgrader, env=environment, capture_output=True, text=True, timeout=600,
        )

        results = grader.autograde(ASSIGNMENT, workers=2)
        yield grader, results, sequential, f"sqlite:///{copy_nbgrader / 'gradebook.db'}"


def test_parallel_equals_sequential(two_runs) -> None:
    grader, results, sequential, sequential_db = two_runs
    assert sequential.returncode == 0, sequential.stderr[-2000:]
    parallel_rows = _gradebook_rows(grader.config.CourseDirectory.db_url, grader.spec.course_id)
    sequential_rows = _gradebook_rows(sequential_db, grader.spec.course_id)

    assert sorted(parallel_rows) == sorted(sequential_rows)
    for key, value in sequential_rows.items():
        assert parallel_rows[key] == value, key


def test_parallel_scores_differ_by_kind(two_runs) -> None:
    # Guards the comparison against two empty or all-zero gradebooks.
    _, results, _, _ = two_runs
    scores = {result.trainee_id: result.score for result in results}
    assert scores["t1"] == 4
    assert scores["t2"] == 2
    assert scores["t3"] == 0
    assert scores["t7"] == 0
    assert all(result.status == "ok" for result in results)
    empty = next(result for result in results if result.trainee_id == "t7")
    assert "no_grade_cells" in empty.problems


PROBE = '''
import glob, json, os
def _probe(path):
    try:
        if os.path.isdir(path):
            return "listed:" + ",".join(os.listdir(path))
        with open(path, "rb") as handle:
            handle.read(16)
        return "read"
    except OSError as error:
        return type(error).__name__
PROBE = {{name: _probe(path) for name, path in {paths!r}.items()}}
PROBE["scratch"] = [path for path in glob.glob("/tmp/kenshu-autograde-*/**", recursive=True) if "-t2/" in path or path.endswith("-t2")]
PROBE["uid"] = os.getuid()
PROBE["threads"] = os.environ.get("OMP_NUM_THREADS")
PROBE["font_lists"] = glob.glob(os.path.join(os.environ.get("MPLCONFIGDIR", "/nonexistent"), "fontlist-*.json"))
print("KENSHU_PROBE " + json.dumps(PROBE))
'''


@needs_root
def test_trainee_code_reads_nothing_private(tmp_path: Path, project_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    grader = released_course(tmp_path, project_factory, trainees=2)
    exchange = grader.root.parent / "exchange" / grader.spec.course_id
    paths = {
        "gradebook": str(grader.root / "gradebook.db"),
        "source": str(grader.root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        "other_submitted": str(grader.root / "submitted" / "t2" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        "other_autograded": str(grader.root / "autograded" / "t2" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        "inbound": str(exchange / "inbound"),
        "own_copy": f"{ASSIGNMENT}.ipynb",
    }
    snooper = solved_notebook(grader, "full")
    cell = answer_cell(snooper, "total")
    cell.source = PROBE.format(paths=paths) + "\n" + cell.source
    submit(grader, "t1", tmp_path / "homes", writer(snooper))
    submit(grader, "t2", tmp_path / "homes", writer(solved_notebook(grader, "full")))
    grader.collect(ASSIGNMENT)
    # Grade t2 first so its autograded copy exists, then both at once.
    grader.autograde(ASSIGNMENT, ["t2"], workers=1)
    results = {result.trainee_id: result for result in grader.autograde(ASSIGNMENT, workers=2)}

    graded = nbformat.read(grader.root / "autograded" / "t1" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    text = "".join(output.get("text", "") for output in answer_cell(graded, "total").outputs)
    probe = json.loads(text.split("KENSHU_PROBE ", 1)[1].splitlines()[0])

    assert results["t1"].score == 4
    assert probe["uid"] != 0
    assert probe["own_copy"] == "read"
    assert probe["gradebook"] != "read"
    assert probe["source"] != "read"
    assert probe["other_submitted"] != "read"
    assert probe["other_autograded"] != "read"
    assert not probe["inbound"].startswith("listed")
    assert probe["scratch"] == []


@needs_root
def test_sandboxed_kernel_environment(tmp_path: Path, project_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers share the cores between their kernels, and each kernel starts with matplotlib's font list."""
    from kenshu.grading.parallel import kernel_threads

    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    grader = released_course(tmp_path, project_factory, trainees=2)
    snooper = solved_notebook(grader, "full")
    cell = answer_cell(snooper, "total")
    cell.source = PROBE.format(paths={}) + "\n" + cell.source
    submit(grader, "t1", tmp_path / "homes", writer(snooper))
    submit(grader, "t2", tmp_path / "homes", writer(solved_notebook(grader, "full")))
    grader.collect(ASSIGNMENT)
    results = {result.trainee_id: result for result in grader.autograde(ASSIGNMENT, workers=2)}

    graded = nbformat.read(grader.root / "autograded" / "t1" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    text = "".join(output.get("text", "") for output in answer_cell(graded, "total").outputs)
    probe = json.loads(text.split("KENSHU_PROBE ", 1)[1].splitlines()[0])

    assert results["t1"].score == 4
    assert probe["threads"] == str(kernel_threads(2))
    assert len(probe["font_lists"]) == 1
