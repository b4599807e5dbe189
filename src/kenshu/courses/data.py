"""The data of a course's problem pair, made ready for the notebooks.

A course names an image folder, a CSV file or a generator of kenshu.datasets.
Folders and files are used where they are. A generator is run once into the
course's build folder, and running it again with the same parameters leaves
the files untouched.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from kenshu.courses.spec import CourseSpec
from kenshu.paths import build_dir

logger = logging.getLogger(__name__)

# Generators a course.yml may name, by the kind of data they make.
GENERATORS: dict[str, dict[str, str]] = {
    "images": {"make_press_parts": "kenshu.datasets:make_press_parts"},
    "csv": {"make_process_log": "kenshu.datasets:make_process_log"},
}
# Values used when course.yml leaves good_class (images) or good_label (CSV) out.
DEFAULT_GOOD_CLASS = "良品"
DEFAULT_GOOD_LABEL = "良品"


@dataclass(frozen=True)
class PreparedData:
    """Location of the course data for the notebooks, and the settings to read it."""

    kind: str
    path: Path
    good_class: str | None
    defect_classes: tuple[str, ...]
    label_column: str | None
    good_label: str | None
    name: str


def _generator(kind: str, name: str):
    import importlib

    module_name, function_name = GENERATORS[kind][name].split(":")
    return getattr(importlib.import_module(module_name), function_name)


def _stamp(parameters: dict) -> str:
    return hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()


def _generate(spec: CourseSpec) -> Path:
    data = spec.problem.data
    assert data.generator is not None
    target = build_dir(spec.course_dir) / "data" / data.generator
    stamp_file = target / ".parameters.sha256"
    stamp = _stamp({"generator": data.generator, **data.parameters})

    # Same generator and parameters: the files on disk are already what it would write.
    if stamp_file.is_file() and stamp_file.read_text() == stamp:
        logger.info("data from %s is up to date in %s", data.generator, target)
        return target if data.kind == "images" else target / "data.csv"

    logger.info("generating %s with %s into %s", data.generator, data.parameters, target)
    generator = _generator(data.kind, data.generator)
    target.mkdir(parents=True, exist_ok=True)
    if data.kind == "images":
        from kenshu.datasets import save_image_folder

        save_image_folder(generator(**data.parameters), target)
        result = target
    else:
        # Keep the units in the CSV headers ("プレス荷重 [kN]"), as a company's own CSV would have them.
        options = {"units_in_columns": True} if data.generator == "make_process_log" else {}
        frame = generator(**{**options, **data.parameters})
        result = target / "data.csv"
        frame.to_csv(result, index=False, encoding="utf-8-sig")
    stamp_file.write_text(stamp)
    return result


def _class_names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.is_dir() and not path.name.startswith((".", "_")))


def good_class_of(folder: Path, declared: str | None) -> str:
    """Return the class folder the notebooks treat as good: *declared*, else 良品 if present, else the first."""
    classes = _class_names(folder)
    return declared or (DEFAULT_GOOD_CLASS if DEFAULT_GOOD_CLASS in classes else classes[0])


def prepare_data(spec: CourseSpec) -> PreparedData:
    """Return where the course data lies, generating it first when the spec names a generator."""
    data = spec.problem.data

    if data.generator is not None:
        path = _generate(spec)
    elif data.kind == "images":
        assert data.folder is not None
        path = data.folder
    else:
        assert data.csv is not None
        path = data.csv

    if data.kind == "images":
        classes = _class_names(path)
        good_class = good_class_of(path, data.good_class)
        defect_classes = tuple(name for name in classes if name != good_class)
        return PreparedData("images", path, good_class, defect_classes, None, None, path.name)

    return PreparedData(
        "csv",
        path,
        None,
        (),
        data.label_column or "品質",
        data.good_label or DEFAULT_GOOD_LABEL,
        path.name,
    )
