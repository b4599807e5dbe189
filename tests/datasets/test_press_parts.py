"""make_press_parts and save_image_folder."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_dilation
from sklearn.metrics import roc_auc_score

from kenshu.datasets import DEFECT_KINDS, load_image_folder, make_press_parts, save_image_folder
from kenshu.datasets.press_parts import _draw_part


@pytest.fixture(scope="module")
def parts():
    return make_press_parts(60, random_state=7)


def test_same_seed_byte_identical():
    first = make_press_parts(12, random_state=3)
    second = make_press_parts(12, random_state=3)
    assert first.images.tobytes() == second.images.tobytes()
    assert first.masks.tobytes() == second.masks.tobytes()
    assert np.array_equal(first.target, second.target)
    assert list(first.defect_kind) == list(second.defect_kind)


def test_other_seed_differs():
    first = make_press_parts(6, random_state=3)
    second = make_press_parts(6, random_state=4)
    assert first.images.tobytes() != second.images.tobytes()


def test_shapes_and_types(parts):
    assert parts.images.shape == (60, 128, 128)
    assert parts.images.dtype == np.uint8
    assert parts.masks.shape == (60, 128, 128)
    assert parts.masks.dtype == bool
    assert parts.target.shape == (60,)
    assert parts.target_names == ["良品", "不良品"]
    assert "良品" in parts.DESCR or "good" in parts.DESCR


def test_defect_count_exact():
    data = make_press_parts(50, defect_ratio=0.3, random_state=0)
    assert int(data.target.sum()) == 15


def test_kinds_follow_target(parts):
    good = parts.target == 0
    assert set(parts.defect_kind[good]) == {""}
    assert set(parts.defect_kind[~good]) == set(DEFECT_KINDS)


def test_masks_empty_for_good(parts):
    assert not parts.masks[parts.target == 0].any()


def test_masks_present_for_defects(parts):
    areas = parts.masks[parts.target == 1].sum(axis=(1, 2))
    assert (areas > 0).all()


def test_defect_kinds_subset():
    data = make_press_parts(10, defect_kinds=["dent"], random_state=1)
    assert set(data.defect_kind) == {"", "dent"}


def test_image_size_option():
    data = make_press_parts(3, image_size=48, random_state=1)
    assert data.images.shape == (3, 48, 48)


@pytest.mark.parametrize("kind", DEFECT_KINDS)
def test_mask_matches_defect(kind):
    # The same photo drawn with and without the defect differs only on (and next to) the mask.
    for seed in range(8):
        good, _ = _draw_part(np.random.RandomState(seed), 128, "")
        defective, mask = _draw_part(np.random.RandomState(seed), 128, kind)
        difference = np.abs(defective - good)
        changed = difference > 0.02
        near_mask = binary_dilation(mask, iterations=2)
        assert changed.any(), f"{kind} seed {seed}: the defect changed no pixel"
        assert (changed & ~near_mask).sum() <= 0.05 * changed.sum(), f"{kind} seed {seed}: changes outside the mask"
        assert (difference[mask] > 0.01).mean() >= 0.5, f"{kind} seed {seed}: mask larger than the defect"


def test_brightness_does_not_reveal_defect():
    data = make_press_parts(200, random_state=11)
    brightness = data.images.reshape(len(data.images), -1).mean(axis=1)
    assert brightness.std() > 5.0
    assert abs(roc_auc_score(data.target, brightness) - 0.5) < 0.15


def test_part_position_varies(parts):
    bright = parts.images > 90
    ys, xs = np.mgrid[0:128, 0:128]
    centers = np.array([(xs[b].mean(), ys[b].mean()) for b in bright])
    assert centers[:, 0].std() > 1.0
    assert centers[:, 1].std() > 1.0


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"n_samples": 0}, "n_samples"),
        ({"image_size": 16}, "image_size"),
        ({"defect_ratio": 1.5}, "1.5"),
        ({"defect_kinds": ["crack"]}, "crack"),
        ({"defect_kinds": []}, "defect_kinds"),
    ],
)
def test_bad_argument_names_value(arguments, fragment):
    with pytest.raises(ValueError, match=fragment):
        make_press_parts(**{"n_samples": 4, **arguments})


def test_save_writes_class_folders(tmp_path, parts):
    root = save_image_folder(parts, tmp_path / "press")
    good = sorted(p.name for p in (root / "良品").glob("*.png") if "_mask" not in p.name)
    bad = sorted(p.name for p in (root / "不良品").glob("*.png") if "_mask" not in p.name)
    assert len(good) == int((parts.target == 0).sum())
    assert len(bad) == int((parts.target == 1).sum())
    assert (root / "不良品" / bad[0].replace(".png", "_mask.png")).is_file()
    assert (root / "labels.csv").is_file()


def test_save_rerun_unchanged(tmp_path, parts):
    root = save_image_folder(parts, tmp_path / "press")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*.png")}
    save_image_folder(parts, root)
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*.png")}
    assert before == after


def test_save_rerun_removes_stale(tmp_path, parts):
    root = save_image_folder(parts, tmp_path / "press")
    smaller = make_press_parts(10, random_state=2)
    save_image_folder(smaller, root)
    images = [p for p in root.rglob("*.png") if "_mask" not in p.name]
    assert len(images) == 10


def test_save_then_load_round_trip(tmp_path, parts):
    root = save_image_folder(parts, tmp_path / "press", good_name="OK", defect_name="NG")
    loaded = load_image_folder(root, image_size=128, load_masks=True, show_progress=False)
    order = [int(path.stem) for path in loaded.paths]
    assert loaded.good_class == "OK"
    assert np.array_equal(loaded.target, parts.target[order])
    assert np.allclose(loaded.images, parts.images[order] / 255.0, atol=1e-6)
    assert np.array_equal(loaded.masks, parts.masks[order])


def test_save_rejects_same_names(tmp_path, parts):
    with pytest.raises(ValueError, match="OK"):
        save_image_folder(parts, tmp_path, good_name="OK", defect_name="OK")


def test_save_float_images(tmp_path, parts):
    loaded = load_image_folder(save_image_folder(parts, tmp_path / "a"), image_size=128, show_progress=False)
    again = save_image_folder(loaded, tmp_path / "b")
    first_class = loaded.class_names[int(loaded.class_index[0])]
    rewritten = np.asarray(Image.open(again / first_class / "0000.png"))
    assert len(list(again.rglob("*.png"))) == len(loaded.paths)
    assert np.array_equal(rewritten, np.asarray(Image.open(loaded.paths[0])))
