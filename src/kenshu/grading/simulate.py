"""Simulated trainees: submissions of the kinds an instructor meets in a real cohort.

The demo and the tests use them to show what grading does with full marks,
partial work, wrong answers, an empty notebook, a notebook that raises, and a
trainee who never submits.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import nbformat

from kenshu.i18n import message
from kenshu.progress import progress

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")

# Kinds of simulated trainee, in the order the demo assigns them.
COHORT_KINDS = ("full", "partial", "wrong", "empty", "raises", "absent")


def solution_text(source: str) -> str:
    """Return an answer cell's source as a trainee who solved it would leave it, without the solution markers."""
    lines = [line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS]
    return "\n".join(lines)


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def simulate_submission(
    released: nbformat.NotebookNode,
    source: nbformat.NotebookNode,
    mistakes: dict[str, str],
    kind: str,
) -> nbformat.NotebookNode | None:
    """Return the notebook a trainee of *kind* submits, or None for a trainee who does not submit.

    Parameters
    ----------
    released : NotebookNode
        The notebook as released to trainees (solutions removed).
    source : NotebookNode
        The instructor's source notebook, with solutions.
    mistakes : dict
        Typical wrong answers by grade_id of the answer cell.
    kind : str
        One of ``COHORT_KINDS``.
    """
    if kind not in COHORT_KINDS:
        raise ValueError(f"kind must be one of {COHORT_KINDS}, got {kind!r}")
    if kind == "absent":
        return None

    submission = copy.deepcopy(released)
    if kind == "empty":
        submission.cells = []
        return submission

    solutions = {_grade_id(cell): cell.source for cell in source.cells if _grade_id(cell)}
    answers = [
        cell
        for cell in submission.cells
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code"
    ]
    if kind in ("full", "raises"):
        solved = len(answers)
    elif kind == "partial":
        solved = math.ceil(len(answers) / 2)
    else:
        solved = 0

    for index, cell in enumerate(answers):
        grade_id = _grade_id(cell)
        if kind == "wrong":
            cell.source = mistakes.get(grade_id, cell.source)
        elif index < solved:
            cell.source = solution_text(solutions[grade_id])

    if kind == "raises" and answers:
        # The error sits in the middle answer: the tests before it pass, the rest fail.
        middle = answers[len(answers) // 2]
        middle.source = "raise RuntimeError('simulated mistake: the trainee left a broken line here')\n" + middle.source

    if kind in ("full", "partial"):
        for cell in submission.cells:
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = message("simulate.written_answer")
    return submission


def submit_simulated_cohort(grader, assignment: str, cohort: dict[str, str], homes: Path) -> list[str]:
    """Fetch, fill in and submit *assignment* for each simulated trainee, and return who submitted.

    *cohort* maps a trainee id to one of ``COHORT_KINDS``. Each trainee works
    in ``homes/<id>``, as on the hub.
    """
    from kenshu.grading.trainee import fetch_assignment, submit_assignment

    source_path = grader.root / "source" / assignment / f"{assignment}.ipynb"
    source = nbformat.read(source_path, as_version=4)
    mistakes_path = grader.root.parent / "mistakes" / f"{assignment}.json"
    mistakes = json.loads(mistakes_path.read_text(encoding="utf-8")) if mistakes_path.is_file() else {}

    submitted = []
    for trainee_id, kind in progress(cohort.items(), description=f"submit {assignment}", unit="人"):
        home = homes / trainee_id
        folder = fetch_assignment(grader, assignment, trainee_id, home)
        notebook_path = folder / f"{assignment}.ipynb"
        released = nbformat.read(notebook_path, as_version=4)
        submission = simulate_submission(released, source, mistakes, kind)
        if submission is None:
            continue
        nbformat.write(submission, notebook_path)
        submit_assignment(grader, assignment, trainee_id, home)
        submitted.append(trainee_id)
    return submitted
