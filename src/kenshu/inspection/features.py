"""Hand-made image features written in torch, so that the exported model computes them itself.

:class:`ImageFeatures` turns a whole image into one vector (gradient-orientation
histograms by cell, intensity statistics, local-binary-pattern-like texture and
the extremes of the local residual) for the scikit-learn baseline.
:class:`PatchFeatures` describes every patch of an image (local brightness,
contrast, residual extremes and gradient orientations at two scales) for the
good-parts-only detector. Both are TorchScript-compatible ``nn.Module``s
without trainable weights; only ``torch`` is needed to run them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

N_ORIENTATIONS = 8


def _odd(value: int) -> int:
    return value if value % 2 == 1 else value + 1


class _Gradients(nn.Module):
    """Sobel gradient magnitude and unsigned orientation bins (0 .. 7, each 22.5 degrees wide)."""

    def __init__(self) -> None:
        super().__init__()
        sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
        self.register_buffer("kernel", torch.stack([sobel_x, sobel_x.t()]).unsqueeze(1))
        self.register_buffer("bins", torch.arange(N_ORIENTATIONS, dtype=torch.float32).view(1, N_ORIENTATIONS, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        padded = F.pad(x, [1, 1, 1, 1], mode="replicate")
        gradient = F.conv2d(padded, self.kernel)
        gx = gradient[:, 0:1]
        gy = gradient[:, 1:2]
        magnitude = torch.sqrt(gx * gx + gy * gy + 1e-12)
        angle = torch.remainder(torch.atan2(gy, gx), math.pi)
        index = torch.clamp(torch.floor(angle / math.pi * 8.0), 0.0, 7.0)

        # One channel per orientation, holding the magnitude where the gradient points that way.
        oriented = (index == self.bins).to(x.dtype) * magnitude
        return magnitude, oriented


def _brighter_neighbours(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Count, per pixel, the 8 neighbours at *radius* brighter than the pixel (a rotation-free LBP)."""
    padded = F.pad(x, [radius, radius, radius, radius], mode="replicate")
    height = x.shape[-2]
    width = x.shape[-1]
    count = torch.zeros_like(x)
    for dy in [-radius, 0, radius]:
        for dx in [-radius, 0, radius]:
            if dy == 0 and dx == 0:
                continue
            shifted = padded[:, :, radius + dy : radius + dy + height, radius + dx : radius + dx + width]
            count = count + (shifted > x + 0.01).to(x.dtype)
    return count


def _tail_values(flat: torch.Tensor, fractions: list[float]) -> torch.Tensor:
    """Return, per row, the values exceeded by the given fractions of the row (upper-tail quantiles).

    ``topk`` over the largest few percent is much cheaper than sorting the whole row.
    """
    count = flat.shape[1]
    ranks = [max(1, int(round(fraction * count))) for fraction in fractions]
    top = torch.topk(flat, max(ranks), dim=1).values
    return torch.stack([top[:, rank - 1] for rank in ranks], dim=1)


def _local_mean(x: torch.Tensor, size: int) -> torch.Tensor:
    """Return the mean over a size x size window around every pixel (edges replicated).

    Two one-dimensional passes, because a stride-1 ``avg_pool2d`` with a large
    window is many times slower on the CPU.
    """
    radius = size // 2
    padded = F.pad(x, [radius, radius, radius, radius], mode="replicate")
    row = torch.full((1, 1, 1, size), 1.0 / size, dtype=x.dtype, device=x.device)
    return F.conv2d(F.conv2d(padded, row), row.transpose(2, 3))


class ImageFeatures(nn.Module):
    """One feature vector per image for the scikit-learn baseline.

    Parameters
    ----------
    image_size : int
        Side of the square input images in pixels.
    cells : int, default=4
        The gradient histograms are taken on a ``cells`` x ``cells`` grid.

    Notes
    -----
    Input: float tensor (N, 1, image_size, image_size) in [0, 1]. Output:
    float tensor (N, n_features). The residual features (pixel minus its
    local mean, at two window sizes) keep a small dark or bright spot visible
    in a vector that otherwise averages over the whole image.
    """

    def __init__(self, image_size: int, *, cells: int = 4) -> None:
        super().__init__()
        self.cells = cells
        self.small_window = 5
        self.large_window = _odd(max(7, image_size // 8))
        self.gradients = _Gradients()
        self.register_buffer("intensity_quantiles", torch.tensor([0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]))
        # Fractions of pixels above (or below) the value reported, for the tails of a distribution.
        self.tail_fractions = [0.1, 0.01, 0.001]
        self.register_buffer("texture_levels", torch.arange(9, dtype=torch.float32).view(1, 9, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        flat = x.reshape(n, -1)
        parts: list[torch.Tensor] = []

        # Intensity statistics.
        parts.append(flat.mean(dim=1, keepdim=True))
        parts.append(flat.std(dim=1, keepdim=True))
        parts.append(torch.quantile(flat, self.intensity_quantiles, dim=1).t())

        # Gradient-orientation histograms by cell (HOG-like), normalised per image, and over the whole image.
        magnitude, oriented = self.gradients(x)
        cell_histograms = F.adaptive_avg_pool2d(oriented, [self.cells, self.cells]).reshape(n, -1)
        parts.append(cell_histograms / (cell_histograms.sum(dim=1, keepdim=True) + 1e-6))
        whole = oriented.mean(dim=(2, 3))
        parts.append(whole / (whole.sum(dim=1, keepdim=True) + 1e-6))
        parts.append(_tail_values(magnitude.reshape(n, -1), self.tail_fractions))

        # Texture: histograms of how many neighbours are brighter, at radius 1 and 2.
        for radius in [1, 2]:
            count = _brighter_neighbours(x, radius)
            parts.append((count == self.texture_levels).to(x.dtype).mean(dim=(2, 3)))

        # Local residual (pixel minus local mean) and local contrast: where small defects show.
        for window in [self.small_window, self.large_window]:
            mean = _local_mean(x, window)
            residual = (x - mean).reshape(n, -1)
            parts.append(_tail_values(residual, self.tail_fractions))
            parts.append(-_tail_values(-residual, self.tail_fractions))
            parts.append(residual.amin(dim=1, keepdim=True))
            parts.append(residual.amax(dim=1, keepdim=True))
            variance = torch.clamp(_local_mean(x * x, window) - mean * mean, min=0.0)
            contrast = torch.sqrt(variance + 1e-8).reshape(n, -1)
            parts.append(contrast.mean(dim=1, keepdim=True))
            parts.append(_tail_values(contrast, self.tail_fractions))

        return torch.cat(parts, dim=1)


class PatchFeatures(nn.Module):
    """A feature map describing every patch, for the good-parts-only detector.

    Parameters
    ----------
    image_size : int
        Side of the square input images in pixels.
    patch_size : int, optional
        Side of a patch in pixels; by default image_size // 8. Patches are
        taken every ``patch_size // 2`` pixels, and each is also described
        with the context of a patch twice as large.

    Notes
    -----
    Input: float tensor (N, 1, S, S) in [0, 1]. Output: (N, C, h, w) with
    ``h = w = ceil(S / stride)``.
    """

    def __init__(self, image_size: int, *, patch_size: int | None = None) -> None:
        super().__init__()
        size = patch_size if patch_size is not None else max(4, image_size // 8)
        if size < 2 or size > image_size:
            raise ValueError(f"patch_size must be between 2 and image_size={image_size}, got {size}")
        self.patch_size = size
        self.stride = max(1, size // 2)
        self.residual_window = 5
        self.gradients = _Gradients()

    def _pool(self, value: torch.Tensor, size: int) -> torch.Tensor:
        return F.avg_pool2d(value, size, stride=self.stride, padding=size // 2, count_include_pad=False)

    def _max_pool(self, value: torch.Tensor, size: int) -> torch.Tensor:
        return F.max_pool2d(value, size, stride=self.stride, padding=size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        magnitude, oriented = self.gradients(x)
        residual = x - _local_mean(x, self.residual_window)
        image_mean = x.mean(dim=(2, 3), keepdim=True)
        maps: list[torch.Tensor] = []

        for size in [self.patch_size, 2 * self.patch_size]:
            mean = self._pool(x, size)
            variance = torch.clamp(self._pool(x * x, size) - mean * mean, min=0.0)
            maps.append(mean - image_mean)
            maps.append(torch.sqrt(variance + 1e-8))
            maps.append(self._max_pool(residual, size))
            maps.append(self._max_pool(-residual, size))
            maps.append(self._pool(residual.abs(), size))
            maps.append(self._pool(magnitude, size))
            maps.append(self._max_pool(magnitude, size))
            maps.append(self._pool(oriented, size))

        # Pooling windows of different sizes can give maps one cell apart in size; crop to the smallest.
        height = min([m.shape[-2] for m in maps])
        width = min([m.shape[-1] for m in maps])
        return torch.cat([m[:, :, :height, :width] for m in maps], dim=1)
