"""``kenshu demo`` end to end on a scratch course: build, grade, attendance, KPI report, summary."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import shutil
import sqlite3
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

DEADLINE = """\
grading:
  due: {"01": 2026-06-04 18:00:00}
  late_penalty: {rule: zero}
"""


def grade_real_round(course: Path, homes: Path) -> None:
    """Run one instructor's round on *course* itself: build, release, one trainee submits, collect, autograde."""
    from kenshu.courses.build import build_course
    from kenshu.grading.api import CourseGrader
    from kenshu.grading.simulate import submit_simulated_cohort

    build = build_course(course)
    grader = CourseGrader(build.spec)
    # The test user submits for trainee t1, so nbgrader's owner check would skip the submission.
    grader.api.config.ExchangeCollect.check_owner = False
    for assignment in grader.assignments:
        grader.generate(assignment)
        grader.release(assignment)
        submit_simulated_cohort(grader, assignment, {"t1": "partial"}, homes)
        grader.collect(assignment)
    grader.autograde_assignments(grader.assignments)


def snapshot(folder: Path) -> dict[str, str]:
    """Return the SHA-256 of every file under *folder*, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def gradebook_rows(course: Path) -> list[tuple]:
    """Return the submissions in the course's own nbgrader gradebook, with their scores."""
    with contextlib.closing(sqlite3.connect(course / "_build" / "nbgrader" / "gradebook.db")) as connection:
        return connection.execute(
            "SELECT assignment.name, submitted_assignment.student_id, submitted_assignment.timestamp, grade.auto_score"
            " FROM submitted_assignment"
            " JOIN assignment ON assignment.id = submitted_assignment.assignment_id"
            " JOIN submitted_notebook ON submitted_notebook.assignment_id = submitted_assignment.id"
            " JOIN grade ON grade.notebook_id = submitted_notebook.id"
            " ORDER BY 1, 2, grade.id"
        ).fetchall()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, project_factory):
    """Grade one real round on a scratch course of six trainees, then run the demo on it.

    Returns (root, course, status, output, files and gradebook rows of the course before the demo).
    """
    root = tmp_path_factory.mktemp("demo")
    course = project_factory(root, trainees=6)
    (root / "kpi_reports").mkdir()
    shutil.copy(REPO / "kpi_reports" / "plan.yml", root / "kpi_reports" / "plan.yml")
    # A deadline on the evening of the first session day (Japan time): a demo submission dated in UTC
    # as if it were JST, or dated when the test runs, would be late and scored 0.
    spec_path = course / "course.yml"
    spec_path.write_text(spec_path.read_text(encoding="utf-8") + DEADLINE, encoding="utf-8")
    (course / "attendance").mkdir()
    (course / "attendance" / "sheet.csv").write_bytes(SIGN_IN_SHEET.encode("cp932"))

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KENSHU_HOME", str(root))
        patch.setenv("KENSHU_LANG", "ja")
        patch.chdir(root)
        grade_real_round(course, root / "real_homes")
        before = (snapshot(course), gradebook_rows(course))
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            status = main(["demo", "--course", str(course)])
    return root, course, status, output.getvalue(), before


def _row(output: str, trainee: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(trainee + " "))


def test_demo_exits_cleanly(demo_run) -> None:
    _, _, status, output, _ = demo_run
    assert status == 0
    assert "=== デモ結果: test-2026 ===" in output


def test_demo_summary_rows(demo_run) -> None:
    _, _, _, output, _ = demo_run
    assert "全問正解" in _row(output, "t1")
    assert "4/7*" in _row(output, "t1")
    assert "途中まで" in _row(output, "t2")
    assert "2/7*" in _row(output, "t2")
    assert "よくある誤答" in _row(output, "t3")
    assert "0/7 " in _row(output, "t3")
    # An empty notebook is graded 0 as nbgrader grades it; the reason goes to the trainee's feedback.
    assert "空のノートブック" in _row(output, "t4")
    assert "空の提出 0/7" in _row(output, "t4")
    assert "0/7*" not in _row(output, "t4")
    assert "自動採点できず" not in _row(output, "t4")
    assert "途中でエラー" in _row(output, "t5")
    assert "2/7" in _row(output, "t5")
    assert "未提出" in _row(output, "t6")
    assert "* 記述式の解答は講師の採点待ちです" in output


def test_demo_attendance_from_sheet_and_submissions(demo_run) -> None:
    # The one assignment is submitted on the first session day (2026-06-04), which the plan's
    # nbgrader_evidence rule counts where the sheet has no record for that day.
    _, _, _, output, _ = demo_run
    assert _row(output, "t1").rstrip().endswith("2/2")  # sheet: both days
    assert _row(output, "t2").rstrip().endswith("2/2")  # sheet: both days
    assert _row(output, "t3").rstrip().endswith("0/2")  # sheet: 欠 on 6/4, which a submission does not override
    assert _row(output, "t4").rstrip().endswith("2/2")  # sheet: 6/18; submission: 6/4
    assert _row(output, "t5").rstrip().endswith("1/2")  # no sheet row; submission: 6/4
    assert _row(output, "t6").rstrip().endswith("0/2")  # never submits
    assert "試験 九郎" in output


def test_demo_submissions_dated_session_day(demo_run) -> None:
    from kenshu.grading.late import JST

    root, _, _, output, _ = demo_run
    copy = root / "kpi_reports" / "_build" / "demo" / "courses" / "test-2026"
    rows = gradebook_rows(copy)
    # Five trainees submit (t6 never does); nbgrader stores naive UTC.
    assert {row[1] for row in rows} == {"t1", "t2", "t3", "t4", "t5"}
    for _, trainee, timestamp, _ in rows:
        stamp = dt.datetime.fromisoformat(timestamp).replace(tzinfo=dt.timezone.utc).astimezone(JST)
        assert stamp.date() == dt.date(2026, 6, 4), (trainee, stamp)
    assert "2026-06-04 16:30 (日本時間)" in output


def test_demo_submissions_not_late(demo_run) -> None:
    from nbgrader.api import Gradebook

    root, _, _, _, _ = demo_run
    copy = root / "kpi_reports" / "_build" / "demo" / "courses" / "test-2026"
    with Gradebook(f"sqlite:///{copy / '_build' / 'nbgrader' / 'gradebook.db'}", "test-2026") as gradebook:
        assignment = gradebook.find_assignment("01_tiny")
        assert assignment.duedate is not None  # the fixture's deadline reached the gradebook
        submissions = list(assignment.submissions)
        assert len(submissions) == 5
        for submission in submissions:
            assert submission.total_seconds_late == 0, submission.student_id
            assert not submission.late_submission_penalty, submission.student_id


def test_submission_times_respect_deadlines(course_dir: Path) -> None:
    from kenshu.courses.spec import load_course_spec
    from kenshu.grading.late import JST
    from kenshu.grading.simulate import SUBMIT_TIME_OF_DAY, session_submission_times

    spec = load_course_spec(course_dir)
    first, second = (session.date for session in spec.sessions)
    # A deadline at noon of the first session day comes before the usual submission time.
    deadline = dt.datetime.combine(first, dt.time(12, 0))
    spec = spec.model_copy(update={"grading": spec.grading.model_copy(update={"due": {"01": deadline}})})

    times = session_submission_times(spec, ["01_tiny", "02_more", "03_extra"])

    assert times["01_tiny"] < deadline.replace(tzinfo=JST)
    assert times["01_tiny"].astimezone(JST).date() == first
    assert times["02_more"] == dt.datetime.combine(second, SUBMIT_TIME_OF_DAY, JST)
    # More assignments than sessions: the extra ones belong to the last session.
    assert times["03_extra"] == times["02_more"]


def test_demo_roster_message_names_original(demo_run) -> None:
    _, course, _, output, _ = demo_run
    rejected = next(line for line in output.splitlines() if "試験 九郎" in line)
    assert str(course.resolve() / "course.yml") in rejected
    assert "_build" not in rejected


def test_demo_files_exist(demo_run) -> None:
    root, _, _, output, _ = demo_run
    copy = root / "kpi_reports" / "_build" / "demo" / "courses" / "test-2026"
    grades = pd.read_csv(copy / "_build" / "exports" / "grades.csv", encoding="utf-8-sig")
    report_dir = root / "kpi_reports" / "_build" / "demo" / "reports"

    assert len(grades) == 6
    assert (report_dir / "kpi_2026.html").is_file()
    assert (report_dir / "kpi_2026.xlsx").is_file()
    assert (report_dir / "kpi_2026.png").is_file()
    assert "kpi_reports/_build/demo/reports/kpi_2026.html" in output
    assert "kpi_reports/_build/demo/courses/test-2026/_build/exports/grades.csv" in output
    assert (copy / "_build" / "nbgrader" / "gradebook.db").is_file()
    assert not (root / "kpi_reports" / "_build" / "attendance.sqlite").exists()


def test_demo_rerun_counts_nothing_twice(demo_run) -> None:
    # With --db naming the first run's store, the store is kept and every record is read a second time.
    root, course, _, first_output, _ = demo_run
    store = root / "kpi_reports" / "_build" / "demo" / "attendance.sqlite"
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KENSHU_HOME", str(root))
        patch.chdir(root)
        with contextlib.redirect_stdout(output):
            assert main(["demo", "--course", str(course), "--db", f"sqlite:///{store}"]) == 0

    assert "前回のデモの出席データベース" not in output.getvalue()
    for trainee in ("t1", "t2", "t3", "t4", "t5", "t6"):
        assert _row(output.getvalue(), trainee).split()[-1] == _row(first_output, trainee).split()[-1]
    # The first run's simulated submissions were removed before the trainees submitted again.
    inbound = root / "kpi_reports" / "_build" / "demo" / "courses" / "test-2026" / "_build" / "exchange" / "test-2026" / "inbound"
    assert sorted(folder.name.split("+")[0] for folder in inbound.iterdir()) == ["t1", "t2", "t3", "t4", "t5"]


def test_demo_rerun_starts_new_store(demo_run) -> None:
    root, course, _, first_output, _ = demo_run
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KENSHU_HOME", str(root))
        patch.chdir(root)
        with contextlib.redirect_stdout(output):
            assert main(["demo", "--course", str(course)]) == 0

    assert "前回のデモの出席データベース kpi_reports/_build/demo/attendance.sqlite" in output.getvalue()
    for trainee in ("t1", "t2", "t3", "t4", "t5", "t6"):
        assert _row(output.getvalue(), trainee).split()[-1] == _row(first_output, trainee).split()[-1]


def test_demo_problems_column_labels(demo_run) -> None:
    _, _, _, output, _ = demo_run
    header = next(line for line in output.splitlines() if line.startswith("受講者"))
    assert "指摘" in header
    assert "no_grade_cells" not in output
    # The empty notebook's problem shows as its short label, after the score column.
    assert _row(output, "t4").count("空のノートブック") == 2
    assert _row(output, "t1").split()[-2] == "-"


def test_demo_leaves_real_course_unchanged(demo_run) -> None:
    _, course, status, _, (files_before, rows_before) = demo_run
    assert status == 0
    assert rows_before, "the real round left no graded submission to protect"
    assert {row[1] for row in rows_before} == {"t1"}
    assert gradebook_rows(course) == rows_before
    assert snapshot(course) == files_before


def test_problem_codes_have_short_labels() -> None:
    from kenshu.i18n import load_catalog

    catalog = load_catalog()
    codes = [key.removeprefix("grading.problem.") for key in catalog if key.startswith("grading.problem.")]
    assert "no_grade_cells" in codes
    for code in codes:
        assert f"grading.problem_label.{code}" in catalog, code


def test_demo_refuses_office_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from kenshu.kpi_reports.store import default_db_url

    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    office = Path(default_db_url().removeprefix("sqlite:///"))

    status = main(["demo", "--db", default_db_url()])

    assert status != 0
    assert "事務局の出席データベース" in capsys.readouterr().err
    assert not office.exists()


def test_demo_missing_course_keeps_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from kenshu.demo import demo_dir

    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    store = demo_dir() / "attendance.sqlite"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_bytes(b"an earlier demo's store")

    status = main(["demo", "--course", str(tmp_path / "no_such_course")])

    assert status == 2
    assert "no_such_course" in capsys.readouterr().err
    assert store.read_bytes() == b"an earlier demo's store"
