"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import shutil

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"

# Progress bars would fill the captured output of failing tests.
os.environ.setdefault("KENSHU_PROGRESS", "0")


@pytest.fixture(autouse=True)
def _japanese_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test with Japanese messages unless it sets another language itself."""
    from kenshu import i18n

    monkeypatch.setenv("KENSHU_LANG", "ja")
    monkeypatch.setattr(i18n, "_current_language", None)


@pytest.fixture
def realdata() -> Path:
    """Return the shared real-data folder, or skip the test with the path that is missing."""
    if not REALDATA.is_dir():
        pytest.skip(f"real factory data not found: {REALDATA}")
    return REALDATA


# A scratch kenshu project: the tiny module template and a course on a few images.
FIXTURES = Path(__file__).resolve().parent / "fixtures"

COURSE_YML = """\
company: 株式会社テスト精機
course_id: test-2026
problem:
  statement: 傷のある部品を見つけたい
  data:
    kind: images
    folder: photos
    good_class: 良品
modules: ["01"]
sessions:
  - {date: 2026-06-04, title: 一回目}
  - {date: 2026-06-18, title: 二回目}
trainees:
  - {id: t1, name: 試験 一郎, company: 株式会社テスト精機}
  - {id: t2, name: 試験 二郎, company: 株式会社テスト精機}
  - {id: t3, name: 試験 三郎, company: 株式会社テスト精機}
instructors:
  - {name: 講師 太郎}
"""


def make_project(root: Path, *, trainees: int = 3) -> Path:
    """Lay out a project at *root* with notebooks/01_tiny and courses/test; return the course folder."""
    shutil.copytree(FIXTURES / "modules" / "01_tiny", root / "notebooks" / "01_tiny")
    course = root / "courses" / "test"
    for class_name in ("良品", "不良品"):
        folder = course / "photos" / class_name
        folder.mkdir(parents=True)
        for index in range(3):
            Image.new("L", (16, 16), 40 * index + (100 if class_name == "不良品" else 0)).save(folder / f"{index}.png")
    extra = "".join(f"  - {{id: t{index}, name: 試験 {index}郎, company: 株式会社テスト精機}}\n" for index in range(4, trainees + 1))
    (course / "course.yml").write_text(COURSE_YML.replace("instructors:\n", extra + "instructors:\n"), encoding="utf-8")
    return course


@pytest.fixture(scope="session")
def project_factory():
    """Return ``make_project``, for fixtures with a wider scope than a single test."""
    return make_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a project root with notebooks/01_tiny and courses/test holding six small photos."""
    make_project(tmp_path)
    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def course_dir(project: Path) -> Path:
    """Return the folder of the scratch course."""
    return project / "courses" / "test"
