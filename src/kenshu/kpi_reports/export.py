"""A course's attendance written as an office sign-in sheet (.xlsx): trainees down, session days across."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.kpi_reports.importer import _open
from kenshu.kpi_reports.normalise import STATUS_MARKS, Status
from kenshu.kpi_reports.store import Attendance, Course, Trainee, TrainingSession
from kenshu.paths import project_root

logger = logging.getLogger(__name__)


def export_course_sheet(
    course_id: str, *, out: str | Path | None = None, db: str | Path | sessionmaker[Session] | None = None
) -> Path:
    """Write the attendance of *course_id* as a sign-in sheet and return its path.

    The sheet has a title row, a header row 受講者ID / 氏名 / 会社名 followed by
    one column per session day (``2026/6/4``), and one row per trainee with the
    marks 出, 欠, 遅刻, 早退 (blank where nothing was recorded). kenshu reads
    this layout back with ``kenshu attendance import``.

    Raises
    ------
    KenshuError
        If the store has no course *course_id*.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    out = Path(out) if out is not None else project_root() / "kpi_reports" / "_build" / f"出席簿_{course_id}.xlsx"

    with _open(db)() as session:
        course = session.scalar(select(Course).where(Course.course_id == course_id))
        if course is None:
            known = ", ".join(session.scalars(select(Course.course_id).order_by(Course.course_id))) or "-"
            raise KenshuError("kpi.export_unknown_course", course=course_id, known=known)
        sessions = list(session.scalars(select(TrainingSession).where(TrainingSession.course_id == course.id).order_by(TrainingSession.date)))
        marks: dict[tuple[int, int], str] = {}
        trainee_ids: set[int] = set()
        for record in session.scalars(select(Attendance).where(Attendance.session_id.in_([row.id for row in sessions]))):
            marks[(record.trainee_id, record.session_id)] = STATUS_MARKS[Status(record.status)]
            trainee_ids.add(record.trainee_id)
        trainees = sorted(
            session.scalars(select(Trainee).where(Trainee.id.in_(trainee_ids))),
            key=lambda row: (row.trainee_id or "~", row.name_key),
        )
        company_names = {row.id: row.company.name if row.company else "" for row in trainees}

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "出席簿"
    headers = ["受講者ID", "氏名", "会社名"] + [f"{row.date.year}/{row.date.month}/{row.date.day}" for row in sessions]
    sheet.append([message("kpi.export_title", course=course_id)])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for trainee in trainees:
        sheet.append(
            [trainee.trainee_id or "", trainee.name, company_names[trainee.id]]
            + [marks.get((trainee.id, row.id), "") for row in sessions]
        )
    sheet.column_dimensions["B"].width = 16
    sheet.column_dimensions["C"].width = 24

    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    logger.info("sign-in sheet of %s written to %s", course_id, out)
    return out
