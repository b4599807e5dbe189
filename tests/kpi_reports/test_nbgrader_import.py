"""nbgrader submissions as attendance evidence, read from a real gradebook made with nbgrader.api."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from pathlib import Path

import pytest
from .kpi_helpers import COURSE_ID, HEADER, COMPANY, write_sheet
from nbgrader.api import Gradebook
from sqlalchemy import func, select

from kenshu.errors import KenshuError
from kenshu.kpi_reports.importer import import_signin_sheet
from kenshu.kpi_reports.kpi import counted_trainees
from kenshu.kpi_reports.nbgrader_import import import_nbgrader_submissions
from kenshu.kpi_reports.plan import Plan, YearTargets
from kenshu.kpi_reports.store import Submission


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty gradebook made once: nbgrader stamps a new one by running ``alembic``, which takes seconds."""
    path = tmp_path_factory.mktemp("gradebook") / "empty.db"
    # The alembic script sits beside this interpreter, which need not be on PATH.
    previous = os.environ.get("PATH", "")
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + previous
    try:
        Gradebook(f"sqlite:///{path}", course_id=COURSE_ID).close()
    finally:
        os.environ["PATH"] = previous
    return path


@pytest.fixture
def make_gradebook(tmp_path: Path, empty_gradebook: Path):
    """Return a function that writes a gradebook with the given (assignment, student, timestamp) submissions."""

    def make(submissions: list[tuple[str, str, dt.datetime | None]]) -> str:
        path = tmp_path / "gradebook.db"
        shutil.copy(empty_gradebook, path)
        url = f"sqlite:///{path}"
        gradebook = Gradebook(url, course_id=COURSE_ID)
        try:
            for assignment in sorted({item[0] for item in submissions}):
                gradebook.add_assignment(assignment)
            for student in sorted({item[1] for item in submissions}):
                gradebook.add_student(student, first_name="名", last_name="姓")
            for assignment, student, timestamp in submissions:
                gradebook.add_submission(assignment, student, timestamp=timestamp)
        finally:
            gradebook.close()
        return url

    return make


# Timestamps in UTC, as nbgrader stores them: 06:00 UTC is 15:00 in Japan on the same day.
SUBMISSIONS = [
    ("01", "s01", dt.datetime(2026, 6, 4, 6, 0)),
    ("02", "s01", dt.datetime(2026, 6, 19, 1, 0)),
    ("01", "s05", dt.datetime(2026, 6, 4, 7, 0)),
    ("03", "s05", dt.datetime(2026, 7, 2, 7, 0)),
    ("02", "s05", dt.datetime(2026, 6, 25, 1, 0)),
]


def _plan(**evidence) -> Plan:  # noqa: ANN003
    return Plan.model_validate({"targets": {2026: YearTargets()}, "rules": {"min_session_share": 0.5, "nbgrader_evidence": evidence}})


def test_submissions_stored(tmp_path: Path, db, roster, make_gradebook) -> None:
    url = make_gradebook(SUBMISSIONS)
    result = import_nbgrader_submissions(url, course_id=COURSE_ID, db=db, course=roster)
    assert result.rows_read == 5
    assert result.added == 5
    assert result.rejected == []


def test_reimport_adds_nothing(tmp_path: Path, db, roster, make_gradebook) -> None:
    url = make_gradebook(SUBMISSIONS)
    import_nbgrader_submissions(url, course_id=COURSE_ID, db=db, course=roster)
    again = import_nbgrader_submissions(url, course_id=COURSE_ID, db=db, course=roster)
    assert again.added == 0
    assert again.present == 5
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 5


def test_path_accepted_as_gradebook(tmp_path: Path, db, roster, make_gradebook) -> None:
    make_gradebook(SUBMISSIONS)
    result = import_nbgrader_submissions(tmp_path / "gradebook.db", course_id=COURSE_ID, db=db, course=roster)
    assert result.added == 5


def test_unknown_student_reported(tmp_path: Path, db, roster, make_gradebook) -> None:
    url = make_gradebook(SUBMISSIONS + [("01", "guest", dt.datetime(2026, 6, 4, 12, 0))])
    result = import_nbgrader_submissions(url, course_id=COURSE_ID, db=db, course=roster)
    assert result.added == 5
    assert len(result.rejected) == 1
    assert "guest" in result.rejected[0].reason


def test_missing_timestamp_reported(tmp_path: Path, db, roster, make_gradebook) -> None:
    url = make_gradebook([("01", "s01", None)])
    result = import_nbgrader_submissions(url, course_id=COURSE_ID, db=db, course=roster)
    assert result.added == 1
    assert len(result.rejected) == 1


def test_unknown_course_leaves_gradebook_unchanged(tmp_path: Path, db, roster, make_gradebook) -> None:
    make_gradebook(SUBMISSIONS)
    path = tmp_path / "gradebook.db"
    before = path.read_bytes()

    with pytest.raises(KenshuError) as raised:
        import_nbgrader_submissions(path, course_id="typo-course-id", db=db, course=None)

    assert "講座 typo-course-id がありません" in str(raised.value)
    assert COURSE_ID in str(raised.value)
    assert path.read_bytes() == before
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0


def test_import_leaves_gradebook_unchanged(tmp_path: Path, db, roster, make_gradebook) -> None:
    make_gradebook(SUBMISSIONS)
    path = tmp_path / "gradebook.db"
    before = path.read_bytes()

    result = import_nbgrader_submissions(path, course_id=COURSE_ID, db=db, course=roster)

    assert result.added == 5
    assert path.read_bytes() == before


def test_missing_gradebook_raises(tmp_path: Path, db) -> None:
    with pytest.raises(KenshuError):
        import_nbgrader_submissions(tmp_path / "none.db", course_id=COURSE_ID, db=db)
    assert not (tmp_path / "none.db").exists()


def test_submission_counts_as_attendance(tmp_path: Path, db, roster, make_gradebook) -> None:
    # s05 has no sign-in record at all; two of three sessions have a submission within a day after.
    url = make_gradebook(SUBMISSIONS)
    import_nbgrader_submissions(url, course_id=COURSE_ID, db=db, course=roster)
    with db() as session:
        counted = {item.trainee_key: item for item in counted_trainees(session, _plan(days_after=1))}
    assert counted["s05"].attended == 2
    assert counted["s05"].evidence == ("nbgrader:01", "nbgrader:03")
    assert counted["s01"].attended == 2


def test_evidence_window_configurable(tmp_path: Path, db, roster, make_gradebook) -> None:
    url = make_gradebook(SUBMISSIONS)
    import_nbgrader_submissions(url, course_id=COURSE_ID, db=db, course=roster)
    with db() as session:
        same_day = {item.trainee_key: item.attended for item in counted_trainees(session, _plan(days_after=0))}
        week = {item.trainee_key: item.attended for item in counted_trainees(session, _plan(days_after=7))}
        disabled = counted_trainees(session, _plan(enabled=False))
    assert "s01" not in same_day  # s01 submitted 02 on the day after the second session, so with no days after only one session counts
    assert week["s05"] == 3
    assert disabled == []


def test_submission_day_in_plan_time_zone(db, roster, make_gradebook) -> None:
    # 20:00 UTC on 3 June is 05:00 on 4 June in Japan, the first session day.
    url = make_gradebook([("01", "s01", dt.datetime(2026, 6, 3, 20, 0)), ("02", "s01", dt.datetime(2026, 6, 18, 3, 0))])
    import_nbgrader_submissions(url, course_id=COURSE_ID, db=db, course=roster)
    tokyo = _plan(days_after=0)
    utc = tokyo.model_copy(update={"rules": tokyo.rules.model_copy(update={"time_zone": "UTC"})})
    with db() as session:
        in_tokyo = {item.trainee_key: item.attended for item in counted_trainees(session, tokyo)}
        in_utc = {item.trainee_key: item.attended for item in counted_trainees(session, utc)}
    assert in_tokyo["s01"] == 2
    assert "s01" not in in_utc


def test_sheet_absent_wins_over_submission(tmp_path: Path, db, roster, make_gradebook) -> None:
    rows = [HEADER, ("2026/6/4", "田中 健", COMPANY, "欠"), ("2026/7/2", "田中 健", COMPANY, "欠")]
    import_signin_sheet(write_sheet(tmp_path / "sheet.csv", rows), db=db, course=roster)
    import_nbgrader_submissions(make_gradebook(SUBMISSIONS), course_id=COURSE_ID, db=db, course=roster)
    with db() as session:
        kept = {item.trainee_key for item in counted_trainees(session, _plan(days_after=1))}
        overridden = {item.trainee_key for item in counted_trainees(session, _plan(days_after=1, overrides_absent=True))}
    assert "s05" not in kept
    assert "s05" in overridden
