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

    Each natural key is looked up in the database the first time an import
    meets it and cached after that. Existing attendance is loaded one session
    at a time, so an import costs the rows it touches, not the whole store.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.companies: dict[str, Company] = {}
        self.trainees: dict[str, Trainee] = {}
        self.courses: dict[str, Course] = {}
        self.sessions: dict[tuple[int, dt.date], TrainingSession] = {}
        self.attendance: dict[tuple[int, int], str] = {}
        self._loaded_sessions: set[int] = set()
        self._new_attendance: list[dict[str, object]] = []

    def _load_attendance(self, session_id: int) -> None:
        if session_id in self._loaded_sessions:
            return
        query = select(Attendance.trainee_id, Attendance.status).where(Attendance.session_id == session_id)
        for trainee_id, status in self.session.execute(query):
            self.attendance[(session_id, trainee_id)] = status
        self._loaded_sessions.add(session_id)

    def company(self, name: str, source: Source) -> Company | None:
        """Return the company named *name* (any spelling with the same key), creating it if new."""
        key = company_key(name)
        if not key:
            return None
        if key not in self.companies:
            existing = self.session.scalar(select(Company).where(Company.key == key))
            if existing is not None:
                self.companies[key] = existing
        if key not in self.companies:
            row = Company(key=key, name=normalise_text(name), source_file=source.file, source_row=source.row)
            self.session.add(row)
            self.session.flush()
            self.companies[key] = row
        return self.companies[key]

    def trainee(self, key: str, *, trainee_id: str | None, name: str, company: str, source: Source) -> Trainee:
        """Return the trainee with *key*, creating it if new; a known trainee keeps its first name and company."""
        if key not in self.trainees:
            existing = self.session.scalar(select(Trainee).where(Trainee.key == key))
            if existing is not None:
                self.trainees[key] = existing
        if key not in self.trainees:
            company_row = self.company(company, source)
            row = Trainee(
                key=key,
                trainee_id=trainee_id,
                name=normalise_text(name),
                name_key=name_key(name),
                company_id=company_row.id if company_row else None,
                source_file=source.file,
                source_row=source.row,
            )
            self.session.add(row)
            self.session.flush()
            self.trainees[key] = row
        return self.trainees[key]

    def course(self, course_id: str, source: Source, *, company: str | None = None) -> Course:
        """Return the course *course_id*, creating it if new."""
        if course_id not in self.courses:
            existing = self.session.scalar(select(Course).where(Course.course_id == course_id))
            if existing is not None:
                self.courses[course_id] = existing
        if course_id not in self.courses:
            company_row = self.company(company, source) if company else None
            row = Course(
                course_id=course_id,
                company_id=company_row.id if company_row else None,
                source_file=source.file,
                source_row=source.row,
            )
            self.session.add(row)
            self.session.flush()
            self.courses[course_id] = row
        return self.courses[course_id]

    def training_session(self, course: Course, date: dt.date, source: Source) -> TrainingSession:
        """Return the session of *course* on *date*, creating it if new."""
        key = (course.id, date)
        if key not in self.sessions:
            existing = self.session.scalar(
                select(TrainingSession).where(TrainingSession.course_id == course.id, TrainingSession.date == date)
            )
            if existing is not None:
                self.sessions[key] = existing
        if key not in self.sessions:
            row = TrainingSession(course_id=course.id, date=date, source_file=source.file, source_row=source.row)
            self.session.add(row)
            self.session.flush()
            self.sessions[key] = row
        return self.sessions[key]

    def add_attendance(
        self, training_session: TrainingSession, trainee: Trainee, status: Status, mark: str, source: Source
    ) -> tuple[str, str | None]:
        """Queue an attendance record unless the same (session, trainee) is known.

        Returns ``("added", None)``, ``("same", None)`` when the same status is
        already stored, or ``("conflict", stored status)`` when another status
        is stored (the stored record is kept and the caller reports the row).
        """
        self._load_attendance(training_session.id)
        key = (training_session.id, trainee.id)
        stored = self.attendance.get(key)
        if stored is None:
            self.attendance[key] = status.value
            self._new_attendance.append(
                {
                    "session_id": training_session.id,
                    "trainee_id": trainee.id,
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
            self.session.execute(insert(Attendance), self._new_attendance)
            self._new_attendance = []
