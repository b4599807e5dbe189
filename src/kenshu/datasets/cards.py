"""Dataset cards: what a folder of photos contains, written beside it.

``dataset_card.json`` records the source folder, the date, the good class,
the count per class, the image sizes, a SHA-256 checksum per file and the
problems found. ``dataset_card.md`` is the same summary in Japanese for
people. A card whose content has not changed is left as it is, date
included, so loading the same folder again changes nothing on disk.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import stat
from collections import Counter
from pathlib import Path

from sklearn.utils import Bunch

from kenshu import __version__
from kenshu.i18n import message

logger = logging.getLogger(__name__)

CARD_JSON = "dataset_card.json"
CARD_MARKDOWN = "dataset_card.md"


def _is_read_only(folder: Path) -> bool:
    """Return whether *folder* must not be written to.

    A folder without any write permission bit counts as read-only even for a
    user (such as root) whom the operating system would let write anyway.
    """
    try:
        mode = folder.stat().st_mode
    except OSError:
        return True
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return True
    return not os.access(folder, os.W_OK)


def _size_summary(sizes: list[tuple[int, int]]) -> dict:
    if not sizes:
        return {"min_width": None, "max_width": None, "min_height": None, "max_height": None, "distinct": 0}
    widths = [width for width, _ in sizes]
    heights = [height for _, height in sizes]
    return {
        "min_width": min(widths),
        "max_width": max(widths),
        "min_height": min(heights),
        "max_height": max(heights),
        "distinct": len(set(sizes)),
    }


def build_card(bunch: Bunch) -> dict:
    """Return the card of a :func:`load_image_folder` result as a JSON-ready dict.

    The card describes every usable file of the folder, also those that
    ``max_per_class`` left out of the arrays, so it does not change with the
    subsample. The ``created`` field is today's date in UTC.
    """
    source = Path(bunch.source)
    entries = bunch.folder_files

    def relative(path: Path) -> str:
        try:
            return Path(path).resolve().relative_to(source).as_posix()
        except ValueError:
            return str(path)

    counts = Counter(entry["class"] for entry in entries)
    masks = Counter(entry["class"] for entry in entries if entry["mask"] is not None)
    classes = []
    for name in bunch.class_names:
        classes.append(
            {
                "name": name,
                "label": bunch.target_names[0] if name == bunch.good_class else bunch.target_names[1],
                "count": counts.get(name, 0),
                "masks": masks.get(name, 0),
            }
        )

    files = []
    for entry in entries:
        files.append(
            {
                "path": relative(entry["path"]),
                "class": entry["class"],
                "width": entry["size"][0],
                "height": entry["size"][1],
                "format": entry["format"],
                "sha256": entry["sha256"],
                "mask": relative(entry["mask"]) if entry["mask"] is not None else None,
            }
        )

    return {
        "name": source.name,
        "source": str(source),
        "created": datetime.datetime.now(datetime.UTC).date().isoformat(),
        "generator": f"kenshu {__version__} kenshu.datasets.load_image_folder",
        "good_class": bunch.good_class,
        "n_images": len(entries),
        "classes": classes,
        "image_sizes": _size_summary([entry["size"] for entry in entries]),
        "formats": dict(sorted(Counter(entry["format"] for entry in entries).items())),
        "problems": [
            {
                "path": relative(problem.path),
                "reason": problem.reason,
                # Copies of a duplicate are named relative to the folder, like every path of the card.
                "detail": "、".join(relative(copy) for copy in problem.copies) if problem.copies else problem.detail,
            }
            for problem in bunch.problems
        ],
        "files": files,
    }


def render_markdown(card: dict) -> str:
    """Return the card as a short Japanese markdown page."""
    lines = [
        message("datasets.card_md_title", lang="ja", name=card["name"]),
        "",
        message("datasets.card_md_source", lang="ja", source=card["source"]),
        message("datasets.card_md_created", lang="ja", created=card["created"]),
        message("datasets.card_md_good_class", lang="ja", good_class=card["good_class"]),
        message("datasets.card_md_total", lang="ja", n_images=card["n_images"]),
        "",
        message("datasets.card_md_table_header", lang="ja"),
        "| --- | --- | ---: | ---: |",
    ]
    for entry in card["classes"]:
        lines.append(f"| {entry['name']} | {entry['label']} | {entry['count']} | {entry['masks']} |")

    sizes = card["image_sizes"]
    lines.append("")
    if sizes["distinct"]:
        lines.append(message("datasets.card_md_sizes", lang="ja", **sizes))
    formats = "、".join(f"{name} {count}" for name, count in card["formats"].items()) or "-"
    lines.append(message("datasets.card_md_formats", lang="ja", formats=formats))
    lines.append(message("datasets.card_md_checksums", lang="ja", card=CARD_JSON))

    lines.append("")
    lines.append(message("datasets.card_md_problems", lang="ja", count=len(card["problems"])))
    for problem in card["problems"]:
        reason = message(f"datasets.reason_{problem['reason']}", lang="ja")
        detail = f" ({problem['detail']})" if problem["detail"] else ""
        lines.append(f"- `{problem['path']}`: {reason}{detail}")
    return "\n".join(lines) + "\n"


def _same_card(path: Path, card: dict) -> bool:
    """Return whether the card at *path* has the same content as *card*, apart from its date."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return {**old, "created": None} == {**card, "created": None}


def write_dataset_card(bunch: Bunch, *, card_dir: str | Path | None = None) -> Path | None:
    """Write ``dataset_card.json`` and ``dataset_card.md`` for a loaded image folder.

    Parameters
    ----------
    bunch : sklearn.utils.Bunch
        Result of :func:`load_image_folder`.
    card_dir : str or Path, optional
        Folder for the card, created if missing. By default the data folder
        itself.

    Returns
    -------
    path : Path or None
        The JSON card, or None when the data folder is read-only and no
        *card_dir* was given (that is logged, not raised).
    """
    folder = Path(card_dir) if card_dir is not None else Path(bunch.source)
    if card_dir is not None:
        folder.mkdir(parents=True, exist_ok=True)
    elif _is_read_only(folder):
        logger.info("%s", message("datasets.card_skipped_read_only", path=folder))
        return None

    card = build_card(bunch)
    json_path = folder / CARD_JSON
    if _same_card(json_path, card) and (folder / CARD_MARKDOWN).is_file():
        logger.info("dataset card %s is up to date", json_path)
        return json_path

    try:
        for path, text in ((json_path, json.dumps(card, ensure_ascii=False, indent=2) + "\n"), (folder / CARD_MARKDOWN, render_markdown(card))):
            temporary = path.with_name(path.name + ".tmp")
            temporary.write_text(text, encoding="utf-8")
            temporary.replace(path)
    except OSError as error:
        # A folder can refuse writes without showing it in its mode (a read-only mount).
        logger.warning("%s", message("datasets.card_write_failed", path=folder, error=error))
        return None
    logger.info("wrote dataset card %s", json_path)
    return json_path
