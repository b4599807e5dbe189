"""report.html reads cleanly: labelled numbers, one "注意" prefix, an input section, no comparison of a single model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kenshu.cli import main
from kenshu.inspection import train_inspector

from .conftest import FAST


def _body(report: Path) -> str:
    """Return the report's visible text between <body> and </body>, tags removed."""
    text = report.read_text(encoding="utf-8")
    body = text[text.index("<body>") : text.index("</body>")]
    return re.sub(r"<[^>]+>", " ", body)


def test_confusion_numbers_labelled(trained) -> None:
    """No line of the report is only numbers: each count sits in a labelled table."""
    text = trained.report_path.read_text(encoding="utf-8")
    bare_lines = [line for line in text.splitlines() if re.fullmatch(r"(<p[^>]*>)?\s*[\d\s]+\s*(</p>)?", line.strip())]

    assert bare_lines == []
    assert '<table class="confusion">' in text
    assert "正解 \\ 判定" in text


def test_several_programs_compared(trained) -> None:
    text = trained.report_path.read_text(encoding="utf-8")

    assert len(trained.candidates) >= 2
    assert "比べたモデル" in text
    assert "いちばん高いモデル" in text


def test_single_program_not_compared(press_folder: Path, tmp_path: Path) -> None:
    result = train_inspector(press_folder, out_dir=tmp_path / "out", mode="supervised", programs=("features",), **FAST)
    text = result.report_path.read_text(encoding="utf-8")

    assert list(result.candidates) == ["features"]
    assert "比べたモデル" not in text
    assert "いちばん高い" not in text
    assert "1 つだけなので" in text


def test_input_section(trained, press_folder: Path) -> None:
    text = _body(trained.report_path)
    good = len([path for path in (press_folder / "良品").glob("*.png") if "_mask" not in path.name])

    assert " 入力 " in text
    assert str(press_folder.resolve()) in text
    assert re.search(rf"写真の枚数: 良品 \(良品\)\s+{good}\s", text)
    assert re.search(r"画像サイズ \(--image-size\)\s+32 px", text)
    assert re.search(r"乱数シード \(--random-state\)\s+0\s", text)
    assert trained.inputs["trained_at"] in text


def test_warnings_without_repeated_prefix(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Good photos only give warnings; in the report's 注意 list no item starts with 注意: again."""
    from kenshu.datasets import make_press_parts, save_image_folder

    folder = tmp_path / "photos"
    save_image_folder(make_press_parts(8, defect_ratio=0.0, image_size=32, random_state=2), folder)
    main(["inspect", "train", str(folder), "--out", str(tmp_path / "out"), "--image-size", "32", "--epochs", "1", "--threads", "1"])
    printed = capsys.readouterr().out
    text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    items = re.findall(r"<li>([^<]*)</li>", text[text.index('<ul class="warnings">') :])

    assert "注意: テスト用データに不良品の写真がない" in printed
    assert items
    assert not [item for item in items if item.startswith("注意")]
    assert "テスト用データに不良品の写真がない" in text
