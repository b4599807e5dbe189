"""The ``kenshu attendance`` and ``kenshu kpi`` commands, run as a coordinator runs them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kenshu.cli import main

from .kpi_helpers import REPO, SAMPLE_SHEET

COURSE = REPO / "courses" / "sample_press"


def _empty_store(folder: Path) -> str:
    """Create an attendance store without records in *folder* and return its path."""
    from kenshu.kpi_reports.store import open_store

    open_store(folder / "a.sqlite")
    return str(folder / "a.sqlite")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_import_prints_summary(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "a.sqlite")
    status, out, _ = _run(capsys, "attendance", "import", str(SAMPLE_SHEET), "--db", db, "--course", str(COURSE))
    assert status == 0
    assert "18 行を読み、17 件を追加、0 件は登録済み、1 行は使えませんでした" in out
    assert "19行目" in out
    assert "田中 建" in out


def test_import_twice_adds_nothing(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "a.sqlite")
    copy = shutil.copy(SAMPLE_SHEET, tmp_path / "renamed.csv")
    _run(capsys, "attendance", "import", str(SAMPLE_SHEET), "--db", db, "--course", str(COURSE))
    status, out, _ = _run(capsys, "attendance", "import", str(copy), "--db", db, "--course", str(COURSE), "--force")
    assert status == 0
    assert "0 件を追加、17 件は登録済み" in out


def test_import_bad_file_goes_on(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "a.sqlite")
    missing = tmp_path / "none.csv"
    status, out, _ = _run(capsys, "attendance", "import", str(missing), str(SAMPLE_SHEET), "--db", db, "--course", str(COURSE))
    assert status == 1
    assert str(missing) in out
    assert "17 件を追加" in out
    assert "合計: 2 ファイル (読めなかったファイル 1)" in out


def test_report_writes_files(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "a.sqlite")
    _run(capsys, "attendance", "import", str(SAMPLE_SHEET), "--db", db, "--course", str(COURSE))
    status, out, _ = _run(capsys, "kpi", "report", "--fy", "2026", "--db", db, "--out", str(tmp_path / "out"))
    assert status == 0
    assert (tmp_path / "out" / "kpi_2026.html").is_file()
    assert (tmp_path / "out" / "kpi_2026.xlsx").is_file()
    assert (tmp_path / "out" / "kpi_2026.png").is_file()
    assert str(tmp_path / "out" / "kpi_2026.html") in out


def test_import_skips_lock_and_broken_workbook(tmp_path: Path, capsys) -> None:
    # A folder as the office has it: the sheet, Excel's lock file of an open workbook, and a file renamed to .xlsx.
    db = str(tmp_path / "a.sqlite")
    sheet = shutil.copy(SAMPLE_SHEET, tmp_path / "出席簿.csv")
    lock = tmp_path / "~$出席簿_第4回.xlsx"
    lock.write_bytes(b"\x0cuser" + b"\0" * 150)
    broken = tmp_path / "junk.xlsx"
    broken.write_bytes(b"not a zip file")

    status, out, err = _run(capsys, "attendance", "import", str(lock), str(broken), str(sheet), "--db", db, "--course", str(COURSE))

    assert status == 1
    assert "Traceback" not in err
    assert "一時ファイルなので取り込みません" in out
    assert str(broken) in out
    assert "17 件を追加" in out


def test_report_bad_plan_message(tmp_path: Path, capsys) -> None:
    status, _, err = _run(capsys, "kpi", "report", "--fy", "2026", "--db", _empty_store(tmp_path), "--plan", str(tmp_path / "none.yml"))
    assert status == 2
    assert "none.yml" in err


def test_event_add_twice(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "a.sqlite")
    argv = ["kpi", "event", "add", "--company", "株式会社さくら精工", "--kind", "introduced", "--date", "令和8年9月1日",
            "--course", "sakura-press-2026", "--evidence", "試験導入", "--db", db]
    _, first, _ = _run(capsys, *argv)
    _, second, _ = _run(capsys, *argv)
    _, listing, _ = _run(capsys, "kpi", "event", "list", "--fy", "2026", "--db", db)
    assert "記録しました" in first
    assert "記録済み" in second
    assert "AI・IoT導入企業数（社）: 1" in listing
    assert "2026-09-01" in listing


def test_value_added_command(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "a.sqlite")
    status, out, _ = _run(capsys, "kpi", "value-added", "--fy", "2026", "--million-yen", "320", "--db", db)
    assert status == 0
    assert "2026年度（令和8年度）" in out
    assert "320" in out


def test_nbgrader_missing_gradebook(tmp_path: Path, capsys) -> None:
    status, _, err = _run(capsys, "attendance", "import-nbgrader", "--gradebook", str(tmp_path / "none.db"),
                          "--course-id", "c1", "--db", str(tmp_path / "a.sqlite"))
    assert status == 2
    assert "none.db" in err


def test_duplicates_and_export(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "a.sqlite")
    _run(capsys, "attendance", "import", str(SAMPLE_SHEET), "--db", db, "--course-id", "c1")
    _, duplicates, _ = _run(capsys, "attendance", "duplicates", "--db", db)
    status, exported, _ = _run(capsys, "attendance", "export", "--course-id", "c1", "--out", str(tmp_path / "s.xlsx"), "--db", db)
    assert "1 組" in duplicates
    assert "田中 建" in duplicates
    assert status == 0
    assert (tmp_path / "s.xlsx").is_file()


def test_hub_import_needs_token(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("KENSHU_TEST_HUB_TOKEN", raising=False)
    status, _, err = _run(capsys, "attendance", "import-hub", "--hub-url", "http://127.0.0.1:9", "--course-id", "c1",
                          "--token-env", "KENSHU_TEST_HUB_TOKEN", "--db", str(tmp_path / "a.sqlite"))
    assert status == 2
    assert "KENSHU_TEST_HUB_TOKEN" in err


def test_report_internal_writes_both_versions(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "a.sqlite")
    out_dir = tmp_path / "out"
    _run(capsys, "attendance", "import", str(SAMPLE_SHEET), "--db", db, "--course", str(COURSE))
    status, out, _ = _run(capsys, "kpi", "report", "--fy", "2026", "--db", db, "--out", str(out_dir), "--internal")
    assert status == 0
    for stem in ("kpi_2026", "kpi_2026_internal"):
        for suffix in (".html", ".xlsx", ".png"):
            assert (out_dir / f"{stem}{suffix}").is_file()
            assert str(out_dir / f"{stem}{suffix}") in out
    assert "山田 太郎" not in (out_dir / "kpi_2026.html").read_text(encoding="utf-8")
    assert "山田 太郎" in (out_dir / "kpi_2026_internal.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("clock", "label"),
    [
        ("2027-03-31T14:59:00+00:00", "2026年度（令和8年度）"),
        ("2027-03-31T15:00:00+00:00", "2027年度（令和9年度）"),
    ],
)
def test_value_added_defaults_to_current_year(tmp_path: Path, capsys, monkeypatch, clock: str, label: str) -> None:
    import datetime as dt

    from kenshu.kpi_reports import fiscal

    monkeypatch.setattr(fiscal, "now_utc", lambda: dt.datetime.fromisoformat(clock))
    status, out, _ = _run(capsys, "kpi", "value-added", "--million-yen", "320", "--db", str(tmp_path / "a.sqlite"))
    assert status == 0
    assert label in out


def test_event_add_impossible_date(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["kpi", "event", "add", "--company", "株式会社さくら精工", "--kind", "introduced", "--date", "2026-09-31",
              "--evidence", "試験導入", "--db", str(tmp_path / "a.sqlite")])
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert "日付「2026-09-31」という日はありません (9月は30日まで)" in err
    assert not (tmp_path / "a.sqlite").exists()


@pytest.mark.parametrize(
    ("verb", "key"),
    [
        ("import", "kpi.cli.course_id_help"),
        ("import-nbgrader", "kpi.cli.nbgrader_course_id_help"),
        ("import-hub", "kpi.cli.hub_course_id_help"),
        ("export", "kpi.cli.export_course_id_help"),
    ],
)
def test_course_id_help_per_verb(capsys, verb: str, key: str) -> None:
    from kenshu.i18n import message

    with pytest.raises(SystemExit):
        main(["attendance", verb, "--help"])
    # argparse wraps the help text, so compare with the line breaks removed.
    help_text = "".join(capsys.readouterr().out.split())
    assert "".join(message(key).split()) in help_text


def test_report_year_before_plan(tmp_path: Path, capsys) -> None:
    status, _, err = _run(capsys, "kpi", "report", "--fy", "2018", "--db", _empty_store(tmp_path), "--out", str(tmp_path / "out"))
    assert status == 2
    assert "2018年度（平成30年度） は計画ファイル" in err
    assert "--fy で 2019 以降" in err
    assert not (tmp_path / "out").exists()


def test_report_year_without_targets(tmp_path: Path, capsys, caplog: pytest.LogCaptureFixture) -> None:
    # The bundled plan has targets for 2019 to 2021 and 2026. The 2027 report is written with a note on the missing targets.
    status, _, _ = _run(capsys, "kpi", "report", "--fy", "2027", "--db", _empty_store(tmp_path), "--out", str(tmp_path / "out"))
    page = (tmp_path / "out" / "kpi_2027.html").read_text(encoding="utf-8")
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    caplog.clear()
    with_targets = _run(capsys, "kpi", "report", "--fy", "2026", "--db", str(tmp_path / "a.sqlite"), "--out", str(tmp_path / "out"))

    assert status == 0
    assert any("2027年度（令和9年度）の目標が計画ファイル" in text and "targets に 2027 の行" in text for text in warnings)
    assert "2027年度（令和9年度）の目標は計画ファイル plan.yml にないため" in page
    assert with_targets[0] == 0
    assert not any("目標が計画ファイル" in record.getMessage() for record in caplog.records)
    assert "にないため、目標と達成率" not in (tmp_path / "out" / "kpi_2026.html").read_text(encoding="utf-8")


def test_read_only_commands_reject_missing_store(tmp_path: Path, capsys) -> None:
    # A mistyped --db must not create a new, empty store and an empty report.
    typo = tmp_path / "attendence_typo.sqlite"
    for argv in (
        ("kpi", "report", "--fy", "2026", "--db", str(typo), "--out", str(tmp_path / "out")),
        ("kpi", "event", "list", "--fy", "2026", "--db", str(typo)),
        ("attendance", "duplicates", "--db", str(typo)),
    ):
        status, _, err = _run(capsys, *argv)
        assert status == 2, argv
        assert f"出席データベース {typo} がありません" in err
    assert not typo.exists()
    assert not (tmp_path / "out").exists()


def test_store_folder_and_driver_messages(tmp_path: Path, capsys) -> None:
    (tmp_path / "dbdir").mkdir()
    status, out, err = _run(capsys, "kpi", "value-added", "--fy", "2026", "--million-yen", "10", "--db", str(tmp_path / "dbdir"))
    assert status == 2
    assert "はフォルダです" in err

    status, out, err = _run(capsys, "kpi", "value-added", "--fy", "2026", "--million-yen", "10", "--db", "postgresql://127.0.0.1:1/x")
    assert status == 2
    assert "Traceback" not in err
    assert "psycopg" in err


def test_event_and_value_inputs_in_japanese(tmp_path: Path, capsys, caplog: pytest.LogCaptureFixture) -> None:
    db = str(tmp_path / "a.sqlite")

    status, _, err = _run(capsys, "kpi", "event", "add", "--company", "  ", "--kind", "introduced", "--date", "2026-09-01", "--evidence", "試験導入", "--db", db)
    assert status == 2
    assert "--company に会社名を指定してください" in err
    assert "must not be empty" not in err

    status, _, err = _run(capsys, "kpi", "value-added", "--fy", "2026", "--million-yen", "-5", "--db", db)
    assert status == 2
    assert "--million-yen -5.0 は使えません" in err
    assert "finite number" not in err

    status, _, _ = _run(capsys, "kpi", "event", "add", "--company", "株式会社さくら精工", "--kind", "introduced", "--date", "2099-01-01", "--evidence", "導入予定", "--db", db)
    assert status == 0
    assert any("2099-01-01 は今日より後です" in record.getMessage() for record in caplog.records)
