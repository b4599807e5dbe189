"""The image modules 04-07 in the magnetic tile course, on real photos of uneven size.

The course spec is the shipped ``courses/magnetic_tile/course.yml`` with its data
folder pointed at the small subset of the photos that ships with the tests
(8 photos per class), so these tests need no data from outside the checkout.
The same modules on generated photos are covered by ``test_modules_run.py``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from kenshu.courses.build import build_course
from kenshu.notebooks.execute import execute_notebook

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "magnetic_tile_subset"
IMAGE_MODULES = ["04", "05", "06", "07"]


def _tile_course(tmp_path: Path, modules: list[str]) -> Path:
    # The notebooks write no dataset card, but the loader may still probe the folder: use a copy.
    photos = shutil.copytree(FIXTURE, tmp_path / "photos", ignore=shutil.ignore_patterns("dataset_card.*"))
    course = tmp_path / "magnetic_tile"
    course.mkdir()
    text = (REPO / "courses" / "magnetic_tile" / "course.yml").read_text(encoding="utf-8")
    text = text.replace("folder: ../../../shared/realdata/magnetic_tile", f"folder: {photos}")
    listed = ", ".join(f'"{module}"' for module in modules)
    text, count = re.subn(r"^modules: \[.*\]$", f"modules: [{listed}]", text, flags=re.MULTILINE)
    assert count == 1, "course.yml of magnetic_tile has no one-line `modules: [...]`"
    (course / "course.yml").write_text(text, encoding="utf-8")
    return course


def test_tile_course_lists_image_modules() -> None:
    text = (REPO / "courses" / "magnetic_tile" / "course.yml").read_text(encoding="utf-8")
    listed = re.search(r"^modules: \[(.*)\]$", text, flags=re.MULTILINE).group(1)
    modules = [item.strip().strip('"') for item in listed.split(",")]
    assert modules[:3] == ["01", "02", "03"]
    assert set(IMAGE_MODULES) <= set(modules)


@pytest.mark.parametrize("module_id", IMAGE_MODULES)
def test_image_module_runs_on_tile_photos(tmp_path: Path, module_id: str) -> None:
    build = build_course(_tile_course(tmp_path, [module_id]), fast=True)
    assignment = build.assignments[0]
    assert assignment.startswith(module_id + "_")

    executed, errors, _ = execute_notebook(build.root / "source" / assignment / f"{assignment}.ipynb")

    assert errors == [], "\n".join(str(error) for error in errors)
    assert any(cell.metadata.get("nbgrader", {}).get("grade") for cell in executed.cells)
