"""Fixtures of the attendance and KPI tests: the demo course's roster and a new store."""

from __future__ import annotations

from pathlib import Path

import pytest
from .kpi_helpers import COMPANY, COURSE_ID, SESSIONS, TRAINEES

from kenshu.kpi_reports.roster import Roster, RosterEntry
from kenshu.kpi_reports.store import open_store


@pytest.fixture
def roster() -> Roster:
    """The demo course's roster, as a course spec would give it."""
    return Roster(
        [RosterEntry(trainee_id, name, COMPANY) for trainee_id, name in TRAINEES],
        course_id=COURSE_ID,
        company=COMPANY,
        session_dates=list(SESSIONS),
        source="course.yml",
    )


@pytest.fixture
def db(tmp_path: Path):
    """A session factory of a new SQLite store in the test's folder."""
    return open_store(tmp_path / "attendance.sqlite")
