"""Grade export for instructors and the office: CSV that Excel opens in Japanese, and .xlsx."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from kenshu.grading.api import CourseGrader, TraineeResult
from kenshu.i18n import message

logger = logging.getLogger(__name__)

COLUMNS = ("trainee_id", "name", "assignment", "status", "score", "max_score", "percent", "submitted_at", "reason")


@dataclass(frozen=True)
class ExportFiles:
    """The files one export wrote."""

    csv: Path
    xlsx: Path
    table: pd.DataFrame


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

                if failure is not None and failure.status == "failed":
                    row.update(status="failed", reason=failure.reason)
                elif submission is None:
                    row.update(status="not_submitted")
                else:
                    row.update(
                        status="needs_manual_grade" if submission.needs_manual_grade else "graded",
                        score=submission.score,
                        max_score=submission.max_score,
                        percent=round(100 * submission.score / submission.max_score, 1) if submission.max_score else None,
                        submitted_at=submission.timestamp,
                    )
                rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _localised(table: pd.DataFrame) -> pd.DataFrame:
    localised = table.copy()
    localised["status"] = [message(f"export.status.{status}") for status in localised["status"]]
    return localised.rename(columns={column: message(f"export.column.{column}") for column in COLUMNS})


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

    return ExportFiles(csv=csv_path, xlsx=xlsx_path, table=table)
