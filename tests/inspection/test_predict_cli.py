"""``kenshu inspect predict``: printed verdicts and the CSV, including an unreadable photo."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from kenshu.cli import main


@pytest.fixture
def photos(press_folder: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for source in sorted((press_folder / "良品").glob("00[0-9][0-9].png"))[:2]:
        shutil.copy(source, folder / source.name)
    for source in sorted((press_folder / "不良品").glob("00[0-9][0-9].png"))[:2]:
        shutil.copy(source, folder / f"ng_{source.name}")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_predict_writes_bom_csv(trained, photos: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "verdicts.csv"
    status = main(["inspect", "predict", str(trained.out_dir), str(photos), "--csv", str(out)])
    rows = _rows(out)
    assert status == 1  # one photo could not be read
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert rows[0] == ["ファイル", "判定", "スコア", "しきい値", "エラー"]
    assert len(rows) == 1 + 5


def test_predict_csv_verdicts(trained, photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "verdicts.csv"
    main(["inspect", "predict", str(trained.out_dir / "model.pt"), str(photos), "--csv", str(out)])
    rows = {Path(row[0]).name: row for row in _rows(out)[1:]}
    for name, row in rows.items():
        if name == "broken.jpg":
            continue
        expected = "不良品" if float(row[2]) >= float(row[3]) else "良品"
        assert row[1] == expected, name
    assert rows["broken.jpg"][1] == ""
    assert "broken.jpg" in rows["broken.jpg"][4]


def test_predict_prints_each_photo(trained, photos: Path, tmp_path: Path, capsys) -> None:
    main(["inspect", "predict", str(trained.out_dir), str(photos), "--csv", str(tmp_path / "v.csv")])
    printed = capsys.readouterr().out
    assert printed.count("スコア") == 4
    assert "判定できません" in printed


def test_predict_missing_model(tmp_path: Path, capsys) -> None:
    status = main(["inspect", "predict", str(tmp_path / "nowhere"), str(tmp_path)])
    assert status == 2
    assert "見つかりません" in capsys.readouterr().err


def test_predict_missing_file(trained, photos: Path, tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no_such_photo.png"
    status = main(["inspect", "predict", str(trained.out_dir), str(photos), str(missing), "--csv", str(tmp_path / "v.csv")])
    captured = capsys.readouterr()
    printed = captured.out

    assert status == 1
    assert "no_such_photo.png が見つかりません" in printed
    # Four photos judged; the corrupt one and the missing one are counted apart, each reported once.
    assert "4 枚を判定しました" in printed
    assert "判定できなかった写真 2 枚" in printed
    assert "broken.jpg" in printed
    assert "broken.jpg" not in captured.err


def test_model_config_carries_test_figures(trained) -> None:
    config = json.loads((trained.out_dir / "model.json").read_text(encoding="utf-8"))

    assert config["training_warnings"] == trained.warnings()
    assert config["test_metrics"]["n_defect"] == trained.test.n_defect
    assert config["test_metrics"]["n_good"] == trained.test.n_good
    assert config["test_metrics"]["false_alarm_rate"] == pytest.approx(trained.test.false_alarm_rate)


def test_predict_repeats_training_warnings(trained, photos: Path, tmp_path: Path, capsys) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(trained.out_dir, model_dir)
    config_path = model_dir / "model.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["training_warnings"] = ["注意: テスト用データに不良品の写真がありません。"]
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")

    main(["inspect", "predict", str(model_dir), str(photos), "--csv", str(tmp_path / "v.csv")])
    printed = capsys.readouterr().out

    assert "このモデルには学習時に次の注意が出ています" in printed
    assert str(model_dir / "report.html") in printed
    assert "  注意: テスト用データに不良品の写真がありません。" in printed


def test_predict_without_warnings_prints_none(trained, photos: Path, tmp_path: Path, capsys) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(trained.out_dir, model_dir)
    config_path = model_dir / "model.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["training_warnings"] = []
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")

    main(["inspect", "predict", str(model_dir), str(photos), "--csv", str(tmp_path / "v.csv")])

    assert "学習時に次の注意" not in capsys.readouterr().out
