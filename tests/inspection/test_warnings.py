"""``kenshu inspect train`` warns when its model cannot be trusted, and lists the files it left out."""

from __future__ import annotations

import json
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


def _result(validation: tuple[list[float], list[int]], test: tuple[list[float], list[int]]):
    """Return an InspectionResult measured on the given (scores, labels) of validation and test."""
    from kenshu.inspection.evaluation import evaluate_scores
    from kenshu.inspection.threshold import choose_threshold
    from kenshu.inspection.training import InspectionResult

    choice = choose_threshold(*validation)
    return InspectionResult(
        out_dir=Path("out"), model_path=Path("out/model.pt"), report_path=Path("out/report.html"),
        mode="anomaly", kind="anomaly", threshold=choice,
        validation=evaluate_scores(*validation, choice.threshold), test=evaluate_scores(*test, choice.threshold),
        candidates={}, model_size_bytes=0, seconds_per_image=0.0, training_seconds=0.0,
    )


def test_no_defects_many_false_alarms_not_fit() -> None:
    """Good photos only: nothing was ranked, so no warning may praise the ranking."""
    result = _result(([0.1, 0.2, 0.3], [0, 0, 0]), ([0.9, 0.8], [0, 0]))

    warnings = "\n".join(result.warnings())

    assert result.test.false_alarm_rate == 1.0
    assert "順位付けはよい" not in warnings
    assert "まだラインで使えません" in warnings
    assert "不良品の写真も集めて" in warnings


def test_no_defects_few_false_alarms_no_fit_warning() -> None:
    result = _result(([0.1, 0.2, 0.3], [0, 0, 0]), ([0.1, 0.2], [0, 0]))

    warnings = "\n".join(result.warnings())

    assert "まだラインで使えません" not in warnings
    assert "テスト用データに不良品の写真がない" in warnings


def test_good_ranking_many_false_alarms_kept() -> None:
    """Validation ranks perfectly, test flags most good parts: the ranking warning still applies."""
    result = _result(([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), ([0.85, 0.9, 0.1, 0.95], [0, 0, 0, 1]))

    warnings = "\n".join(result.warnings())

    assert result.validation.roc_auc == 1.0
    assert "順位付けはよい" in warnings
    assert "まだラインで使えません" not in warnings


def test_cli_good_photos_only(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Five good photos only, as a new user tries first: the printed warnings agree with the figures."""
    from kenshu.datasets import make_press_parts

    folder = tmp_path / "pc"
    (folder / "良品").mkdir(parents=True)
    parts = make_press_parts(5, defect_ratio=0.0, image_size=64, random_state=1)
    for index, image in enumerate(parts.images):
        Image.fromarray(image).save(folder / "良品" / f"{index:02d}.png")

    status = main(["inspect", "train", str(folder), "--out", str(tmp_path / "out"), "--image-size", "32", "--epochs", "1", "--threads", "1"])
    printed = capsys.readouterr().out
    config = json.loads((tmp_path / "out" / "model.json").read_text(encoding="utf-8"))

    assert status == 0
    assert config["test_metrics"]["roc_auc"] is None
    assert "順位付けはよい" not in printed
    if config["test_metrics"]["false_alarm_rate"] >= 0.5:
        assert "まだラインで使えません" in printed
    else:
        assert "まだラインで使えません" not in printed
