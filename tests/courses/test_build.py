"""The curriculum builder: rendering, nbgrader metadata and safe rebuilds."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from kenshu.courses.build import build_course
from kenshu.errors import KenshuError


def _cells_by_grade_id(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells if "nbgrader" in cell.metadata}


def test_build_writes_nbgrader_source(course_dir: Path) -> None:
    result = build_course(course_dir)
    notebook_path = result.root / "source" / "01_tiny" / "01_tiny.ipynb"
    notebook = nbformat.read(notebook_path, as_version=4)
    cells = _cells_by_grade_id(notebook)

    assert result.assignments == ["01_tiny"]
    assert "株式会社テスト精機 の練習" in notebook.cells[0].source
    assert "傷のある部品を見つけたい" in notebook.cells[0].source
    assert "COMPANY = '株式会社テスト精機'" in cells["parameters"].source
    assert f"DATA_DIR = {str((course_dir / 'photos').resolve())!r}" in cells["parameters"].source
    assert "N_ITEMS = 10  # how many numbers to add up" in cells["parameters"].source
    assert cells["total"].metadata["nbgrader"] == {
        "grade": False, "solution": True, "locked": False, "grade_id": "total", "schema_version": 3,
    }
    assert cells["test_total"].metadata["nbgrader"]["points"] == 2
    assert cells["test_total"].metadata["nbgrader"]["locked"] is True
    assert "### BEGIN HIDDEN TESTS" in cells["test_total"].source
    assert cells["reflection"].cell_type == "markdown"
    assert cells["reflection"].metadata["nbgrader"]["grade"] is True
    assert cells["reflection"].metadata["nbgrader"]["solution"] is True
    nbformat.validate(notebook)


def test_mistakes_kept_out_of_notebook(course_dir: Path) -> None:
    result = build_course(course_dir)
    notebook_text = (result.root / "source" / "01_tiny" / "01_tiny.ipynb").read_text(encoding="utf-8")
    mistakes = json.loads((course_dir / "_build" / "mistakes" / "01_tiny.json").read_text(encoding="utf-8"))

    assert mistakes == {"total": "def total(n):\n    return sum(range(n))"}
    assert "sum(range(n))" not in notebook_text


def test_rebuild_changes_nothing(course_dir: Path) -> None:
    first = build_course(course_dir)
    files = sorted(path for path in first.root.rglob("*") if path.is_file())
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in files}

    second = build_course(course_dir)

    assert second.written == []
    assert len(second.unchanged) == len(first.written)
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in files} == before


def test_rebuild_after_spec_change_rewrites(course_dir: Path) -> None:
    build_course(course_dir)
    spec_path = course_dir / "course.yml"
    spec_path.write_text(spec_path.read_text(encoding="utf-8").replace("傷のある部品", "打痕のある部品"), encoding="utf-8")

    result = build_course(course_dir)

    assert [path.name for path in result.written] == ["01_tiny.ipynb"]
    assert "打痕のある部品" in result.written[0].read_text(encoding="utf-8")


def test_fast_build_uses_fast_parameters(course_dir: Path) -> None:
    result = build_course(course_dir, fast=True)
    notebook = nbformat.read(result.root / "source" / "01_tiny" / "01_tiny.ipynb", as_version=4)
    assert "N_ITEMS = 3  # how many numbers to add up" in _cells_by_grade_id(notebook)["parameters"].source


def test_config_lists_trainees_and_assignments(course_dir: Path) -> None:
    result = build_course(course_dir)
    config = (result.root / "nbgrader_config.py").read_text(encoding="utf-8")
    assert "c.CourseDirectory.course_id = 'test-2026'" in config
    manifest = json.loads((result.root / "kenshu_course.json").read_text(encoding="utf-8"))
    assert "c.Execute.timeout = 120" in config
    assert manifest["assignments"] == ["01_tiny"]
    assert {"id": "t3", "name": "試験 三郎"} in manifest["trainees"]


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("### BEGIN HIDDEN TESTS\n", "", "template.no_hidden_test"),
        ('grade_id="test_total"', 'grade_id="total"', "template.duplicate_grade_id"),
        ("points=2", "points=0", "template.bad_points"),
        ('kenshu="answer"', 'kenshu="anwser"', "template.unknown_cell_kind"),
        ('N_ITEMS = 10', 'N_ITEMS = len("abc")', "template.parameters_not_literal"),
        ("{{ problem }}", "{{ problme }}", "template.markdown_field"),
        ('answer="total"', 'answer="totl"', "template.mistake_unknown_answer"),
        ("課題: {{ problem }}", "課題: {{ problem }} `### BEGIN SOLUTION`", "template.stray_solution_marker"),
        ("    ### END SOLUTION\n\n# %% kenshu=\"mistake\"", "\n# %% kenshu=\"mistake\"", "template.stray_solution_marker"),
    ],
)
def test_broken_template_named(project: Path, course_dir: Path, old: str, new: str, key: str) -> None:
    template = project / "notebooks" / "01_tiny" / "01_tiny.py"
    text = template.read_text(encoding="utf-8")
    assert old in text
    template.write_text(text.replace(old, new, 1), encoding="utf-8")

    with pytest.raises(KenshuError) as caught:
        build_course(course_dir)

    assert caught.value.key == key
    assert "01_tiny.py" in str(caught.value)
