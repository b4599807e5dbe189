"""``occlusion_map`` covers every pixel, edges included, and averages the squares that overlap."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from kenshu.inspection.evaluation import occlusion_map, window_starts


class Darkness(nn.Module):
    """Scores an image by how dark it is: the sum of ``1 - pixel``, so a dark spot reads as a defect."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (1.0 - images).flatten(1).sum(dim=1)


class Brightness(nn.Module):
    """Scores an image by the sum of its pixels."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1).sum(dim=1)


@pytest.mark.parametrize("side", [32, 64, 128])
def test_every_pixel_measured(side: int) -> None:
    """On random pixels every square changes the score, so a pixel left at 0 was never covered."""
    image = np.random.default_rng(1).random((side, side)).astype(np.float32)

    heat = occlusion_map(Brightness(), image)

    assert heat.shape == (side, side)
    assert np.all(np.isfinite(heat))
    assert np.count_nonzero(heat == 0.0) == 0


def test_dark_spot_no_edge_artefact() -> None:
    """A bright plate with a dark spot in the middle: far from the spot, edges included, the map is flat."""
    side, window = 128, 21
    image = np.ones((side, side), dtype=np.float32)
    image[56:72, 56:72] = 0.0
    fill = float(image.mean())
    # Covering bright pixels with the slightly darker mean raises the darkness score by this much.
    background = window * window * (fill - 1.0)

    heat = occlusion_map(Darkness(), image, window=window, stride=10)

    assert heat[64, 64] > 0
    for name, edge in [("top", heat[0]), ("bottom", heat[-1]), ("left", heat[:, 0]), ("right", heat[:, -1])]:
        assert np.allclose(edge, background, atol=1e-3), f"{name} edge differs from the background: {edge.min()} .. {edge.max()}"
    assert np.allclose(heat[-7:, :], background, atol=1e-3)
    assert np.allclose(heat[:, -7:], background, atol=1e-3)


def test_overlap_averaged() -> None:
    """Where squares overlap, the map contains their mean drop, not their sum."""
    image = np.ones((32, 32), dtype=np.float32)
    image[0, 0] = 0.0

    heat = occlusion_map(Darkness(), image, window=8, stride=4)

    # Far from the dark pixel every square gives the same drop, however many squares cover a pixel.
    fill = float(image.mean())
    background = 64 * (fill - 1.0)
    assert np.allclose(heat[16:, 16:], background, atol=1e-3)


@pytest.mark.parametrize(
    ("side", "window", "stride", "expected"),
    [(128, 21, 10, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 107]), (32, 8, 4, [0, 4, 8, 12, 16, 20, 24]), (10, 10, 5, [0])],
)
def test_window_starts_end_flush(side: int, window: int, stride: int, expected: list[int]) -> None:
    assert window_starts(side, window, stride) == expected


def test_window_larger_than_image_clamped() -> None:
    image = np.random.default_rng(2).random((16, 16)).astype(np.float32)

    heat = occlusion_map(Brightness(), image, window=40)

    assert heat.shape == (16, 16)
    assert np.all(np.isfinite(heat))
