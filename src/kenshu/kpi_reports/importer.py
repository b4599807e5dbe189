"""Import of sign-in sheets (CSV and .xlsx) into the attendance store.

Each row becomes one attendance record, keyed by (course, session date,
trainee). A row that cannot be used is reported with the file, the row number
and the reason, and the import goes on with the next row. Importing a file
whose bytes were imported before adds nothing. Importing the same rows from a
renamed or merged file adds nothing either, because of the natural key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.kpi_reports.normalise import (
    STATUS_MARKS,
    DateDoesNotExist,
    DateMissing,
    Status,
    name_key,
    normalise_text,
    parse_date,
    parse_mark,
)
from kenshu.kpi_reports.recorder import Recorder, Source, name_only_key
from kenshu.kpi_reports.roster import Roster, make_roster
from kenshu.kpi_reports.sheets import RawRow, read_csv_sheet, read_xlsx_sheets
from kenshu.kpi_reports.store import ImportedFile, Trainee, open_store
from kenshu.progress import progress

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RejectedRow:
    """A row an import could not use: where it is and why, in the user's language."""

    file: str
    row: int | None
    reason: str
    sheet: str | None = None

    def __str__(self) -> str:
        place = f"{self.file}:{self.sheet}" if self.sheet else self.file
        return message("kpi.rejected_row", place=place, row=self.row if self.row is not None else "-", reason=self.reason)


@dataclass
class ImportResult:
    """Counts of one import (rows read, added, already present) and the rejected rows with reasons."""

    file: str
    encoding: str | None = None
    rows_read: int = 0
    added: int = 0
    present: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    already_imported: bool = False
    previous_path: str | None = None

    def summary(self) -> str:
        """Return the short summary a command prints for this file."""
        if self.already_imported:
            return message("kpi.import_already", file=self.file, previous=self.previous_path)
        return message(
            "kpi.import_summary",
            file=self.file,
            encoding=self.encoding or "-",
            read=self.rows_read,
            added=self.added,
            present=self.present,
            rejected=len(self.rejected),
        )


def _open(db: str | Path | sessionmaker[Session] | None) -> sessionmaker[Session]:
    return db if isinstance(db, sessionmaker) else open_store(db)


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of the bytes of *path*, hex encoded."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def register_roster(recorder: Recorder, roster: Roster) -> None:
    """Add the roster's course, its sessions and its trainees to the store (what exists is kept)."""
    if roster.course_id is None:
        return
    source = Source(roster.source or "roster")
    course = recorder.course_row_id(roster.course_id, source, company=roster.company)
    for date in roster.session_dates or []:
        recorder.session_row_id(course, date, source)
    for entry in roster.entries:
        _check_same_person(recorder, roster, entry)
    for index, entry in enumerate(roster.entries, start=1):
        recorder.trainee_row_id(
            entry.trainee_id,
            trainee_id=entry.trainee_id,
            name=entry.name,
            company=entry.company,
            source=Source(source.file, index),
        )


def _check_same_person(recorder: Recorder, roster: Roster, entry) -> None:
    """Raise when the store already uses the roster's trainee id for a person with another name.

    Trainees are stored by id, so two courses that both number their trainees
    s01, s02, ... would merge different people and count them once.
    """
    row_id = recorder.trainee_ids.get(entry.trainee_id)
    if row_id is None:
        return
    stored = recorder.session.get(Trainee, row_id)
    if stored is None or stored.name_key == name_key(entry.name):
        return
    company = stored.company.name if stored.company is not None else "-"
    raise KenshuError(
        "kpi.trainee_id_taken",
        roster=roster.source,
        id=entry.trainee_id,
        name=entry.name,
        stored_name=stored.name,
        stored_company=company,
        course_id=roster.course_id,
    )


class _RowError(Exception):
    """A row cannot be used; the text is the reason."""


def _identify(cells: dict[str, object], roster: Roster | None) -> tuple[str, str | None, str, str]:
    """Return (trainee key, trainee id, name, company) for a row, or raise _RowError."""
    trainee_id = normalise_text(cells.get("trainee_id"))
    name = normalise_text(cells.get("name"))
    company = normalise_text(cells.get("company"))

    if roster is not None:
        if trainee_id:
            entry = roster.by_id(trainee_id)
            if entry is None:
                raise _RowError(message("kpi.reject_unknown_id", id=trainee_id, roster=roster.source))
        elif name:
            matches = roster.by_name(name)
            if not matches:
                close = "、".join(f"{item.name} ({item.trainee_id})" for item in roster.closest(name))
                key = "kpi.reject_unknown_name" if close else "kpi.reject_unknown_name_no_close"
                raise _RowError(message(key, name=name, roster=roster.source, close=close))
            if len(matches) > 1:
                ids = "、".join(item.trainee_id for item in matches)
                raise _RowError(message("kpi.reject_ambiguous_name", name=name, ids=ids))
            entry = matches[0]
        else:
            raise _RowError(message("kpi.reject_no_person"))
        if company and not roster.same_company(entry, company):
            raise _RowError(message("kpi.reject_other_company", name=entry.name, company=company, expected=entry.company))
        return entry.trainee_id, entry.trainee_id, entry.name, entry.company

    if trainee_id:
        return trainee_id, trainee_id, name, company
    if name:
        return name_only_key(name, company), None, name, company
    raise _RowError(message("kpi.reject_no_person"))


def _store_row(raw: RawRow, *, file: str, recorder: Recorder, roster: Roster | None, course_id: str | None, result: ImportResult) -> None:
    cells = raw.cells
    source = Source(file, raw.row)

    # 1. Read the date and the mark.
    written_date = str(cells.get("date") if cells.get("date") is not None else "").strip()
    try:
        date = parse_date(cells.get("date"))
    except DateMissing:
        raise _RowError(message("kpi.reject_no_date")) from None
    except DateDoesNotExist as error:
        raise _RowError(message("kpi.reject_date_does_not_exist", value=written_date, reason=error.reason())) from None
    except ValueError:
        raise _RowError(message("kpi.reject_bad_date", value=written_date)) from None
    try:
        status = parse_mark(cells.get("mark"))
    except ValueError:
        raise _RowError(message("kpi.reject_bad_mark", value=str(cells.get("mark") or "").strip())) from None

    # 2. Find the course: a column of the sheet, else the roster's, else the caller's.
    row_course_id = normalise_text(cells.get("course_id")) or (roster.course_id if roster else None) or course_id
    if not row_course_id:
        raise _RowError(message("kpi.reject_no_course"))

    # 3. Find the person, then the session, which must be a session day of the roster's course.
    key, trainee_id, name, company = _identify(cells, roster if (roster and row_course_id == roster.course_id) else None)
    if roster and row_course_id == roster.course_id and roster.session_dates and date not in roster.session_dates:
        dates = "、".join(str(day) for day in roster.session_dates)
        raise _RowError(message("kpi.reject_not_session_day", date=date, course=row_course_id, dates=dates))

    course = recorder.course_row_id(row_course_id, source, company=company or None)
    session_id = recorder.session_row_id(course, date, source)
    trainee = recorder.trainee_row_id(key, trainee_id=trainee_id, name=name, company=company, source=source)

    # 4. Add the record unless it is already there.
    outcome, stored = recorder.add_attendance(session_id, trainee, status, normalise_text(cells.get("mark")), source)
    if outcome == "added":
        result.added += 1
    elif outcome == "same":
        result.present += 1
    else:
        # NOTE: the first record wins and there is no command to correct a stored
        # record yet, so a corrected sheet cannot change a mark already imported.
        raise _RowError(
            message("kpi.reject_conflict", date=date, stored=STATUS_MARKS[Status(stored)], given=STATUS_MARKS[status])
        )


def import_signin_sheet(
    path: str | Path,
    *,
    db: str | Path | sessionmaker[Session] | None = None,
    course: Any = None,
    course_id: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Import one sign-in sheet (.csv in cp932, UTF-8 with or without BOM, or UTF-16; or .xlsx).

    Parameters
    ----------
    path : str or Path
        The sheet.
    db : str, Path or sessionmaker, optional
        The store: a SQLAlchemy URL, a SQLite file, or a session factory from
        ``open_store``. Default: ``default_db_url()``.
    course : course folder, CourseSpec, Roster or iterable of (id, name, company), optional
        The roster that names are matched against. With a course spec, the
        course's sessions and trainees are registered, a name must be on the
        roster and a date must be a session day.
    course_id : str, optional
        The course of rows that have no コースID column, when *course* does not
        give one.
    force : bool
        Read the rows even if the same bytes were imported before (useful after
        the roster was corrected); the natural key still keeps every record once.

    Returns
    -------
    ImportResult
        Counts, and each rejected row with its row number and reason.

    Raises
    ------
    KenshuError
        If the file cannot be read at all: missing, unknown encoding, no header row.
    """
    path = Path(path)
    factory = _open(db)
    roster = make_roster(course, course_id=course_id)
    result = ImportResult(file=str(path))
    logger.info("importing sign-in sheet %s", path)

    if not path.is_file():
        raise KenshuError("kpi.file_not_found", path=path)
    digest = file_sha256(path)

    with factory() as session, session.begin():
        # 1. The same bytes imported before add nothing.
        previous = session.scalar(select(ImportedFile).where(ImportedFile.sha256 == digest))
        if previous is not None and not force:
            result.already_imported = True
            result.previous_path = previous.path
            return result

        # 2. Read the sheet.
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            result.encoding = "xlsx"
            rows = read_xlsx_sheets(path)
        else:
            result.encoding, rows = read_csv_sheet(path)

        # 3. Store each row; a bad row is reported and the import goes on.
        recorder = Recorder(session)
        if roster is not None:
            register_roster(recorder, roster)
        for raw in progress(rows, description=message("kpi.progress_import", file=path.name), unit="row"):
            result.rows_read += 1
            try:
                _store_row(raw, file=str(path), recorder=recorder, roster=roster, course_id=course_id, result=result)
            except _RowError as error:
                result.rejected.append(RejectedRow(str(path), raw.row, str(error), raw.sheet))
        recorder.flush()

        # 4. Remember the file by its content, unless nothing of it could be used: after a corrected
        # command (another --course, say) the same file must be read again without --force.
        nothing_usable = result.added == 0 and result.present == 0 and bool(result.rejected)
        if previous is None and not nothing_usable:
            session.add(
                ImportedFile(
                    sha256=digest,
                    path=str(path),
                    kind=result.encoding,
                    imported_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                    rows_read=result.rows_read,
                    rows_added=result.added,
                    rows_present=result.present,
                    rows_rejected=len(result.rejected),
                )
            )

    logger.info("%s: %d read, %d added, %d present, %d rejected", path, result.rows_read, result.added, result.present, len(result.rejected))
    return result
