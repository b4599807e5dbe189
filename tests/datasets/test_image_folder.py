"""load_image_folder on the folders factories bring, good and bad."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kenshu.datasets import load_image_folder
from kenshu.errors import KenshuError
from kenshu.i18n import message

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "magnetic_tile_subset"
REALDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata"


def write_image(path: Path, value: int = 128, *, size=(24, 20), mode="L", seed: int | None = None, **save) -> Path:
    """Write an image whose pixels depend on *value* and *seed*, so different calls give different bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed if seed is not None else value)
    array = np.clip(value + rng.integers(-10, 10, size=(size[1], size[0])), 0, 255).astype(np.uint8)
    image = Image.fromarray(array, mode="L")
    if mode != "L":
        image = image.convert(mode)
    image.save(path, **save)
    return path


def make_folder(root: Path, classes: dict[str, int], *, suffix=".png") -> Path:
    """Write *count* distinct images into each class folder."""
    for offset, (name, count) in enumerate(classes.items()):
        for index in range(count):
            write_image(root / name / f"img_{index:02d}{suffix}", 60 + 40 * offset, seed=1000 * offset + index)
    return root


def load(root, **options):
    options.setdefault("show_progress", False)
    return load_image_folder(root, **options)


def reasons(data) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in data.problems:
        found.setdefault(problem.reason, []).append(Path(problem.path).name)
    return found


@pytest.mark.parametrize(
    ("good", "bad"),
    [("OK", "NG"), ("good", "bad"), ("Good", "Bad"), ("良品", "不良品"), ("正常", "異常"), ("ok_parts", "ng_parts")],
)
def test_good_class_from_names(tmp_path, good, bad):
    data = load(make_folder(tmp_path, {good: 3, bad: 4}))
    assert data.good_class == good
    assert int((data.target == 0).sum()) == 3
    assert int((data.target == 1).sum()) == 4
    assert data.target_names == ["良品", "不良品"]


def test_declared_good_class(tmp_path):
    data = load(make_folder(tmp_path, {"A品": 3, "キズ": 3, "打痕": 3}), good_class="A品")
    assert data.good_class == "A品"
    assert data.class_names == sorted(["A品", "キズ", "打痕"])
    assert int((data.target == 0).sum()) == 3


def test_declared_good_class_ignores_case(tmp_path):
    data = load(make_folder(tmp_path, {"OK": 3, "NG": 3}), good_class="ok")
    assert data.good_class == "OK"


def test_undecidable_good_class_lists_folders(tmp_path):
    make_folder(tmp_path, {"lineA": 3, "lineB": 3})
    with pytest.raises(KenshuError) as caught:
        load(tmp_path)
    assert caught.value.key == "datasets.good_class_undecided"
    assert "lineA" in str(caught.value)
    assert "lineB" in str(caught.value)


def test_two_good_names_undecidable(tmp_path):
    make_folder(tmp_path, {"OK": 3, "good": 3})
    with pytest.raises(KenshuError, match="good_class"):
        load(tmp_path)


def test_not_good_is_not_good(tmp_path):
    data = load(make_folder(tmp_path, {"good": 3, "not_good": 3}))
    assert data.good_class == "good"


def test_unknown_declared_good_class(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    with pytest.raises(KenshuError) as caught:
        load(tmp_path, good_class="良品")
    assert caught.value.key == "datasets.good_class_not_found"
    assert "NG" in str(caught.value)


def test_missing_folder(tmp_path):
    with pytest.raises(KenshuError) as caught:
        load(tmp_path / "nowhere")
    assert caught.value.key == "datasets.folder_not_found"


def test_no_class_folders(tmp_path):
    write_image(tmp_path / "loose.png")
    with pytest.raises(KenshuError) as caught:
        load(tmp_path)
    assert caught.value.key == "datasets.no_class_folders"


def test_corrupt_file_reported(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    (tmp_path / "NG" / "broken.jpg").write_bytes(b"this is not a JPEG")
    (tmp_path / "NG" / "empty.png").write_bytes(b"")
    data = load(tmp_path)
    assert sorted(reasons(data)["corrupt"]) == ["broken.jpg", "empty.png"]
    assert len(data.paths) == 6


def test_truncated_jpeg_reported(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    whole = write_image(tmp_path / "whole.jpg", size=(200, 160), quality=95)
    (tmp_path / "NG" / "cut.jpg").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    whole.unlink()
    data = load(tmp_path)
    assert reasons(data)["corrupt"] == ["cut.jpg"]


def test_broken_link_reported_unreadable(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    (tmp_path / "NG" / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    data = load(tmp_path)
    assert reasons(data)["unreadable"] == ["gone.jpg"]
    assert len(data.paths) == 6


def test_problem_message_names_file(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    (tmp_path / "NG" / "broken.jpg").write_bytes(b"xx")
    problem = load(tmp_path).problems[0]
    assert "broken.jpg" in problem.describe(lang="ja")
    assert "broken.jpg" in problem.describe(lang="en")


def test_empty_class_reported(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    (tmp_path / "NG_dent").mkdir()
    data = load(tmp_path)
    assert reasons(data)["empty_class"] == ["NG_dent"]
    assert "NG_dent" in data.class_names
    assert len(data.paths) == 6


def test_class_of_only_corrupt_files_is_empty(tmp_path):
    make_folder(tmp_path, {"OK": 3})
    (tmp_path / "NG").mkdir()
    (tmp_path / "NG" / "a.png").write_bytes(b"nope")
    found = reasons(load(tmp_path))
    assert found["corrupt"] == ["a.png"]
    assert found["empty_class"] == ["NG"]


def test_too_few_class_reported(tmp_path):
    data = load(make_folder(tmp_path, {"OK": 5, "NG": 2}))
    assert reasons(data)["too_few_images"] == ["NG"]
    assert int((data.target == 1).sum()) == 2


def test_duplicate_in_same_class(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    shutil.copy(tmp_path / "OK" / "img_00.png", tmp_path / "OK" / "zz_copy.png")
    data = load(tmp_path)
    assert reasons(data)["duplicate"] == ["zz_copy.png"]
    assert int((data.target == 0).sum()) == 3


def test_duplicate_across_classes(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    shutil.copy(tmp_path / "NG" / "img_01.png", tmp_path / "OK" / "moved.png")
    data = load(tmp_path)
    assert reasons(data)["label_conflict"] == ["img_01.png", "moved.png"]
    assert "moved.png" in data.problems[0].detail
    assert "img_01.png" in data.problems[1].detail


def test_exif_rotation_applied(tmp_path):
    make_folder(tmp_path, {"OK": 3})
    # Stored 40 wide and 20 high, bright on the left; orientation 6 means "turn 90° clockwise to view".
    array = np.zeros((20, 40), dtype=np.uint8)
    array[:, :20] = 250
    exif = Image.Exif()
    exif[0x0112] = 6
    (tmp_path / "NG").mkdir()
    Image.fromarray(array).save(tmp_path / "NG" / "camera.jpg", exif=exif, quality=95)
    data = load(tmp_path, image_size=16)
    index = [p.name for p in data.paths].index("camera.jpg")
    image = data.images[index]
    assert data.original_sizes[index] == (20, 40)
    assert image[:8].mean() > 0.8
    assert image[8:].mean() < 0.2


def test_formats_colour_and_odd_sizes(tmp_path):
    write_image(tmp_path / "OK" / "a.bmp", 100, size=(37, 91), format="BMP")
    write_image(tmp_path / "OK" / "b.tif", 110, size=(640, 480), format="TIFF")
    write_image(tmp_path / "OK" / "c.jpeg", 120, size=(13, 13), mode="RGB")
    write_image(tmp_path / "NG" / "d.png", 130, mode="RGBA")
    write_image(tmp_path / "NG" / "e.TIFF", 140, mode="RGB", format="TIFF")
    write_image(tmp_path / "NG" / "f.JPG", 150, size=(300, 17), mode="RGB")
    data = load(tmp_path, image_size=32)
    assert data.images.shape == (6, 32, 32)
    assert data.images.dtype == np.float32
    assert 0.0 <= data.images.min()
    assert data.images.max() <= 1.0
    assert sorted(set(data.formats)) == ["BMP", "JPEG", "PNG", "TIFF"]
    assert (37, 91) in data.original_sizes
    assert data.problems == []


def test_sixteen_bit_tiff_scaled(tmp_path):
    make_folder(tmp_path, {"NG": 3})
    array = np.full((10, 10), 65535 // 2, dtype=np.uint16)
    (tmp_path / "OK").mkdir()
    Image.fromarray(array).save(tmp_path / "OK" / "deep.tif")
    data = load(tmp_path, image_size=8)
    index = [p.name for p in data.paths].index("deep.tif")
    assert abs(float(data.images[index].mean()) - 0.5) < 0.01


def test_nested_imgs_with_masks(tmp_path):
    for name in ("MT_Free", "MT_Crack"):
        for index in range(3):
            write_image(tmp_path / name / "Imgs" / f"tile_{index}.jpg", 90 + 10 * index, seed=index + len(name))
            mask = np.zeros((20, 24), dtype=np.uint8)
            if name == "MT_Crack":
                mask[5:10, :] = 255
            Image.fromarray(mask).save(tmp_path / name / "Imgs" / f"tile_{index}.png")
    data = load(tmp_path, image_size=20, load_masks=True)
    assert data.good_class == "MT_Free"
    assert len(data.paths) == 6
    assert all(path.suffix == ".jpg" for path in data.paths)
    assert all(mask is not None and mask.suffix == ".png" for mask in data.mask_paths)
    assert not data.masks[data.target == 0].any()
    assert data.masks[data.target == 1].any(axis=(1, 2)).all()


def test_mask_suffix_convention(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    Image.fromarray(np.full((20, 24), 255, dtype=np.uint8)).save(tmp_path / "NG" / "img_00_mask.png")
    write_image(tmp_path / "NG" / "lonely_mask.png", 77)
    data = load(tmp_path)
    names = [p.name for p in data.paths]
    assert "img_00_mask.png" not in names
    assert "lonely_mask.png" in names
    assert data.mask_paths[names.index("img_00.png")].name == "img_00_mask.png"


def test_hidden_and_other_files_ignored(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    (tmp_path / "NG" / "Thumbs.db").write_bytes(b"\x00" * 10)
    (tmp_path / "NG" / "notes.txt").write_text("memo")
    write_image(tmp_path / "NG" / ".hidden.png", 10)
    write_image(tmp_path / "_trash" / "old.png", 10)
    data = load(tmp_path)
    assert len(data.paths) == 6
    assert data.problems == []
    assert "_trash" not in data.class_names


def test_image_outside_class_reported(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    write_image(tmp_path / "forgot_to_sort.jpg", 50)
    data = load(tmp_path)
    assert reasons(data)["outside_class_folder"] == ["forgot_to_sort.jpg"]
    assert len(data.paths) == 6


def test_max_per_class_reproducible(tmp_path):
    make_folder(tmp_path, {"OK": 12, "NG": 9})
    first = load(tmp_path, max_per_class=4, random_state=5, write_card=False)
    second = load(tmp_path, max_per_class=4, random_state=5, write_card=False)
    other = load(tmp_path, max_per_class=4, random_state=6, write_card=False)
    assert first.paths == second.paths
    assert first.paths != other.paths
    assert int((first.target == 0).sum()) == 4
    assert int((first.target == 1).sum()) == 4


def test_max_per_class_skips_corrupt(tmp_path):
    make_folder(tmp_path, {"OK": 4, "NG": 4})
    for index in range(3):
        (tmp_path / "NG" / f"bad_{index}.png").write_bytes(f"garbage {index}".encode())
    data = load(tmp_path, max_per_class=4, random_state=0)
    assert int((data.target == 1).sum()) == 4
    assert sorted(reasons(data)["corrupt"]) == ["bad_0.png", "bad_1.png", "bad_2.png"]


def test_card_written_beside_data(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 4})
    (tmp_path / "NG" / "broken.png").write_bytes(b"x")
    data = load(tmp_path)
    card = json.loads((tmp_path / "dataset_card.json").read_text(encoding="utf-8"))
    assert data.card_path == tmp_path / "dataset_card.json"
    assert {entry["name"]: entry["count"] for entry in card["classes"]} == {"NG": 4, "OK": 3}
    assert card["good_class"] == "OK"
    assert card["source"] == str(tmp_path.resolve())
    assert len(card["created"]) == 10
    assert card["problems"][0]["path"] == "NG/broken.png"
    first = card["files"][0]
    assert first["sha256"] == hashlib.sha256((tmp_path / first["path"]).read_bytes()).hexdigest()
    assert (first["width"], first["height"]) == (24, 20)


def test_card_markdown_japanese(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    load(tmp_path)
    text = (tmp_path / "dataset_card.md").read_text(encoding="utf-8")
    assert "良品クラス: OK" in text
    assert "| NG | 不良品 | 3 |" in text


def test_card_rerun_unchanged(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    load(tmp_path)
    card = tmp_path / "dataset_card.json"
    before = (card.stat().st_mtime_ns, card.read_bytes())
    load(tmp_path)
    assert (card.stat().st_mtime_ns, card.read_bytes()) == before


def test_card_not_counted_as_data(tmp_path):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    first = load(tmp_path)
    second = load(tmp_path)
    assert second.paths == first.paths


def test_card_same_for_any_subsample(tmp_path):
    make_folder(tmp_path, {"OK": 6, "NG": 5})
    load(tmp_path, max_per_class=2, random_state=1)
    small = (tmp_path / "dataset_card.json").read_bytes()
    load(tmp_path)
    card = json.loads((tmp_path / "dataset_card.json").read_text(encoding="utf-8"))
    assert (tmp_path / "dataset_card.json").read_bytes() == small
    assert card["n_images"] == 11


def test_too_few_counts_whole_folder(tmp_path):
    make_folder(tmp_path, {"OK": 6, "NG": 5})
    data = load(tmp_path, max_per_class=2)
    assert "too_few_images" not in reasons(data)


def test_card_dir_option(tmp_path):
    data_dir = make_folder(tmp_path / "data", {"OK": 3, "NG": 3})
    data = load(data_dir, card_dir=tmp_path / "cards")
    assert data.card_path == tmp_path / "cards" / "dataset_card.json"
    assert not (data_dir / "dataset_card.json").exists()


def test_read_only_folder_skips_card(tmp_path, caplog):
    data_dir = make_folder(tmp_path / "data", {"OK": 3, "NG": 3})
    data_dir.chmod(0o555)
    try:
        with caplog.at_level("INFO", logger="kenshu.datasets"):
            data = load(data_dir)
    finally:
        data_dir.chmod(0o755)
    assert data.card_path is None
    assert not (data_dir / "dataset_card.json").exists()
    assert len(data.paths) == 6
    assert str(data_dir) in caplog.text


def test_problems_logged(tmp_path, caplog):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    (tmp_path / "NG" / "broken.jpg").write_bytes(b"xx")
    with caplog.at_level("WARNING", logger="kenshu.datasets"):
        load(tmp_path)
    assert "broken.jpg" in caplog.text


def test_keep_aspect_pads(tmp_path):
    make_folder(tmp_path, {"OK": 3})
    array = np.full((10, 40), 255, dtype=np.uint8)
    array[0, :] = 0
    array[-1, :] = 0
    (tmp_path / "NG").mkdir()
    Image.fromarray(array).save(tmp_path / "NG" / "wide.png")
    stretched = load(tmp_path, image_size=20, write_card=False)
    padded = load(tmp_path, image_size=20, keep_aspect=True, write_card=False)
    index = [p.name for p in padded.paths].index("wide.png")
    assert padded.images[index].mean() < stretched.images[index].mean()


@pytest.mark.parametrize(("option", "value"), [("image_size", 4), ("max_per_class", 0), ("min_per_class", 0)])
def test_bad_option_names_value(tmp_path, option, value):
    make_folder(tmp_path, {"OK": 3, "NG": 3})
    with pytest.raises(ValueError, match=option):
        load(tmp_path, **{option: value})


def test_fixture_magnetic_tile(tmp_path):
    folder = shutil.copytree(FIXTURE, tmp_path / "magnetic_tile", ignore=shutil.ignore_patterns("dataset_card.*"))
    data = load(folder, load_masks=True)
    counts = {name: int((data.class_index == i).sum()) for i, name in enumerate(data.class_names)}
    assert counts == {"MT_Blowhole": 8, "MT_Crack": 8, "MT_Free": 8}
    assert data.good_class == "MT_Free"
    assert all(path.parent.name == "Imgs" for path in data.paths)
    assert sum(mask is not None for mask in data.mask_paths) == 24
    assert not data.masks[data.target == 0].any()
    assert data.masks[data.target == 1].any(axis=(1, 2)).all()
    assert len({size for size in data.original_sizes}) > 1
    assert data.problems == []
    assert data.card_path is not None


def test_realdata_magnetic_tile(tmp_path):
    folder = REALDATA / "magnetic_tile"
    if not folder.is_dir():
        pytest.skip(f"real magnetic tile photos not found: {folder}")
    data = load(folder, image_size=32, load_masks=True)
    counts = {name: int((data.class_index == i).sum()) for i, name in enumerate(data.class_names)}
    assert counts == {"MT_Blowhole": 115, "MT_Crack": 57, "MT_Free": 300}
    assert data.masks[data.target == 1].any(axis=(1, 2)).all()
    assert not data.masks[data.target == 0].any()
    assert data.good_class == "MT_Free"
    assert data.problems == []
    assert all(mask is not None for mask in data.mask_paths)
    # The real data folder is read-only: no card there unless card_dir is given.
    assert data.card_path is None


def test_realdata_magnetic_tile_card_dir(tmp_path):
    folder = REALDATA / "magnetic_tile"
    if not folder.is_dir():
        pytest.skip(f"real magnetic tile photos not found: {folder}")
    data = load(folder, image_size=16, max_per_class=10, card_dir=tmp_path)
    card = json.loads((tmp_path / "dataset_card.json").read_text(encoding="utf-8"))
    assert data.card_path == tmp_path / "dataset_card.json"
    assert len(data.paths) == 30
    assert card["n_images"] == 472
    assert {entry["name"]: entry["count"] for entry in card["classes"]} == {"MT_Blowhole": 115, "MT_Crack": 57, "MT_Free": 300}


def test_messages_exist_for_every_reason():
    reasons = ("corrupt", "unreadable", "empty_class", "too_few_images", "duplicate", "label_conflict", "outside_class_folder")
    for reason in reasons:
        assert message(f"datasets.problem_{reason}", lang="ja", path="p", detail="d")
        assert message(f"datasets.reason_{reason}", lang="en")
