"""Grade export for instructors and the office: CSV that Excel opens in Japanese, and .xlsx."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from kenshu.grading.api import CourseGrader, TraineeResult
from kenshu.grading.late import late_penalty_points
from kenshu.i18n import message

logger = logging.getLogger(__name__)

# "score" is nbgrader's sum of the grades, before the late penalty; "final_score" and "percent" are after it.
COLUMNS = (
    "trainee_id", "name", "assignment", "status", "score", "late_penalty", "final_score", "max_score", "percent",
    "submitted_at", "reason", "problems",
)
PASS_RATE_COLUMNS = ("assignment", "question", "graded", "passed", "rate")


@dataclass(frozen=True)
class ExportFiles:
    """The files one export wrote."""

    csv: Path
    xlsx: Path
    table: pd.DataFrame
    pass_rates: pd.DataFrame | None = None
    pass_rates_csv: Path | None = None
    pass_rates_chart: Path | None = None


def grade_table(grader: CourseGrader, results: list[TraineeResult] | None = None) -> pd.DataFrame:
    """Return one row per trainee and assignment with the score from the gradebook.

    *results* (from ``CourseGrader.autograde``) adds the reason for a failed
    autograde; a trainee with no submission gets the status ``not_submitted``.
    """
    failures = {(result.trainee_id, result.assignment): result for result in results or []}
    rows = []
    with grader.api.gradebook as gradebook:
        for assignment in grader.assignments:
            for trainee in grader.spec.trainees:
                row = {"trainee_id": trainee.id, "name": trainee.name, "assignment": assignment}
                failure = failures.get((trainee.id, assignment))
                try:
                    submission = gradebook.find_submission(assignment, trainee.id)
                except Exception:  # noqa: BLE001  (nbgrader raises MissingEntry, or NoResultFound for a new student)
                    submission = None

                if failure is not None and failure.problems:
                    row["problems"] = ", ".join(failure.problems)
                if failure is not None and failure.status == "failed":
                    row.update(status="failed", reason=failure.reason)
                elif submission is None:
                    row.update(status="not_submitted")
                else:
                    # The penalty follows the current score, hand-given points included.
                    penalty = sum(
                        late_penalty_points(grader.spec.grading, notebook.score, submission.total_seconds_late)
                        for notebook in submission.notebooks
                    )
                    final_score = max(submission.score - penalty, 0.0)
                    row.update(
                        status="needs_manual_grade" if submission.needs_manual_grade else "graded",
                        score=submission.score,
                        late_penalty=penalty or None,
                        final_score=final_score,
                        max_score=submission.max_score,
                        percent=round(100 * final_score / submission.max_score, 1) if submission.max_score else None,
                        submitted_at=submission.timestamp,
                        reason=failure.reason if failure is not None and failure.reason else None,
                    )
                rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _problem_labels(codes: object) -> object:
    """Return the short labels of a comma-separated list of problem codes, or the value unchanged when empty."""
    if not isinstance(codes, str) or not codes:
        return codes
    return "、".join(message(f"grading.problem_label.{code.strip()}") for code in codes.split(","))


def _localised(table: pd.DataFrame) -> pd.DataFrame:
    localised = table.copy()
    localised["status"] = [message(f"export.status.{status}") for status in localised["status"]]
    localised["problems"] = [_problem_labels(codes) for codes in localised["problems"]]

    # nbgrader stores timestamps as naive UTC. The sheet shows Japan time, as its column name states.
    submitted = pd.to_datetime(localised["submitted_at"])
    localised["submitted_at"] = submitted.dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo").dt.tz_localize(None).dt.floor("s")
    return localised.rename(columns={column: message(f"export.column.{column}") for column in COLUMNS})


def pass_rate_table(grader: CourseGrader) -> pd.DataFrame:
    """Return, per autograded question, how many graded trainees passed it: which question did everyone fail?

    A question is an autograded cell with points (a test, or an answer cell
    graded by its output). A trainee counts as graded when the gradebook
    holds a score for that cell, and as passed with full points.
    """
    rows = []
    with grader.api.gradebook as gradebook:
        for assignment_name in grader.assignments:
            try:
                assignment = gradebook.find_assignment(assignment_name)
            except Exception:  # noqa: BLE001  (MissingEntry: the assignment was never generated)
                continue
            for notebook in assignment.notebooks:
                for cell in notebook.grade_cells:
                    if cell.cell_type != "code":
                        continue
                    graded = passed = 0
                    for grade in cell.grades:
                        if grade.auto_score is None:
                            continue
                        graded += 1
                        passed += grade.score >= cell.max_score
                    rate = round(100 * passed / graded, 1) if graded else None
                    rows.append({"assignment": assignment_name, "question": cell.name, "graded": graded, "passed": passed, "rate": rate})
    return pd.DataFrame(rows, columns=list(PASS_RATE_COLUMNS))


def _pass_rate_chart(grader: CourseGrader, rates: pd.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kenshu.plotting import use_japanese_font

    use_japanese_font()
    labels = [f"{row.assignment}: {row.question}" for row in rates.itertuples()]
    figure, axes = plt.subplots(figsize=(7, 0.45 * max(3, len(labels)) + 1))
    axes.barh(labels, rates["rate"].fillna(0), color="#4472c4")
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel(message("export.pass_rate.rate"))
    axes.set_title(message("export.pass_rate.chart_title", course=grader.spec.course_id))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def export_grades(grader: CourseGrader, out_dir: Path, results: list[TraineeResult] | None = None) -> ExportFiles:
    """Write ``grades.csv`` (UTF-8 with BOM) and ``grades.xlsx`` with headers in the user's language."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = grade_table(grader, results)
    localised = _localised(table)
    csv_path, xlsx_path = out_dir / "grades.csv", out_dir / "grades.xlsx"
    logger.info("exporting grades of %s to %s and %s", grader.spec.course_id, csv_path, xlsx_path)

    # The BOM makes Excel read the file as UTF-8 instead of cp932.
    localised.to_csv(csv_path, index=False, encoding="utf-8-sig")

    with pd.ExcelWriter(xlsx_path, engine="openpyxl") as writer:
        sheet_name = message("export.sheet_name")
        localised.to_excel(writer, index=False, sheet_name=sheet_name)
        sheet = writer.sheets[sheet_name]
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
        for index, column in enumerate(localised.columns, start=1):
            width = max([len(str(column))] + [len(str(value)) for value in localised[column].head(200)])
            sheet.column_dimensions[get_column_letter(index)].width = min(60, 2 + 1.6 * width)
        sheet.freeze_panes = "A2"

        # Per-question pass rates across the cohort, as a sheet, a CSV and a chart.
        rates = pass_rate_table(grader)
        localised_rates = rates.rename(columns={column: message(f"export.pass_rate.{column}") for column in PASS_RATE_COLUMNS})
        localised_rates.to_excel(writer, index=False, sheet_name=message("export.pass_rate_sheet"))

    rates_csv = out_dir / "pass_rates.csv"
    localised_rates.to_csv(rates_csv, index=False, encoding="utf-8-sig")
    chart = _pass_rate_chart(grader, rates, out_dir / "pass_rates.png")
    return ExportFiles(csv=csv_path, xlsx=xlsx_path, table=table, pass_rates=rates, pass_rates_csv=rates_csv, pass_rates_chart=chart)
