"""Feedback for trainees that never shows a test's source.

nbgrader's HTML feedback renders the autograded notebook, hidden tests
included. This feedback is built from the gradebook and the outputs of the
autograded notebook instead. Each graded cell shows its name, points and
result. A failed test shows only the exception's name and message, which is
the assertion message the instructor wrote. The page never contains the
source of a graded cell or a traceback, because a traceback quotes source lines.
"""

from __future__ import annotations

import html
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2
import nbformat

from kenshu.grading.late import days_late, late_penalty_points
from kenshu.i18n import message

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 400

TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="{{ lang }}">
<head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: "IPAexGothic", "Noto Sans JP", sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #ddebf7; }
.pass { color: #1a7f37; } .fail { color: #c62828; } .manual { color: #8a6d00; }
.notice { background: #fff4e5; border-left: 4px solid #f0a020; padding: 0.5em 1em; margin: 0.5em 0; }
</style></head>
<body>
<h1>{{ title }}</h1>
<p>{{ labels.trainee }}: {{ trainee }} ／ {{ labels.status }}: <strong>{{ status }}</strong>
{% if score is not none %} ／ {{ labels.score }}: <strong>{{ score }} / {{ max_score }}</strong>{% endif %}</p>
{% for notice in notices %}<div class="notice">{{ notice }}</div>
{% endfor %}
{% for notebook in notebooks %}
<h2>{{ notebook.name }}</h2>
{% if notebook.penalty %}<p class="notice">{{ notebook.penalty }}</p>{% endif %}
<table>
<tr><th>{{ labels.question }}</th><th>{{ labels.kind }}</th><th>{{ labels.points }}</th><th>{{ labels.result }}</th><th>{{ labels.message }}</th></tr>
{% for row in notebook.rows %}<tr><td>{{ row.name }}</td><td>{{ row.kind }}</td><td>{{ row.points }}</td>
<td class="{{ row.css }}">{{ row.result }}</td><td>{{ row.message }}</td></tr>
{% endfor %}</table>
{% endfor %}
</body></html>
"""
)


@dataclass(frozen=True)
class FeedbackRow:
    """One graded cell in the feedback: its name, kind, points, result and the error message."""

    name: str
    kind: str
    points: str
    result: str
    css: str
    message: str


def _error_message(cell: nbformat.NotebookNode) -> str:
    """Return "ename: evalue" of a cell's last error output, without the traceback."""
    errors = [output for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    if not errors:
        return ""
    error = errors[-1]
    text = f"{error.get('ename', '')}: {error.get('evalue', '')}".strip(": ")
    return text[:MAX_MESSAGE_CHARS]


def _rows(source: nbformat.NotebookNode, autograded: nbformat.NotebookNode | None, grades: dict) -> list[FeedbackRow]:
    """Return one row per grade cell of the *source* notebook, in its order.

    The source gives the questions, so a cell the trainee deleted (or a whole
    empty notebook) still appears with its score of 0. Only metadata is read
    from the source, never a cell's code; error messages come from the
    trainee's *autograded* notebook.
    """
    graded_cells = {}
    for cell in autograded.cells if autograded is not None else []:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            graded_cells.setdefault(grade_id, cell)

    rows = []
    for source_cell in source.cells:
        meta = source_cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        grade = grades.get(meta["grade_id"])
        max_points = meta.get("points", 0)
        if meta.get("solution") and source_cell.cell_type == "markdown":
            kind = message("feedback.kind.written")
        elif meta.get("solution"):
            kind = message("feedback.kind.answer")
        else:
            kind = message("feedback.kind.test")

        score = None if grade is None else grade.score
        if grade is None or grade.needs_manual_grade:
            result, css, points = message("feedback.result.manual"), "manual", f"- / {max_points:g}"
        elif score is not None and score >= max_points:
            result, css, points = message("feedback.result.pass"), "pass", f"{score:g} / {max_points:g}"
        else:
            result, css, points = message("feedback.result.fail"), "fail", f"{(score or 0):g} / {max_points:g}"
        graded_cell = graded_cells.get(meta["grade_id"])
        error = _error_message(graded_cell) if css == "fail" and graded_cell is not None else ""
        rows.append(FeedbackRow(meta["grade_id"], kind, points, result, css, error))
    return rows


def _labels() -> dict[str, str]:
    return {key: message(f"feedback.label.{key}") for key in ("trainee", "status", "score", "question", "kind", "points", "result", "message")}


def render_feedback(grader, assignment: str, trainee_id: str, result) -> dict[str, str]:
    """Return the feedback page of each notebook (file name to HTML) for one trainee's result."""
    from nbgrader.api import Gradebook

    try:
        trainee = grader.spec.trainee(trainee_id).name
    except KeyError:
        trainee = trainee_id
    title = message("feedback.title", assignment=assignment)
    notices = [line for line in (result.reason or "").splitlines() if line.strip()] if result is not None else []
    source_names = sorted(path.name for path in (grader.root / "source" / assignment).glob("*.ipynb"))

    if result is None or result.status != "ok":
        status = message("feedback.status.failed")
        if not notices:
            notices = [message("feedback.not_graded")]
        page = TEMPLATE.render(lang=grader.spec.language, title=title, labels=_labels(), trainee=trainee, status=status, score=None, max_score=None, notices=notices, notebooks=[])
        return {name: page for name in source_names}

    pages = {}
    autograded = grader.root / "autograded" / trainee_id / assignment
    with Gradebook(grader.config.CourseDirectory.db_url, grader.spec.course_id) as gradebook:
        submission = gradebook.find_submission(assignment, trainee_id)
        status = message("feedback.status.needs_manual_grade" if submission.needs_manual_grade else "feedback.status.graded")
        for submitted_notebook in submission.notebooks:
            name = f"{submitted_notebook.name}.ipynb"
            path = autograded / name
            grades = {grade.name: grade for grade in submitted_notebook.grades}
            source = nbformat.read(grader.root / "source" / assignment / name, as_version=4)
            rows = _rows(source, nbformat.read(path, as_version=4) if path.is_file() else None, grades)
            penalty = ""
            score = submitted_notebook.score
            points = late_penalty_points(grader.spec.grading, score, submission.total_seconds_late)
            if points:
                penalty = message(
                    "feedback.late_penalty",
                    points=f"{points:g}",
                    days=days_late(submission.total_seconds_late),
                    before=f"{score:g}",
                )
                score = max(score - points, 0.0)
            notebook_view = {"name": name, "rows": rows, "penalty": penalty}
            pages[name] = TEMPLATE.render(
                lang=grader.spec.language,
                title=title,
                labels=_labels(),
                trainee=trainee,
                status=status,
                score=f"{score:g}",
                max_score=f"{submitted_notebook.max_score:g}",
                notices=notices,
                notebooks=[notebook_view],
            )
    return pages


def write_feedback(grader, assignment: str, trainee_id: str, result) -> list[Path]:
    """Write the feedback pages of one trainee into ``feedback/<trainee>/<assignment>/``; return the files.

    nbgrader's ``release_feedback`` needs ``timestamp.txt`` and
    ``submission_secret.txt`` beside the pages; they are copied from the submission.
    """
    folder = grader.root / "feedback" / trainee_id / assignment
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    submitted = grader.root / "submitted" / trainee_id / assignment
    for name in ("timestamp.txt", "submission_secret.txt"):
        if (submitted / name).is_file():
            shutil.copyfile(submitted / name, folder / name)

    files = []
    for name, page in render_feedback(grader, assignment, trainee_id, result).items():
        path = folder / (Path(name).stem + ".html")
        path.write_text(page, encoding="utf-8")
        files.append(path)
    logger.info("wrote feedback for %s on %s: %s", trainee_id, assignment, ", ".join(html.escape(str(path)) for path in files))
    return files
