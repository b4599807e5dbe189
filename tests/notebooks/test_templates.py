"""Structure of the curriculum templates under notebooks/: the convention the builder relies on.

These tests read the jupytext files directly, so a broken template is reported
by file and cell even when the builder is not involved. Executing the
notebooks (solution passes, release fails) is tested with the builder.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import jinja2
import jupytext
import pytest
from ruamel.yaml import YAML

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
MODULE_FOLDERS = sorted(path.parent for path in NOTEBOOKS.glob("*/module.yml"))
CELL_KINDS = {"answer", "test", "written", "readonly", "mistake"}
GRADE_ID = re.compile(r"^[A-Za-z0-9_]+$")
JINJA_FIELD = re.compile(r"\{\{\s*\w+\s*\}\}")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
CONTEXT = {
    "company": "株式会社テスト",
    "problem": "傷を見逃さない",
    "course_id": "test-2026",
    "good_class": "良品",
    "defect_classes": "不良品",
    "data_name": "data",
    "label_column": "品質",
    "good_label": "良品",
}
DATA_PARAMETERS = {
    "images": {"DATA_DIR", "GOOD_CLASS"},
    "csv": {"DATA_CSV", "LABEL_COLUMN", "GOOD_LABEL"},
}


@functools.cache
def read_meta(folder: Path) -> dict:
    return YAML(typ="safe").load((folder / "module.yml").read_text(encoding="utf-8"))


@functools.cache
def read_cells(folder: Path) -> list:
    return jupytext.read(folder / read_meta(folder)["notebook"]).cells


def kind_of(cell) -> str | None:
    return cell.metadata.get("kenshu")


def graded_cells(folder: Path) -> list:
    """Return the cells the builder keeps, without the typical-mistake cells."""
    return [cell for cell in read_cells(folder) if kind_of(cell) != "mistake"]


def parameters_cell(folder: Path):
    cells = [cell for cell in read_cells(folder) if "parameters" in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"{folder.name}: expected one parameters cell, found {len(cells)}"
    return cells[0]


def parameter_names(folder: Path) -> set[str]:
    tree = ast.parse(parameters_cell(folder).source)
    return {statement.targets[0].id for statement in tree.body}


def test_modules_found():
    slugs = {folder.name for folder in MODULE_FOLDERS}
    assert {"01_python_basics_images", "01_python_basics_csv", "02_image_classification", "02_sensor_anomaly", "03_threshold_project"} <= slugs


@pytest.mark.parametrize("folder", MODULE_FOLDERS, ids=lambda folder: folder.name)
class TestTemplate:
    def test_module_yml(self, folder):
        meta = read_meta(folder)
        assert isinstance(meta["id"], str) and re.fullmatch(r"\d\d", meta["id"])
        assert folder.name.startswith(meta["id"] + "_")
        assert meta["data_kind"] in ("images", "csv", "any")
        assert meta["title"]["ja"] and meta["title"]["en"]
        assert (folder / meta["notebook"]).is_file()
        assert (folder / "README.md").is_file()

    def test_fast_parameters_declared(self, folder):
        fast = read_meta(folder).get("fast_parameters") or {}
        assert fast, "every module needs a speed setting for the test suite"
        assert set(fast) <= parameter_names(folder)

    def test_parameters_literal_only(self, folder):
        tree = ast.parse(parameters_cell(folder).source)
        for statement in tree.body:
            assert isinstance(statement, ast.Assign), f"line {statement.lineno} is not an assignment"
            assert len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)
            ast.literal_eval(statement.value)

    def test_parameters_name_data(self, folder):
        names = parameter_names(folder)
        kind = read_meta(folder)["data_kind"]
        assert {"COMPANY", "RANDOM_STATE"} <= names
        kinds = ("images", "csv") if kind == "any" else (kind,)
        for data_kind in kinds:
            assert DATA_PARAMETERS[data_kind] <= names, f"missing parameters for {data_kind}"

    def test_cell_kinds_known(self, folder):
        for cell in read_cells(folder):
            assert kind_of(cell) in CELL_KINDS | {None}

    def test_grade_ids_unique(self, folder):
        grade_ids = [cell.metadata["grade_id"] for cell in graded_cells(folder) if kind_of(cell)]
        assert len(grade_ids) == len(set(grade_ids))
        for grade_id in grade_ids:
            assert GRADE_ID.match(grade_id), grade_id

    def test_answer_followed_by_test(self, folder):
        cells = graded_cells(folder)
        for index, cell in enumerate(cells):
            if kind_of(cell) != "answer":
                continue
            following = cells[index + 1]
            assert kind_of(following) == "test", f"answer {cell.metadata['grade_id']} is not followed by a test"
            assert following.metadata["grade_id"] == "test_" + cell.metadata["grade_id"]

    def test_autograded_question_count(self, folder):
        tests = [cell for cell in graded_cells(folder) if kind_of(cell) == "test"]
        assert 3 <= len(tests) <= 5

    def test_tests_have_points(self, folder):
        for cell in graded_cells(folder):
            if kind_of(cell) == "test":
                assert cell.metadata["points"] > 0

    def test_tests_have_hidden_block(self, folder):
        for cell in graded_cells(folder):
            if kind_of(cell) == "test":
                assert cell.source.count("### BEGIN HIDDEN TESTS") >= 1, cell.metadata["grade_id"]
                assert cell.source.count("### BEGIN HIDDEN TESTS") == cell.source.count("### END HIDDEN TESTS")

    def test_answers_have_solution(self, folder):
        for cell in graded_cells(folder):
            if kind_of(cell) == "answer":
                assert cell.source.count("### BEGIN SOLUTION") >= 1, cell.metadata["grade_id"]
                assert cell.source.count("### BEGIN SOLUTION") == cell.source.count("### END SOLUTION")

    def test_markers_only_where_allowed(self, folder):
        allowed = {"answer": MARKERS[:2], "test": MARKERS[2:]}
        for cell in read_cells(folder):
            for marker in MARKERS:
                if marker in cell.source:
                    assert marker in allowed.get(kind_of(cell), ()), f"{marker!r} in a {kind_of(cell)} cell"

    def test_one_written_answer(self, folder):
        written = [cell for cell in graded_cells(folder) if kind_of(cell) == "written"]
        assert len(written) == 1
        assert written[0].cell_type == "markdown"
        assert written[0].metadata["points"] > 0

    def test_mistakes_name_answers(self, folder):
        answers = {cell.metadata["grade_id"] for cell in graded_cells(folder) if kind_of(cell) == "answer"}
        for cell in read_cells(folder):
            if kind_of(cell) == "mistake":
                assert cell.metadata["answer"] in answers
                assert "### BEGIN" not in cell.source

    def test_markdown_renders(self, folder):
        environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
        for cell in read_cells(folder):
            if cell.cell_type == "markdown":
                environment.from_string(cell.source).render(**CONTEXT)

    def test_jinja_only_in_markdown(self, folder):
        for cell in read_cells(folder):
            if cell.cell_type == "code":
                assert not JINJA_FIELD.search(cell.source), cell.source[:80]

    def test_code_compiles(self, folder):
        for cell in read_cells(folder):
            if cell.cell_type == "code":
                compile(cell.source, f"{folder.name}:{cell.metadata.get('grade_id')}", "exec")

    def test_japanese_font_used(self, folder):
        code = "\n".join(cell.source for cell in read_cells(folder) if cell.cell_type == "code")
        if "matplotlib" in code:
            assert "use_japanese_font()" in code


def test_spine_covers_both_kinds():
    # Modules 01-03 make up every course, so each needs a variant for image and CSV data.
    kinds: dict[str, set[str]] = {"01": set(), "02": set(), "03": set()}
    for folder in MODULE_FOLDERS:
        meta = read_meta(folder)
        if meta["id"] not in kinds:
            continue
        covered = {"images", "csv"} if meta["data_kind"] == "any" else {meta["data_kind"]}
        kinds[meta["id"]].update(covered)
    for module_id, covered in kinds.items():
        assert covered == {"images", "csv"}, f"module {module_id} has no variant for {({'images', 'csv'} - covered)}"
