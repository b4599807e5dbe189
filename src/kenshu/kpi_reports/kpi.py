"""The four KPIs per fiscal year, computed from the store with the plan's rules.

- trainees: people who attended at least ``min_session_share`` of a course's
  sessions, counted in the fiscal year in which they reached that share, and
  once per year when ``count_once_per_year`` is set;
- ai_iot_companies / ai_system_companies: companies with an ``introduced`` /
  ``developed`` event in the year, each company once per year;
- value_added: the figure the coordinator entered for the year.

A year without any record (no session, sign-in record, submission or hub
activity dated in it, no company event, no value-added entry) has no actual
values at all: each is None, shown as "—", never as 0. A year with records
keeps its true zeros.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kenshu.kpi_reports.fiscal import fiscal_year, fiscal_year_bounds
from kenshu.kpi_reports.normalise import Status
from kenshu.kpi_reports.plan import KPI_IDS, Plan
from kenshu.kpi_reports.store import (
    Attendance,
    Company,
    CompanyEvent,
    Course,
    HubActivity,
    Submission,
    Trainee,
    TrainingSession,
    ValueAdded,
)

EVENT_KINDS = {"ai_iot_companies": "introduced", "ai_system_companies": "developed"}


@dataclass(frozen=True)
class CountedTrainee:
    """A trainee who counts for a course: when they reached the share, and the evidence per session.

    Internal detail only: never put ``trainee_key`` or ``name`` in a public report.
    """

    trainee_key: str
    name: str
    company: str
    course_id: str
    qualified_on: dt.date
    attended: int
    sessions: int
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class CountedEvent:
    """A company event that made a company count for a KPI."""

    company: str
    kind: str
    date: dt.date
    course_id: str
    evidence: str


@dataclass
class YearActuals:
    """The actual value of each KPI in one fiscal year, with what made the count.

    ``has_records`` is False for a year without any record in the store. Its
    values are then all None ("no data"), not 0.
    """

    year: int
    values: dict[str, float | None]
    trainees: list[CountedTrainee] = field(default_factory=list)
    events: dict[str, list[CountedEvent]] = field(default_factory=dict)
    has_records: bool = True


def _required_sessions(share: float, sessions: int) -> int:
    # A small tolerance keeps 0.5 × 4 = 2 from becoming 3 through float rounding.
    return max(1, math.ceil(share * sessions - 1e-9))


def attended_sessions(session: Session, plan: Plan) -> dict[tuple[int, int], dict[int, str]]:
    """Return {(course row id, trainee row id): {session row id: evidence}} for every attended session.

    The evidence is ``file:row`` of the sign-in sheet, ``nbgrader:<assignment>``
    of a submission within the plan's ``nbgrader_evidence`` window, or
    ``hub:<hub URL>`` of JupyterHub activity within its ``hub_evidence`` window.
    """
    rules = plan.rules
    attended_values = {status.value for status in rules.attended_statuses}
    result: dict[tuple[int, int], dict[int, str]] = defaultdict(dict)
    recorded: dict[tuple[int, int], str] = {}

    # 1. Sign-in sheets.
    query = select(Attendance.session_id, Attendance.trainee_id, Attendance.status, Attendance.source_file, Attendance.source_row, TrainingSession.course_id).join(
        TrainingSession, Attendance.session_id == TrainingSession.id
    )
    for session_id, trainee_id, status, source_file, source_row, course_id in session.execute(query):
        recorded[(session_id, trainee_id)] = status
        if status in attended_values:
            result[(course_id, trainee_id)][session_id] = f"{source_file}:{source_row}"

    # 2. nbgrader submissions and hub activity near a session day, where the sheet has no record.
    sessions_by_course: dict[int, list[tuple[int, dt.date]]] = defaultdict(list)
    for session_id, course_id, date in session.execute(select(TrainingSession.id, TrainingSession.course_id, TrainingSession.date)):
        sessions_by_course[course_id].append((session_id, date))
    zone = ZoneInfo(rules.time_zone)
    evidence_sources = (
        (
            rules.nbgrader_evidence,
            select(Submission.course_id, Submission.trainee_id, Submission.assignment, Submission.timestamp).where(
                Submission.timestamp.is_not(None)
            ),
            "nbgrader:{}",
        ),
        (
            rules.hub_evidence,
            select(HubActivity.course_id, HubActivity.trainee_id, HubActivity.source_file, HubActivity.timestamp),
            "hub:{}",
        ),
    )
    for window, query, label in evidence_sources:
        if not window.enabled:
            continue
        before, after = dt.timedelta(days=window.days_before), dt.timedelta(days=window.days_after)
        for course_id, trainee_id, what, timestamp in session.execute(query):
            day = timestamp.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()
            for session_id, date in sessions_by_course.get(course_id, []):
                if not (date - before <= day <= date + after):
                    continue
                stored = recorded.get((session_id, trainee_id))
                if stored is None or (stored == Status.ABSENT.value and window.overrides_absent):
                    result[(course_id, trainee_id)].setdefault(session_id, label.format(what))

    return result


def counted_trainees(session: Session, plan: Plan) -> list[CountedTrainee]:
    """Return every (trainee, course) pair that reached the plan's minimum share of sessions."""
    session_dates = {row.id: (row.course_id, row.date) for row in session.scalars(select(TrainingSession))}
    sessions_per_course: dict[int, int] = defaultdict(int)
    for course_id, _ in session_dates.values():
        sessions_per_course[course_id] += 1
    courses = {row.id: row.course_id for row in session.scalars(select(Course))}
    companies = {row.id: row.name for row in session.scalars(select(Company))}
    trainees = {row.id: row for row in session.scalars(select(Trainee))}

    counted = []
    for (course_id, trainee_id), attended in attended_sessions(session, plan).items():
        required = _required_sessions(plan.rules.min_session_share, sessions_per_course[course_id])
        if len(attended) < required:
            continue
        ordered = sorted(attended, key=lambda session_id: session_dates[session_id][1])
        trainee = trainees[trainee_id]
        counted.append(
            CountedTrainee(
                trainee_key=trainee.key,
                name=trainee.name,
                company=companies.get(trainee.company_id, "") if trainee.company_id else "",
                course_id=courses[course_id],
                qualified_on=session_dates[ordered[required - 1]][1],
                attended=len(attended),
                sessions=sessions_per_course[course_id],
                evidence=tuple(attended[session_id] for session_id in ordered),
            )
        )
    return counted


def year_has_records(session: Session, plan: Plan, year: int) -> bool:
    """Return whether the store contains any record dated in fiscal *year*.

    A record is a training session (sign-in records belong to one), an
    nbgrader submission or hub activity (their UTC time read in the plan's
    time zone), a company event, or a value-added entry.
    """
    first_day, last_day = fiscal_year_bounds(year)
    if session.get(ValueAdded, year) is not None:
        return True
    checks = [
        select(TrainingSession.id).where(TrainingSession.date >= first_day, TrainingSession.date <= last_day),
        select(CompanyEvent.id).where(CompanyEvent.date >= first_day, CompanyEvent.date <= last_day),
    ]
    # Stored timestamps are naive UTC: compare with the year's bounds in the plan's time zone.
    zone = ZoneInfo(plan.rules.time_zone)
    start, end = (
        dt.datetime.combine(day, dt.time(), zone).astimezone(dt.timezone.utc).replace(tzinfo=None)
        for day in (first_day, last_day + dt.timedelta(days=1))
    )
    for column in (Submission.timestamp, HubActivity.timestamp):
        checks.append(select(column).where(column >= start, column < end))
    return any(session.execute(query.limit(1)).first() is not None for query in checks)


def compute_year(session: Session, plan: Plan, year: int, *, counted: list[CountedTrainee] | None = None) -> YearActuals:
    """Return the actual value of each KPI in fiscal *year* (all None when the year has no records)."""
    if not year_has_records(session, plan, year):
        return YearActuals(year, dict.fromkeys(KPI_IDS), events={kpi: [] for kpi in EVENT_KINDS}, has_records=False)
    if counted is None:
        counted = counted_trainees(session, plan)
    first_day, last_day = fiscal_year_bounds(year)

    # 1. Trainees: the pairs that qualified this year, one per person when counted once per year.
    in_year = sorted((item for item in counted if fiscal_year(item.qualified_on) == year), key=lambda item: item.qualified_on)
    if plan.rules.count_once_per_year:
        seen: set[str] = set()
        trainees = []
        for item in in_year:
            if item.trainee_key not in seen:
                seen.add(item.trainee_key)
                trainees.append(item)
    else:
        trainees = in_year
    values: dict[str, float | None] = {"trainees": len(trainees)}

    # 2. Company events: each company once per KPI and year; every event is kept as the reason.
    events: dict[str, list[CountedEvent]] = {}
    for kpi, kind in EVENT_KINDS.items():
        query = (
            select(CompanyEvent, Company.name)
            .join(Company, CompanyEvent.company_id == Company.id)
            .where(CompanyEvent.kind == kind, CompanyEvent.date >= first_day, CompanyEvent.date <= last_day)
            .order_by(CompanyEvent.date)
        )
        rows = [CountedEvent(name, row.kind, row.date, row.course_key, row.evidence) for row, name in session.execute(query)]
        events[kpi] = rows
        values[kpi] = len({row.company for row in rows})

    # 3. Value added, as entered.
    entry = session.get(ValueAdded, year)
    values["value_added"] = entry.million_yen if entry else None

    return YearActuals(year, values, trainees, events)


@dataclass
class KpiRow:
    """One KPI in the report year: target, actual, rate, and totals since the plan's first year.

    ``cumulative_actual`` sums the years that have records. ``cumulative_target``
    sums the plan's targets of every year from its first year, with or without
    records. A year whose records were never imported therefore lowers the
    cumulative rate instead of disappearing from it.
    """

    kpi: str
    target: float | None
    actual: float | None
    rate: float | None
    cumulative_target: float | None
    cumulative_actual: float | None
    cumulative_rate: float | None


def _rate(actual: float | None, target: float | None) -> float | None:
    if actual is None or not target:
        return None
    return actual / target


def kpi_rows(plan: Plan, actuals: dict[int, YearActuals], year: int) -> list[KpiRow]:
    """Return the report's KPI rows for *year*, cumulated over the plan's years up to *year*.

    Years without records add nothing to the cumulative actual (their values
    are None) but their targets stay in the cumulative target.
    """
    years = [item for item in range(plan.first_year, year + 1)]
    rows = []
    for kpi in KPI_IDS:
        targets = [plan.target(kpi, item) for item in years]
        values = [actuals[item].values.get(kpi) if item in actuals else None for item in years]
        cumulative_target = sum(value for value in targets if value is not None) if any(v is not None for v in targets) else None
        cumulative_actual = sum(value for value in values if value is not None) if any(v is not None for v in values) else None
        target = plan.target(kpi, year)
        actual = actuals[year].values.get(kpi)
        rows.append(
            KpiRow(
                kpi,
                target,
                actual,
                _rate(actual, target),
                cumulative_target,
                cumulative_actual,
                _rate(cumulative_actual, cumulative_target),
            )
        )
    return rows


def compute_actuals(session: Session, plan: Plan, years: list[int]) -> dict[int, YearActuals]:
    """Return the actuals of every year in *years*, sharing one pass over the attendance."""
    counted = counted_trainees(session, plan)
    return {year: compute_year(session, plan, year, counted=counted) for year in years}


def attendance_by_trainee(
    course_id: str, *, db: object = None, plan: Plan | None = None
) -> dict[str, tuple[int, int]]:
    """Return {trainee key: (sessions attended, sessions of the course)} for one course.

    Only trainees with at least one sign-in record or submission in the
    course are listed. Sign-in records and nbgrader evidence are combined by the plan's rules
    (the default rules when *plan* is None). The trainee key is the roster id
    when one is known. For the office and the demo's summary; not for a
    public report.
    """
    from kenshu.kpi_reports.importer import _open
    from kenshu.kpi_reports.plan import Rules

    plan = plan or Plan(targets={0: {}}, rules=Rules())
    with _open(db)() as session:
        course = session.scalar(select(Course).where(Course.course_id == course_id))
        if course is None:
            return {}
        total = len(course.sessions)
        keys = {row.id: row.key for row in session.scalars(select(Trainee))}
        attended = attended_sessions(session, plan)
        enrolled = {
            trainee_id
            for trainee_id in session.scalars(
                select(Attendance.trainee_id).join(TrainingSession).where(TrainingSession.course_id == course.id)
            )
        } | set(session.scalars(select(Submission.trainee_id).where(Submission.course_id == course.id)))
        result = {keys[trainee_id]: (len(attended.get((course.id, trainee_id), {})), total) for trainee_id in enrolled}
    return dict(sorted(result.items()))
