"""read_image and resize_image: the loader's decoding and resizing, for one photo at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kenshu.datasets import load_image_folder, read_image, resize_image


def _write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Pillow picks the mode from the dtype and shape: RGB, I;16 or L here.
    Image.fromarray(array).save(path)
    return path


def test_read_image_color_to_gray(tmp_path: Path) -> None:
    rgb = np.zeros((10, 20, 3), dtype=np.uint8)
    rgb[..., 1] = 255
    array = read_image(_write(tmp_path / "green.png", rgb))
    assert array.shape == (10, 20)
    assert array.dtype == np.float32
    # Pillow's "L" weighs green 587/1000.
    assert np.allclose(array, 150 / 255, atol=1 / 255)


def test_read_image_sixteen_bit(tmp_path: Path) -> None:
    deep = np.full((8, 8), 65535, dtype=np.uint16)
    deep[0, 0] = 0
    array = read_image(_write(tmp_path / "deep.png", deep))
    assert array.max() == pytest.approx(1.0)
    assert array.min() == pytest.approx(0.0)


def test_read_image_unreadable(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    with pytest.raises(OSError):
        read_image(broken)


def test_resize_image_shape_and_range() -> None:
    ramp = np.linspace(0.0, 1.0, 30 * 50, dtype=np.float32).reshape(30, 50)
    resized = resize_image(ramp, 16)
    assert resized.shape == (16, 16)
    assert resized.min() >= 0.0
    assert resized.max() <= 1.0


def test_resize_image_keep_aspect_pads_border() -> None:
    wide = np.full((10, 40), 0.8, dtype=np.float32)
    resized = resize_image(wide, 20, keep_aspect=True)
    # The padding takes the border's median, so the whole square stays at that value.
    assert np.allclose(resized, 0.8, atol=1e-5)


def test_resize_image_rejects_size() -> None:
    with pytest.raises(ValueError, match="image_size"):
        resize_image(np.zeros((4, 4), dtype=np.float32), 0)


def test_same_pixels_as_loader(tmp_path: Path) -> None:
    rng = np.random.RandomState(0)
    for name in ("good", "bad"):
        for index in range(3):
            _write(tmp_path / "data" / name / f"{index}.png", rng.randint(0, 256, size=(37, 53), dtype=np.uint8))
    data = load_image_folder(tmp_path / "data", good_class="good", image_size=24, write_card=False, show_progress=False)
    for path, loaded in zip(data.paths, data.images):
        assert np.array_equal(resize_image(read_image(path), 24), loaded)
