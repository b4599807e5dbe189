"""Generated photos of pressed metal brackets, good and defective, with defect masks.

Every image is drawn from a small physical model. The part is a
rounded-rectangle bracket with four punched holes. Its brushed-metal surface
has streaks along the part and a sheen band across them. The lighting is
uneven with a hot spot, the part casts a soft shadow on the conveyor, and the
camera adds noise. Defects change the surface where they are:

- ``scratch``: a thin curved groove, lit on one wall and shadowed on the other;
- ``dent``: a shallow depression shaded by the direction of the light;
- ``stain``: an irregular oil or rust stain with a darker rim;
- ``burr``: jagged material standing out from one outer edge;
- ``missing_hole``: one of the four holes was not punched.

Part position, rotation (either way round), brightness and lighting vary from
image to image, so a classifier has to find the defect and cannot rely on the
overall brightness.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.utils import Bunch, check_random_state

from kenshu.i18n import message

logger = logging.getLogger(__name__)

DEFECT_KINDS = ("scratch", "dent", "stain", "burr", "missing_hole")
TARGET_NAMES = ["良品", "不良品"]
MIN_IMAGE_SIZE = 32

# Hole layout of the bracket, in units of the half-length (u) and half-width (v)
# of the plate, and the hole radius in units of the half-width.
_HOLES = ((-0.66, 0.0, 0.27), (0.66, 0.0, 0.27), (0.0, -0.55, 0.13), (0.0, 0.55, 0.13))

# File names written by save_image_folder: "0007.png" and "0007_mask.png".
_SAVED_NAME = re.compile(r"^\d{4,}(_mask)?\.png$")


@dataclass
class _Part:
    """Pose and lighting of one bracket in one photo (lengths in pixels)."""

    center_x: float
    center_y: float
    angle: float
    half_length: float
    half_width: float
    corner_radius: float
    gain: float
    light_x: float
    light_y: float


class _Scene:
    """The pixel grid of one photo in image and part coordinates."""

    def __init__(self, size: int, part: _Part) -> None:
        self.size = size
        self.part = part
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
        self.x = xs
        self.y = ys
        cos_a, sin_a = math.cos(part.angle), math.sin(part.angle)
        dx, dy = xs - part.center_x, ys - part.center_y
        # u runs along the bracket, v across it.
        self.u = cos_a * dx + sin_a * dy
        self.v = -sin_a * dx + cos_a * dy

    def plate_distance(self, shift_x: float = 0.0, shift_y: float = 0.0) -> np.ndarray:
        """Signed distance in pixels to the plate outline, negative inside."""
        part = self.part
        u, v = self.u, self.v
        if shift_x or shift_y:
            cos_a, sin_a = math.cos(part.angle), math.sin(part.angle)
            u = u - (cos_a * shift_x + sin_a * shift_y)
            v = v - (-sin_a * shift_x + cos_a * shift_y)
        radius = part.corner_radius
        qu = np.abs(u) - (part.half_length - radius)
        qv = np.abs(v) - (part.half_width - radius)
        outside = np.hypot(np.maximum(qu, 0.0), np.maximum(qv, 0.0))
        inside = np.minimum(np.maximum(qu, qv), 0.0)
        return outside + inside - radius

    def hole_centers(self) -> list[tuple[float, float, float]]:
        """Centre (u, v) and radius of each hole, in pixels."""
        part = self.part
        return [(hu * part.half_length, hv * part.half_width, hr * part.half_width) for hu, hv, hr in _HOLES]

    def to_image(self, u: float, v: float) -> tuple[float, float]:
        """Convert a point in part coordinates to image coordinates."""
        part = self.part
        cos_a, sin_a = math.cos(part.angle), math.sin(part.angle)
        return part.center_x + cos_a * u - sin_a * v, part.center_y + sin_a * u + cos_a * v


def _smooth_noise(rng: np.random.RandomState, grid: int, size: int) -> np.ndarray:
    """Return low-frequency noise of shape (size, size), about unit variance."""
    coarse = rng.standard_normal((grid, grid)).astype(np.float32)
    image = Image.fromarray(coarse, mode="F").resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float64)


def _noise_1d(rng: np.random.RandomState, length: int, smooth: int) -> np.ndarray:
    """Return a 1-D random profile of *length* values smoothed over *smooth* samples."""
    values = rng.standard_normal(length + smooth)
    kernel = np.ones(smooth) / smooth
    profile = np.convolve(values, kernel, mode="valid")[:length]
    return profile / (profile.std() + 1e-9)


def _random_part(rng: np.random.RandomState, size: int) -> _Part:
    scale = rng.uniform(0.94, 1.04)
    light_angle = rng.uniform(0, 2 * math.pi)
    return _Part(
        center_x=size / 2 + rng.uniform(-0.04, 0.04) * size,
        center_y=size / 2 + rng.uniform(-0.04, 0.04) * size,
        angle=rng.uniform(-0.21, 0.21) + math.pi * rng.randint(2),
        half_length=0.355 * size * scale,
        half_width=0.215 * size * scale,
        corner_radius=0.06 * size * scale,
        gain=rng.uniform(0.72, 1.28),
        light_x=math.cos(light_angle),
        light_y=math.sin(light_angle),
    )


def _point_on_plate(rng: np.random.RandomState, scene: _Scene, margin: float) -> tuple[float, float]:
    """Pick a point (u, v) on the plate at least *margin* pixels from holes and edges."""
    part = scene.part
    for _ in range(100):
        u = rng.uniform(-part.half_length + margin, part.half_length - margin)
        v = rng.uniform(-part.half_width + margin, part.half_width - margin)
        if all(math.hypot(u - hu, v - hv) > hr + margin for hu, hv, hr in scene.hole_centers()):
            return u, v
    # NOTE: with very large margins no point may qualify; the plate centre area is used then.
    return 0.25 * part.half_length, 0.0


def _lighting(rng: np.random.RandomState, scene: _Scene) -> np.ndarray:
    """Illumination field: a linear gradient, a soft hot spot and the overall gain."""
    size = scene.size
    gradient = rng.uniform(0.0, 0.35)
    direction = rng.uniform(0, 2 * math.pi)
    ramp = ((scene.x - size / 2) * math.cos(direction) + (scene.y - size / 2) * math.sin(direction)) / size
    spot_x, spot_y = rng.uniform(0.15, 0.85, size=2) * size
    spot_width = rng.uniform(0.25, 0.5) * size
    spot = rng.uniform(0.05, 0.3) * np.exp(-((scene.x - spot_x) ** 2 + (scene.y - spot_y) ** 2) / (2 * spot_width**2))
    return scene.part.gain * (1.0 + gradient * ramp + spot)


def _brushed_metal(rng: np.random.RandomState, scene: _Scene) -> np.ndarray:
    """Surface brightness of the bare metal: streaks along u and a sheen band across it."""
    size = scene.size
    length = 4 * size
    coarse = _noise_1d(rng, length, smooth=3)
    fine = _noise_1d(rng, length, smooth=1)
    grid = np.arange(length, dtype=np.float64) - length / 2
    v = scene.v
    drift = 0.03 * scene.u
    streaks = 0.045 * np.interp(v * 0.7 + drift, grid, coarse) + 0.03 * np.interp(v * 2.3 - drift, grid, fine)
    sheen_center = rng.uniform(-0.6, 0.6) * scene.part.half_length
    sheen_width = rng.uniform(0.15, 0.35) * scene.part.half_length
    sheen = rng.uniform(0.05, 0.18) * np.exp(-(((scene.u - sheen_center) / sheen_width) ** 2))
    base = rng.uniform(0.5, 0.62)
    return base + streaks + sheen


def _scratch(rng: np.random.RandomState, scene: _Scene) -> tuple[np.ndarray, np.ndarray]:
    """Draw a curved groove; return the brightness change and the defect mask."""
    part = scene.part
    size = scene.size
    start_u, start_v = _point_on_plate(rng, scene, margin=0.08 * size)
    # Scratches cross the brushing direction at an angle, so they are not hidden in the streaks.
    angle = rng.uniform(math.radians(25), math.radians(75)) * rng.choice([-1, 1]) + math.pi * rng.randint(2)
    length = rng.uniform(0.25, 0.5) * 2 * part.half_length
    bend = rng.uniform(-0.15, 0.15) * length
    direction = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    t = np.linspace(0.0, 1.0, 13)
    points = np.array([start_u, start_v]) + np.outer(t * length, direction) + np.outer(4 * t * (1 - t) * bend, normal)

    # Distance from every pixel to the polyline, with the side of the nearest segment as sign.
    pixels = np.stack([scene.u.ravel(), scene.v.ravel()], axis=1)
    best = np.full(len(pixels), np.inf)
    signed = np.zeros(len(pixels))
    along = np.zeros(len(pixels))
    for index in range(len(points) - 1):
        a, b = points[index], points[index + 1]
        segment = b - a
        seg_len2 = float(segment @ segment)
        rel = pixels - a
        proj = np.clip(rel @ segment / seg_len2, 0.0, 1.0)
        offset = rel - np.outer(proj, segment)
        distance = np.hypot(offset[:, 0], offset[:, 1])
        closer = distance < best
        best = np.where(closer, distance, best)
        side = np.sign(segment[0] * rel[:, 1] - segment[1] * rel[:, 0])
        signed = np.where(closer, side * distance, signed)
        along = np.where(closer, (index + proj) / (len(points) - 1), along)

    signed = signed.reshape(size, size)
    along = along.reshape(size, size)
    width = max(0.6, rng.uniform(0.5, 0.9) * size / 128)
    depth = rng.uniform(0.35, 0.6)
    taper = np.clip(np.sin(np.pi * along), 0.0, 1.0) ** 0.4

    # Groove profile h(d) = -depth * exp(-(d/w)^2); the slope lit from the light direction
    # gives a bright wall and a dark wall, and the bottom is darker from occlusion.
    profile = np.exp(-((signed / width) ** 2))
    slope = 2 * signed / width * profile
    normal_image = np.array(scene.to_image(normal[0], normal[1])) - np.array(scene.to_image(0.0, 0.0))
    facing = normal_image[0] * part.light_x + normal_image[1] * part.light_y
    delta = depth * taper * (0.55 * slope * facing - 0.45 * profile)
    mask = (np.abs(signed) <= max(1.0, 1.6 * width)) & (taper > 0.05)
    return delta, mask


def _dent(rng: np.random.RandomState, scene: _Scene) -> tuple[np.ndarray, np.ndarray]:
    """Draw a shallow elliptical depression shaded by the light direction."""
    size = scene.size
    sigma = rng.uniform(0.028, 0.045) * size
    aspect = rng.uniform(1.0, 1.5)
    center_u, center_v = _point_on_plate(rng, scene, margin=1.5 * sigma)
    cx, cy = scene.to_image(center_u, center_v)
    tilt = rng.uniform(0, math.pi)
    dx, dy = scene.x - cx, scene.y - cy
    a = math.cos(tilt) * dx + math.sin(tilt) * dy
    b = (-math.sin(tilt) * dx + math.cos(tilt) * dy) * aspect
    r2 = (a**2 + b**2) / sigma**2
    bowl = np.exp(-r2 / 2)

    # Height h = -depth * bowl; its gradient, in image axes, dotted with the light direction.
    grad_a = a / sigma**2 * bowl
    grad_b = b * aspect / sigma**2 * bowl
    grad_x = math.cos(tilt) * grad_a - math.sin(tilt) * grad_b
    grad_y = math.sin(tilt) * grad_a + math.cos(tilt) * grad_b
    depth = rng.uniform(0.8, 1.3) * sigma
    part = scene.part
    delta = 0.35 * depth * (grad_x * part.light_x + grad_y * part.light_y) - 0.08 * bowl
    # The mask covers the depression down to 5 % of its depth (exp(-r²/2) = 0.05 at r = 2.45 σ).
    mask = r2 < 2.45**2
    return delta, mask


def _stain(rng: np.random.RandomState, scene: _Scene, metal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draw an irregular stain that darkens and dulls the metal."""
    size = scene.size
    radius = rng.uniform(0.05, 0.09) * size
    center_u, center_v = _point_on_plate(rng, scene, margin=0.6 * radius)
    cx, cy = scene.to_image(center_u, center_v)
    dx, dy = scene.x - cx, scene.y - cy
    theta = np.arctan2(dy, dx)
    outline = np.ones_like(theta)
    for harmonic in (2, 3, 5):
        outline += rng.uniform(0.05, 0.18) * np.sin(harmonic * theta + rng.uniform(0, 2 * math.pi))
    edge = np.hypot(dx, dy) / (radius * outline)
    inside = np.clip((1.0 - edge) * radius / 1.5, 0.0, 1.0)
    rim = np.exp(-(((edge - 0.95) / 0.08) ** 2)) * inside
    mottling = 1.0 + 0.25 * _smooth_noise(rng, 12, size)
    darkness = rng.uniform(0.3, 0.5)
    stained = metal.mean() + 0.4 * (metal - metal.mean())
    delta = inside * ((stained - metal) - darkness * 0.5 * mottling) - 0.1 * rim
    mask = inside > 0.5
    return delta, mask


def _burr(rng: np.random.RandomState, scene: _Scene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw jagged material outside one long edge; return brightness, extra coverage and mask."""
    part = scene.part
    size = scene.size
    side = rng.choice([-1.0, 1.0])
    straight = part.half_length - part.corner_radius
    center = rng.uniform(-0.8, 0.8) * straight
    half_extent = rng.uniform(0.035, 0.06) * size
    height = max(2.0, rng.uniform(0.02, 0.035) * size)
    along = (scene.u - center) / half_extent
    outward = side * scene.v - part.half_width

    # Jagged profile: a tapered ridge with a few random teeth.
    teeth = 0.6 + 0.4 * np.abs(np.sin(along * rng.uniform(4, 7) + rng.uniform(0, math.pi)))
    profile = height * np.clip(1.0 - np.abs(along), 0.0, 1.0) * teeth
    coverage = np.clip(0.5 + profile - outward, 0.0, 1.0) * (outward > -0.5) * (np.abs(along) < 1.0)
    brightness = part.gain * rng.uniform(0.75, 0.95) * (0.9 + 0.2 * teeth)
    mask = (np.abs(along) < 1.0) & (outward > -1.5) & (outward < profile + 0.5) & (profile > 0.3)
    return np.full_like(outward, brightness) * coverage, coverage, mask


def _draw_part(rng: np.random.RandomState, size: int, defect: str) -> tuple[np.ndarray, np.ndarray]:
    """Draw one photo; return the image in [0, 1] and the defect mask.

    Everything except the defect is drawn from *rng* before the defect, and the
    defect from its own generator, so the same *rng* state gives the same photo
    with and without a defect: they differ only where the defect is.
    """
    part = _random_part(rng, size)
    scene = _Scene(size, part)
    light = _lighting(rng, scene)
    metal = _brushed_metal(rng, scene)
    background = 0.16 + 0.025 * _smooth_noise(rng, 6, size)
    camera_noise = rng.normal(0.0, rng.uniform(0.006, 0.014), size=(size, size))
    missing_hole = rng.randint(len(_HOLES))
    defect_rng = np.random.RandomState(rng.randint(0, 2**31 - 1))

    # Outline: the plate minus every punched hole, antialiased over one pixel.
    distance = scene.plate_distance()
    mask = np.zeros((size, size), dtype=bool)
    for index, (hu, hv, hr) in enumerate(scene.hole_centers()):
        hole = hr - np.hypot(scene.u - hu, scene.v - hv)
        if defect == "missing_hole" and index == missing_hole:
            # The mask includes the rim where the hole edge would have been.
            mask = (hole > -2.5) & (distance < 0)
            continue
        distance = np.maximum(distance, hole)
    coverage = np.clip(0.5 - distance, 0.0, 1.0)

    # Bevel: edges facing the light catch it, the others fall into shade.
    grad_y, grad_x = np.gradient(distance)
    facing = grad_x * part.light_x + grad_y * part.light_y
    bevel = np.exp(-((distance + 1.0) ** 2) / 1.5) * facing * 0.25
    surface = metal + bevel

    # Defects change the surface before it is lit; a burr adds material outside the outline.
    extra_coverage = np.zeros_like(coverage)
    extra_brightness = np.zeros_like(coverage)
    if defect == "scratch":
        delta, mask = _scratch(defect_rng, scene)
        surface = surface + delta
    elif defect == "dent":
        delta, mask = _dent(defect_rng, scene)
        surface = surface + delta
    elif defect == "stain":
        delta, mask = _stain(defect_rng, scene, metal)
        surface = surface + delta
    elif defect == "burr":
        extra_brightness, extra_coverage, mask = _burr(defect_rng, scene)

    # Conveyor background with the part's soft shadow, away from the light.
    shadow_distance = scene.plate_distance(-2.5 * part.light_x, -2.5 * part.light_y)
    shadow = np.clip(0.5 - shadow_distance / 3.0, 0.0, 1.0)
    background = background * (1.0 - 0.45 * shadow)

    image = background * light * (1.0 - coverage) + surface * light * coverage
    image = image * (1.0 - extra_coverage) + extra_brightness * extra_coverage
    image = image + camera_noise

    if defect in ("scratch", "dent", "stain"):
        mask &= coverage > 0.5
    return np.clip(image, 0.0, 1.0), mask


def make_press_parts(
    n_samples: int = 200,
    *,
    defect_ratio: float = 0.5,
    defect_kinds: tuple[str, ...] | list[str] = DEFECT_KINDS,
    image_size: int = 128,
    random_state: int | np.random.RandomState | None = None,
) -> Bunch:
    """Generate grayscale photos of pressed brackets, good and defective.

    Parameters
    ----------
    n_samples : int, default=200
        Number of photos.
    defect_ratio : float, default=0.5
        Fraction of defective parts, in [0, 1]. The count is rounded to the
        nearest whole number and the defective photos are shuffled among the
        good ones.
    defect_kinds : sequence of str, default=all kinds
        Defects to draw, used in turn so that each kind is about equally
        frequent: any of ``"scratch"``, ``"dent"``, ``"stain"``, ``"burr"``,
        ``"missing_hole"``.
    image_size : int, default=128
        Side of the square photos in pixels, at least 32.
    random_state : int, RandomState instance or None, default=None
        Seed for the photos. The same seed gives byte-identical images and
        masks.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` uint8 array of shape (n_samples, image_size, image_size);
        ``masks`` bool array of the same shape, True on defect pixels and all
        False for good parts; ``target`` int array, 0 for 良品 (good) and 1
        for 不良品 (defect); ``defect_kind`` str array, ``""`` for good
        parts; ``target_names`` ``["良品", "不良品"]``; ``DESCR``.

    Raises
    ------
    ValueError
        If a count, ratio, size or defect kind is out of range.

    See Also
    --------
    save_image_folder : Write the photos as one folder per class.
    load_image_folder : Read such a folder back, or a factory's own photos.

    Examples
    --------
    >>> from kenshu.datasets import make_press_parts
    >>> parts = make_press_parts(20, random_state=0)
    >>> parts.images.shape
    (20, 128, 128)
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not 0.0 <= defect_ratio <= 1.0:
        raise ValueError(f"defect_ratio must be in [0, 1], got {defect_ratio!r}")
    if not isinstance(image_size, (int, np.integer)) or image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size must be an integer of at least {MIN_IMAGE_SIZE}, got {image_size!r}")
    kinds = tuple(defect_kinds)
    unknown = [kind for kind in kinds if kind not in DEFECT_KINDS]
    if unknown:
        raise ValueError(f"unknown defect kinds {unknown}; choose from {list(DEFECT_KINDS)}")
    n_defects = int(round(n_samples * defect_ratio))
    if n_defects and not kinds:
        raise ValueError(f"defect_kinds is empty but defect_ratio={defect_ratio} asks for {n_defects} defective parts")

    rng = check_random_state(random_state)

    # Labels: an exact number of defects, kinds used in turn, then shuffled together.
    defect_kind = np.array([""] * (n_samples - n_defects) + [kinds[i % len(kinds)] for i in range(n_defects)], dtype="<U16")
    defect_kind = defect_kind[rng.permutation(n_samples)]
    target = (defect_kind != "").astype(np.int64)

    # Photos: one child seed per photo, so photo i does not depend on how photo i-1 was drawn.
    seeds = rng.randint(0, 2**31 - 1, size=n_samples)
    images = np.empty((n_samples, image_size, image_size), dtype=np.uint8)
    masks = np.zeros((n_samples, image_size, image_size), dtype=bool)
    for index in range(n_samples):
        image, mask = _draw_part(np.random.RandomState(seeds[index]), int(image_size), str(defect_kind[index]))
        images[index] = np.round(image * 255.0).astype(np.uint8)
        masks[index] = mask

    logger.debug("generated %d press-part photos (%d defective) of %d px", n_samples, n_defects, image_size)
    return Bunch(
        images=images,
        masks=masks,
        target=target,
        defect_kind=defect_kind,
        target_names=list(TARGET_NAMES),
        defect_kinds=list(kinds),
        DESCR=message("datasets.press_parts_descr", n_samples=n_samples, n_defects=n_defects, image_size=image_size),
    )


def _write_png(array: np.ndarray, path: Path) -> bool:
    """Write *array* as PNG unless the file already contains exactly those bytes; return whether it wrote."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    data = buffer.getvalue()
    if path.is_file() and path.read_bytes() == data:
        return False
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    return True


def save_image_folder(
    bunch: Bunch,
    path: str | Path,
    *,
    good_name: str = "良品",
    defect_name: str = "不良品",
) -> Path:
    """Write generated photos as one folder per class, with the defect masks beside them.

    Each photo ``i`` becomes ``path/<class>/<i>.png`` (zero-padded to four
    digits), and its mask ``<i>_mask.png`` (0 or 255) lies beside it.
    ``labels.csv`` at the top lists file, class and defect kind. Running it
    again rewrites only files whose content changed and removes photos and
    masks of an earlier, different run from the class folders, so the folder
    always contains exactly this *bunch*.

    Parameters
    ----------
    bunch : sklearn.utils.Bunch
        Output of :func:`make_press_parts` (``images``, ``target``, and
        optionally ``masks`` and ``defect_kind``). Images are uint8, or
        float in [0, 1] as :func:`load_image_folder` returns them.
    path : str or Path
        Folder to write into; created if missing.
    good_name, defect_name : str
        Folder names of the two classes.

    Returns
    -------
    path : Path
        The folder written.
    """
    if not good_name or not defect_name or good_name == defect_name:
        raise ValueError(f"good_name and defect_name must be two different folder names, got {good_name!r} and {defect_name!r}")
    for name in (good_name, defect_name):
        if "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(f"class folder name {name!r} must be a plain folder name")
    images = np.asarray(bunch.images)
    if images.dtype.kind == "f":
        # Float images, as load_image_folder returns them, are in [0, 1].
        images = np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)
    target = np.asarray(bunch.target)
    masks = bunch.get("masks")
    kinds = bunch.get("defect_kind")
    if images.ndim != 3 or len(target) != len(images):
        raise ValueError(f"bunch.images must be (n, height, width) with one target each, got {images.shape} and {target.shape}")

    root = Path(path)
    folders = {0: root / good_name, 1: root / defect_name}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    width = max(4, len(str(len(images) - 1)))

    # Photos and masks, rewritten only where their bytes changed.
    expected: dict[Path, set[str]] = {folder: set() for folder in folders.values()}
    written = 0
    rows = []
    for index, image in enumerate(images):
        label = int(target[index] != 0)
        folder = folders[label]
        stem = f"{index:0{width}d}"
        written += _write_png(image, folder / f"{stem}.png")
        expected[folder].add(f"{stem}.png")
        if masks is not None:
            mask = (np.asarray(masks[index]) > 0).astype(np.uint8) * 255
            written += _write_png(mask, folder / f"{stem}_mask.png")
            expected[folder].add(f"{stem}_mask.png")
        kind = "" if kinds is None else str(kinds[index])
        rows.append((f"{folder.name}/{stem}.png", folder.name, kind))

    # Files of an earlier run with another size or seed would mislabel the folder: remove them.
    removed = 0
    for folder, names in expected.items():
        for old in folder.iterdir():
            if old.is_file() and _SAVED_NAME.match(old.name) and old.name not in names:
                old.unlink()
                removed += 1

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["file", "class", "defect_kind"])
    writer.writerows(rows)
    labels = root / "labels.csv"
    content = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    if not labels.is_file() or labels.read_bytes() != content:
        temporary = labels.with_name("labels.csv.tmp")
        temporary.write_bytes(content)
        temporary.replace(labels)

    total = sum(len(names) for names in expected.values())
    logger.info("wrote %d files to %s (%d unchanged, %d stale removed)", written, root, total - written, removed)
    return root
