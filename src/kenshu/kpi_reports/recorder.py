"""Get-or-create of store rows, with the natural keys cached for one import.

An import of tens of thousands of rows must not ask the database once per row
whether a company, trainee or session exists, so ``Recorder`` loads those keys
once and adds new attendance records in bulk at the end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kenshu.kpi_reports.normalise import Status, company_key, name_key, normalise_text
from kenshu.kpi_reports.store import Attendance, Company, Course, Trainee, TrainingSession


@dataclass(frozen=True)
class Source:
    """Source of a value: a file (or URL) and a row number in it."""

    file: str
    row: int | None = None


def name_only_key(name: str, company: str) -> str:
    """Return the trainee key of a person known only by name and company."""
    return f"name:{name_key(name)}@{company_key(company)}"


class Recorder:
    """Adds rows to the store inside one database session, reusing what exists.

    The ids of companies, trainees, courses and sessions are read once, when
    the recorder is made, and new rows are inserted with Core statements, so
    a row of a sheet costs dictionary lookups rather than queries. Existing
    attendance is loaded one session at a time, so an import costs the rows
    it touches, not the whole store.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.company_ids: dict[str, int] = dict(session.execute(select(Company.key, Company.id)).all())
        self.trainee_ids: dict[str, int] = dict(session.execute(select(Trainee.key, Trainee.id)).all())
        self.course_ids: dict[str, int] = dict(session.execute(select(Course.course_id, Course.id)).all())
        self.session_ids: dict[tuple[int, dt.date], int] = {
            (course_id, date): session_id
            for session_id, course_id, date in session.execute(
                select(TrainingSession.id, TrainingSession.course_id, TrainingSession.date)
            )
        }
        self.attendance: dict[tuple[int, int], str] = {}
        self._loaded_sessions: set[int] = set()
        self._new_attendance: list[dict[str, object]] = []

    def _insert(self, model: type, **values: object) -> int:
        # A plain table insert with the values as parameters compiles once per
        # table, and the connection's CursorResult has inserted_primary_key.
        statement = insert(model.__table__)
        return self.session.connection().execute(statement, values).inserted_primary_key[0]

    def _load_attendance(self, session_id: int) -> None:
        if session_id in self._loaded_sessions:
            return
        query = select(Attendance.trainee_id, Attendance.status).where(Attendance.session_id == session_id)
        for trainee_id, status in self.session.execute(query):
            self.attendance[(session_id, trainee_id)] = status
        self._loaded_sessions.add(session_id)

    def company_row_id(self, name: str | None, source: Source) -> int | None:
        """Return the id of the company named *name* (any spelling with the same key), adding it if new."""
        key = company_key(name or "")
        if not key:
            return None
        if key not in self.company_ids:
            self.company_ids[key] = self._insert(
                Company, key=key, name=normalise_text(name), source_file=source.file, source_row=source.row
            )
        return self.company_ids[key]

    def trainee_row_id(self, key: str, *, trainee_id: str | None, name: str, company: str, source: Source) -> int:
        """Return the id of the trainee with *key*, adding it if new; a known trainee keeps its first name and company."""
        if key not in self.trainee_ids:
            self.trainee_ids[key] = self._insert(
                Trainee,
                key=key,
                trainee_id=trainee_id,
                name=normalise_text(name),
                name_key=name_key(name),
                company_id=self.company_row_id(company, source),
                source_file=source.file,
                source_row=source.row,
            )
        return self.trainee_ids[key]

    def course_row_id(self, course_id: str, source: Source, *, company: str | None = None) -> int:
        """Return the row id of the course *course_id*, adding it if new."""
        if course_id not in self.course_ids:
            self.course_ids[course_id] = self._insert(
                Course,
                course_id=course_id,
                company_id=self.company_row_id(company, source),
                source_file=source.file,
                source_row=source.row,
            )
        return self.course_ids[course_id]

    def session_row_id(self, course_row_id: int, date: dt.date, source: Source) -> int:
        """Return the id of the session of the course with row id *course_row_id* on *date*, adding it if new."""
        key = (course_row_id, date)
        if key not in self.session_ids:
            self.session_ids[key] = self._insert(
                TrainingSession, course_id=course_row_id, date=date, source_file=source.file, source_row=source.row
            )
        return self.session_ids[key]

    def company(self, name: str, source: Source) -> Company | None:
        """Return the company named *name*, adding it if new."""
        row_id = self.company_row_id(name, source)
        return self.session.get(Company, row_id) if row_id is not None else None

    def trainee(self, key: str, *, trainee_id: str | None, name: str, company: str, source: Source) -> Trainee:
        """Return the trainee with *key*, adding it if new."""
        row_id = self.trainee_row_id(key, trainee_id=trainee_id, name=name, company=company, source=source)
        return self.session.get(Trainee, row_id)

    def course(self, course_id: str, source: Source, *, company: str | None = None) -> Course:
        """Return the course *course_id*, adding it if new."""
        return self.session.get(Course, self.course_row_id(course_id, source, company=company))

    def training_session(self, course: Course, date: dt.date, source: Source) -> TrainingSession:
        """Return the session of *course* on *date*, adding it if new."""
        return self.session.get(TrainingSession, self.session_row_id(course.id, date, source))

    def add_attendance(
        self, session_id: int, trainee_id: int, status: Status, mark: str, source: Source
    ) -> tuple[str, str | None]:
        """Queue an attendance record unless the same (session, trainee) is known.

        Returns ``("added", None)``, ``("same", None)`` when the same status is
        already stored, or ``("conflict", stored status)`` when another status
        is stored (the stored record is kept and the caller reports the row).
        """
        self._load_attendance(session_id)
        key = (session_id, trainee_id)
        stored = self.attendance.get(key)
        if stored is None:
            self.attendance[key] = status.value
            self._new_attendance.append(
                {
                    "session_id": session_id,
                    "trainee_id": trainee_id,
                    "status": status.value,
                    "mark": mark,
                    "source_file": source.file,
                    "source_row": source.row,
                }
            )
            return "added", None
        if stored == status.value:
            return "same", None
        return "conflict", stored

    def flush(self) -> None:
        """Write the queued attendance records in one bulk insert."""
        if self._new_attendance:
            self.session.connection().execute(insert(Attendance.__table__), self._new_attendance)
            self._new_attendance = []
