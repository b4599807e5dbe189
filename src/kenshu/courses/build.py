"""The curriculum builder: a course spec in, an nbgrader course directory out."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from kenshu.courses.data import PreparedData, prepare_data
from kenshu.courses.spec import CourseSpec, load_course_spec
from kenshu.grading.config import (
    CONFIG_FILENAME,
    MANIFEST_FILENAME,
    nbgrader_root,
    render_course_manifest,
    render_nbgrader_config,
)
from kenshu.notebooks.templates import RenderedModule, discover_modules, render_module, select_module
from kenshu.paths import build_dir

logger = logging.getLogger(__name__)


@dataclass
class BuildResult:
    """Outcome of one build: the assignments, and which files changed."""

    spec: CourseSpec
    root: Path
    data: PreparedData
    assignments: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)


def write_if_changed(path: Path, text: str, result: BuildResult) -> None:
    """Write *text* to *path* unless the file already contains exactly that text."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        result.unchanged.append(path)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
    result.written.append(path)


def template_context(spec: CourseSpec, data: PreparedData) -> dict[str, object]:
    """Return the Jinja2 fields that module templates may use in Markdown cells."""
    return {
        "company": spec.company,
        "problem": spec.problem.statement,
        "course_id": spec.course_id,
        "data_kind": data.kind,
        "data_name": data.name,
        "good_class": data.good_class or "",
        "defect_classes": "、".join(data.defect_classes),
        "label_column": data.label_column or "",
        "good_label": data.good_label or "",
    }


def template_parameters(spec: CourseSpec, data: PreparedData) -> dict[str, object]:
    """Return the values the builder puts into a module's parameters cell."""
    parameters: dict[str, object] = {"COMPANY": spec.company, "DATA_KIND": data.kind, "RANDOM_STATE": 0}
    if data.kind == "images":
        parameters.update(DATA_DIR=str(data.path), GOOD_CLASS=data.good_class)
    else:
        parameters.update(DATA_CSV=str(data.path), LABEL_COLUMN=data.label_column, GOOD_LABEL=data.good_label)
    return parameters


def render_course(spec: CourseSpec, data: PreparedData, *, fast: bool = False) -> list[RenderedModule]:
    """Render the modules that *spec* lists, in its order."""
    modules = discover_modules()
    context = template_context(spec, data)
    parameters = template_parameters(spec, data)
    return [
        render_module(select_module(module_id, data.kind, modules), context=context, parameters=parameters, fast=fast)
        for module_id in spec.modules
    ]


def build_course(course: str | Path, *, fast: bool = False) -> BuildResult:
    """Build the nbgrader course directory of a course. Running it again is safe.

    Parameters
    ----------
    course : str or Path
        The course folder holding course.yml.
    fast : bool
        Use each module's fast parameters (small data, few iterations), as
        the test suite does.

    Returns
    -------
    BuildResult
        The assignments, and the files written or left unchanged.
    """
    # 1. Read the spec and make the data ready.
    spec = load_course_spec(course)
    logger.info("building course %s from %s", spec.course_id, spec.course_dir)
    data = prepare_data(spec)
    root = nbgrader_root(spec)
    result = BuildResult(spec=spec, root=root, data=data)

    # 2. Render each module into source/<assignment>/<assignment>.ipynb.
    for rendered in render_course(spec, data, fast=fast):
        assignment = rendered.template.slug
        result.assignments.append(assignment)
        notebook_path = root / "source" / assignment / f"{assignment}.ipynb"
        write_if_changed(notebook_path, nbformat.writes(rendered.notebook) + "\n", result)
        mistakes_path = build_dir(spec.course_dir) / "mistakes" / f"{assignment}.json"
        write_if_changed(mistakes_path, json.dumps(rendered.mistakes, ensure_ascii=False, indent=1) + "\n", result)

    # 3. Write the nbgrader configuration for exactly these assignments and trainees.
    write_if_changed(root / CONFIG_FILENAME, render_nbgrader_config(spec, result.assignments), result)
    write_if_changed(root / MANIFEST_FILENAME, render_course_manifest(spec, result.assignments), result)
    logger.info("built %s: %d files written, %d unchanged", spec.course_id, len(result.written), len(result.unchanged))
    return result
