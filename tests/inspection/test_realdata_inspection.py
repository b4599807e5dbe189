"""Training on magnetic tile photos: the shipped subset and, when present, the real data folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kenshu.inspection import train_inspector

from .conftest import FAST

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "magnetic_tile_subset"
REALDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata" / "magnetic_tile"


def _train(folder: Path, out_dir: Path, **options):
    return train_inspector(folder, out_dir=out_dir, good_class="MT_Free", mode="supervised", random_state=0,
                           programs=("features",), **{**FAST, **options})


def _check(result, n_images: int) -> None:
    metrics = json.loads((result.out_dir / "metrics.json").read_text(encoding="utf-8"))
    split_total = metrics["test"]["n_images"] + metrics["validation"]["n_images"]
    assert split_total < n_images
    assert metrics["test"]["n_defect"] >= 1
    assert (result.out_dir / "heat_maps.png").is_file()
    assert result.model_path.is_file()


def test_magnetic_tile_subset(tmp_path: Path) -> None:
    result = _train(FIXTURE, tmp_path / "out")
    _check(result, 24)


def test_magnetic_tile_realdata(tmp_path: Path) -> None:
    if not REALDATA.is_dir():
        pytest.skip(f"magnetic tile photos not found: {REALDATA.resolve()}")
    result = _train(REALDATA, tmp_path / "out", max_per_class=10)
    _check(result, 30)
