"""Helpers for grading tests: a built and released scratch course, and hand-made submissions."""

from __future__ import annotations

import os
import json
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from kenshu.courses.build import build_course
from kenshu.grading.api import CourseGrader
from kenshu.grading.simulate import simulate_submission
from kenshu.grading.trainee import fetch_assignment, submit_assignment

ASSIGNMENT = "01_tiny"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: kernels drop to another uid only when the grader is root")


def released_course(root: Path, project_factory, *, trainees: int, grading: str = "") -> CourseGrader:
    """Build the tiny course under *root* with *grading* (YAML lines) appended to course.yml, and release it."""
    course_dir = project_factory(root, trainees=trainees)
    if grading:
        spec_path = course_dir / "course.yml"
        spec_path.write_text(spec_path.read_text(encoding="utf-8") + grading, encoding="utf-8")
    build = build_course(course_dir)
    grader = CourseGrader(build.spec)
    grader.generate(ASSIGNMENT)
    grader.release(ASSIGNMENT)
    return grader


def solved_notebook(grader: CourseGrader, kind: str = "full") -> nbformat.NotebookNode:
    """Return the released notebook as a simulated trainee of *kind* fills it in."""
    released = nbformat.read(grader.root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    source = nbformat.read(grader.root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    mistakes = json.loads((grader.root.parent / "mistakes" / f"{ASSIGNMENT}.json").read_text(encoding="utf-8"))
    return simulate_submission(released, source, mistakes, kind)


def answer_cell(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """Return the cell with *grade_id*."""
    return next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def submit(grader: CourseGrader, trainee_id: str, homes: Path, write: Callable[[Path], None]) -> None:
    """Fetch the assignment as *trainee_id*, let *write(folder)* replace its contents, and submit."""
    folder = fetch_assignment(grader, ASSIGNMENT, trainee_id, homes / trainee_id)
    write(folder)
    submit_assignment(grader, ASSIGNMENT, trainee_id, homes / trainee_id)


def writer(notebook: nbformat.NotebookNode, name: str = f"{ASSIGNMENT}.ipynb") -> Callable[[Path], None]:
    """Return a *write* callback that replaces the released notebook with *notebook* saved as *name*."""

    def write(folder: Path) -> None:
        (folder / f"{ASSIGNMENT}.ipynb").unlink()
        nbformat.write(notebook, folder / name)

    return write


@pytest.fixture
def kenshu_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a scratch project root set as KENSHU_HOME."""
    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    return tmp_path
