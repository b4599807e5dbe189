"""Hand-made image features written in torch, so that the exported model computes them itself.

:class:`ImageFeatures` turns a whole image into one vector (gradient-orientation
histograms by cell, intensity statistics, local-binary-pattern-like texture,
the extremes of the local residual and of morphological top-hat responses)
for the scikit-learn baseline.
:class:`PatchFeatures` describes every patch of an image (local brightness,
contrast, residual extremes and gradient orientations at two scales) for the
good-parts-only detector.
:class:`PartAligner` turns and shifts a part lying on a plain background to a
standard pose (centre of mass in the middle, long axis horizontal), and
:class:`GoodReference` compares an aligned part pixel by pixel with the good
parts it was fitted on.
All are TorchScript-compatible ``nn.Module``s without trainable weights; only
``torch`` is needed to run them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

N_ORIENTATIONS = 8
# Channels compared with the good parts by GoodReference.
N_REFERENCE_CHANNELS = 5


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
    # Channels are folded into the batch, so one single-channel kernel serves any channel count.
    folded = x.reshape(-1, 1, x.shape[-2], x.shape[-1])
    padded = F.pad(folded, [radius, radius, radius, radius], mode="replicate")
    row = torch.full((1, 1, 1, size), 1.0 / size, dtype=x.dtype, device=x.device)
    return F.conv2d(F.conv2d(padded, row), row.transpose(2, 3)).reshape(x.shape)


def _dilate(x: torch.Tensor, size: int) -> torch.Tensor:
    """Return the maximum over a size x size square around every pixel (grey-level dilation).

    A square is separable, so two one-dimensional max-pools do the work of one two-dimensional.
    """
    radius = size // 2
    wide = F.max_pool2d(F.pad(x, [radius, radius, 0, 0], mode="replicate"), [1, size], stride=1)
    return F.max_pool2d(F.pad(wide, [0, 0, radius, radius], mode="replicate"), [size, 1], stride=1)


def _erode(x: torch.Tensor, size: int) -> torch.Tensor:
    return -_dilate(-x, size)


def _dark_top_hat(x: torch.Tensor, size: int) -> torch.Tensor:
    """Return the black top-hat: how much darker each pixel is than its closing.

    It responds to dark spots and dark lines narrower than *size* (pits,
    blowholes, cracks, scratches) and ignores slow changes of brightness.
    """
    return _erode(_dilate(x, size), size) - x


def _bright_top_hat(x: torch.Tensor, size: int) -> torch.Tensor:
    """Return the white top-hat: how much brighter each pixel is than its opening."""
    return x - _dilate(_erode(x, size), size)


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
    local mean, at two window sizes) and the top-hat features keep a small
    dark or bright spot visible in a vector that otherwise averages over the
    whole image. The top-hat responses are taken at three sizes (about 3 %,
    6 % and 12 % of the image side), leave out a border of image_size // 16
    pixels where the edges of a photographed surface often lie, and are
    given both as they are and divided by the image's own noise level, so
    that a grainier photo does not look more defective.
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
        self.top_hat_sizes = sorted({_odd(max(3, image_size // divisor)) for divisor in (32, 16, 8)})
        self.border = image_size // 16

    def _top_hat_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        n = x.shape[0]
        height = x.shape[-2]
        width = x.shape[-1]
        inner = x[:, :, self.border : height - self.border, self.border : width - self.border]
        # Noise level: the median absolute difference from the 3 x 3 mean.
        noise = (inner - _local_mean(inner, 3)).abs().reshape(n, -1).median(dim=1).values.view(n, 1) + 1e-4
        parts: list[torch.Tensor] = []
        for size in self.top_hat_sizes:
            for response in [_dark_top_hat(inner, size), _bright_top_hat(inner, size)]:
                tails = _tail_values(response.reshape(n, -1), self.tail_fractions)
                peak = response.reshape(n, -1).amax(dim=1, keepdim=True)
                parts.append(torch.cat([tails, peak], dim=1))
                parts.append(torch.cat([tails, peak], dim=1) / noise)
        return parts

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

        # Morphological top-hats: dark pits and thin lines, bright specks.
        parts.extend(self._top_hat_features(x))
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


class PartAligner(nn.Module):
    """Turn and shift each image so that the part lies in a standard pose.

    The part is separated from the background by a soft threshold halfway between
    the 5th and 95th brightness percentiles of the image. Whichever side
    covers most of the image border is the background, so a dark part on a
    light conveyor works as well as a light part on a dark one. The image
    moments of the part give its centre of mass and the direction of its long
    axis, and the third moment along that axis decides which end points right.
    The output is the image resampled so that the centre of mass is in the
    middle and the long axis horizontal, and, when ``reference_mass`` is set,
    scaled so that the part has the area of the reference.

    Parameters
    ----------
    reference_mass : float, default=0.0
        Part area (sum of the soft foreground mask) to scale every part to;
        0 keeps the scale. :meth:`part_mass` measures it.

    Notes
    -----
    Input and output: float tensor (N, 1, S, S). Meant for one part on a
    plain background, as on a conveyor. A photo of a surface that fills the
    frame (a tile, a sheet) has no part outline, and aligning it only adds
    random turns; :func:`alignment_gain` measures which case a data set is.
    A part that is symmetric under a half turn (both ends alike) is put down
    either way round, which does not matter as the two poses look the same.
    """

    def __init__(self, *, reference_mass: float = 0.0) -> None:
        super().__init__()
        self.reference_mass = float(reference_mass)
        self.register_buffer("percentiles", torch.tensor([0.05, 0.95]))

    def _foreground(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        levels = torch.quantile(x.reshape(n, -1), self.percentiles, dim=1).t()
        middle = levels.mean(dim=1).view(n, 1, 1, 1)
        span = (levels[:, 1] - levels[:, 0]).view(n, 1, 1, 1) + 1e-3
        weight = torch.clamp((x - middle) / (0.2 * span) + 0.5, 0.0, 1.0)
        border = torch.cat([weight[:, :, 0, :], weight[:, :, -1, :], weight[:, :, :, 0], weight[:, :, :, -1]], dim=2)
        light_background = (border.mean(dim=(1, 2)) > 0.5).view(n, 1, 1, 1)
        return torch.where(light_background, 1.0 - weight, weight)

    def _coordinates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Pixel centres in the [-1, 1] coordinates of affine_grid with align_corners=False.
        height = x.shape[-2]
        width = x.shape[-1]
        ys = (torch.arange(height, dtype=x.dtype, device=x.device) + 0.5) / height * 2.0 - 1.0
        xs = (torch.arange(width, dtype=x.dtype, device=x.device) + 0.5) / width * 2.0 - 1.0
        return xs.view(1, 1, 1, width), ys.view(1, 1, height, 1)

    def part_mass(self, x: torch.Tensor) -> torch.Tensor:
        """Return the area of the part in every image (sum of the soft foreground mask), shape (N,)."""
        return self._foreground(x).sum(dim=(1, 2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        weight = self._foreground(x)
        grid_x, grid_y = self._coordinates(x)

        # Centre of mass and central second moments of the part.
        mass = weight.sum(dim=(1, 2, 3)) + 1e-6
        center_x = (weight * grid_x).sum(dim=(1, 2, 3)) / mass
        center_y = (weight * grid_y).sum(dim=(1, 2, 3)) / mass
        dx = grid_x - center_x.view(n, 1, 1, 1)
        dy = grid_y - center_y.view(n, 1, 1, 1)
        mu20 = (weight * dx * dx).sum(dim=(1, 2, 3))
        mu02 = (weight * dy * dy).sum(dim=(1, 2, 3))
        mu11 = (weight * dx * dy).sum(dim=(1, 2, 3))
        angle = 0.5 * torch.atan2(2.0 * mu11, mu20 - mu02)

        # The long axis has two directions: take the one toward which the part's mass is skewed.
        along = dx * torch.cos(angle).view(n, 1, 1, 1) + dy * torch.sin(angle).view(n, 1, 1, 1)
        skew = (weight * along * along * along).sum(dim=(1, 2, 3))
        angle = torch.where(skew < 0, angle + math.pi, angle)

        scale = torch.ones_like(mass)
        if self.reference_mass > 0:
            scale = torch.sqrt(mass / self.reference_mass)
        cosine = torch.cos(angle) * scale
        sine = torch.sin(angle) * scale
        # affine_grid maps output coordinates to input ones: turn by the part's angle, then move to its centre.
        theta = torch.stack([torch.stack([cosine, -sine, center_x], dim=1), torch.stack([sine, cosine, center_y], dim=1)], dim=1)
        grid = F.affine_grid(theta, [n, 1, x.shape[-2], x.shape[-1]], align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _standardise(x: torch.Tensor) -> torch.Tensor:
    """Return every image shifted and scaled to zero mean and unit standard deviation."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True)
    return (x - mean) / (std + 1e-3)


class GoodReference(nn.Module):
    """Pixel-by-pixel comparison of an aligned part with the good parts (a golden-template check).

    Each image is aligned (:class:`PartAligner`), standardised, and split into
    five channels:

    - the image itself;
    - its detail above two scales: the image minus its local mean over about
      5 % and 15 % of the side;
    - its black top-hat over about 2.5 % of the side (thin dark lines such as scratches);
    - its white top-hat over about 6 % (bright specks and edges).

    Every channel
    is compared with the per-pixel mean and standard deviation of the good
    parts, giving z-scores: how many standard deviations each pixel is from
    what good parts show there.

    Parameters
    ----------
    image_size : int
        Side of the square input images.
    aligner : PartAligner
    mean, std : Tensor of shape (5, image_size, image_size)
        Per-channel, per-pixel statistics of the good parts (see
        :meth:`channels`). The standard deviation should already be floored,
        so that pixels that never vary do not turn noise into alarms.
    """

    def __init__(self, image_size: int, aligner: PartAligner, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.aligner = aligner
        self.detail_windows = [_odd(max(3, image_size // 20)), _odd(max(5, image_size // 7))]
        self.dark_size = _odd(max(3, image_size // 40))
        self.bright_size = _odd(max(3, image_size // 18))
        self.register_buffer("mean", mean.float().unsqueeze(0))
        self.register_buffer("std", std.float().unsqueeze(0))
        self.smoothing = [1, 3, 7]
        self.tail_fractions = [0.01, 0.003, 0.001]

    def channels(self, x: torch.Tensor) -> torch.Tensor:
        """Return the aligned, standardised image and its four detail channels, (N, 5, S, S)."""
        standard = _standardise(self.aligner(x))
        maps = [standard]
        for window in self.detail_windows:
            maps.append(standard - _local_mean(standard, window))
        maps.append(_dark_top_hat(standard, self.dark_size))
        maps.append(_bright_top_hat(standard, self.bright_size))
        return torch.cat(maps, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the z-score maps (N, 5, S, S)."""
        return (self.channels(x) - self.mean) / self.std

    def deviation_features(self, z: torch.Tensor) -> torch.Tensor:
        """Summarise z-score maps as the largest deviations, both signs, after smoothing over 1, 3 and 7 pixels."""
        n = z.shape[0]
        parts: list[torch.Tensor] = []
        for size in self.smoothing:
            smoothed = z if size == 1 else _local_mean(z, size)
            for signed in [smoothed, -smoothed]:
                for channel in range(signed.shape[1]):
                    flat = signed[:, channel].reshape(n, -1)
                    parts.append(_tail_values(flat, self.tail_fractions))
                    parts.append(flat.amax(dim=1, keepdim=True))
        return torch.cat(parts, dim=1)


@torch.no_grad()
def fit_good_reference(good_images: torch.Tensor, aligner: PartAligner, *, batch_size: int = 64) -> GoodReference:
    """Fit a :class:`GoodReference` on good parts (N, 1, S, S).

    The per-pixel standard deviation is floored at half its median over the
    image, so that the background, where good parts hardly differ, does not
    turn camera noise into large z-scores.
    """
    image_size = int(good_images.shape[-1])
    placeholder = torch.zeros(N_REFERENCE_CHANNELS, image_size, image_size)
    reference = GoodReference(image_size, aligner, placeholder, torch.ones_like(placeholder))
    channels = torch.cat([reference.channels(good_images[start : start + batch_size]) for start in range(0, len(good_images), batch_size)])
    mean = channels.mean(dim=0)
    std = channels.std(dim=0)
    floor = std.reshape(N_REFERENCE_CHANNELS, -1).median(dim=1).values.view(N_REFERENCE_CHANNELS, 1, 1) * 0.5
    return GoodReference(image_size, aligner, mean, torch.maximum(std, floor + 1e-4))


@torch.no_grad()
def alignment_gain(good_images: torch.Tensor, *, batch_size: int = 64) -> tuple[float, PartAligner]:
    """Measure how much aligning the parts makes good images agree, and return the fitted aligner.

    Returns the ratio of the mean per-pixel standard deviation of the
    standardised good images before alignment to that after. Well above 1,
    the images show one part in varying poses and aligning helps. Near or
    below 1, as for a surface filling the frame, aligning only adds noise.
    """
    aligner = PartAligner()
    masses = torch.cat([aligner.part_mass(good_images[start : start + batch_size]) for start in range(0, len(good_images), batch_size)])
    aligner = PartAligner(reference_mass=float(masses.median()))
    aligned = torch.cat([aligner(good_images[start : start + batch_size]) for start in range(0, len(good_images), batch_size)])
    before = _standardise(good_images).std(dim=0).mean()
    after = _standardise(aligned).std(dim=0).mean()
    return float(before / (after + 1e-6)), aligner
