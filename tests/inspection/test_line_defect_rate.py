"""``--line-defect-percent``: the re-check estimate uses the line's defect rate, not the photos' share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kenshu.cli import main


def _train(folder: Path, out: Path, *extra: str) -> None:
    status = main(["inspect", "train", str(folder), "--out", str(out), "--mode", "supervised",
                   "--image-size", "32", "--epochs", "2", "--threads", "1", *extra])
    assert status == 0


def test_line_defect_rate_sets_estimate(press_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _train(press_folder, tmp_path / "photos_share")
    photos_share = capsys.readouterr().out
    _train(press_folder, tmp_path / "line_rate", "--line-defect-percent", "0.5")
    line_rate = capsys.readouterr().out
    metrics = json.loads((tmp_path / "line_rate" / "metrics.json").read_text(encoding="utf-8"))
    report = (tmp_path / "line_rate" / "report.html").read_text(encoding="utf-8")

    assert "検証データの写真の中の不良品の割合で、実際のラインの不良率ではありません" in photos_share
    assert "不良率 0.50 % のライン" in line_rate
    assert "不良率は指定された値です" in line_rate
    assert "不良率 0.50 % のライン" in report
    # At 0.5 % defects, re-checks per thousand are the false alarms on 995 good parts plus at most 5 defects.
    choice = metrics["threshold"]
    assert choice["defect_rate"] == pytest.approx(0.005)
    expected = 1000 * (0.005 * choice["recall"] + 0.995 * choice["false_alarm_rate"])
    assert choice["set_aside_per_thousand"] == pytest.approx(expected)


def test_line_defect_percent_out_of_range(press_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status = main(["inspect", "train", str(press_folder), "--out", str(tmp_path / "out"), "--line-defect-percent", "150"])

    assert status == 2
    assert "0 から 100 までの百分率" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
