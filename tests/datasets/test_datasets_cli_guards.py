"""``kenshu datasets`` rejects mixing generated photos into other data, checks --card-dir first, and shows each problem once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kenshu.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "magnetic_tile_subset"


@pytest.fixture(autouse=True)
def japanese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_LANG", "ja")
    monkeypatch.setenv("KENSHU_PROGRESS", "0")


def snapshot(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def make_press_parts(out: Path, *options: str) -> int:
    return main(["datasets", "make-press-parts", str(out), "--n-samples", "6", "--image-size", "32", *options])


def test_press_parts_rejects_folder_with_photos(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A user's own photos in the class folders must not be mixed with generated ones, nor labels.csv replaced."""
    out = tmp_path / "photos"
    shutil.copytree(FIXTURE / "MT_Free", out / "良品")
    (out / "labels.csv").write_text("file,class\n", encoding="utf-8")
    before = snapshot(out)

    status = make_press_parts(out)
    error = capsys.readouterr().err

    assert status == 2
    assert f"{out} には既にファイルが {len(before)} 件あり" in error
    assert "Traceback" not in error
    assert snapshot(out) == before


def test_press_parts_rerun_same_settings_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "parts"
    assert make_press_parts(out, "--random-state", "3") == 0
    before = snapshot(out)
    times = {path: path.stat().st_mtime_ns for path in before}

    status = make_press_parts(out, "--random-state", "3")

    assert status == 0
    assert snapshot(out) == before
    assert {path: path.stat().st_mtime_ns for path in before} == times


def test_press_parts_other_settings_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "parts"
    make_press_parts(out, "--random-state", "3")
    before = snapshot(out)
    capsys.readouterr()

    status = make_press_parts(out, "--random-state", "4")
    error = capsys.readouterr().err

    assert status == 2
    assert "別の設定で作ったフォルダです" in error
    assert "--random-state 3 → 4" in error
    assert snapshot(out) == before


@pytest.mark.parametrize("setup", ["missing", "empty", "empty_subfolders", "hidden_file"])
def test_press_parts_empty_folder_accepted(tmp_path: Path, capsys: pytest.CaptureFixture, setup: str) -> None:
    out = tmp_path / "parts"
    if setup != "missing":
        out.mkdir()
    if setup == "empty_subfolders":
        (out / "良品").mkdir()
    if setup == "hidden_file":
        (out / ".DS_Store").write_bytes(b"\0")

    status = make_press_parts(out)

    assert status == 0
    assert len(list((out / "良品").glob("*_mask.png"))) + len(list((out / "不良品").glob("*_mask.png"))) == 6


def test_card_dir_existing_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = shutil.copytree(FIXTURE, tmp_path / "tiles", ignore=shutil.ignore_patterns("dataset_card.*"))
    target = tmp_path / "card.txt"
    target.write_text("keep me", encoding="utf-8")

    status = main(["datasets", "card", str(folder), "--card-dir", str(target)])
    captured = capsys.readouterr()

    assert status == 2
    assert f"--card-dir の {target} はフォルダではなくファイルです" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert target.read_text(encoding="utf-8") == "keep me"


def test_card_dir_below_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = shutil.copytree(FIXTURE, tmp_path / "tiles", ignore=shutil.ignore_patterns("dataset_card.*"))
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")

    status = main(["datasets", "card", str(folder), "--card-dir", str(blocker / "cards")])
    error = capsys.readouterr().err

    assert status == 2
    assert str(blocker) in error
    assert "Traceback" not in error


def test_card_problem_shown_once(tmp_path: Path) -> None:
    """The command prints its list of problems, so the same sentences are not logged again.

    It runs in a process of its own, so that the log lines reach stderr
    exactly as a user sees them.
    """
    folder = shutil.copytree(FIXTURE, tmp_path / "tiles", ignore=shutil.ignore_patterns("dataset_card.*"))
    (folder / "MT_Crack" / "Imgs" / "broken.jpg").write_bytes(b"not a photo")
    environment = {**os.environ, "KENSHU_LANG": "ja", "KENSHU_PROGRESS": "0"}

    result = subprocess.run([sys.executable, "-m", "kenshu", "datasets", "card", str(folder)],
                            capture_output=True, text=True, env=environment, timeout=120)
    lines = (result.stdout + result.stderr).splitlines()

    assert result.returncode == 0, result.stderr
    assert len([line for line in lines if "broken.jpg" in line]) == 1
    assert "broken.jpg" in result.stdout


def test_card_model_output_not_a_class(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = shutil.copytree(FIXTURE, tmp_path / "tiles", ignore=shutil.ignore_patterns("dataset_card.*"))
    run = folder / "inspection_run"
    run.mkdir()
    (run / "model.json").write_text('{"format": "kenshu-inspection"}', encoding="utf-8")
    shutil.copy(next((folder / "MT_Free").rglob("*.jpg")), run / "mistakes.jpg")

    status = main(["datasets", "card", str(folder)])
    printed = capsys.readouterr().out

    assert status == 0
    assert "inspection_run (" not in printed
    assert f"{run}: kenshu inspect train の出力フォルダ" in printed
