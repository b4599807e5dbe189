"""Simulated trainees: submissions of the kinds an instructor meets in a real cohort.

The demo and the tests use them to show what grading does with full marks,
partial work, wrong answers, an empty notebook, a notebook that raises, and a
trainee who never submits.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path

import nbformat

from kenshu.i18n import message
from kenshu.progress import progress

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")

# Kinds of simulated trainee, in the order the demo assigns them.
COHORT_KINDS = ("full", "partial", "wrong", "empty", "raises", "absent")

# When a simulated trainee submits on a session day: late afternoon, Japan time, after the session's exercises.
SUBMIT_TIME_OF_DAY = dt.time(16, 30)
# How long before a deadline a simulated trainee submits when the deadline comes before SUBMIT_TIME_OF_DAY.
BEFORE_DEADLINE = dt.timedelta(hours=1)


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


def session_submission_times(spec, assignments: list[str]) -> dict[str, dt.datetime]:  # noqa: ANN001
    """Return when a simulated trainee submits each assignment: on its session day, in Japan time.

    The n-th assignment (in the order of the spec's modules) belongs to the
    n-th session; assignments beyond the last session belong to the last
    session. The time is ``SUBMIT_TIME_OF_DAY`` JST on that day, or
    ``BEFORE_DEADLINE`` before the assignment's ``grading.due`` when that
    comes first, so that the late-penalty rule never applies.

    Parameters
    ----------
    spec : CourseSpec
        The course, with its sessions and due dates.
    assignments : list of str
        The assignment names (module slugs such as ``01_python_basics_images``).

    Returns
    -------
    dict
        Aware JST datetimes by assignment.
    """
    from kenshu.grading.late import JST, as_jst

    times = {}
    for index, assignment in enumerate(assignments):
        day = spec.sessions[min(index, len(spec.sessions) - 1)].date
        submitted_at = dt.datetime.combine(day, SUBMIT_TIME_OF_DAY, JST)
        due = spec.grading.due.get(assignment.split("_", 1)[0])
        if due is not None and as_jst(due) <= submitted_at:
            submitted_at = as_jst(due) - BEFORE_DEADLINE
        times[assignment] = submitted_at
    return times


def _dated_submit_class(base: type) -> type:
    """Return a subclass of nbgrader's submit exchange *base* that records a given time, not the clock's."""

    class DatedSubmit(base):
        def __init__(self, *args: object, submitted_at: dt.datetime, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self.submitted_at = submitted_at

        def set_timestamp(self) -> None:
            # Same zone and format as nbgrader's own set_timestamp, so that collect and
            # autograde parse the folder name and timestamp.txt exactly as they parse a real one.
            from dateutil.tz import gettz

            zone = gettz(self.timezone)
            if zone is None:
                self.fail(f"Invalid timezone: {self.timezone}")
            self.timestamp = self.submitted_at.astimezone(zone).strftime(self.timestamp_format)

    return DatedSubmit


def submit_assignment_at(grader, assignment: str, trainee_id: str, home: Path, submitted_at: dt.datetime) -> None:  # noqa: ANN001
    """Submit the trainee's copy of *assignment* from *home* as if at *submitted_at* (an aware datetime).

    For simulated trainees only: nbgrader writes *submitted_at* into the
    submission's folder name and ``timestamp.txt`` in place of the current
    time. Real trainees submit through ``kenshu.grading.trainee.submit_assignment``
    or JupyterLab, which keep nbgrader's own clock.
    """
    from nbgrader.coursedir import CourseDirectory

    from kenshu.grading.trainee import _run_exchange, _trainee_config

    if submitted_at.tzinfo is None:
        raise ValueError("submitted_at must carry a time zone")
    config = _trainee_config(grader, home)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    coursedir.student_id = trainee_id
    submit_class = _dated_submit_class(grader.api.exchange.submit)
    app = submit_class(
        coursedir=coursedir, authenticator=grader.api.authenticator, config=config, parent=grader.api.exchange, submitted_at=submitted_at
    )
    _run_exchange(app, "submit", trainee_id, assignment)


def submit_simulated_cohort(
    grader,  # noqa: ANN001
    assignment: str,
    cohort: dict[str, str],
    homes: Path,
    *,
    submitted_at: dt.datetime | None = None,
) -> list[str]:
    """Fetch, fill in and submit *assignment* for each simulated trainee, and return who submitted.

    *cohort* maps a trainee id to one of ``COHORT_KINDS``. Each trainee works
    in ``homes/<id>``, as on the hub. With *submitted_at* (an aware datetime,
    see `session_submission_times`) every submission is dated then instead
    of now.
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
        if submitted_at is None:
            submit_assignment(grader, assignment, trainee_id, home)
        else:
            submit_assignment_at(grader, assignment, trainee_id, home, submitted_at)
        submitted.append(trainee_id)
    return submitted
