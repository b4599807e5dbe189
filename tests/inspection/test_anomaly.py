"""Good-parts-only training (異常検知): mode choice, threshold without defects, a painted defect found."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from kenshu.datasets import make_press_parts, save_image_folder
from kenshu.inspection import load_exported, train_inspector

from .conftest import FAST


@pytest.fixture(scope="module")
def good_only(tmp_path_factory: pytest.TempPathFactory):
    data = make_press_parts(40, defect_ratio=0.0, image_size=64, random_state=11)
    folder = tmp_path_factory.mktemp("good") / "parts"
    save_image_folder(data, folder)
    result = train_inspector(folder, out_dir=folder.parent / "out", random_state=0, **FAST)
    return data, result


def test_auto_mode_picks_anomaly(good_only) -> None:
    _, result = good_only
    assert result.mode == "anomaly"
    assert result.kind == "anomaly"


def test_threshold_bounds_false_alarms(good_only) -> None:
    _, result = good_only
    assert result.threshold.rule == "false_alarm"
    assert result.threshold.n_defect == 0
    assert math.isnan(result.threshold.recall)


def test_painted_defect_raises_score(good_only) -> None:
    data, result = good_only
    inspector = load_exported(result.out_dir)
    good = data.images[:8].astype(np.float32) / 255.0
    painted = good.copy()
    # A dark 10 x 10 blot in the middle of each part, like a stain or a dent.
    painted[:, 27:37, 27:37] = 0.02
    # Compared part by part: at these fast settings (32 px, 200 patches in memory) the spread
    # between parts is larger than the effect of the blot, so a paired comparison is the fair one.
    assert np.all(inspector.score(painted) > inspector.score(good))


def test_report_without_defects(good_only) -> None:
    _, result = good_only
    text = result.report_path.read_text(encoding="utf-8")
    assert "不良品がない" in text
    # The re-check estimate states that it counts false alarms only, and the empty heat-map section gives the reason.
    assert "不良率 0 % として良品の過検出だけを数えました" in text
    assert "写真の中の不良品の割合で" not in text
    assert "テストデータに不良品の写真がないため、この図はありません" in text
