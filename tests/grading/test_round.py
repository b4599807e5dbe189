"""An instructor's round on real nbgrader: release, submit, collect, autograde, feedback, export."""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from kenshu.courses.build import build_course
from kenshu.courses.spec import load_course_spec
from kenshu.errors import KenshuError
from kenshu.grading.api import CourseGrader
from kenshu.grading.export import export_grades
from kenshu.grading.simulate import simulate_submission, solution_text, submit_simulated_cohort


ASSIGNMENT = "01_tiny"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, project_factory):
    """Build a scratch course, let six kinds of trainee submit, and autograde, once for this module."""
    root = tmp_path_factory.mktemp("project")
    course_dir = project_factory(root, trainees=6)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KENSHU_HOME", str(root))
        build = build_course(course_dir)
        grader = CourseGrader(build.spec)
        grader.generate(ASSIGNMENT)
        grader.release(ASSIGNMENT)
        cohort = {"t1": "full", "t2": "partial", "t3": "wrong", "t4": "empty", "t5": "raises", "t6": "absent"}
        submitted = submit_simulated_cohort(grader, ASSIGNMENT, cohort, root / "homes")
        collected = grader.collect(ASSIGNMENT)
        results = {result.trainee_id: result for result in grader.autograde(ASSIGNMENT)}
        yield grader, submitted, collected, results


def test_solution_text_drops_markers() -> None:
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"
    assert solution_text(source) == "def f():\n    return 1"


def test_simulated_kinds_unknown_rejected() -> None:
    notebook = nbformat.v4.new_notebook()
    with pytest.raises(ValueError, match="lazy"):
        simulate_submission(notebook, notebook, {}, "lazy")


def test_round_scores_each_trainee_kind(graded) -> None:
    grader, submitted, collected, results = graded
    table = export_grades(grader, grader.root.parent / "exports", list(results.values())).table
    scores = table.set_index("trainee_id")

    assert submitted == ["t1", "t2", "t3", "t4", "t5"]
    assert collected == ["t1", "t2", "t3", "t4", "t5"]
    # Two autograded questions of 2 points and a written answer of 3 points.
    assert scores.loc["t1", "score"] == 4
    assert scores.loc["t1", "max_score"] == 7
    assert scores.loc["t1", "status"] == "needs_manual_grade"
    assert scores.loc["t2", "score"] == 2
    assert scores.loc["t3", "score"] == 0
    assert scores.loc["t5", "score"] == 2
    # An empty notebook is graded 0, as nbgrader grades it, with the reason for the trainee.
    assert results["t4"].status == "ok"
    assert results["t4"].score == 0
    assert "空のノートブック" in results["t4"].reason
    assert scores.loc["t4", "score"] == 0
    assert scores.loc["t6", "status"] == "not_submitted"
    assert results["t6"].status == "not_submitted"


def test_export_files_readable_in_japanese(graded) -> None:
    grader, _, _, results = graded
    files = export_grades(grader, grader.root.parent / "exports", list(results.values()))

    assert files.csv.read_bytes().startswith(b"\xef\xbb\xbf")
    from_csv = pd.read_csv(files.csv, encoding="utf-8-sig")
    from_xlsx = pd.read_excel(files.xlsx)
    assert list(from_csv.columns[:4]) == ["受講者ID", "氏名", "課題", "状態"]
    assert list(from_xlsx.columns) == list(from_csv.columns)
    assert from_csv.loc[from_csv["受講者ID"] == "t6", "状態"].item() == "未提出"
    assert from_xlsx.loc[from_xlsx["受講者ID"] == "t5", "得点 (減点前)"].item() == 2
    assert from_xlsx.loc[from_xlsx["受講者ID"] == "t5", "最終得点 (遅延減点後)"].item() == 2
    # Problems by their short Japanese label, not by code.
    assert from_csv.loc[from_csv["受講者ID"] == "t4", "指摘"].item() == "空のノートブック"
    # Submission times in Japan time: nbgrader's naive UTC timestamp plus nine hours.
    with grader.api.gradebook as gradebook:
        stored = gradebook.find_submission(ASSIGNMENT, "t1").timestamp
    shown = pd.to_datetime(from_xlsx.loc[from_xlsx["受講者ID"] == "t1", "提出日時 (日本時間)"].item())
    assert shown == (pd.Timestamp(stored) + pd.Timedelta(hours=9)).floor("s")


def test_feedback_written_for_graded_trainees(graded) -> None:
    grader, _, _, results = graded
    graded_ids = [trainee for trainee, result in results.items() if result.status == "ok"]
    files = grader.feedback(ASSIGNMENT, graded_ids)

    assert sorted(path.parent.parent.name for path in files) == ["t1", "t2", "t3", "t4", "t5"]
    assert all(path.read_text(encoding="utf-8").count("test_total") >= 1 for path in files)
    empty = next(path for path in files if path.parent.parent.name == "t4")
    assert "空のノートブック" in empty.read_text(encoding="utf-8")


def test_gradebook_holds_trainee_names(graded) -> None:
    grader, _, _, _ = graded
    with grader.api.gradebook as gradebook:
        assert gradebook.find_student("t2").first_name == "試験 二郎"
        assert [assignment.name for assignment in gradebook.assignments] == ["01_tiny"]



def test_pass_rates_per_question(graded) -> None:
    grader, _, _, results = graded
    files = export_grades(grader, grader.root.parent / "exports", list(results.values()))
    rates = files.pass_rates.set_index("question")
    from_csv = pd.read_csv(files.pass_rates_csv, encoding="utf-8-sig")
    sheet = pd.read_excel(files.xlsx, sheet_name="問題別正答率")

    # Graded: t1 full, t2 partial (total only), t3 wrong, t5 raises in mean.
    assert rates.loc["test_total", "graded"] == 4
    assert rates.loc["test_total", "passed"] == 3
    assert rates.loc["test_total", "rate"] == 75.0
    assert rates.loc["test_mean", "rate"] == 25.0
    assert "reflection" not in rates.index
    assert list(from_csv.columns) == ["課題", "問題", "採点人数", "正答人数", "正答率(%)"]
    assert sheet["正答率(%)"].tolist() == from_csv["正答率(%)"].tolist()
    assert files.pass_rates_chart.read_bytes().startswith(b"\x89PNG")


def test_regrade_after_resubmission_keeps_one_row(graded, tmp_path: Path) -> None:
    # Runs last in this module because it changes t3's grade.
    grader, _, _, _ = graded
    submit_simulated_cohort(grader, ASSIGNMENT, {"t3": "full"}, tmp_path / "homes")
    grader.collect(ASSIGNMENT)
    results = grader.autograde(ASSIGNMENT, ["t3"])
    table = export_grades(grader, grader.root.parent / "exports", results).table

    assert results[0].status == "ok"
    assert (table["trainee_id"] == "t3").sum() == 1
    assert table.set_index("trainee_id").loc["t3", "score"] == 4


def test_generate_again_replaces_quietly(tmp_path: Path, project_factory, monkeypatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    grader = CourseGrader(build_course(project_factory(tmp_path, trainees=1)).spec)
    first = grader.generate(ASSIGNMENT)
    (first / "stale.txt").write_text("left from an earlier build", encoding="utf-8")
    caplog.clear()

    again = grader.generate(ASSIGNMENT)

    assert again == first
    assert (again / f"{ASSIGNMENT}.ipynb").is_file()
    assert not (again / "stale.txt").exists()
    # nbgrader's own English warning about replacing the folder no longer reaches the instructor.
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []


def test_grader_rejects_stale_build(tmp_path: Path, project_factory, monkeypatch) -> None:
    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    course_dir = project_factory(tmp_path, trainees=2)
    spec_path = course_dir / "course.yml"
    build_course(course_dir)

    # A comment changes nothing the build wrote.
    spec_path.write_text(spec_path.read_text(encoding="utf-8") + "# reviewed by the instructor\n", encoding="utf-8")
    CourseGrader(load_course_spec(course_dir))

    # A late penalty added after the build would not be applied, so the grader raises.
    spec_path.write_text(spec_path.read_text(encoding="utf-8") + "grading:\n  late_penalty: {rule: zero}\n", encoding="utf-8")
    with pytest.raises(KenshuError) as raised:
        CourseGrader(load_course_spec(course_dir))
    assert "前回の組み立ての後に変わっています" in str(raised.value)
    assert f"kenshu course build {course_dir}" in str(raised.value)

    build_course(course_dir)
    grader = CourseGrader(load_course_spec(course_dir))
    assert "JstLatePenalty.penalty_method = 'zero'" in (grader.root / "nbgrader_config.py").read_text(encoding="utf-8")
