"""Every curriculum module: the solution passes all its tests, the released version fails them.

Each module is built for a scratch course with its fast parameters, on
generated images or a generated process log, as the module's data kind asks.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from kenshu.courses.build import build_course
from kenshu.grading.api import CourseGrader
from kenshu.notebooks.execute import execute_notebook
from kenshu.notebooks.templates import TEMPLATE_ROOTS, discover_modules
from kenshu.paths import project_root

COURSE_TEMPLATE = """\
company: 株式会社テスト工業
course_id: run-{kind}
problem:
  statement: 不良を見逃さずに見つけたい
  data:
{data}
modules: ["{module_id}"]
sessions:
  - {{date: 2026-06-04}}
trainees:
  - {{id: t1, name: 試験 一郎, company: 株式会社テスト工業}}
"""

DATA = {
    "images": "    kind: images\n    generator: make_press_parts\n    parameters: {n_samples: 80, image_size: 64, random_state: 7}\n    good_class: 良品",
    "csv": "    kind: csv\n    generator: make_process_log\n    parameters: {n_samples: 600, defect_rate: 0.08, random_state: 7}\n    label_column: 品質\n    good_label: 良品",
}


def _curriculum_modules() -> list[tuple[str, str]]:
    roots = [project_root() / name for name in TEMPLATE_ROOTS if name == "notebooks"]
    cases = []
    for module_id, templates in sorted(discover_modules(roots).items()):
        for template in templates:
            kinds = ["images", "csv"] if template.data_kind == "any" else [template.data_kind]
            cases.extend((template.slug, kind) for kind in kinds)
    return cases


def _build(tmp_path: Path, slug: str, kind: str):
    module = next(t for ts in discover_modules().values() for t in ts if t.slug == slug)
    course = tmp_path / "course"
    course.mkdir()
    (course / "course.yml").write_text(
        COURSE_TEMPLATE.format(kind=kind, data=DATA[kind], module_id=module.id), encoding="utf-8"
    )
    return build_course(course, fast=True)


def _test_cells(notebook: nbformat.NotebookNode) -> list[int]:
    return [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
    ]


@pytest.mark.parametrize(("slug", "kind"), _curriculum_modules())
def test_module_solution_release_mistakes(tmp_path: Path, slug: str, kind: str) -> None:
    build = _build(tmp_path, slug, kind)
    assignment = build.assignments[0]
    source_path = build.root / "source" / assignment / f"{assignment}.ipynb"

    # 1. The instructor's version: no cell may raise.
    executed, errors, _ = execute_notebook(source_path)
    assert errors == [], "\n".join(str(error) for error in errors)
    assert _test_cells(executed), "a module needs autograded test cells"

    # 2. The trainees' version, straight from nbgrader: every test cell must fail.
    release = CourseGrader(build.spec).generate(assignment) / f"{assignment}.ipynb"
    released, release_errors, _ = execute_notebook(release)
    failed_cells = {error.index for error in release_errors}
    passing = [
        released.cells[index].metadata["nbgrader"]["grade_id"]
        for index in _test_cells(released)
        if index not in failed_cells
    ]
    assert passing == [], f"test cells that pass without any answer: {passing}"

    # 3. The typical mistakes that the template records: at least one test must catch them.
    mistakes = json.loads((build.root.parent / "mistakes" / f"{assignment}.json").read_text(encoding="utf-8"))
    assert mistakes, f"{slug} records no typical mistakes (cells marked kenshu=\"mistake\")"
    source = nbformat.read(source_path, as_version=4)
    for cell in source.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in mistakes:
            cell.source = mistakes[grade_id]
    _, mistake_errors, _ = execute_notebook(source, cwd=source_path.parent)
    test_ids = {source.cells[index].metadata["nbgrader"]["grade_id"] for index in _test_cells(source)}
    caught = {error.grade_id for error in mistake_errors} & test_ids
    assert caught, f"none of the tests of {slug} catch its typical mistakes {sorted(mistakes)}"
