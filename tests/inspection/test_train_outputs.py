"""``kenshu inspect train`` and ``predict`` keep their outputs apart from the photos, and check output paths first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kenshu.cli import main
from kenshu.datasets import make_press_parts, save_image_folder

FAST_ARGUMENTS = ["--image-size", "32", "--epochs", "1", "--threads", "1"]


@pytest.fixture(autouse=True)
def japanese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_LANG", "ja")
    monkeypatch.setenv("KENSHU_PROGRESS", "0")


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder 良品/ + 不良品/ of 16 generated press parts (32 px), 8 of each."""
    folder = tmp_path / "pc"
    save_image_folder(make_press_parts(16, image_size=32, random_state=4), folder)
    return folder


def train(folder: Path, out: Path, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    status = main(["inspect", "train", str(folder), "--out", str(out), *FAST_ARGUMENTS])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_out_inside_photos_run_twice(photos: Path, capsys: pytest.CaptureFixture) -> None:
    """The second run must not take the first run's output (its figures are PNG files) as a defect class."""
    out = photos / "result"

    first_status, _, _ = train(photos, out, capsys)
    second_status, printed, error = train(photos, out, capsys)
    config = json.loads((out / "model.json").read_text(encoding="utf-8"))

    assert first_status == 0
    assert second_status == 0
    assert sorted(config["class_names"]) == ["不良品", "良品"]
    assert "result (不良品)" not in printed
    assert f"{out}: この処理の出力フォルダなので" in printed
    assert "Traceback" not in error


def test_old_model_output_left_out(photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Subfolders containing an earlier kenshu output are not classes, whether model.json or only report.html + model.pt shows it."""
    train(photos, photos / "run1", capsys)
    bare = photos / "run2"
    bare.mkdir()
    (bare / "report.html").write_text("<html></html>", encoding="utf-8")
    (bare / "model.pt").write_bytes(b"model")
    (bare / "figure.png").write_bytes((photos / "run1" / "confusion_matrix.png").read_bytes())

    status, printed, _ = train(photos, tmp_path / "elsewhere", capsys)
    config = json.loads((tmp_path / "elsewhere" / "model.json").read_text(encoding="utf-8"))

    assert status == 0
    assert sorted(config["class_names"]) == ["不良品", "良品"]
    assert "写真として読まなかったフォルダが 2 件" in printed
    assert f"{photos / 'run1'}: kenshu inspect train の出力フォルダ" in printed
    assert f"{bare}: kenshu inspect train の出力フォルダ" in printed


def test_output_inside_class_folder_left_out(photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """An output folder nested in a class folder must not add its figures to that class."""
    out = photos / "良品" / "result"
    train(photos, out, capsys)

    status, printed, _ = train(photos, out, capsys)

    assert status == 0
    assert "良品 (良品): 8 枚" in printed


def test_classes_printed_before_training(photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status, printed, _ = train(photos, tmp_path / "out", capsys)

    assert status == 0
    assert "学習に使う写真" in printed
    assert "良品のクラス: 良品" in printed
    assert "良品 (良品): 8 枚" in printed
    assert "不良品 (不良品): 8 枚" in printed
    assert printed.index("学習に使う写真") < printed.index("学習が終わりました")


def test_out_existing_file(photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "taken.txt"
    target.write_text("keep me", encoding="utf-8")

    status, printed, error = train(photos, target, capsys)

    assert status == 2
    assert str(target) in error
    assert "ファイルです" in error
    assert "Traceback" not in error
    assert "学習に使う写真" not in printed
    assert target.read_text(encoding="utf-8") == "keep me"


def test_out_below_file(photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")

    status, _, error = train(photos, blocker / "out", capsys)

    assert status == 2
    assert str(blocker) in error
    assert "Traceback" not in error


def predict(model: Path, csv: Path, photo: Path, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    status = main(["inspect", "predict", str(model), str(photo), "--csv", str(csv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_predict_csv_folder(trained, press_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    photo = next((press_folder / "良品").glob("0*.png"))
    folder = tmp_path / "results"
    folder.mkdir()

    status, printed, error = predict(trained.out_dir, folder, photo, capsys)

    assert status == 2
    assert f"--csv の {folder} はフォルダです" in error
    assert "Traceback" not in error
    assert printed == ""


def test_predict_csv_missing_folder(trained, press_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    photo = next((press_folder / "良品").glob("0*.png"))
    csv = tmp_path / "nonexistent" / "dir" / "v.csv"

    status, printed, error = predict(trained.out_dir, csv, photo, capsys)

    assert status == 2
    assert str(tmp_path / "nonexistent" / "dir") in error
    assert "mkdir -p" in error
    assert not (tmp_path / "nonexistent").exists()
    assert printed == ""
