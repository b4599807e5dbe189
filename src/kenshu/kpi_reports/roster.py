"""The list of trainees an import checks names against: a course spec, or a plain list.

A sign-in sheet names people the way the office writes them. With a roster,
a name is matched to one trainee id by its name key (NFKC, spaces removed),
and a name that matches no roster entry is reported with the closest roster names
instead of becoming a new person.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kenshu.kpi_reports.normalise import company_key, name_key, normalise_text


@dataclass(frozen=True)
class RosterEntry:
    """One trainee of the roster."""

    trainee_id: str
    name: str
    company: str


@dataclass
class Roster:
    """The trainees of one course, and its session dates when the roster comes from a course spec."""

    entries: list[RosterEntry]
    course_id: str | None = None
    company: str | None = None
    session_dates: list[dt.date] | None = None
    source: str = ""
    _by_id: dict[str, RosterEntry] = field(init=False, repr=False)
    _by_name: dict[str, list[RosterEntry]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {entry.trainee_id: entry for entry in self.entries}
        self._by_name = {}
        for entry in self.entries:
            self._by_name.setdefault(name_key(entry.name), []).append(entry)

    def by_id(self, trainee_id: str) -> RosterEntry | None:
        """Return the entry with *trainee_id*, or None."""
        return self._by_id.get(normalise_text(trainee_id))

    def by_name(self, name: str) -> list[RosterEntry]:
        """Return the entries whose name has the same name key as *name* (usually one)."""
        return list(self._by_name.get(name_key(name), []))

    def closest(self, name: str, *, limit: int = 3) -> list[RosterEntry]:
        """Return up to *limit* entries whose names look like *name*, best first."""
        keys = difflib.get_close_matches(name_key(name), list(self._by_name), n=limit, cutoff=0.5)
        return [entry for key in keys for entry in self._by_name[key]][:limit]

    def same_company(self, entry: RosterEntry, company: str) -> bool:
        """Return whether *company*, as written on a sheet, is the company of *entry*."""
        return company_key(company) == company_key(entry.company)


def roster_from_spec(spec: Any) -> Roster:
    """Make a roster from a ``kenshu.courses.spec.CourseSpec``."""
    entries = [RosterEntry(trainee.id, trainee.name, trainee.company) for trainee in spec.trainees]
    source = str(Path(spec.course_dir) / "course.yml")
    return Roster(
        entries,
        course_id=spec.course_id,
        company=spec.company,
        session_dates=[session.date for session in spec.sessions],
        source=source,
    )


def make_roster(
    course: Any,
    *,
    course_id: str | None = None,
    session_dates: Sequence[dt.date] | None = None,
) -> Roster | None:
    """Return a roster from whatever the caller has.

    Parameters
    ----------
    course : Roster, CourseSpec, str, Path, iterable of (id, name, company), or None
        A course folder (or its course.yml) is read with
        ``kenshu.courses.spec.load_course_spec``.
    course_id, session_dates
        Used with a plain list of tuples, which carries neither.
    """
    if course is None or isinstance(course, Roster):
        return course
    if isinstance(course, (str, Path)):
        from kenshu.courses.spec import load_course_spec

        return roster_from_spec(load_course_spec(course))
    if hasattr(course, "trainees") and hasattr(course, "course_id"):
        return roster_from_spec(course)
    if isinstance(course, Iterable):
        entries = [RosterEntry(*(normalise_text(part) for part in item)) for item in course]
        return Roster(entries, course_id=course_id, session_dates=list(session_dates) if session_dates else None)
    raise ValueError(f"course must be a course folder, a CourseSpec or (id, name, company) tuples, got {course!r}")
