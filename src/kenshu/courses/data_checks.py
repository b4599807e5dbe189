"""Checks of a course's own data that need its contents: the CSV labels and the photo folder.

``check_csv_labels`` reads the CSV as the notebooks read it and reports, at
the line of course.yml, a label column or a good label that the file does not
contain. These are errors, because every notebook would fail on them.
``image_folder_warnings`` summarises what ``kenshu datasets card`` would list
for a photo folder. These are warnings, because the loader leaves such files
out and the notebooks still run.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from kenshu.courses.data import DEFAULT_GOOD_LABEL, good_class_of
from kenshu.courses.spec import ProblemData
from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.yaml_spec import Problems

logger = logging.getLogger(__name__)

# Names and labels listed in a message; longer lists end with the count of the rest.
MAX_LISTED = 20
# Files named per kind of photo problem in a warning of `kenshu course check`.
MAX_EXAMPLES = 3
# Photos decoded per class by `kenshu course check`. The rest of a class is only
# hashed (for duplicates) and opened by its header, to keep the check fast on large folders.
DECODED_PER_CLASS = 100


def _listed(names: list[str]) -> str:
    """Return *names* joined for a message, the first MAX_LISTED of them followed by how many more."""
    text = message("course.list_separator").join(names[:MAX_LISTED])
    if len(names) > MAX_LISTED:
        text += message("course.list_more", count=len(names) - MAX_LISTED)
    return text or "-"


def _loose(text: str) -> str:
    """Return *text* compared loosely: NFKC, case folded, without spaces."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _close_match(written: str, candidates: list[str]) -> str | None:
    """Return the candidate *written* most likely means: the same text loosely, else a near spelling."""
    for candidate in candidates:
        if _loose(candidate) == _loose(written):
            return candidate
    matches = difflib.get_close_matches(written, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _hint(match: str | None) -> str:
    return message("course.close_match", name=match) if match is not None else ""


def check_csv_labels(data: ProblemData, problems: Problems, location: list[str | int]) -> None:
    """Add a problem if the CSV lacks the label column, or the column never contains the good label.

    The CSV is read with :func:`kenshu.datasets.load_sensor_csv`, as the
    notebooks read it: column names lose their units (``プレス荷重 [kN]`` is
    ``プレス荷重``) and labels are compared as text.
    """
    from kenshu.datasets import load_sensor_csv

    assert data.csv is not None and data.label_column is not None
    try:
        frame = load_sensor_csv(data.csv)
    except KenshuError as error:
        problems.add_text(location + ["csv"], str(error))
        return

    # 1. The label column, by the name the notebooks see.
    columns = [str(column) for column in frame.columns]
    if data.label_column not in columns:
        original = frame.attrs.get("original_columns", {})
        written_with_unit = [name for name, header in original.items() if header.strip() == data.label_column]
        match = written_with_unit[0] if written_with_unit else _close_match(data.label_column, columns)
        problems.add(
            location + ["label_column"],
            "spec.csv_label_column_not_found",
            column=data.label_column,
            path=data.csv,
            columns=_listed(columns),
            hint=_hint(match),
        )
        return

    # 2. The good label, compared as text as the notebooks compare it.
    good_label = data.good_label or DEFAULT_GOOD_LABEL
    counts = frame[data.label_column].dropna().astype(str).value_counts()
    if good_label in counts.index:
        return
    labels = [str(label) for label in counts.index]
    problems.add(
        location + (["good_label"] if data.good_label is not None else ["label_column"]),
        "spec.csv_good_label_not_found" if data.good_label is not None else "spec.csv_default_good_label_not_found",
        label=good_label,
        column=data.label_column,
        path=data.csv,
        labels=_listed([message("course.label_count", label=label, count=int(counts[label])) for label in labels]),
        hint=_hint(_close_match(good_label, labels)),
    )


@contextlib.contextmanager
def _quiet_image_loader() -> Iterator[None]:
    """Hold back the loader's warning per file, which the summary of the check replaces."""
    loader_logger = logging.getLogger("kenshu.datasets.image_folder")
    previous = loader_logger.level
    loader_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        loader_logger.setLevel(previous)


def _relative(path: Path, folder: Path) -> str:
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return str(path)


def image_folder_warnings(data: ProblemData) -> list[str]:
    """Return warnings about the photo folder of a course, one per kind of problem.

    Each warning gives the count of one kind of problem (unreadable files,
    duplicates, a photo in two classes, …) and the first few files, and one
    more warns when the defect photos are too few for supervised training.

    NOTE: only the first DECODED_PER_CLASS photos of each class (in a fixed
    random order) are decoded. Every other photo is hashed and opened by its
    header only, so damage after a photo's header is found for those photos by
    ``kenshu datasets card`` alone, which decodes every photo.
    """
    from kenshu.datasets import load_image_folder
    from kenshu.datasets.image_folder import MIN_LOAD_IMAGE_SIZE
    from kenshu.inspection.modes import MIN_DEFECT_IMAGES

    assert data.folder is not None
    folder = data.folder
    good_class = good_class_of(folder, data.good_class)
    logger.info("checking the photos in %s", folder)
    try:
        with _quiet_image_loader():
            loaded = load_image_folder(
                folder,
                good_class=good_class,
                image_size=MIN_LOAD_IMAGE_SIZE,
                max_per_class=DECODED_PER_CLASS,
                random_state=0,
                write_card=False,
                show_progress=False,
            )
    except KenshuError as error:
        return [str(error)]

    # 1. One warning per kind of problem, in the order the loader found them.
    by_reason: dict[str, list[str]] = {}
    for problem in loaded.problems:
        by_reason.setdefault(problem.reason, []).append(_relative(problem.path, folder))
    warnings = [
        message(
            "course.folder_warning",
            kind=message(f"datasets.reason_{reason}"),
            count=len(paths),
            examples=message("course.list_separator").join(paths[:MAX_EXAMPLES]),
            more=message("course.list_more", count=len(paths) - MAX_EXAMPLES) if len(paths) > MAX_EXAMPLES else "",
        )
        for reason, paths in by_reason.items()
    ]

    # 2. Usable defect photos, counted over the whole folder, not only the decoded ones.
    counts = Counter(entry["class"] for entry in loaded.folder_files)
    defects = sum(count for name, count in counts.items() if name != good_class)
    if defects < MIN_DEFECT_IMAGES:
        warnings.append(message("course.few_defect_photos", count=defects, minimum=MIN_DEFECT_IMAGES))
    return warnings
