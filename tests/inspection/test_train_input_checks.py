"""``kenshu inspect train`` and ``train_inspector`` reject bad options and too few photos before training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch

from kenshu.cli import main
from kenshu.datasets import make_press_parts
from kenshu.errors import KenshuError
from kenshu.inspection import train_inspector
from kenshu.inspection.training import MIN_ANOMALY_GOOD, MIN_SUPERVISED_DEFECTS, MIN_SUPERVISED_GOOD

FAST = {"image_size": 32, "epochs": 1, "n_threads": 1, "memory_size": 200, "write_report": False}


@pytest.fixture(scope="module")
def parts() -> Bunch:
    """Generated press parts (32 px), enough of each class to pick exact counts from."""
    return make_press_parts(40, image_size=32, random_state=5)


def subset(parts: Bunch, n_good: int, n_defect: int) -> Bunch:
    """Return a Bunch with the first *n_good* good and *n_defect* defect parts."""
    chosen = np.concatenate([np.flatnonzero(parts.target == 0)[:n_good], np.flatnonzero(parts.target == 1)[:n_defect]])
    return Bunch(images=parts.images[chosen], target=parts.target[chosen])


@pytest.mark.parametrize(
    ("option", "value"),
    [("--epochs", "-3"), ("--epochs", "0"), ("--image-size", "0"), ("--image-size", "7"),
     ("--threads", "-1"), ("--threads", "0"), ("--max-per-class", "0")],
)
def test_cli_rejects_option(press_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture, option: str, value: str) -> None:
    out = tmp_path / "out"
    status = main(["inspect", "train", str(press_folder), "--out", str(out), option, value])
    error = capsys.readouterr().err

    assert status == 2
    assert option in error
    assert f"指定された値: {value}" in error
    assert "Traceback" not in error
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [("epochs", -3), ("epochs", 0), ("image_size", 0), ("image_size", 7), ("n_threads", -1), ("n_threads", 0),
     ("max_per_class", 0), ("epochs", 2.5)],
)
def test_train_inspector_rejects_value(press_folder: Path, tmp_path: Path, name: str, value) -> None:
    out = tmp_path / "out"
    options = {**FAST, name: value}

    with pytest.raises(ValueError, match=rf"{name} must be an integer of at least \d+, got {value!r}"):
        train_inspector(press_folder, out_dir=out, **options)
    assert not out.exists()


@pytest.mark.parametrize(("n_good", "n_defect"), [(MIN_SUPERVISED_GOOD - 1, 10), (10, MIN_SUPERVISED_DEFECTS - 1)])
def test_supervised_too_few_photos(parts: Bunch, tmp_path: Path, n_good: int, n_defect: int) -> None:
    with pytest.raises(KenshuError) as caught:
        train_inspector(subset(parts, n_good, n_defect), out_dir=tmp_path / "out", mode="supervised", **FAST)

    text = str(caught.value)
    assert caught.value.key == "inspection.too_few_for_supervised"
    assert f"良品 {n_good} 枚、不良品 {n_defect} 枚" in text
    assert f"良品 {MIN_SUPERVISED_GOOD} 枚以上と不良品 {MIN_SUPERVISED_DEFECTS} 枚以上" in text


def test_supervised_trains_at_minimum(parts: Bunch, tmp_path: Path) -> None:
    """The smallest counts allowed really train: the minimum is not set higher than needed."""
    result = train_inspector(subset(parts, MIN_SUPERVISED_GOOD, MIN_SUPERVISED_DEFECTS), out_dir=tmp_path / "out",
                             mode="supervised", **FAST)

    assert result.mode == "supervised"
    assert result.model_path.is_file()
    assert result.test.n_defect >= 1


def test_cli_supervised_max_per_class_too_small(press_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status = main(["inspect", "train", str(press_folder), "--out", str(tmp_path / "out"), "--mode", "supervised",
                   "--max-per-class", "5", "--image-size", "32", "--epochs", "1", "--threads", "1"])
    error = capsys.readouterr().err

    assert status == 2
    assert "良品 5 枚、不良品 5 枚" in error
    assert "--max-per-class" in error
    assert "Traceback" not in error
    assert not (tmp_path / "out" / "model.pt").exists()


def test_anomaly_too_few_good(parts: Bunch, tmp_path: Path) -> None:
    with pytest.raises(KenshuError) as caught:
        train_inspector(subset(parts, MIN_ANOMALY_GOOD - 1, 3), out_dir=tmp_path / "out", mode="anomaly", **FAST)

    assert caught.value.key == "inspection.too_few_good_for_anomaly"
    assert f"良品の写真が {MIN_ANOMALY_GOOD - 1} 枚しかありません" in str(caught.value)


def test_anomaly_trains_at_minimum(parts: Bunch, tmp_path: Path) -> None:
    result = train_inspector(subset(parts, MIN_ANOMALY_GOOD, 2), out_dir=tmp_path / "out", mode="anomaly", **FAST)

    assert result.mode == "anomaly"
    assert result.model_path.is_file()


def test_auto_mode_checks_resolved_mode(parts: Bunch, tmp_path: Path) -> None:
    """With many defects ``auto`` trains supervised, so too few good photos is reported for supervised training."""
    with pytest.raises(KenshuError) as caught:
        train_inspector(subset(parts, MIN_SUPERVISED_GOOD - 1, 20), out_dir=tmp_path / "out", mode="auto",
                        min_defect_images=10, **FAST)

    assert caught.value.key == "inspection.too_few_for_supervised"
