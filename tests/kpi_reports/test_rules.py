"""Counting rules of plan.yml: a changed rule changes the count, with no change to the code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kenshu.errors import KenshuError
from kenshu.kpi_reports.importer import import_signin_sheet
from kenshu.kpi_reports.kpi import compute_actuals
from kenshu.kpi_reports.plan import load_plan

from .kpi_helpers import COMPANY, HEADER, REPO, SAMPLE_SHEET, write_sheet

PLAN_TEMPLATE = """\
targets:
  2026: {{trainees: 30}}
  2027: {{trainees: 30}}
rules:
  min_session_share: {share}
  attended_statuses: {statuses}
  count_once_per_year: {once}
  nbgrader_evidence: {{enabled: false}}
"""


def _plan(tmp_path: Path, *, share: float = 0.5, statuses: str = "[present, late, left_early]", once: str = "true"):
    path = tmp_path / f"plan_{share}_{len(statuses)}_{once}.yml"
    path.write_text(PLAN_TEMPLATE.format(share=share, statuses=statuses, once=once), encoding="utf-8")
    return load_plan(path)


def _trainees(db, plan, year: int = 2026) -> float:  # noqa: ANN001
    with db() as session:
        return compute_actuals(session, plan, [year])[year].values["trainees"]


def test_sample_counts_five_at_half(tmp_path: Path, db, roster) -> None:
    # 田中 健 attended one of three sessions (his third row has the typo), so five of six count.
    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    assert _trainees(db, _plan(tmp_path, share=0.5)) == 5


def test_share_rule_changes_count(tmp_path: Path, db, roster) -> None:
    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    # Every session: 山田 (出出出), 高橋 (遅刻出出) and 伊藤 (出早退出); 佐藤 and 鈴木 missed one.
    assert _trainees(db, _plan(tmp_path, share=1.0)) == 3


def test_status_rule_changes_count(tmp_path: Path, db, roster) -> None:
    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    # Without 遅刻 and 早退 as attended, 高橋 and 伊藤 no longer attended every session.
    assert _trainees(db, _plan(tmp_path, share=1.0, statuses="[present]")) == 1


def test_once_per_year_across_courses(tmp_path: Path, db) -> None:
    rows = [HEADER + ("コースID",)]
    for course in ("c1", "c2"):
        rows.append(("2026/6/4", "山田 太郎", COMPANY, "出", course))
    import_signin_sheet(write_sheet(tmp_path / "two.csv", rows), db=db)
    assert _trainees(db, _plan(tmp_path, once="true")) == 1
    assert _trainees(db, _plan(tmp_path, once="false")) == 2


def test_counted_in_year_share_reached(tmp_path: Path, db) -> None:
    # Sessions on 31 March and 1 April: with every session required, the count falls in the new fiscal year.
    rows = [HEADER, ("2027/3/31", "山田 太郎", COMPANY, "出"), ("令和9年4月1日", "山田 太郎", COMPANY, "出")]
    import_signin_sheet(write_sheet(tmp_path / "edge.csv", rows), db=db, course_id="c1")
    plan = _plan(tmp_path, share=1.0)
    assert _trainees(db, plan, 2026) == 0
    assert _trainees(db, plan, 2027) == 1


def test_half_share_counts_in_earlier_year(tmp_path: Path, db) -> None:
    rows = [HEADER, ("2027/3/31", "山田 太郎", COMPANY, "出"), ("2027/4/1", "山田 太郎", COMPANY, "出")]
    import_signin_sheet(write_sheet(tmp_path / "edge.csv", rows), db=db, course_id="c1")
    plan = _plan(tmp_path, share=0.5)
    assert _trainees(db, plan, 2026) == 1
    assert _trainees(db, plan, 2027) == 0


def test_shipped_plan_has_published_targets() -> None:
    plan = load_plan(REPO / "kpi_reports" / "plan.yml")
    assert plan.first_year == 2019
    assert [plan.target("trainees", year) for year in (2019, 2020, 2021)] == [40, 40, 50]
    assert [plan.target("ai_iot_companies", year) for year in (2019, 2020, 2021)] == [5, 5, 5]
    assert [plan.target("ai_system_companies", year) for year in (2019, 2020, 2021)] == [0, 5, 5]
    assert [plan.target("value_added", year) for year in (2019, 2020, 2021)] == [1245, 1884, 1980]
    assert plan.target("trainees", 2026) is not None


def test_plan_invalid_rule_raises(tmp_path: Path) -> None:
    path = tmp_path / "plan.yml"
    path.write_text("targets: {2026: {trainees: 30}}\nrules: {min_session_share: 1.5}\n", encoding="utf-8")
    with pytest.raises(KenshuError) as caught:
        load_plan(path)
    assert "min_session_share" in str(caught.value)


def test_plan_unknown_kpi_raises(tmp_path: Path) -> None:
    path = tmp_path / "plan.yml"
    path.write_text("targets: {2026: {trainee: 30}}\n", encoding="utf-8")
    with pytest.raises(KenshuError) as caught:
        load_plan(path)
    assert "trainee" in str(caught.value)


def test_plan_missing_raises(tmp_path: Path) -> None:
    with pytest.raises(KenshuError):
        load_plan(tmp_path / "none.yml")


def test_event_dates_by_fiscal_year(tmp_path: Path, db) -> None:
    from kenshu.kpi_reports.events import add_company_event

    add_company_event(company="株式会社さくら精工", kind="introduced", date=dt.date(2027, 3, 31), evidence="a", db=db)
    add_company_event(company="(株)さくら精工", kind="introduced", date=dt.date(2026, 9, 1), evidence="b", db=db)
    add_company_event(company="株式会社もみじ工業", kind="introduced", date=dt.date(2027, 4, 1), evidence="c", db=db)
    plan = _plan(tmp_path)
    with db() as session:
        actuals = compute_actuals(session, plan, [2026, 2027])
    assert actuals[2026].values["ai_iot_companies"] == 1  # one company, two events
    assert len(actuals[2026].events["ai_iot_companies"]) == 2
    assert actuals[2027].values["ai_iot_companies"] == 1


def test_attendance_by_trainee(db, roster) -> None:
    from kenshu.kpi_reports.kpi import attendance_by_trainee

    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    table = attendance_by_trainee("sakura-press-2026", db=db)
    assert table["s01"] == (3, 3)
    assert table["s05"] == (1, 3)
    assert table["s02"] == (2, 3)
    assert attendance_by_trainee("no-such-course", db=db) == {}
