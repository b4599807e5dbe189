"""Company events and the yearly value-added figure, as the coordinator records them.

An event records that a company introduced AI/IoT (``introduced``) or developed
an AI system (``developed``) on a date, after a course, with one line of
evidence. Recording the same event twice stores it once. The value-added
figure (付加価値増加額, million yen) is one number per fiscal year; entering
it again replaces it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kenshu.kpi_reports.importer import _open
from kenshu.kpi_reports.normalise import company_key, normalise_text
from kenshu.kpi_reports.recorder import Recorder, Source
from kenshu.kpi_reports.store import CompanyEvent, ValueAdded

logger = logging.getLogger(__name__)

EVENT_KINDS = ("introduced", "developed")


@dataclass(frozen=True)
class EventResult:
    """Whether ``add_company_event`` stored a new event (False when the same one was there)."""

    added: bool
    event_id: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def add_company_event(
    *,
    company: str,
    kind: str,
    date: dt.date,
    course_id: str = "",
    evidence: str = "",
    db: str | Path | sessionmaker[Session] | None = None,
    source: str = "kenshu kpi event add",
) -> EventResult:
    """Record that *company* introduced AI/IoT or developed an AI system on *date*.

    Raises
    ------
    ValueError
        If *kind* is not ``introduced`` or ``developed``, or *company* is empty.
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"kind must be one of {EVENT_KINDS}, got {kind!r}")
    if not company_key(company):
        raise ValueError("company must not be empty")
    course_key = normalise_text(course_id)
    evidence = normalise_text(evidence)

    with _open(db)() as session, session.begin():
        recorder = Recorder(session)
        company_row = recorder.company(company, Source(source))
        if course_key:
            recorder.course(course_key, Source(source), company=company)
        existing = session.scalar(
            select(CompanyEvent).where(
                CompanyEvent.company_id == company_row.id,
                CompanyEvent.kind == kind,
                CompanyEvent.date == date,
                CompanyEvent.course_key == course_key,
                CompanyEvent.evidence == evidence,
            )
        )
        if existing is not None:
            return EventResult(False, existing.id)
        row = CompanyEvent(
            company_id=company_row.id,
            kind=kind,
            date=date,
            course_key=course_key,
            evidence=evidence,
            recorded_at=_now(),
            source_file=source,
        )
        session.add(row)
        session.flush()
        logger.info("event %s of %s on %s recorded (id %d)", kind, company, date, row.id)
        return EventResult(True, row.id)


def set_value_added(
    year: int, million_yen: float, *, note: str = "", db: str | Path | sessionmaker[Session] | None = None
) -> float | None:
    """Enter the value-added figure of fiscal *year* in million yen; return the figure it replaced, if any.

    Raises
    ------
    ValueError
        If *million_yen* is negative or not a finite number.
    """
    if not (million_yen >= 0) or million_yen == float("inf"):
        raise ValueError(f"value added must be a finite number of million yen, 0 or more, got {million_yen!r}")
    with _open(db)() as session, session.begin():
        row = session.get(ValueAdded, year)
        previous = row.million_yen if row else None
        if row is None:
            session.add(ValueAdded(fiscal_year=year, million_yen=million_yen, note=note, entered_at=_now()))
        else:
            row.million_yen, row.note, row.entered_at = million_yen, note, _now()
    return previous
