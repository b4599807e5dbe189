"""Read a factory's photos sorted into one folder per class.

The folder contains one subfolder per class, named as the factory names them
(``OK``/``NG``, ``good``/``bad``, ``良品``/``不良品``, ``MT_Free``/``MT_Crack``,
...). Photos may lie directly in a class folder or in folders below it. A
PNG whose stem matches another photo in the same folder (``a.jpg`` and
``a.png``), or that is named ``<stem>_mask.png`` beside ``<stem>.*``, is that
photo's pixel mask, not a photo of its own.

Bad input never stops the load: unreadable files, empty classes, classes too
small to split and exact duplicates are listed in ``problems`` and logged.
A photo whose exact copy lies in another class has a contradictory label:
every copy is left out and named, until a person moves one copy to the
right class and deletes the others.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from sklearn.utils import Bunch, check_random_state

from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.progress import progress_bar

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})
TARGET_NAMES = ["良品", "不良品"]

# A three-way split needs one image of each class in train, validation and test.
MIN_IMAGES_PER_CLASS = 3
# Smallest side, in pixels, that load_image_folder resizes images to.
MIN_LOAD_IMAGE_SIZE = 8

# Folder names that mean "good part", compared after NFKC, case folding and
# dropping spaces, "-" and "_".
_GOOD_NAMES = frozenset(
    {"ok", "okpart", "okparts", "good", "goods", "goodpart", "goodparts", "normal", "pass", "passed", "free",
     "nodefect", "nodefects", "defectfree", "nondefective", "良品", "良", "正常", "合格", "ok品", "正常品"}
)
# Words in a longer folder name that mean "good part" ("MT_Free", "parts_OK") unless
# a negating or defect word is also there ("not_good", "NG_free_edge").
_GOOD_WORDS = frozenset({"ok", "good", "free", "normal", "pass", "良品", "正常", "合格"})
_NOT_GOOD_WORDS = frozenset({"not", "no", "non", "ng", "bad", "defect", "defective", "fail", "failed", "不良", "不良品", "異常"})
_MASK_SUFFIXES = ("_mask", "-mask", "_gt", "_label")
# The settings file and its format name that ``kenshu inspect train`` writes beside model.pt
# (kenshu.inspection.export.CONFIG_FILE and FORMAT_NAME, not imported here because that module loads torch).
MODEL_CONFIG_FILE = "model.json"
MODEL_FORMAT_NAME = "kenshu-inspection"


@dataclass(frozen=True)
class ImageProblem:
    """A file or class folder that could not be used as it is.

    ``reason`` is one of ``"corrupt"``, ``"unreadable"``, ``"empty_class"``,
    ``"too_few_images"``, ``"duplicate"`` (a later copy within one class),
    ``"label_conflict"`` (the same photo in two classes: every copy is left
    out) and ``"outside_class_folder"``. Folders that are not read at all
    have the reason ``"model_output"`` (a kenshu inspection output) or
    ``"excluded"`` (named by the caller). ``detail`` carries the error, the
    count or the other copies. Older cards may also contain
    ``"duplicate_other_class"``, which is no longer reported. ``copies``
    lists the other copies of a duplicate (the kept one for ``"duplicate"``).
    """

    path: Path
    reason: str
    detail: str = ""
    copies: tuple[Path, ...] = ()

    def describe(self, *, lang: str | None = None) -> str:
        """Return the problem as one sentence of the message catalog."""
        return message(f"datasets.problem_{self.reason}", lang=lang, path=self.path, detail=self.detail)


@dataclass
class _ClassFiles:
    name: str
    folder: Path
    images: list[Path] = field(default_factory=list)
    masks: dict[Path, Path] = field(default_factory=dict)


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", name).casefold())


def _words(name: str) -> set[str]:
    return {word for word in re.split(r"[\s_\-.]+", unicodedata.normalize("NFKC", name).casefold()) if word}


def is_good_class_name(name: str) -> bool:
    """Return whether a class folder name says "good part" as factories write it."""
    if _normalise(name) in _GOOD_NAMES:
        return True
    words = _words(name)
    return bool(words & _GOOD_WORDS) and not words & _NOT_GOOD_WORDS


def decide_good_class(class_names: list[str], good_class: str | None = None, *, folder: Path | None = None) -> str:
    """Return the class folder that contains the good parts.

    Parameters
    ----------
    class_names : list of str
        Class folder names.
    good_class : str, optional
        The declared good class. Matched exactly, then ignoring case and width.
    folder : Path, optional
        The data folder, named in the error.

    Raises
    ------
    KenshuError
        If *good_class* is not one of the folders, or none is given and the
        names do not show exactly one good class.
    """
    listed = "、".join(class_names) or "-"
    if good_class is not None:
        if good_class in class_names:
            return good_class
        matches = [name for name in class_names if _normalise(name) == _normalise(good_class)]
        if len(matches) == 1:
            return matches[0]
        raise KenshuError("datasets.good_class_not_found", good_class=good_class, folder=folder, classes=listed)

    candidates = [name for name in class_names if is_good_class_name(name)]
    if len(candidates) == 1:
        return candidates[0]
    raise KenshuError("datasets.good_class_undecided", folder=folder, classes=listed)


def _mask_owner(path: Path, siblings: dict[str, list[Path]]) -> Path | None:
    """Return the photo that *path* is the mask of, or None when it is a photo itself."""
    if path.suffix.lower() != ".png":
        return None
    others = [other for other in siblings.get(path.stem, []) if other != path and other.suffix.lower() != ".png"]
    if others:
        return others[0]
    for suffix in _MASK_SUFFIXES:
        if path.stem.endswith(suffix):
            base = path.stem[: -len(suffix)]
            owners = [other for other in siblings.get(base, []) if other != path]
            if owners:
                return owners[0]
    return None


def is_model_output(folder: Path) -> bool:
    """Return whether *folder* contains the output of ``kenshu inspect train`` rather than photos.

    It does when its ``model.json`` names the format ``"kenshu-inspection"``, or
    when it contains both ``report.html`` and ``model.pt`` (a run whose
    ``model.json`` was lost or edited).
    """
    config = folder / MODEL_CONFIG_FILE
    if config.is_file():
        try:
            settings = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            settings = None
        if isinstance(settings, dict) and settings.get("format") == MODEL_FORMAT_NAME:
            return True
    return (folder / "report.html").is_file() and (folder / "model.pt").is_file()


def _skip_reason(folder: Path, excluded: set[Path]) -> str | None:
    """Return why *folder* must not be read as photos (``"excluded"``, ``"model_output"``), or None."""
    if folder.resolve() in excluded:
        return "excluded"
    if is_model_output(folder):
        return "model_output"
    return None


def _scan_class(name: str, folder: Path, excluded: set[Path], skipped: list[ImageProblem]) -> _ClassFiles:
    """List the photos and masks below one class folder, in sorted path order.

    Hidden folders are not entered. Excluded folders and kenshu model outputs
    are not entered either, and are added to *skipped*.
    """
    found = _ClassFiles(name, folder)
    by_directory: dict[Path, list[Path]] = defaultdict(list)
    for directory, subfolders, file_names in os.walk(folder):
        current = Path(directory)
        kept_subfolders = []
        for subfolder in sorted(subfolders):
            if subfolder.startswith("."):
                continue
            reason = _skip_reason(current / subfolder, excluded)
            if reason is None:
                kept_subfolders.append(subfolder)
            else:
                skipped.append(ImageProblem(current / subfolder, reason))
        subfolders[:] = kept_subfolders
        for file_name in file_names:
            path = current / file_name
            if file_name.startswith("."):
                continue
            # A broken link is kept, so that it is reported as unreadable instead of vanishing.
            broken_link = path.is_symlink() and not path.exists()
            if (path.is_file() or broken_link) and path.suffix.lower() in IMAGE_SUFFIXES:
                by_directory[current].append(path)

    for directory in sorted(by_directory):
        files = sorted(by_directory[directory])
        siblings: dict[str, list[Path]] = defaultdict(list)
        for path in files:
            siblings[path.stem].append(path)
        for path in files:
            owner = _mask_owner(path, siblings)
            if owner is None:
                found.images.append(path)
            else:
                found.masks[owner] = path
    return found


def _read_gray(path: Path) -> tuple[np.ndarray, tuple[int, int], str]:
    """Decode a photo upright (EXIF orientation applied) as float32 gray in [0, 1].

    Returns the array, the (width, height) after rotation, and the file format.
    """
    with Image.open(path) as opened:
        opened.load()
        image_format = opened.format or path.suffix.lstrip(".").upper()
        upright = ImageOps.exif_transpose(opened)
    size = upright.size

    # 16-bit and float images are scaled by their range; everything else goes through Pillow's "L".
    if upright.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(upright, dtype=np.float32)
        top = 65535.0 if array.max(initial=0) > 255 else 255.0
        return np.clip(array / top, 0.0, 1.0), size, image_format
    if upright.mode == "F":
        array = np.asarray(upright, dtype=np.float32)
        low, high = float(array.min()), float(array.max())
        return (array - low) / (high - low or 1.0), size, image_format
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        # Transparent pixels become white, as a viewer shows them on a white page.
        rgba = upright.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        upright = Image.alpha_composite(white, rgba)
    gray = upright.convert("L")
    return np.asarray(gray, dtype=np.float32) / 255.0, size, image_format


def _header_info(path: Path, problems: list[ImageProblem]) -> tuple[tuple[int, int], str] | None:
    """Return the upright (width, height) and format from the header alone, or None if it is unreadable."""
    try:
        with Image.open(path) as opened:
            width, height = opened.size
            image_format = opened.format or path.suffix.lstrip(".").upper()
            orientation = opened.getexif().get(0x0112, 1)
    except PermissionError as error:
        _report(problems, ImageProblem(path, "unreadable", str(error)))
        return None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        _report(problems, ImageProblem(path, "corrupt", str(error)))
        return None
    # EXIF orientations 5 to 8 turn the photo by 90 degrees.
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return (width, height), image_format


def _resize(array: np.ndarray, image_size: int, *, keep_aspect: bool) -> np.ndarray:
    image = Image.fromarray(array.astype(np.float32), mode="F")
    if keep_aspect and image.width != image.height:
        # Pad the short side with the median of the border, so the part keeps its shape.
        border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
        side = max(image.width, image.height)
        canvas = Image.new("F", (side, side), float(np.median(border)))
        canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
        image = canvas
    resized = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _read_mask(path: Path, image_size: int, *, keep_aspect: bool) -> np.ndarray:
    """Read a mask (white = defect) and shrink it so that thin defects stay visible.

    Any pixel of the output that covers some defect pixel is True, so a crack
    one pixel wide does not disappear when a large photo is made small.
    """
    array, _, _ = _read_gray(path)
    defect = Image.fromarray((array >= 0.5).astype(np.float32), mode="F")
    if keep_aspect and defect.width != defect.height:
        side = max(defect.width, defect.height)
        canvas = Image.new("F", (side, side), 0.0)
        canvas.paste(defect, ((side - defect.width) // 2, (side - defect.height) // 2))
        defect = canvas
    resized = defect.resize((image_size, image_size), Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.float32) > 1e-6


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _class_folders(root: Path, excluded: set[Path], skipped: list[ImageProblem]) -> list[Path]:
    """Return the class folders of *root*, adding excluded folders and kenshu model outputs to *skipped*."""
    folders = []
    for path in sorted(root.iterdir(), key=lambda path: path.name):
        if not path.is_dir() or path.name.startswith((".", "_")):
            continue
        reason = _skip_reason(path, excluded)
        if reason is None:
            folders.append(path)
        else:
            skipped.append(ImageProblem(path, reason))
    return folders


def _report(problems: list[ImageProblem], problem: ImageProblem) -> None:
    # Logged together at the end of load_image_folder, unless the caller prints them itself.
    problems.append(problem)


def _drop_duplicates(
    files: _ClassFiles,
    checksums: dict[Path, str],
    copies: dict[str, list[tuple[Path, str]]],
    problems: list[ImageProblem],
) -> list[Path]:
    """Return the photos of one class to decode, reporting each duplicate left out.

    A photo filed in two classes contradicts itself, so every copy is left
    out until a person decides its class. Within one class, the first copy
    in sorted path order stays.
    """
    kept = []
    for image_path in files.images:
        if image_path not in checksums:
            continue  # unreadable, already reported
        group = copies[checksums[image_path]]
        others = [other for other, _ in group if other != image_path]
        if len({class_name for _, class_name in group}) > 1:
            _report(problems, ImageProblem(image_path, "label_conflict", "、".join(map(str, others)), tuple(others)))
        elif group[0][0] != image_path:
            _report(problems, ImageProblem(image_path, "duplicate", str(group[0][0]), (group[0][0],)))
        else:
            kept.append(image_path)
    return kept


def load_image_folder(
    path: str | Path,
    *,
    good_class: str | None = None,
    image_size: int = 64,
    max_per_class: int | None = None,
    random_state: int | np.random.RandomState | None = 0,
    card_dir: str | Path | None = None,
    write_card: bool = True,
    load_masks: bool = False,
    keep_aspect: bool = False,
    min_per_class: int = MIN_IMAGES_PER_CLASS,
    show_progress: bool = True,
    exclude: Iterable[str | Path] = (),
    log_problems: bool = True,
) -> Bunch:
    """Load photos sorted into one subfolder per class, as gray arrays of one size.

    Parameters
    ----------
    path : str or Path
        Folder with one subfolder per class. Subfolders whose names start with
        ``.`` or ``_`` are ignored. Photos (JPEG, PNG, BMP, TIFF; gray or
        colour; any size) may be nested below a class folder.
    good_class : str, optional
        Name of the class folder with the good parts. When omitted, it is
        recognised from the folder names (``OK``, ``good``, ``良品``,
        ``正常``, ``MT_Free``, ...).
    image_size : int, default=64
        Side in pixels of the square images returned.
    max_per_class : int, optional
        Keep at most this many photos per class, drawn with *random_state*.
    random_state : int, RandomState instance or None, default=0
        Seed for *max_per_class*.
    card_dir : str or Path, optional
        Folder for the dataset card. By default the card is written into
        *path*, and skipped with a log message when *path* is read-only.
    write_card : bool, default=True
        Write ``dataset_card.json`` and ``dataset_card.md``.
    load_masks : bool, default=False
        Also return ``masks`` (bool, like ``images``), all False where a photo
        has no mask file.
    keep_aspect : bool, default=False
        Pad photos to a square before resizing instead of stretching them.
    min_per_class : int, default=3
        Classes with fewer usable photos are reported as too small to split.
    show_progress : bool, default=True
        Show a progress bar while decoding.
    exclude : iterable of str or Path, default=()
        Folders inside *path* not to read, such as the output folder of a
        training run. Folders containing a ``kenshu inspect train`` output
        (see :func:`is_model_output`) are never read either. Both are listed
        in ``skipped_folders``.
    log_problems : bool, default=True
        Log every problem and skipped folder as a warning. Commands that
        print them themselves turn this off, so that each is shown once.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` float32 (n, image_size, image_size) in [0, 1];
        ``target`` int (n,), 0 = 良品 (good), 1 = 不良品 (defect);
        ``target_names`` ``["良品", "不良品"]``; ``class_names`` list of
        folder names; ``class_index`` int (n,) into ``class_names``;
        ``good_class``; ``paths`` list of Path; ``mask_paths`` list of Path
        or None; ``original_sizes`` list of (width, height); ``problems``
        list of :class:`ImageProblem`; ``skipped_folders`` list of
        :class:`ImageProblem` for the folders not read; ``card_path`` Path or None;
        ``masks`` when *load_masks*; ``folder_files`` list of dicts (path,
        class, size, format, sha256, mask) for every usable file of the
        folder, including those left out by *max_per_class*; ``DESCR``.

    Raises
    ------
    KenshuError
        If *path* is not a folder, has no class folders, or the good class
        cannot be decided.
    ValueError
        If *image_size*, *max_per_class* or *min_per_class* is out of range.

    See Also
    --------
    train_validation_test_split : Stratified split of the returned target.
    make_press_parts, save_image_folder : Generate such a folder.
    """
    if not isinstance(image_size, (int, np.integer)) or image_size < MIN_LOAD_IMAGE_SIZE:
        raise ValueError(f"image_size must be an integer of at least {MIN_LOAD_IMAGE_SIZE}, got {image_size!r}")
    if max_per_class is not None and (not isinstance(max_per_class, (int, np.integer)) or max_per_class < 1):
        raise ValueError(f"max_per_class must be a positive integer or None, got {max_per_class!r}")
    if min_per_class < 1:
        raise ValueError(f"min_per_class must be at least 1, got {min_per_class!r}")

    root = Path(path).expanduser()
    if not root.is_dir():
        raise KenshuError("datasets.folder_not_found", path=root)
    logger.info("loading images from %s", root)

    # Step 1: class folders and which one is good.
    excluded = {Path(folder).expanduser().resolve() for folder in exclude}
    skipped: list[ImageProblem] = []
    folders = _class_folders(root, excluded, skipped)
    if not folders:
        raise KenshuError("datasets.no_class_folders", path=root)
    class_names = [folder.name for folder in folders]
    good = decide_good_class(class_names, good_class, folder=root)
    problems: list[ImageProblem] = []

    # Photos beside the class folders have no class: report them instead of guessing one.
    for stray in sorted(root.iterdir()):
        if stray.is_file() and stray.suffix.lower() in IMAGE_SUFFIXES and not stray.name.startswith("."):
            _report(problems, ImageProblem(stray, "outside_class_folder"))

    # Step 2: list files and drop exact duplicates by content hash.
    scanned = [_scan_class(folder.name, folder, excluded, skipped) for folder in folders]
    checksums: dict[Path, str] = {}
    copies: dict[str, list[tuple[Path, str]]] = defaultdict(list)
    for files in scanned:
        for image_path in files.images:
            try:
                digest = _sha256(image_path)
            except OSError as error:
                _report(problems, ImageProblem(image_path, "unreadable", str(error)))
                continue
            checksums[image_path] = digest
            copies[digest].append((image_path, files.name))
    candidates = {files.name: _drop_duplicates(files, checksums, copies, problems) for files in scanned}

    # Step 3: decode, class by class; with max_per_class, in a reproducible random order until enough.
    rng = check_random_state(random_state)
    total = sum(len(paths) if max_per_class is None else min(len(paths), max_per_class) for paths in candidates.values())
    images, masks, paths, mask_paths, sizes, formats, class_index = [], [], [], [], [], [], []
    folder_files: list[dict] = []
    bar = progress_bar(description=message("datasets.progress_loading"), total=total, unit="img") if show_progress else None
    try:
        for index, files in enumerate(scanned):
            loaded = _decode_class(candidates[files.name], max_per_class, rng, problems, bar)
            decoded = {image_path: (size, image_format) for image_path, _, size, image_format in loaded}
            for image_path, array, size, image_format in loaded:
                images.append(_resize(array, image_size, keep_aspect=keep_aspect))
                mask_path = files.masks.get(image_path)
                mask_paths.append(mask_path)
                if load_masks:
                    masks.append(_load_mask_or_empty(mask_path, image_size, keep_aspect, problems))
                paths.append(image_path)
                sizes.append(size)
                formats.append(image_format)
                class_index.append(index)

            # Files left out by max_per_class still belong in the card: read their headers only.
            usable = 0
            failed = {problem.path for problem in problems}
            for image_path in candidates[files.name]:
                info = decoded.get(image_path)
                if info is None and max_per_class is not None and image_path not in failed:
                    info = _header_info(image_path, problems)
                if info is None:
                    continue
                usable += 1
                folder_files.append(
                    {
                        "path": image_path,
                        "class": files.name,
                        "size": info[0],
                        "format": info[1],
                        "sha256": checksums[image_path],
                        "mask": files.masks.get(image_path),
                    }
                )

            # Step 4: classes that are empty or too small for a stratified split.
            if usable == 0:
                _report(problems, ImageProblem(files.folder, "empty_class", files.name))
            elif usable < min_per_class:
                _report(problems, ImageProblem(files.folder, "too_few_images", f"{usable}/{min_per_class}"))
    finally:
        if bar is not None:
            bar.close()

    class_index_array = np.asarray(class_index, dtype=np.int64)
    good_index = class_names.index(good)
    target = (class_index_array != good_index).astype(np.int64)
    image_array = np.stack(images) if images else np.zeros((0, image_size, image_size), dtype=np.float32)

    counts = Counter(class_index)
    result = Bunch(
        images=image_array.astype(np.float32, copy=False),
        target=target,
        target_names=list(TARGET_NAMES),
        class_names=class_names,
        class_index=class_index_array,
        good_class=good,
        paths=paths,
        mask_paths=mask_paths,
        original_sizes=sizes,
        formats=formats,
        checksums=[checksums[p] for p in paths],
        folder_files=folder_files,
        problems=problems,
        skipped_folders=skipped,
        source=root.resolve(),
        card_path=None,
        DESCR=message(
            "datasets.image_folder_descr",
            path=root,
            n_images=len(paths),
            counts="、".join(f"{name} {counts.get(i, 0)}" for i, name in enumerate(class_names)),
            good_class=good,
            image_size=image_size,
        ),
    )
    if load_masks:
        result.masks = np.stack(masks) if masks else np.zeros((0, image_size, image_size), dtype=bool)
    if log_problems:
        for problem in skipped + problems:
            logger.warning("%s", problem.describe())

    # Step 5: the dataset card, beside the data or in card_dir.
    if write_card:
        from kenshu.datasets.cards import write_dataset_card

        result.card_path = write_dataset_card(result, card_dir=card_dir)

    logger.info("loaded %d images in %d classes from %s, %d problems", len(paths), len(class_names), root, len(problems))
    return result


def _load_mask_or_empty(mask_path: Path | None, image_size: int, keep_aspect: bool, problems: list[ImageProblem]) -> np.ndarray:
    if mask_path is None:
        return np.zeros((image_size, image_size), dtype=bool)
    try:
        return _read_mask(mask_path, image_size, keep_aspect=keep_aspect)
    except (OSError, SyntaxError, ValueError) as error:
        _report(problems, ImageProblem(mask_path, "corrupt", str(error)))
        return np.zeros((image_size, image_size), dtype=bool)


def _decode_class(
    candidates: list[Path],
    max_per_class: int | None,
    rng: np.random.RandomState,
    problems: list[ImageProblem],
    bar,
) -> list[tuple[Path, np.ndarray, tuple[int, int], str]]:
    """Decode the photos of one class, at most *max_per_class*, and return them in path order."""
    order = candidates
    if max_per_class is not None and len(order) > max_per_class:
        order = [order[i] for i in rng.permutation(len(order))]

    # NOTE: with max_per_class, files after the last one needed are only checked by their
    # header, so a file that is truncated further on is not reported. Duplicates are found in every file.
    loaded = []
    for image_path in order:
        if max_per_class is not None and len(loaded) >= max_per_class:
            break
        try:
            array, size, image_format = _read_gray(image_path)
        except PermissionError as error:
            _report(problems, ImageProblem(image_path, "unreadable", str(error)))
            continue
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            _report(problems, ImageProblem(image_path, "corrupt", str(error)))
            continue
        loaded.append((image_path, array, size, image_format))
        if bar is not None:
            bar.update(1)

    loaded.sort(key=lambda item: item[0])
    return loaded


def read_image(path: str | Path) -> np.ndarray:
    """Decode one photo as :func:`load_image_folder` does: upright, gray, float32 in [0, 1].

    EXIF orientation is applied, 16-bit images are scaled by their range and
    transparent pixels become white.

    Parameters
    ----------
    path : str or Path
        A JPEG, PNG, BMP or TIFF file.

    Returns
    -------
    ndarray of shape (height, width)

    Raises
    ------
    OSError, SyntaxError, ValueError
        If Pillow cannot open or decode the file.
    """
    array, _, _ = _read_gray(Path(path))
    return array


def resize_image(array: np.ndarray, image_size: int, *, keep_aspect: bool = False) -> np.ndarray:
    """Resize a gray float image to image_size x image_size pixels as :func:`load_image_folder` does.

    Bilinear resampling; with *keep_aspect*, the short side is first padded
    with the median of the border. The result is clipped to [0, 1].
    """
    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size!r}")
    return _resize(np.asarray(array, dtype=np.float32), int(image_size), keep_aspect=keep_aspect)
