"""Export a trained inspection to TorchScript, load it back and judge new photos.

The output folder of training holds ``model.pt`` (TorchScript, loadable with
``torch.jit.load`` alone, for example on a Raspberry Pi) and ``model.json``
beside it (threshold, image size and the preprocessing to apply). Verdicts
are written to CSV in UTF-8 with a byte order mark, so that Excel opens the
Japanese text correctly.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

# The image loader's own decoding and resizing, so that a photo judged here gets
# exactly the pixels it would have had in training.
from kenshu.datasets import read_image, resize_image
from kenshu.datasets.image_folder import IMAGE_SUFFIXES
from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.inspection.models import InspectionModel

logger = logging.getLogger(__name__)

MODEL_FILE = "model.pt"
CONFIG_FILE = "model.json"
FORMAT_NAME = "kenshu-inspection"
FORMAT_VERSION = 1
GOOD_LABEL = "良品"
DEFECT_LABEL = "不良品"
# Stem endings of mask files, as kenshu.datasets.load_image_folder recognises them.
MASK_SUFFIXES = ("_mask", "-mask", "_gt", "_label")


def _quiet_jit(function, *args):
    # torch 2.13 marks TorchScript deprecated with a warning on every call; it still is the
    # format that loads with torch alone, which is what a Raspberry Pi needs.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.jit")
        return function(*args)


def export_model(model: InspectionModel, out_dir: str | Path, *, metadata: dict | None = None) -> Path:
    """Write *model* as TorchScript ``model.pt`` and its settings as ``model.json`` into *out_dir*.

    Parameters
    ----------
    model : InspectionModel
    out_dir : str or Path
        Created if missing; existing files of the same names are replaced.
    metadata : dict, optional
        Extra fields for ``model.json`` (class names, training date, ...).

    Returns
    -------
    Path
        The path of ``model.pt``.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    scripted = _quiet_jit(torch.jit.script, model)
    model_path = folder / MODEL_FILE
    _quiet_jit(scripted.save, str(model_path))

    config = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "kind": model.kind,
        "threshold": model.threshold,
        "image_size": model.image_size,
        "labels": {"0": GOOD_LABEL, "1": DEFECT_LABEL},
        "preprocessing": {
            "color": "grayscale: Pillow ImageOps.exif_transpose, then convert('L')",
            "resize": f"bilinear to {model.image_size} x {model.image_size} pixels, aspect ratio not kept",
            "scale": "float32 = uint8 / 255, so pixels are in [0, 1]",
            "input": f"float32 tensor of shape (N, 1, {model.image_size}, {model.image_size})",
        },
        "output": "one score per image; 不良品 (defect) when score >= threshold, else 良品 (good)",
        "usage": "model = torch.jit.load('model.pt'); scores = model(x); defects = model.verdicts(x)",
    }
    config.update(metadata or {})
    (folder / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    logger.info("exported %s model to %s", model.kind, model_path)
    return model_path


@dataclass
class LoadedInspector:
    """An exported inspection model loaded back.

    Attributes
    ----------
    module : torch.jit.ScriptModule
        The TorchScript :class:`InspectionModel`.
    config : dict
        The contents of ``model.json``.
    path : Path
        The ``model.pt`` file.
    """

    module: torch.jit.ScriptModule
    config: dict
    path: Path

    @property
    def threshold(self) -> float:
        """Score at or above which a part is judged 不良品."""
        return float(self.config["threshold"])

    @property
    def image_size(self) -> int:
        """Side in pixels of the square images the model takes."""
        return int(self.config["image_size"])

    @torch.no_grad()
    def score(self, images: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
        """Return the scores for float images (n, S, S) in [0, 1]."""
        tensor = torch.as_tensor(np.asarray(images, dtype=np.float32))
        parts = [self.module(tensor[start : start + batch_size]) for start in range(0, len(tensor), batch_size)]
        return torch.cat(parts).numpy().astype(np.float64) if parts else np.zeros(0)


def load_exported(path: str | Path) -> LoadedInspector:
    """Load an exported model from ``model.pt`` or the folder that contains it.

    Raises
    ------
    KenshuError
        If the file or its ``model.json`` is missing or cannot be read.
    """
    given = Path(path)
    model_path = given / MODEL_FILE if given.is_dir() else given
    config_path = model_path.with_name(CONFIG_FILE)
    if not model_path.is_file():
        raise KenshuError("inspection.model_not_found", path=model_path)
    if not config_path.is_file():
        raise KenshuError("inspection.model_config_missing", path=config_path)

    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KenshuError("inspection.model_config_invalid", path=config_path, error=error) from error
    if config.get("format") != FORMAT_NAME:
        raise KenshuError("inspection.model_config_invalid", path=config_path, error=f"format={config.get('format')!r}")
    try:
        module = _quiet_jit(torch.jit.load, str(model_path), "cpu")
    except (RuntimeError, ValueError) as error:
        raise KenshuError("inspection.model_unreadable", path=model_path, error=error) from error
    module.eval()
    return LoadedInspector(module=module, config=config, path=model_path)


@dataclass(frozen=True)
class Verdict:
    """The verdict on one photo.

    ``label`` is ``"良品"`` or ``"不良品"``, or empty with ``error`` set when
    the photo could not be read.
    """

    path: Path
    label: str
    score: float
    threshold: float
    error: str = ""

    @property
    def is_defect(self) -> bool:
        """Whether the photo was judged 不良品."""
        return self.label == DEFECT_LABEL


def _is_mask(file: Path, siblings: list[Path]) -> bool:
    """Return whether *file* is the defect mask of another photo in *siblings*."""
    if file.suffix.lower() != ".png":
        return False
    photo_stems = {other.stem for other in siblings if other.suffix.lower() != ".png"}
    if file.stem in photo_stems:
        return True
    other_stems = {other.stem for other in siblings if other != file}
    return any(file.stem.endswith(suffix) and file.stem[: -len(suffix)] in other_stems for suffix in MASK_SUFFIXES)


def list_images(paths: list[str | Path]) -> list[Path]:
    """Expand files and folders to image files in sorted order, leaving out defect masks.

    A PNG in a folder with a non-PNG photo of the same stem, or named
    ``<stem>_mask.png`` (also ``-mask``, ``_gt``, ``_label``) beside a photo
    ``<stem>.*``, is that photo's mask (the convention of
    :func:`kenshu.datasets.load_image_folder`).
    Files given by name are kept whatever their suffix, so that an unreadable
    one is reported instead of silently skipped.
    """
    found: list[Path] = []
    for entry in map(Path, paths):
        if not entry.is_dir():
            found.append(entry)
            continue
        by_folder: dict[Path, list[Path]] = defaultdict(list)
        for file in sorted(entry.rglob("*")):
            hidden = any(part.startswith(".") for part in file.relative_to(entry).parts)
            if file.is_file() and not hidden and file.suffix.lower() in IMAGE_SUFFIXES:
                by_folder[file.parent].append(file)
        for files in by_folder.values():
            found.extend(file for file in files if not _is_mask(file, files))
    return found


def predict(model: LoadedInspector | str | Path, images: list[str | Path] | str | Path, *, batch_size: int = 32) -> list[Verdict]:
    """Judge photos 良品 or 不良品 with an exported model.

    Parameters
    ----------
    model : LoadedInspector, str or Path
        A loaded model, ``model.pt`` or its folder.
    images : list of str or Path, str or Path
        Photo files and folders (searched recursively; masks left out).
    batch_size : int, default=32

    Returns
    -------
    list of Verdict
        One per photo, in the order of *images*. A photo that cannot be
        read gets a verdict with ``error`` set and the others go on.
    """
    inspector = model if isinstance(model, LoadedInspector) else load_exported(model)
    files = list_images([images] if isinstance(images, (str, Path)) else list(images))
    size = inspector.image_size
    verdicts: dict[int, Verdict] = {}
    pending: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        if not pending:
            return
        scores = inspector.score(np.stack([array for _, array in pending]), batch_size=batch_size)
        for (index, _), score in zip(pending, scores):
            label = DEFECT_LABEL if score >= inspector.threshold else GOOD_LABEL
            verdicts[index] = Verdict(files[index], label, float(score), inspector.threshold)
        pending.clear()

    for index, file in enumerate(files):
        try:
            array = read_image(file)
        except FileNotFoundError:
            reason = message("inspection.predict_missing", path=file)
            logger.debug("%s", reason)
            verdicts[index] = Verdict(file, "", float("nan"), inspector.threshold, error=reason)
            continue
        except (OSError, SyntaxError, ValueError) as error:
            # The verdict carries the reason; the command prints it once, so this log is for debugging.
            reason = message("inspection.predict_unreadable", path=file, error=error)
            logger.debug("%s", reason)
            verdicts[index] = Verdict(file, "", float("nan"), inspector.threshold, error=reason)
            continue
        pending.append((index, resize_image(array, size, keep_aspect=False)))
        if len(pending) >= batch_size:
            flush()
    flush()
    return [verdicts[index] for index in range(len(files))]


def verdicts_csv(verdicts: list[Verdict]) -> str:
    """Return the verdicts as CSV text: file, verdict, score, threshold, error (Japanese headers)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([message("inspection.csv_file"), message("inspection.csv_verdict"), message("inspection.csv_score"),
                     message("inspection.csv_threshold"), message("inspection.csv_error")])
    for verdict in verdicts:
        score = "" if verdict.error else f"{verdict.score:.6g}"
        writer.writerow([str(verdict.path), verdict.label, score, f"{verdict.threshold:.6g}", verdict.error])
    return buffer.getvalue()


def write_verdicts_csv(verdicts: list[Verdict], path: str | Path) -> Path:
    """Write :func:`verdicts_csv` to *path* in UTF-8 with a byte order mark, creating missing parent folders, and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(verdicts_csv(verdicts), encoding="utf-8-sig", newline="")
    return target


def time_per_image(model_path: str | Path, image_size: int, *, repeats: int = 20) -> float:
    """Measure the median seconds to score one image with the exported model on one CPU thread.

    The thread count is set to 1 for the measurement and restored afterwards.
    """
    module = _quiet_jit(torch.jit.load, str(model_path), "cpu")
    module.eval()
    image = torch.rand(1, 1, image_size, image_size, generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            for _ in range(3):
                module(image)
            timings = []
            for _ in range(repeats):
                started = time.perf_counter()
                module(image)
                timings.append(time.perf_counter() - started)
    finally:
        torch.set_num_threads(threads)
    return float(np.median(timings))
