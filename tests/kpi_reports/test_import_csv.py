"""Import of CSV sign-in sheets: encodings, office mess, rejected rows and re-import."""

from __future__ import annotations

import codecs
import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kenshu.errors import KenshuError
from kenshu.kpi_reports.importer import import_signin_sheet
from kenshu.kpi_reports.store import Attendance, ImportedFile, Trainee, TrainingSession

from .kpi_helpers import COMPANY, COURSE_ID, HEADER, SAMPLE_SHEET, full_sheet_rows, write_sheet


def _count(db, model) -> int:  # noqa: ANN001
    with db() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("encoding", ["cp932", "shift_jis", "utf-8", "utf-8-sig"])
def test_encodings_import_alike(tmp_path: Path, db, roster, encoding: str) -> None:
    path = write_sheet(tmp_path / f"sheet_{encoding}.csv", full_sheet_rows(), encoding=encoding)
    result = import_signin_sheet(path, db=db, course=roster)
    assert result.added == 18
    assert result.rejected == []


def test_encoding_detected(tmp_path: Path, db, roster) -> None:
    cp932 = import_signin_sheet(write_sheet(tmp_path / "a.csv", full_sheet_rows(), encoding="cp932"), db=db, course=roster)
    bom = import_signin_sheet(write_sheet(tmp_path / "b.csv", full_sheet_rows()[:3], encoding="utf-8-sig"), db=db, course=roster)
    plain = import_signin_sheet(write_sheet(tmp_path / "c.csv", full_sheet_rows()[:4], encoding="utf-8"), db=db, course=roster)
    assert cp932.encoding == "cp932"
    assert bom.encoding == "utf-8-sig"
    assert plain.encoding == "utf-8"


def test_bom_not_in_first_header(tmp_path: Path, db, roster) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + "日付,氏名,出欠\r\n2026/6/4,山田 太郎,出\r\n".encode())
    result = import_signin_sheet(path, db=db, course=roster)
    assert result.added == 1


def test_sample_sheet_counts(db, roster) -> None:
    result = import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    assert result.encoding == "cp932"
    assert result.rows_read == 18
    assert result.added == 17
    assert len(result.rejected) == 1


def test_sample_sheet_typo_reported(db, roster) -> None:
    result = import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    rejected = result.rejected[0]
    assert rejected.row == 19
    assert "田中 建" in rejected.reason
    assert "田中 健 (s05)" in rejected.reason
    assert str(SAMPLE_SHEET) in str(rejected)


def test_unknown_name_without_close_match(tmp_path: Path, db, roster) -> None:
    rows = full_sheet_rows()
    date = rows[1][0]
    rows.append((date, "ジョン スミス", COMPANY, "出"))

    result = import_signin_sheet(write_sheet(tmp_path / "sheet.csv", rows), db=db, course=roster)

    assert len(result.rejected) == 1
    reason = result.rejected[0].reason
    assert "ジョン スミス" in reason
    assert "似た名前もありません" in reason
    assert "近い名前" not in reason


def test_same_id_other_person_rejected(tmp_path: Path, db, roster) -> None:
    from kenshu.kpi_reports.roster import Roster, RosterEntry

    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    # A second company's course numbers its trainees s01, s02 as well.
    other = Roster(
        [RosterEntry("s01", "森 一郎", "北陸電子株式会社")],
        course_id="kita-iot-2026",
        company="北陸電子株式会社",
        session_dates=[dt.date(2026, 10, 7)],
        source="kita/course.yml",
    )
    sheet = write_sheet(tmp_path / "kita.csv", [HEADER, ("2026/10/7", "森 一郎", "北陸電子株式会社", "出")])
    with db() as session:
        trainees_before = session.scalar(select(func.count()).select_from(Trainee))

    with pytest.raises(KenshuError) as raised:
        import_signin_sheet(sheet, db=db, course=other)

    assert "受講者ID s01 (森 一郎)" in str(raised.value)
    assert "山田 太郎" in str(raised.value)
    assert "kita-iot-2026-s01" in str(raised.value)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Trainee)) == trainees_before


def test_same_id_same_person_accepted(tmp_path: Path, db, roster) -> None:
    from kenshu.kpi_reports.roster import Roster, RosterEntry

    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    # The same person under the same id, the name written with a full-width space: not another person.
    respaced = Roster(
        [RosterEntry(entry.trainee_id, entry.name.replace(" ", "\u3000"), entry.company) for entry in roster.entries],
        course_id=roster.course_id,
        company=roster.company,
        session_dates=roster.session_dates,
        source="course.yml",
    )

    again = import_signin_sheet(shutil.copy(SAMPLE_SHEET, tmp_path / "copy.csv"), db=db, course=respaced, force=True)

    assert again.added == 0
    assert again.present == 17


def test_all_rejected_file_read_again(tmp_path: Path, db, roster) -> None:
    from kenshu.kpi_reports.roster import Roster, RosterEntry

    # The wrong roster first: every name is unknown, so no row can be used.
    wrong = Roster([RosterEntry("x01", "別人 一人", COMPANY)], course_id=COURSE_ID, company=COMPANY, source="wrong.yml")
    first = import_signin_sheet(SAMPLE_SHEET, db=db, course=wrong)
    assert first.added == 0
    assert len(first.rejected) == first.rows_read

    # The corrected command reads the same file again without --force.
    second = import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    assert not second.already_imported
    assert second.added == 17


def test_sample_sheet_marks_stored(db, roster) -> None:
    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    with db() as session:
        rows = session.execute(
            select(Trainee.trainee_id, TrainingSession.date, Attendance.status)
            .join(Attendance.trainee)
            .join(Attendance.session)
        ).all()
    statuses = {(trainee_id, date): status for trainee_id, date, status in rows}
    assert statuses[("s02", dt.date(2026, 6, 4))] == "present"  # 〇, full-width date, ideographic space
    assert statuses[("s03", dt.date(2026, 6, 4))] == "present"  # 鈴木一郎 without the space, (株)
    assert statuses[("s04", dt.date(2026, 6, 4))] == "late"
    assert statuses[("s02", dt.date(2026, 6, 18))] == "absent"  # R8.6.18
    assert statuses[("s06", dt.date(2026, 6, 18))] == "left_early"
    assert statuses[("s03", dt.date(2026, 7, 2))] == "absent"  # ×
    assert ("s05", dt.date(2026, 7, 2)) not in statuses


def test_reimport_same_file_adds_nothing(db, roster) -> None:
    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    again = import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    assert again.already_imported
    assert again.added == 0
    assert _count(db, Attendance) == 17
    assert _count(db, ImportedFile) == 1


def test_reimport_renamed_file_adds_nothing(tmp_path: Path, db, roster) -> None:
    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    copy = shutil.copy(SAMPLE_SHEET, tmp_path / "出席簿_2026_コピー.csv")
    again = import_signin_sheet(copy, db=db, course=roster)
    assert again.already_imported
    assert _count(db, Attendance) == 17


def test_same_rows_in_other_file_add_nothing(tmp_path: Path, db, roster) -> None:
    first = write_sheet(tmp_path / "june.csv", full_sheet_rows()[:7])
    import_signin_sheet(first, db=db, course=roster)
    # Same rows, other encoding and extra rows: different bytes, so the rows themselves must be recognised.
    merged = write_sheet(tmp_path / "all.csv", full_sheet_rows(), encoding="utf-8-sig")
    result = import_signin_sheet(merged, db=db, course=roster)
    assert result.present == 6
    assert result.added == 12
    assert _count(db, Attendance) == 18


def test_force_reads_again_without_doubling(db, roster) -> None:
    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    again = import_signin_sheet(SAMPLE_SHEET, db=db, course=roster, force=True)
    assert again.present == 17
    assert again.added == 0
    assert _count(db, Attendance) == 17


def test_blank_lines_skipped(tmp_path: Path, db, roster) -> None:
    rows = full_sheet_rows()[:3]
    rows.insert(2, ())
    rows.insert(2, (",,,",))
    result = import_signin_sheet(write_sheet(tmp_path / "blank.csv", rows), db=db, course=roster)
    assert result.rows_read == 2
    assert result.rejected == []


def test_bad_rows_reported_and_import_goes_on(tmp_path: Path, db, roster) -> None:
    rows = [
        HEADER,
        ("2026/6/4", "山田 太郎", COMPANY, "出"),
        ("来週", "佐藤 花子", COMPANY, "出"),
        ("2026/6/4", "鈴木 一郎", COMPANY, "？"),
        ("2026/6/5", "高橋 美咲", COMPANY, "出"),
        ("2026/6/4", "", COMPANY, "出"),
        ("2026/6/4", "田中 健", "株式会社もみじ工業", "出"),
        ("2026/6/4", "伊藤 さくら", COMPANY, "出"),
    ]
    result = import_signin_sheet(write_sheet(tmp_path / "bad.csv", rows), db=db, course=roster)
    reasons = {item.row: item.reason for item in result.rejected}
    assert result.added == 2
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert "来週" in reasons[3]
    assert "？" in reasons[4]
    assert "2026-06-05" in reasons[5]
    assert "氏名" in reasons[6]
    assert "株式会社もみじ工業" in reasons[7]


def test_conflicting_mark_keeps_first(tmp_path: Path, db, roster) -> None:
    import_signin_sheet(write_sheet(tmp_path / "a.csv", [HEADER, ("2026/6/4", "山田 太郎", COMPANY, "出")]), db=db, course=roster)
    result = import_signin_sheet(write_sheet(tmp_path / "b.csv", [HEADER, ("2026/6/4", "山田太郎", COMPANY, "欠")]), db=db, course=roster)
    assert result.added == 0
    assert len(result.rejected) == 1
    assert "出" in result.rejected[0].reason
    with db() as session:
        assert session.scalar(select(Attendance.status)) == "present"


def test_trainee_id_column(tmp_path: Path, db, roster) -> None:
    rows = [("日付", "受講者ID", "出欠"), ("2026/6/4", "ｓ０１", "出"), ("2026/6/4", "s99", "出")]
    result = import_signin_sheet(write_sheet(tmp_path / "ids.csv", rows), db=db, course=roster)
    assert result.added == 1
    assert "s99" in result.rejected[0].reason


def test_source_traced_to_row(db, roster) -> None:
    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    with db() as session:
        record = session.scalar(
            select(Attendance).join(Attendance.trainee).join(Attendance.session).where(
                Trainee.trainee_id == "s06", TrainingSession.date == dt.date(2026, 6, 18)
            )
        )
    assert record.source_file == str(SAMPLE_SHEET)
    assert record.source_row == 14
    assert record.mark == "早退"


def test_without_roster_needs_course(tmp_path: Path, db) -> None:
    result = import_signin_sheet(write_sheet(tmp_path / "a.csv", full_sheet_rows()[:2]), db=db)
    assert result.added == 0
    assert "--course" in result.rejected[0].reason


def test_without_roster_names_become_trainees(tmp_path: Path, db) -> None:
    rows = [HEADER, ("2026/6/4", "山田 太郎", COMPANY, "出"), ("2026/6/18", "山田太郎", "(株)さくら精工", "出")]
    result = import_signin_sheet(write_sheet(tmp_path / "a.csv", rows), db=db, course_id="c1")
    assert result.added == 2
    assert _count(db, Trainee) == 1


def test_course_id_column(tmp_path: Path, db) -> None:
    rows = [("日付", "氏名", "会社名", "出欠", "コースID"), ("2026/6/4", "山田 太郎", COMPANY, "出", "c2")]
    import_signin_sheet(write_sheet(tmp_path / "a.csv", rows), db=db)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(TrainingSession)) == 1


def test_no_header_raises(tmp_path: Path, db, roster) -> None:
    path = write_sheet(tmp_path / "nohead.csv", [("a", "b"), ("1", "2")])
    with pytest.raises(KenshuError) as caught:
        import_signin_sheet(path, db=db, course=roster)
    assert "日付" in str(caught.value)


def test_unknown_encoding_raises(tmp_path: Path, db, roster) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\x81\x00\xff\xfe\x85" * 10)
    with pytest.raises(KenshuError) as caught:
        import_signin_sheet(path, db=db, course=roster)
    assert "Shift_JIS" in str(caught.value)


def test_missing_file_raises(tmp_path: Path, db) -> None:
    with pytest.raises(KenshuError):
        import_signin_sheet(tmp_path / "none.csv", db=db, course_id=COURSE_ID)


def test_roster_from_course_spec(db) -> None:
    from kenshu.courses.spec import load_course_spec

    from .kpi_helpers import REPO

    spec = load_course_spec(REPO / "courses" / "sample_press", module_ids={"01", "02", "03"})
    result = import_signin_sheet(SAMPLE_SHEET, db=db, course=spec)
    assert result.added == 17
    assert result.rejected[0].row == 19


def test_impossible_and_empty_dates_reported(tmp_path: Path, db, roster) -> None:
    rows = [
        HEADER,
        ("2026/6/31", "山田 太郎", COMPANY, "出"),
        ("", "佐藤 花子", COMPANY, "出"),
        ("2026/6/4", "鈴木 一郎", COMPANY, "出"),
    ]
    result = import_signin_sheet(write_sheet(tmp_path / "dates.csv", rows), db=db, course=roster)
    reasons = {item.row: item.reason for item in result.rejected}
    assert result.added == 1
    assert sorted(reasons) == [2, 3]
    assert "日付「2026/6/31」という日はありません (6月は30日まで)" in reasons[2]
    assert "読めません" not in reasons[2]
    assert "日付が空です" in reasons[3]


def test_grid_impossible_date_column_rejected(tmp_path: Path, db, roster) -> None:
    rows = [
        ("氏名", "会社名", "2026/6/4", "2026/6/31"),
        ("山田 太郎", COMPANY, "出", "出"),
        ("佐藤 花子", COMPANY, "出", ""),
    ]
    result = import_signin_sheet(write_sheet(tmp_path / "grid.csv", rows), db=db, course=roster)
    assert result.added == 2
    assert len(result.rejected) == 1
    assert result.rejected[0].row == 2
    assert "日付「2026/6/31」という日はありません (6月は30日まで)" in result.rejected[0].reason
