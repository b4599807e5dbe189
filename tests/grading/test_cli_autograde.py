"""``kenshu grade autograde`` grades every assignment of a course in one run of the command."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from kenshu.cli import main
from kenshu.courses.build import build_course
from kenshu.grading.api import CourseGrader
from kenshu.grading.simulate import submit_simulated_cohort

from .conftest import ASSIGNMENT, answer_cell, released_course, solved_notebook, submit, writer


def _two_module_course(root: Path, project_factory) -> Path:
    """Return a scratch course listing the tiny module twice, as modules 01 and 02."""
    course = project_factory(root, trainees=3)
    second = root / "notebooks" / "02_tiny"
    shutil.copytree(root / "notebooks" / "01_tiny", second)
    (second / "01_tiny.py").rename(second / "02_tiny.py")
    module = second / "module.yml"
    module.write_text(module.read_text(encoding="utf-8").replace('id: "01"', 'id: "02"').replace("01_tiny.py", "02_tiny.py"), encoding="utf-8")
    spec = course / "course.yml"
    spec.write_text(spec.read_text(encoding="utf-8").replace('modules: ["01"]', 'modules: ["01", "02"]'), encoding="utf-8")
    return course


def test_autograde_command_grades_every_assignment(
    tmp_path: Path, project_factory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    course = _two_module_course(tmp_path, project_factory)
    build = build_course(course)
    grader = CourseGrader(build.spec)
    # "stranger" submits from an account that is not on the course's roster.
    cohort = {"t1": "full", "t2": "wrong", "t3": "absent", "stranger": "full"}
    collected = {}
    for assignment in grader.assignments:
        grader.generate(assignment)
        grader.release(assignment)
        submit_simulated_cohort(grader, assignment, cohort, tmp_path / "homes")
        collected[assignment] = grader.collect(assignment)
    collect_warnings = [record.getMessage() for record in caplog.records if record.name.startswith("kenshu") and "stranger" in record.getMessage()]
    caplog.clear()

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = main(["grade", "autograde", str(course), "--workers", "2"])

    assert grader.assignments == ["01_tiny", "02_tiny"]
    assert status == 0
    stored = json.loads(grader.results_file.read_text(encoding="utf-8"))
    assert sorted(stored) == ["01_tiny", "02_tiny"]
    with Gradebook(grader.config.CourseDirectory.db_url, grader.spec.course_id) as gradebook:
        for assignment in grader.assignments:
            assert gradebook.find_submission(assignment, "t1").score == 4
            assert gradebook.find_submission(assignment, "t2").score == 0
    for assignment in grader.assignments:
        statuses = {entry["trainee_id"]: entry["status"] for entry in stored[assignment]}
        assert statuses == {"t1": "ok", "t2": "ok", "t3": "not_submitted"}
        assert f"課題 {assignment} の自動採点が終わりました: 採点 2 名、採点できず 0 名、未提出 1 名" in output.getvalue()
        assert "stranger" in collected[assignment]

    # The submission from outside the roster is named, at collect and again at autograde, never graded silently.
    assert len(collect_warnings) == 2
    assert "stranger の提出がありますが" in collect_warnings[0]
    assert "受講者 id をそろえてください" in collect_warnings[0]
    autograde_warnings = [record.getMessage() for record in caplog.records if record.name.startswith("kenshu") and "stranger" in record.getMessage()]
    assert len(autograde_warnings) == 2


def test_assignment_option_takes_module_id(tmp_path: Path, project_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    course = _two_module_course(tmp_path, project_factory)
    build_course(course)

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = main(["grade", "release", str(course), "--assignment", "02"])

    assert status == 0
    assert "課題 02_tiny を配布しました" in output.getvalue()
    assert "01_tiny" not in output.getvalue()


def test_autograde_output_stays_japanese(tmp_path: Path, project_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    # A late submission and a cell that times out: nbgrader and nbclient would each log English lines.
    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    grading = 'grading:\n  cell_timeout: 3\n  due: {"01": 2026-01-05T17:00:00}\n  late_penalty: {rule: percent_per_day, percent: 10}\n'
    grader = released_course(tmp_path, project_factory, trainees=2, grading=grading)
    looping = solved_notebook(grader, "full")
    cell = answer_cell(looping, "total")
    cell.source = "while True:\n    pass\n" + cell.source
    submit(grader, "t1", tmp_path / "homes", writer(solved_notebook(grader, "full")))
    submit(grader, "t2", tmp_path / "homes", writer(looping))
    grader.collect(ASSIGNMENT)

    # As the instructor runs it: its own process, so the log lines of the command and its workers reach stderr.
    command = [sys.executable, "-m", "kenshu", "grade", "autograde", str(grader.spec.course_dir), "--workers", "2"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, env={**os.environ, "KENSHU_LANG": "ja"})

    assert run.returncode == 0, run.stderr
    assert "採点 2 名" in run.stdout
    assert "受講者 t2" in run.stdout
    for english in ("seconds late", "Late submission penalty", "Timeout waiting for execute reply", "Interrupting kernel", "autograde of"):
        assert english not in run.stderr, english
        assert english not in run.stdout, english
