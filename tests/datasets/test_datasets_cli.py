"""``kenshu datasets`` verbs, run as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kenshu.cli import main
from kenshu.datasets import load_sensor_csv

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "magnetic_tile_subset"


@pytest.fixture(autouse=True)
def japanese(monkeypatch):
    monkeypatch.setenv("KENSHU_LANG", "ja")
    monkeypatch.setenv("KENSHU_PROGRESS", "0")


def test_make_press_parts_writes_folder(tmp_path, capsys):
    status = main(["datasets", "make-press-parts", str(tmp_path / "out"), "--n-samples", "20", "--random-state", "1"])
    output = capsys.readouterr().out
    good = [p for p in (tmp_path / "out" / "良品").glob("*.png") if "_mask" not in p.name]
    bad = [p for p in (tmp_path / "out" / "不良品").glob("*.png") if "_mask" not in p.name]
    assert status == 0
    assert len(good) == 10
    assert len(bad) == 10
    assert "良品 (良品): 10 枚" in output
    assert (tmp_path / "out" / "dataset_card.json").is_file()


def test_make_press_parts_rerun_same_bytes(tmp_path, capsys):
    arguments = ["datasets", "make-press-parts", str(tmp_path / "out"), "--n-samples", "8", "--random-state", "2"]
    main(arguments)
    first = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*.png")}
    main(arguments)
    second = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*.png")}
    assert first == second


def test_card_prints_counts_and_problems(tmp_path, capsys):
    folder = shutil.copytree(FIXTURE, tmp_path / "tiles", ignore=shutil.ignore_patterns("dataset_card.*"))
    (folder / "MT_Crack" / "Imgs" / "broken.jpg").write_bytes(b"not a photo")
    status = main(["datasets", "card", str(folder)])
    output = capsys.readouterr().out
    card = json.loads((folder / "dataset_card.json").read_text(encoding="utf-8"))
    assert status == 0
    assert "MT_Free (良品): 8 枚" in output
    assert "MT_Crack (不良品): 8 枚" in output
    assert "broken.jpg" in output
    assert "問題が 1 件" in output
    assert card["n_images"] == 24


def test_card_dir_option(tmp_path, capsys):
    folder = shutil.copytree(FIXTURE, tmp_path / "tiles", ignore=shutil.ignore_patterns("dataset_card.*"))
    status = main(["datasets", "card", str(folder), "--card-dir", str(tmp_path / "cards")])
    assert status == 0
    assert (tmp_path / "cards" / "dataset_card.md").is_file()
    assert not (folder / "dataset_card.json").exists()


def test_card_undecided_good_class_exit_2(tmp_path, capsys):
    for name in ("line1", "line2"):
        shutil.copytree(FIXTURE / "MT_Free", tmp_path / "data" / name, dirs_exist_ok=True)
    status = main(["datasets", "card", str(tmp_path / "data")])
    error = capsys.readouterr().err
    assert status == 2
    assert "line1" in error
    assert "--good-class" in error


def test_card_good_class_option(tmp_path, capsys):
    shutil.copytree(FIXTURE / "MT_Free", tmp_path / "data" / "line1")
    shutil.copytree(FIXTURE / "MT_Crack", tmp_path / "data" / "line2")
    status = main(["datasets", "card", str(tmp_path / "data"), "--good-class", "line1"])
    assert status == 0
    assert "line1 (良品): 8 枚" in capsys.readouterr().out


def test_make_process_log_csv(tmp_path, capsys):
    status = main(["datasets", "make-process-log", str(tmp_path / "log.csv"), "--n-samples", "100"])
    frame = load_sensor_csv(tmp_path / "log.csv")
    assert status == 0
    assert (tmp_path / "log.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert frame.attrs["units"]["プレス荷重"] == "kN"
    assert len(frame) == 100


def test_command_line_entry_point(tmp_path):
    environment = {**os.environ, "KENSHU_LANG": "ja", "KENSHU_PROGRESS": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "kenshu", "datasets", "make-press-parts", str(tmp_path / "out"), "--n-samples", "4"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "画像 4 枚" in result.stdout


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--defect-ratio", "1.5"], "--defect-ratio には 0 以上 1 以下の割合を指定してください (指定された値: 1.5)"),
        (["--defect-ratio", "nan"], "--defect-ratio には 0 以上 1 以下"),
        (["--n-samples", "0"], "--n-samples には 1 以上の整数を指定してください (指定された値: 0)"),
        (["--image-size", "16"], "--image-size には 32 以上の画素数"),
        (["--random-state", "-1"], "--random-state には 0 から 4294967295 までの整数"),
        (["--good-name", "OK", "--defect-name", "OK"], "--good-name と --defect-name が同じ「OK」"),
        (["--defect-name", "a/b"], "--defect-name の「a/b」はフォルダ名に使えません"),
    ],
)
def test_make_press_parts_bad_option(tmp_path, capsys, options, expected):
    status = main(["datasets", "make-press-parts", str(tmp_path / "out"), *options])
    error = capsys.readouterr().err
    assert status == 2
    assert expected in error
    assert not (tmp_path / "out").exists()


def test_make_press_parts_out_is_file(tmp_path, capsys):
    (tmp_path / "out").write_text("notes", encoding="utf-8")
    status = main(["datasets", "make-press-parts", str(tmp_path / "out"), "--n-samples", "4"])
    assert status == 2
    assert "フォルダではなくファイルです" in capsys.readouterr().err
    assert (tmp_path / "out").read_text(encoding="utf-8") == "notes"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--defect-rate", "1"], "--defect-rate には 0 以上 1 未満の割合"),
        (["--n-samples", "-3"], "--n-samples には 1 以上の整数"),
    ],
)
def test_make_process_log_bad_option(tmp_path, capsys, options, expected):
    status = main(["datasets", "make-process-log", str(tmp_path / "log.csv"), *options])
    assert status == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "log.csv").exists()


def test_make_process_log_missing_folder(tmp_path, capsys):
    out = tmp_path / "missing" / "dir" / "log.csv"
    status = main(["datasets", "make-process-log", str(out), "--n-samples", "10"])
    error = capsys.readouterr().err
    assert status == 2
    assert f"フォルダ {tmp_path / 'missing' / 'dir'} がありません" in error
    assert not (tmp_path / "missing").exists()


def test_make_process_log_out_is_folder(tmp_path, capsys):
    status = main(["datasets", "make-process-log", str(tmp_path), "--n-samples", "10"])
    assert status == 2
    assert "process_log.csv のように" in capsys.readouterr().err


def test_card_bad_image_size(tmp_path, capsys):
    folder = shutil.copytree(FIXTURE, tmp_path / "tiles", ignore=shutil.ignore_patterns("dataset_card.*"))
    status = main(["datasets", "card", str(folder), "--image-size", "4"])
    assert status == 2
    assert "--image-size には 8 以上の画素数" in capsys.readouterr().err
    assert not (folder / "dataset_card.json").exists()
