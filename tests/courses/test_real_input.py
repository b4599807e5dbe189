"""The example course on real factory photos: magnetic tiles with blowholes and cracks."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from kenshu.courses.build import build_course
from kenshu.courses.spec import load_course_spec
from kenshu.demo import run_solutions
from kenshu.notebooks.templates import discover_modules, select_module

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "magnetic_tile_subset"


def test_magnetic_tile_course_valid_realdata(realdata: Path) -> None:
    spec = load_course_spec(REPO / "courses" / "magnetic_tile")
    assert spec.problem.data.folder == (realdata / "magnetic_tile").resolve()
    assert spec.problem.data.good_class == "MT_Free"


def test_module02_accuracy_on_tile_fixture(tmp_path: Path) -> None:
    # The same course, pointed at the small subset of the photos that ships with the tests.
    # The notebook writes a dataset card beside the photos, so it gets a copy of them.
    photos = shutil.copytree(FIXTURE, tmp_path / "photos", ignore=shutil.ignore_patterns("dataset_card.*"))
    course = tmp_path / "magnetic_tile"
    course.mkdir()
    text = (REPO / "courses" / "magnetic_tile" / "course.yml").read_text(encoding="utf-8")
    text = text.replace("folder: ../../../shared/realdata/magnetic_tile", f"folder: {photos}")
    text = re.sub(r"^modules: \[.*\]$", 'modules: ["02"]', text, flags=re.MULTILINE)
    (course / "course.yml").write_text(text, encoding="utf-8")

    build = build_course(course, fast=True)
    module = select_module("02", "images", discover_modules())
    metrics = run_solutions(build.root, build.assignments, {build.assignments[0]: module.folder})[build.assignments[0]]

    assert build.data.good_class == "MT_Free"
    assert set(build.data.defect_classes) == {"MT_Blowhole", "MT_Crack"}
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert 0.0 <= metrics["miss_rate"] <= 1.0
    assert metrics["test_images"] >= 4
