"""Exact duplicates in an image folder: a photo filed in two classes is left out entirely, and every file left out is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from kenshu.datasets import load_image_folder
from kenshu.i18n import message


def make_folder(root: Path, classes: dict[str, int]) -> Path:
    """Write *count* distinct 16 px noise images ``0000.png``, ``0001.png``, ... into each class folder."""
    generator = np.random.default_rng(0)
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for index in range(count):
            Image.fromarray(generator.integers(0, 256, size=(16, 16), dtype=np.uint8)).save(root / name / f"{index:04d}.png")
    return root


def load(root: Path, **options):
    return load_image_folder(root, image_size=16, show_progress=False, **options)


def left_out(data, reason: str) -> list[str]:
    return sorted(Path(problem.path).relative_to(data.source).as_posix() for problem in data.problems if problem.reason == reason)


def loaded(data) -> set[str]:
    return {Path(path).resolve().relative_to(data.source).as_posix() for path in data.paths}


def test_conflict_leaves_out_both_copies(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "photos", {"良品": 4, "不良品": 4})
    shutil.copy(root / "良品" / "0000.png", root / "不良品" / "x.png")

    data = load(root, write_card=False)

    assert left_out(data, "label_conflict") == ["不良品/x.png", "良品/0000.png"]
    assert "良品/0000.png" not in loaded(data)
    assert "不良品/x.png" not in loaded(data)
    assert len(data.paths) == 7
    assert int((data.target == 0).sum()) == 3


def test_conflict_message_names_other_copy(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "photos", {"良品": 3, "不良品": 3})
    shutil.copy(root / "良品" / "0000.png", root / "不良品" / "x.png")

    data = load(root, write_card=False)
    texts = {Path(problem.path).name: problem.describe(lang="ja") for problem in data.problems if problem.reason == "label_conflict"}

    assert str(root / "良品" / "0000.png") in texts["x.png"]
    assert str(root / "不良品" / "x.png") in texts["0000.png"]
    assert "重複分は除外しました" not in texts["x.png"]
    assert "すべて除外しました" in texts["x.png"]


def test_conflict_with_same_class_copy(tmp_path: Path) -> None:
    """Two copies in 良品 and one in 不良品: all three are left out, none kept as 'the first'."""
    root = make_folder(tmp_path / "photos", {"良品": 4, "不良品": 4})
    shutil.copy(root / "良品" / "0001.png", root / "良品" / "0001_copy.png")
    shutil.copy(root / "良品" / "0001.png", root / "不良品" / "y.png")

    data = load(root, write_card=False)

    assert left_out(data, "label_conflict") == ["不良品/y.png", "良品/0001.png", "良品/0001_copy.png"]
    assert left_out(data, "duplicate") == []
    assert len(data.paths) == 7


def test_same_class_keeps_first_sorted(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "photos", {"良品": 3, "不良品": 3})
    # "0001a.png" sorts before "0002.png", so the copy stays and the original is the one left out.
    shutil.copy(root / "良品" / "0002.png", root / "良品" / "0001a.png")

    data = load(root, write_card=False)
    problem = next(problem for problem in data.problems if problem.reason == "duplicate")

    assert left_out(data, "duplicate") == ["良品/0002.png"]
    assert "良品/0001a.png" in loaded(data)
    assert str(root / "良品" / "0002.png") in problem.describe(lang="ja")
    assert str(root / "良品" / "0001a.png") in problem.describe(lang="ja")


def test_card_lists_conflict(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "photos", {"良品": 4, "不良品": 4})
    shutil.copy(root / "良品" / "0000.png", root / "不良品" / "x.png")
    shutil.copy(root / "良品" / "0001.png", root / "良品" / "zz.png")

    load(root, card_dir=tmp_path / "card")
    card = json.loads((tmp_path / "card" / "dataset_card.json").read_text(encoding="utf-8"))
    markdown = (tmp_path / "card" / "dataset_card.md").read_text(encoding="utf-8")
    problems = {problem["path"]: problem for problem in card["problems"]}

    assert {entry["name"]: entry["count"] for entry in card["classes"]} == {"不良品": 4, "良品": 3}
    assert card["n_images"] == 7
    assert "良品/0000.png" not in {entry["path"] for entry in card["files"]}
    assert problems["不良品/x.png"] == {"path": "不良品/x.png", "reason": "label_conflict", "detail": "良品/0000.png"}
    assert problems["良品/0000.png"]["detail"] == "不良品/x.png"
    assert problems["良品/zz.png"] == {"path": "良品/zz.png", "reason": "duplicate", "detail": "良品/0001.png"}
    assert "`良品/0000.png`" in markdown
    assert message("datasets.reason_label_conflict", lang="ja") in markdown


def test_label_conflict_messages_exist() -> None:
    for lang in ("ja", "en"):
        assert "p.png" in message("datasets.problem_label_conflict", lang=lang, path="p.png", detail="q.png")
        assert message("datasets.reason_label_conflict", lang=lang)
