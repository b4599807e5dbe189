"""Import of nbgrader submissions as evidence of attendance.

The gradebook is read only through nbgrader's public ``nbgrader.api.Gradebook``.
Each submission (who submitted which assignment, and when) is stored as it is;
whether it counts as attendance at a session is decided when the report is
made, by the ``nbgrader_evidence`` rule of plan.yml, so that changing the rule
needs no new import.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.kpi_reports.importer import ImportResult, RejectedRow, _open, register_roster
from kenshu.kpi_reports.recorder import Recorder, Source
from kenshu.kpi_reports.roster import make_roster
from kenshu.kpi_reports.store import Submission

logger = logging.getLogger(__name__)


def _gradebook_label(db_url: str) -> str:
    """Return the gradebook's URL without a password, as stored in ``source_file``."""
    from sqlalchemy.engine import make_url

    return make_url(db_url).render_as_string(hide_password=True)


def _read_only_url(db_url: str) -> str:
    """Return *db_url* opened read-only when it names an SQLite file; other databases are returned unchanged."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database.startswith("file:"):
        return db_url
    return f"sqlite:///file:{Path(url.database).resolve()}?mode=ro&uri=true"


def _check_course_in_gradebook(db_url: str, course_id: str, label: str) -> None:
    """Raise unless the gradebook contains *course_id*; the error lists the courses it contains."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            courses = sorted(str(row[0]) for row in connection.execute(text("SELECT id FROM course")))
    except SQLAlchemyError as error:
        raise KenshuError("kpi.gradebook_unreadable", url=label, detail=str(error).splitlines()[0]) from None
    finally:
        engine.dispose()
    if course_id not in courses:
        raise KenshuError("kpi.gradebook_unknown_course", url=label, course_id=course_id, found="、".join(courses) or "-")


def import_nbgrader_submissions(
    gradebook_url: str | Path,
    *,
    course_id: str,
    db: str | Path | sessionmaker[Session] | None = None,
    course: Any = None,
    nbgrader_course_id: str | None = None,
) -> ImportResult:
    """Store the submissions of an nbgrader gradebook for course *course_id*.

    Parameters
    ----------
    gradebook_url : str or Path
        The gradebook's SQLAlchemy URL (``sqlite:///…/gradebook.db``) or the path of its SQLite file.
    course_id : str
        The kenshu course the submissions belong to.
    db : str, Path or sessionmaker, optional
        The attendance store (see ``import_signin_sheet``).
    course : course folder, CourseSpec, Roster or iterable of (id, name, company), optional
        With a roster, a student who is not on it is reported and skipped.
    nbgrader_course_id : str, optional
        The course id in the gradebook; by default *course_id*, as kenshu's
        nbgrader configuration uses the course spec's id. nbgrader adds a row
        for a course id the gradebook does not have yet.

    Returns
    -------
    ImportResult
        ``rows_read`` counts submissions; a submission without a timestamp is
        stored but reported, because it cannot be placed near a session.

    Raises
    ------
    KenshuError
        If the gradebook file does not exist or cannot be opened.
    """
    from nbgrader.api import Gradebook

    gradebook_url = str(gradebook_url)
    if "://" not in gradebook_url:
        if not Path(gradebook_url).is_file():
            raise KenshuError("kpi.gradebook_not_found", url=gradebook_url)
        gradebook_url = f"sqlite:///{Path(gradebook_url).resolve()}"
    elif gradebook_url.startswith("sqlite:///") and not Path(gradebook_url.removeprefix("sqlite:///")).is_file():
        # Gradebook() would silently create an empty database here.
        raise KenshuError("kpi.gradebook_not_found", url=gradebook_url)

    label = _gradebook_label(gradebook_url)
    course_in_gradebook = nbgrader_course_id or course_id
    # Read only: nbgrader's Gradebook() adds a course it does not find, which would change the instructor's data.
    gradebook_url = _read_only_url(gradebook_url)
    _check_course_in_gradebook(gradebook_url, course_in_gradebook, label)
    roster = make_roster(course, course_id=course_id)
    result = ImportResult(file=label, encoding="nbgrader")
    factory = _open(db)
    logger.info("importing nbgrader submissions from %s for course %s", label, course_id)

    # 1. Read every submission through the public API.
    try:
        gradebook = Gradebook(gradebook_url, course_id=course_in_gradebook)
    except Exception as error:  # nbgrader raises SQLAlchemy and its own errors for a bad database
        raise KenshuError("kpi.gradebook_unreadable", url=label, detail=str(error).splitlines()[0]) from None
    try:
        records = []
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                student = submission.student
                name = " ".join(part for part in (student.last_name, student.first_name) if part)
                records.append((assignment.name, student.id, name, submission.timestamp))
    finally:
        gradebook.close()

    # 2. Store them under the course, matching students to trainees by id.
    with factory() as session, session.begin():
        recorder = Recorder(session)
        if roster is not None:
            register_roster(recorder, roster)
        course_row = recorder.course(course_id, Source(label))
        stored = {
            (trainee_id, assignment)
            for trainee_id, assignment in session.execute(
                select(Submission.trainee_id, Submission.assignment).where(Submission.course_id == course_row.id)
            )
        }

        for row_number, (assignment_name, student_id, name, timestamp) in enumerate(records, start=1):
            result.rows_read += 1
            where = f"{assignment_name}/{student_id}"
            if roster is not None and roster.by_id(student_id) is None:
                reason = message("kpi.reject_unknown_student", id=student_id, roster=roster.source)
                result.rejected.append(RejectedRow(label, row_number, reason, where))
                continue
            entry = roster.by_id(student_id) if roster is not None else None
            trainee = recorder.trainee(
                student_id,
                trainee_id=student_id,
                name=entry.name if entry else name,
                company=entry.company if entry else "",
                source=Source(label, row_number),
            )
            if (trainee.id, assignment_name) in stored:
                result.present += 1
                continue
            session.add(
                Submission(
                    course_id=course_row.id,
                    trainee_id=trainee.id,
                    assignment=assignment_name,
                    timestamp=timestamp,
                    source_file=label,
                    source_row=row_number,
                )
            )
            stored.add((trainee.id, assignment_name))
            result.added += 1
            if timestamp is None:
                result.rejected.append(RejectedRow(label, row_number, message("kpi.reject_no_timestamp"), where))

    logger.info("%s: %d submissions read, %d added, %d present", label, result.rows_read, result.added, result.present)
    return result
