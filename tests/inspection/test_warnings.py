"""``kenshu inspect train`` warns when its model cannot be trusted, and lists the files it left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kenshu.cli import main


@pytest.fixture
def indistinguishable(tmp_path: Path) -> Path:
    """A folder whose 良品 and 不良品 photos are noise from one distribution, plus one corrupt file."""
    folder = tmp_path / "photos"
    generator = np.random.default_rng(0)
    for class_name in ("良品", "不良品"):
        (folder / class_name).mkdir(parents=True)
        for index in range(24):
            pixels = generator.integers(0, 256, size=(32, 32), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / class_name / f"{index:03d}.png")
    (folder / "不良品" / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


def test_train_warns_weak_model(indistinguishable: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    status = main(
        ["inspect", "train", str(indistinguishable), "--out", str(out), "--mode", "supervised",
         "--image-size", "32", "--epochs", "2", "--threads", "1"]
    )
    printed = capsys.readouterr().out
    report = (out / "report.html").read_text(encoding="utf-8")

    assert status == 0
    assert "まだよく見分けられていません" in printed
    assert "1 件のファイルを除いて" in printed
    assert "まだよく見分けられていません" in report
    assert "broken.jpg" in report


def test_train_no_warning_when_separable(press_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The generated press parts separate well at these settings, so no weak-model warning is printed."""
    out = tmp_path / "out"
    main(["inspect", "train", str(press_folder), "--out", str(out), "--mode", "supervised",
          "--image-size", "64", "--epochs", "2", "--threads", "1"])
    printed = capsys.readouterr().out

    assert "学習が終わりました" in printed
    assert "まだよく見分けられていません" not in printed
