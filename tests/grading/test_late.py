"""Deadlines in Japan time and late penalties, through nbgrader's late-submission plugin."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from nbgrader.api import Gradebook

from kenshu.courses.spec import load_course_spec
from kenshu.errors import CollectedErrors
from kenshu.grading.export import export_grades
from kenshu.grading.late import JstLatePenalty, as_utc_naive, days_late

from .conftest import ASSIGNMENT, released_course, solved_notebook, submit, writer

GRADING = """\
grading:
  due: {"01": 2026-06-11T23:59:59}
  late_penalty: {rule: percent_per_day, percent: 10}
"""

# Submission times as nbgrader writes them (UTC) around midnight JST of 11/12 June.
SUBMITTED_AT = {
    "t1": "2026-06-11 14:59:30.000000 UTC",  # 23:59:30 JST on the 11th: on time
    "t2": "2026-06-11 15:00:30.000000 UTC",  # 00:00:30 JST on the 12th: 31 s late, one day
    "t3": "2026-06-12 15:00:30.000000 UTC",  # 00:00:30 JST on the 13th: a day and 31 s late, two days
}


def test_due_date_read_as_jst() -> None:
    assert as_utc_naive(dt.datetime(2026, 6, 11, 23, 59, 59)) == dt.datetime(2026, 6, 11, 14, 59, 59)


def test_due_date_with_offset_kept() -> None:
    due = dt.datetime(2026, 6, 11, 23, 59, 59, tzinfo=dt.timezone.utc)
    assert as_utc_naive(due) == dt.datetime(2026, 6, 11, 23, 59, 59)


@pytest.mark.parametrize(("seconds", "days"), [(0, 0), (-5, 0), (1, 1), (86400, 1), (86401, 2)])
def test_days_late_counts_started_days(seconds: float, days: int) -> None:
    assert days_late(seconds) == days


def test_penalty_rules() -> None:
    assert JstLatePenalty(penalty_method="none").late_submission_penalty("t1", 4, 100) is None
    assert JstLatePenalty(penalty_method="zero").late_submission_penalty("t1", 4, 100) == 4
    assert JstLatePenalty(penalty_method="percent_per_day", percent_per_day=10).late_submission_penalty("t1", 4, 100) == 0.4
    assert JstLatePenalty(penalty_method="percent_per_day", percent_per_day=60).late_submission_penalty("t1", 4, 86401) == 4
    assert JstLatePenalty(penalty_method="zero").late_submission_penalty("t1", 4, 0) is None


@pytest.mark.parametrize("written", ['2026-06-11', '"2026-06-11"', "2026-06-11T23:59:59", '"2026-06-11 23:59:59"'])
def test_due_date_alone_means_end_of_day(course_dir: Path, written: str) -> None:
    spec_path = course_dir / "course.yml"
    spec_path.write_text(spec_path.read_text(encoding="utf-8") + f'grading:\n  due: {{"01": {written}}}\n', encoding="utf-8")

    spec = load_course_spec(course_dir)

    assert spec.grading.due["01"] == dt.datetime(2026, 6, 11, 23, 59, 59)


def test_due_explicit_midnight_kept(course_dir: Path) -> None:
    spec_path = course_dir / "course.yml"
    spec_path.write_text(spec_path.read_text(encoding="utf-8") + 'grading:\n  due: {"01": "2026-06-11 00:00"}\n', encoding="utf-8")

    assert load_course_spec(course_dir).grading.due["01"] == dt.datetime(2026, 6, 11, 0, 0)


def test_due_unknown_module_rejected(course_dir: Path) -> None:
    spec_path = course_dir / "course.yml"
    spec_path.write_text(spec_path.read_text(encoding="utf-8") + 'grading:\n  due: {"07": 2026-06-11T23:59:59}\n', encoding="utf-8")
    with pytest.raises(CollectedErrors) as caught:
        load_course_spec(course_dir)
    assert "grading.due.07" in caught.value.problems[0]
    assert "「07」" in caught.value.problems[0]


def test_late_penalty_around_midnight_jst(tmp_path: Path, project_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    grader = released_course(tmp_path, project_factory, trainees=3, grading=GRADING)
    for trainee_id in SUBMITTED_AT:
        submit(grader, trainee_id, tmp_path / "homes", writer(solved_notebook(grader, "full")))
    grader.collect(ASSIGNMENT)
    for trainee_id, stamp in SUBMITTED_AT.items():
        (grader.root / "submitted" / trainee_id / ASSIGNMENT / "timestamp.txt").write_text(stamp, encoding="utf-8")

    results = {result.trainee_id: result for result in grader.autograde(ASSIGNMENT, workers=2)}
    with Gradebook(grader.config.CourseDirectory.db_url, grader.spec.course_id) as gradebook:
        assert gradebook.find_assignment(ASSIGNMENT).duedate == dt.datetime(2026, 6, 11, 14, 59, 59)
        penalties = {trainee_id: gradebook.find_submission(ASSIGNMENT, trainee_id).notebooks[0].late_submission_penalty for trainee_id in SUBMITTED_AT}
        late_seconds = {trainee_id: gradebook.find_submission(ASSIGNMENT, trainee_id).total_seconds_late for trainee_id in SUBMITTED_AT}

    assert late_seconds["t1"] == 0
    assert late_seconds["t2"] == 31
    assert penalties["t1"] is None
    assert penalties["t2"] == pytest.approx(0.4)
    assert penalties["t3"] == pytest.approx(0.8)
    assert all(result.score == 4 for result in results.values())
    feedback = {path.parent.parent.name: path.read_text(encoding="utf-8") for path in grader.feedback(ASSIGNMENT, list(SUBMITTED_AT))}
    assert "減点" not in feedback["t1"]
    assert "0.4 点を減点" in feedback["t2"]
    table = export_grades(grader, tmp_path / "exports", list(results.values())).table.set_index("trainee_id")
    assert table.loc["t3", "late_penalty"] == pytest.approx(0.8)
    assert pd.isna(table.loc["t1", "late_penalty"])
    # The score column is nbgrader's, before the penalty; the final score and the percentage are after it.
    assert table.loc["t3", "score"] == 4
    assert table.loc["t3", "final_score"] == pytest.approx(3.2)
    assert table.loc["t3", "percent"] == pytest.approx(round(100 * 3.2 / table.loc["t3", "max_score"], 1))
    assert table.loc["t1", "final_score"] == 4

    # The instructor scores t3's written cell by hand, as formgrader does. The penalty follows the new score.
    with Gradebook(grader.config.CourseDirectory.db_url, grader.spec.course_id) as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, "t3")
        written = next(grade for grade in submission.notebooks[0].grades if grade.cell_type == "markdown")
        written.manual_score = 2
        written.needs_manual_grade = False
        gradebook.db.commit()
    rescored = export_grades(grader, tmp_path / "exports", list(results.values())).table.set_index("trainee_id")
    assert rescored.loc["t3", "score"] == 6
    assert rescored.loc["t3", "late_penalty"] == pytest.approx(1.2)
    assert rescored.loc["t3", "final_score"] == pytest.approx(4.8)
    page = grader.feedback(ASSIGNMENT, ["t3"])[0].read_text(encoding="utf-8")
    assert "2 日遅れて提出されたため、6 点から 1.2 点を減点しました" in page
    assert "4.8 / " in page


def test_percent_rule_needs_percent(course_dir: Path) -> None:
    spec_path = course_dir / "course.yml"
    spec_path.write_text(spec_path.read_text(encoding="utf-8") + "grading:\n  late_penalty: {rule: percent_per_day}\n", encoding="utf-8")

    with pytest.raises(CollectedErrors) as caught:
        load_course_spec(course_dir)

    assert "percent" in caught.value.problems[0]
    assert "減点が 0 % になります" in caught.value.problems[0]
    assert "grading.late_penalty" in caught.value.problems[0]
