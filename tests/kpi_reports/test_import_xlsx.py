"""Import of Excel sign-in workbooks: several sheets, merged cells, blank lines, the grid layout."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from .kpi_helpers import COMPANY, COURSE_ID
from sqlalchemy import func, select

from kenshu.errors import KenshuError
from kenshu.kpi_reports.export import export_course_sheet
from kenshu.kpi_reports.importer import import_signin_sheet
from kenshu.kpi_reports.store import Attendance, Trainee, TrainingSession


def _office_workbook(path: Path) -> Path:
    """A workbook as an office keeps it: a cover sheet, then one sheet per session day."""
    workbook = openpyxl.Workbook()
    cover = workbook.active
    cover.title = "表紙"
    cover["A1"] = "AI・IoT研修 出席簿"
    cover["A3"] = "記入上の注意: 出席は〇、欠席は×"

    first = workbook.create_sheet("6月4日")
    first["A1"] = "出席簿（第1回）"
    first.merge_cells("A1:D1")
    first.append([])
    first.append(["日付", "氏名", "会社名", "出欠"])
    first.append([dt.datetime(2026, 6, 4), "山田 太郎", COMPANY, "〇"])
    first.merge_cells("A4:A6")  # the date written once for the whole day
    first.append([None, "佐藤花子", COMPANY, "×"])
    first.append([])
    first.append([None, None, None, None])
    first.append(["2026/6/4", "鈴木　一郎", COMPANY, "遅刻"])

    second = workbook.create_sheet("6月18日")
    second.append(["受講者情報", None, "記録", None])
    second.merge_cells("A1:B1")
    second.merge_cells("C1:D1")
    second.append(["氏名", "会社名", "日付", "出欠"])
    second.append(["山田 太郎", COMPANY, "令和8年6月18日", "出"])
    second.append(["高橋 美咲", COMPANY, "R8.6.18", "早退"])
    second.append(["高橋 美咲", COMPANY, "未定", "出"])
    workbook.save(path)
    return path


def test_xlsx_sheets_imported(tmp_path: Path, db, roster) -> None:
    result = import_signin_sheet(_office_workbook(tmp_path / "出席簿.xlsx"), db=db, course=roster)
    assert result.encoding == "xlsx"
    assert result.added == 5
    assert len(result.rejected) == 1


def test_xlsx_merged_date_fills_rows(tmp_path: Path, db, roster) -> None:
    import_signin_sheet(_office_workbook(tmp_path / "出席簿.xlsx"), db=db, course=roster)
    with db() as session:
        rows = session.execute(
            select(Trainee.trainee_id, Attendance.status).join(Attendance.trainee).join(Attendance.session).where(
                TrainingSession.date == dt.date(2026, 6, 4)
            )
        ).all()
    assert dict(rows) == {"s01": "present", "s02": "absent", "s03": "late"}


def test_xlsx_rejected_row_names_sheet(tmp_path: Path, db, roster) -> None:
    result = import_signin_sheet(_office_workbook(tmp_path / "出席簿.xlsx"), db=db, course=roster)
    rejected = result.rejected[0]
    assert rejected.sheet == "6月18日"
    assert rejected.row == 5
    assert "未定" in rejected.reason


def test_xlsx_reimport_adds_nothing(tmp_path: Path, db, roster) -> None:
    path = _office_workbook(tmp_path / "出席簿.xlsx")
    import_signin_sheet(path, db=db, course=roster)
    again = import_signin_sheet(path, db=db, course=roster, force=True)
    assert again.added == 0
    assert again.present == 5


def test_xlsx_without_header_raises(tmp_path: Path, db, roster) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["メモ"])
    workbook.save(tmp_path / "memo.xlsx")
    with pytest.raises(KenshuError):
        import_signin_sheet(tmp_path / "memo.xlsx", db=db, course=roster)


def test_export_layout(tmp_path: Path, db, roster) -> None:
    import_signin_sheet(_office_workbook(tmp_path / "出席簿.xlsx"), db=db, course=roster)
    path = export_course_sheet(COURSE_ID, out=tmp_path / "export.xlsx", db=db)
    sheet = openpyxl.load_workbook(path).active
    header = [cell.value for cell in sheet[2]]
    assert header == ["受講者ID", "氏名", "会社名", "2026/6/4", "2026/6/18", "2026/7/2"]
    by_id = {row[0]: row for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert by_id["s02"][3] == "欠"
    assert by_id["s04"][4] == "早退"
    assert by_id["s04"][3] is None


def test_export_reimports_into_new_store(tmp_path: Path, db, roster) -> None:
    from kenshu.kpi_reports.store import open_store

    import_signin_sheet(_office_workbook(tmp_path / "出席簿.xlsx"), db=db, course=roster)
    path = export_course_sheet(COURSE_ID, out=tmp_path / "export.xlsx", db=db)
    other = open_store(tmp_path / "other.sqlite")
    result = import_signin_sheet(path, db=other, course=roster)
    assert result.added == 5
    assert result.rejected == []
    with other() as session:
        assert session.scalar(select(func.count()).select_from(Attendance)) == 5


def test_export_unknown_course_raises(tmp_path: Path, db) -> None:
    with pytest.raises(KenshuError):
        export_course_sheet("no-such-course", out=tmp_path / "x.xlsx", db=db)
