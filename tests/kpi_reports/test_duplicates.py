"""The possible-duplicate report: listed for a person to confirm, never merged."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from kenshu.kpi_reports.duplicates import find_possible_duplicates
from kenshu.kpi_reports.importer import import_signin_sheet
from kenshu.kpi_reports.store import Trainee

from .kpi_helpers import COMPANY, HEADER, SAMPLE_SHEET, write_sheet


def test_typo_listed_without_roster(db) -> None:
    import_signin_sheet(SAMPLE_SHEET, db=db, course_id="c1")
    found = find_possible_duplicates(db=db)
    assert len(found) == 1
    assert {found[0].first_name, found[0].second_name} == {"田中 健", "田中 建"}
    assert "出席簿_2026.csv:19" in str(found[0])


def test_nothing_merged(db) -> None:
    import_signin_sheet(SAMPLE_SHEET, db=db, course_id="c1")
    find_possible_duplicates(db=db)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Trainee)) == 7


def test_id_and_name_only_listed(tmp_path: Path, db, roster) -> None:
    import_signin_sheet(write_sheet(tmp_path / "a.csv", [HEADER, ("2026/6/4", "山田 太郎", COMPANY, "出")]), db=db, course=roster)
    import_signin_sheet(write_sheet(tmp_path / "b.csv", [HEADER, ("2026/6/4", "山田太郎", COMPANY, "出")]), db=db, course_id="other")
    found = find_possible_duplicates(db=db)
    pairs = {(item.first_key, item.second_key) for item in found}
    assert ("s01", "name:山田太郎@株式会社さくら精工") in pairs


def test_roster_ids_not_listed(db, roster) -> None:
    # Six different roster ids: the roster vouches that they are six people.
    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    assert find_possible_duplicates(db=db) == []


def test_other_company_not_listed(tmp_path: Path, db) -> None:
    rows = [HEADER, ("2026/6/4", "田中 健", COMPANY, "出"), ("2026/6/4", "田中 建", "株式会社もみじ工業", "出")]
    import_signin_sheet(write_sheet(tmp_path / "a.csv", rows), db=db, course_id="c1")
    assert find_possible_duplicates(db=db) == []
