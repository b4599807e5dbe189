"""``kenshu demo`` end to end on a scratch course: build, grade, attendance, KPI report, summary."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kenshu.cli import main

REPO = Path(__file__).resolve().parents[1]

SIGN_IN_SHEET = """\
日付,氏名,会社名,出欠
2026/6/4,試験 一郎,株式会社テスト精機,出
2026/6/4,試験 二郎,株式会社テスト精機,〇
2026/6/4,試験 三郎,株式会社テスト精機,欠
令和8年6月18日,試験 一郎,株式会社テスト精機,出
R8.6.18,試験二郎,株式会社テスト精機,遅刻
2026-06-18,試験 4郎,株式会社テスト精機,出
2026/6/18,試験 九郎,株式会社テスト精機,出
"""


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, project_factory):
    """Run the demo once on a scratch project of six trainees and return (root, output)."""
    root = tmp_path_factory.mktemp("demo")
    course = project_factory(root, trainees=6)
    (root / "kpi_reports").mkdir()
    shutil.copy(REPO / "kpi_reports" / "plan.yml", root / "kpi_reports" / "plan.yml")
    (course / "attendance").mkdir()
    (course / "attendance" / "sheet.csv").write_bytes(SIGN_IN_SHEET.encode("cp932"))

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KENSHU_HOME", str(root))
        patch.setenv("KENSHU_LANG", "ja")
        patch.chdir(root)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            status = main(["demo", "--course", str(course)])
    return root, course, status, output.getvalue()


def _row(output: str, trainee: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(trainee + " "))


def test_demo_exits_cleanly(demo_run) -> None:
    _, _, status, output = demo_run
    assert status == 0
    assert "=== デモ結果: test-2026 ===" in output


def test_demo_summary_rows(demo_run) -> None:
    _, _, _, output = demo_run
    assert "全問正解" in _row(output, "t1")
    assert "4/7*" in _row(output, "t1")
    assert "途中まで" in _row(output, "t2")
    assert "2/7*" in _row(output, "t2")
    assert "よくある誤答" in _row(output, "t3")
    assert "0/7 " in _row(output, "t3")
    # An empty notebook is graded 0 as nbgrader grades it; the reason goes to the trainee's feedback.
    assert "空のノートブック" in _row(output, "t4")
    assert "0/7" in _row(output, "t4")
    assert "自動採点できず" not in _row(output, "t4")
    assert "途中でエラー" in _row(output, "t5")
    assert "2/7" in _row(output, "t5")
    assert "未提出" in _row(output, "t6")
    assert "* 記述式の解答は講師の採点待ちです" in output


def test_demo_attendance_from_sheet(demo_run) -> None:
    _, _, _, output = demo_run
    assert _row(output, "t1").rstrip().endswith("2/2")
    assert _row(output, "t2").rstrip().endswith("2/2")
    assert _row(output, "t3").rstrip().endswith("0/2")
    assert _row(output, "t4").rstrip().endswith("1/2")
    assert "試験 九郎" in output


def test_demo_files_exist(demo_run) -> None:
    root, course, _, output = demo_run
    grades = pd.read_csv(course / "_build" / "exports" / "grades.csv", encoding="utf-8-sig")
    report_dir = root / "kpi_reports" / "_build" / "demo" / "reports"

    assert len(grades) == 6
    assert (report_dir / "kpi_2026.html").is_file()
    assert (report_dir / "kpi_2026.xlsx").is_file()
    assert (report_dir / "kpi_2026.png").is_file()
    assert "kpi_reports/_build/demo/reports/kpi_2026.html" in output
    assert not (root / "kpi_reports" / "_build" / "attendance.sqlite").exists()


def test_demo_rerun_counts_nothing_twice(demo_run) -> None:
    root, course, _, first_output = demo_run
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KENSHU_HOME", str(root))
        patch.chdir(root)
        with contextlib.redirect_stdout(output):
            assert main(["demo", "--course", str(course)]) == 0

    for trainee in ("t1", "t2", "t3", "t4"):
        assert _row(output.getvalue(), trainee).split()[-1] == _row(first_output, trainee).split()[-1]
