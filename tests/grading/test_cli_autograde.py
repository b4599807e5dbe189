"""``kenshu grade autograde`` grades every assignment of a course in one run of the command."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from kenshu.cli import main
from kenshu.courses.build import build_course
from kenshu.grading.api import CourseGrader
from kenshu.grading.simulate import submit_simulated_cohort


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


def test_autograde_command_grades_every_assignment(tmp_path: Path, project_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    course = _two_module_course(tmp_path, project_factory)
    build = build_course(course)
    grader = CourseGrader(build.spec)
    cohort = {"t1": "full", "t2": "wrong", "t3": "absent"}
    for assignment in grader.assignments:
        grader.generate(assignment)
        grader.release(assignment)
        submit_simulated_cohort(grader, assignment, cohort, tmp_path / "homes")
        grader.collect(assignment)

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
        assert assignment in output.getvalue()
