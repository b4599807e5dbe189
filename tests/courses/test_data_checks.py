"""Checks of the course data itself: CSV labels, module data kinds and photo-folder warnings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from kenshu.cli import main
from kenshu.courses.build import build_course
from kenshu.courses.spec import load_course_spec
from kenshu.errors import CollectedErrors

IMAGE_DATA = """\
  data:
    kind: images
    folder: photos
    good_class: 良品
"""
# Lines 7, 8 and 9 of course.yml contain csv, label_column and good_label, so modules moves to line 10.
CSV_DATA = """\
  data:
    kind: csv
    csv: press_log.csv
    label_column: {label_column}
    good_label: {good_label}
"""
PRESS_LOG = """\
日時,プレス荷重 [kN],金型温度 [℃],品質
2026-06-01 08:00,120.5,45.1,良品
2026-06-01 08:01,121.0,45.3,良品
2026-06-01 08:02,135.2,47.9,不良品
2026-06-01 08:03,120.8,45.2,良品
"""


def _use_csv(course_dir: Path, csv_text: str = PRESS_LOG, *, label_column: str = "品質", good_label: str | None = "良品",
             encoding: str = "utf-8") -> None:
    (course_dir / "press_log.csv").write_bytes(csv_text.encode(encoding))
    spec_path = course_dir / "course.yml"
    data = CSV_DATA.format(label_column=label_column, good_label=good_label)
    if good_label is None:
        data = data.replace("    good_label: None\n", "")
    text = spec_path.read_text(encoding="utf-8")
    assert IMAGE_DATA in text
    spec_path.write_text(text.replace(IMAGE_DATA, data), encoding="utf-8")


def _problems(course_dir: Path) -> list[str]:
    with pytest.raises(CollectedErrors) as caught:
        load_course_spec(course_dir)
    return caught.value.problems


def test_csv_course_valid(course_dir: Path) -> None:
    _use_csv(course_dir)
    spec = load_course_spec(course_dir)
    assert spec.problem.data.csv == (course_dir / "press_log.csv").resolve()


def test_csv_course_valid_in_cp932(course_dir: Path) -> None:
    _use_csv(course_dir, PRESS_LOG.replace("\n", "\r\n"), encoding="cp932")
    assert load_course_spec(course_dir).problem.data.label_column == "品質"


def test_csv_label_column_missing(course_dir: Path) -> None:
    _use_csv(course_dir, PRESS_LOG.replace(",品質\n", ",品質区分\n"))
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "8行目" in problems[0]
    assert "problem.data.label_column" in problems[0]
    assert "品質ラベルの列「品質」が CSV" in problems[0]
    assert "「品質区分」のことですか" in problems[0]
    assert "日時、プレス荷重、金型温度、品質区分" in problems[0]


def test_csv_label_column_written_with_unit(course_dir: Path) -> None:
    _use_csv(course_dir, PRESS_LOG.replace(",品質\n", ",品質 (判定)\n"), label_column='"品質 (判定)"')
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "「品質 (判定)」" in problems[0]
    assert "「品質」のことですか" in problems[0]


def test_csv_label_column_without_close_match(course_dir: Path) -> None:
    _use_csv(course_dir, label_column="result")
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "「result」" in problems[0]
    assert "ですか" not in problems[0]


def test_csv_good_label_missing(course_dir: Path) -> None:
    _use_csv(course_dir, PRESS_LOG.replace(",良品\n", ",OK\n").replace(",不良品\n", ",NG\n"))
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "9行目" in problems[0]
    assert "problem.data.good_label" in problems[0]
    assert "良品のラベル「良品」" in problems[0]
    assert "OK (3 行)、NG (1 行)" in problems[0]


def test_csv_good_label_in_full_width(course_dir: Path) -> None:
    _use_csv(course_dir, PRESS_LOG.replace(",良品\n", ",ＯＫ\n"), good_label="OK")
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "「ＯＫ」のことですか" in problems[0]


def test_csv_default_good_label_missing(course_dir: Path) -> None:
    _use_csv(course_dir, PRESS_LOG.replace(",良品\n", ",OK\n"), good_label=None)
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "8行目" in problems[0]
    assert "problem.data.label_column" in problems[0]
    assert "good_label を省くと良品のラベルは「良品」" in problems[0]


def test_csv_label_column_missing_english(course_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_LANG", "en")
    _use_csv(course_dir, PRESS_LOG.replace(",品質\n", ",品質区分\n"))
    problems = _problems(course_dir)
    assert "line 8" in problems[0]
    assert "Did you mean '品質区分'?" in problems[0]


def test_build_rejects_missing_label_column(course_dir: Path) -> None:
    _use_csv(course_dir, PRESS_LOG.replace(",品質\n", ",品質区分\n"))
    with pytest.raises(CollectedErrors) as caught:
        build_course(course_dir)
    assert "品質ラベルの列「品質」" in str(caught.value)
    assert not list(course_dir.rglob("*.ipynb"))


def test_check_command_missing_label(course_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _use_csv(course_dir, PRESS_LOG.replace(",良品\n", ",OK\n"))
    assert main(["course", "check", str(course_dir)]) == 2
    error = capsys.readouterr().err
    assert "course.yml 9行目 problem.data.good_label" in error
    assert "Traceback" not in error


def test_undecodable_csv_reported_at_csv_key(course_dir: Path) -> None:
    _use_csv(course_dir)
    (course_dir / "press_log.csv").write_bytes(b"\xff\xfe\xfa" + bytes(range(0x80, 0x100)))
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "7行目" in problems[0]
    assert "problem.data.csv" in problems[0]


def _add_images_only_module(project: Path, module_id: str = "04") -> None:
    folder = project / "notebooks" / f"{module_id}_images_only"
    shutil.copytree(project / "notebooks" / "01_tiny", folder)
    meta = folder / "module.yml"
    meta.write_text(meta.read_text(encoding="utf-8").replace('id: "01"', f'id: "{module_id}"').replace("data_kind: any", "data_kind: images"), encoding="utf-8")


def test_module_without_csv_variant(project: Path, course_dir: Path) -> None:
    _add_images_only_module(project)
    _use_csv(course_dir)
    spec_path = course_dir / "course.yml"
    spec_path.write_text(spec_path.read_text(encoding="utf-8").replace('modules: ["01"]', 'modules: ["01", "04"]'), encoding="utf-8")

    problems = _problems(course_dir)

    assert len(problems) == 1
    assert "10行目" in problems[0]
    assert "modules[1]" in problems[0]
    assert "「04」には csv データ向けの版がありません" in problems[0]
    assert "(この番号の版: images)" in problems[0]
    assert "使えるモジュール (01)" in problems[0]


def test_build_rejects_module_without_variant(project: Path, course_dir: Path) -> None:
    _add_images_only_module(project)
    _use_csv(course_dir)
    spec_path = course_dir / "course.yml"
    spec_path.write_text(spec_path.read_text(encoding="utf-8").replace('modules: ["01"]', 'modules: ["04"]'), encoding="utf-8")
    with pytest.raises(CollectedErrors) as caught:
        build_course(course_dir)
    assert "course.yml 10行目 modules[0]" in str(caught.value)


def test_images_only_module_on_images(project: Path, course_dir: Path) -> None:
    _add_images_only_module(project)
    spec_path = course_dir / "course.yml"
    spec_path.write_text(spec_path.read_text(encoding="utf-8").replace('modules: ["01"]', 'modules: ["01", "04"]'), encoding="utf-8")
    assert load_course_spec(course_dir).modules == ["01", "04"]


def _add_defect_photos(course_dir: Path, count: int) -> None:
    folder = course_dir / "photos" / "不良品"
    for index in range(count):
        Image.new("L", (16, 16), 255 - index).save(folder / f"extra_{index:02d}.png")


def _check_output(course_dir: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["course", "check", str(course_dir)]) == 0
    return capsys.readouterr().out


def test_check_clean_folder_no_warnings(course_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _add_defect_photos(course_dir, 20)
    output = _check_output(course_dir, capsys)
    assert "問題ありません" in output
    assert "警告" not in output
    assert not (course_dir / "photos" / "dataset_card.json").exists()


def test_check_few_defect_photos_warns(course_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = _check_output(course_dir, capsys)
    assert "エラーはありません (警告 1 件)" in output
    assert "使える不良品の写真が 3 枚です" in output
    assert "20 枚以上" in output
    assert "kenshu datasets card" in output


def test_check_summarises_photo_problems(course_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _add_defect_photos(course_dir, 20)
    photos = course_dir / "photos"
    for index in range(5):
        (photos / "不良品" / f"broken_{index}.png").write_bytes(f"not an image {index}".encode())
    shutil.copy(photos / "良品" / "0.png", photos / "良品" / "0_copy.png")
    shutil.copy(photos / "良品" / "1.png", photos / "不良品" / "same_as_good.png")

    output = _check_output(course_dir, capsys)

    assert "エラーはありません (警告 4 件)" in output
    assert "読めない画像 5 件 (不良品/broken_0.png、不良品/broken_1.png、不良品/broken_2.png ほか 2 件)" in output
    assert "broken_3.png" not in output
    assert "重複画像 1 件 (良品/0_copy.png)" in output
    assert "別クラスにも同じ画像 (ラベルの矛盾、全コピー除外) 2 件 (不良品/same_as_good.png、良品/1.png)" in output
    # Without 1.png, which the contradiction leaves out, 良品 keeps two photos: too few for a three-way split.
    assert "画像が少なすぎるクラス 1 件 (良品)" in output
    assert f"kenshu datasets card {photos.resolve()}" in output


def test_build_ignores_photo_warnings(course_dir: Path) -> None:
    (course_dir / "photos" / "不良品" / "broken.png").write_bytes(b"not an image")
    result = build_course(course_dir)
    assert result.assignments == ["01_tiny"]


def test_check_reads_headers_past_decode_limit(course_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Past the decode limit a photo is still opened by its header, so a file that is no image at all is found.
    from kenshu.courses import data_checks

    monkeypatch.setattr(data_checks, "DECODED_PER_CLASS", 1)
    _add_defect_photos(course_dir, 20)
    (course_dir / "photos" / "不良品" / "zz_broken.png").write_bytes(b"not an image")
    output = _check_output(course_dir, capsys)
    assert "読めない画像 1 件 (不良品/zz_broken.png)" in output
