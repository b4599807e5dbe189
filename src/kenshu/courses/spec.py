"""The course spec, ``courses/<company>/course.yml``, and its validation.

A spec names the company, its problem pair (the problem statement and the data
that shows it), the modules of the curriculum, the sessions, the trainees and
the instructors. ``load_course_spec`` reads it and reports every problem at
once, each with the key and the line of course.yml it concerns.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from kenshu.errors import CollectedErrors
from kenshu.i18n import message
from kenshu.yaml_spec import DocumentMessages, Problems, line_of, plain, read_yaml_document, report_validation_error

logger = logging.getLogger(__name__)

SPEC_FILENAME = "course.yml"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
SPEC_MESSAGES = DocumentMessages(
    not_found="spec.not_found",
    not_utf8="spec.not_utf8",
    yaml_syntax="spec.yaml_syntax",
    not_a_mapping="spec.not_a_mapping",
    duplicate_key="spec.duplicate_key",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProblemData(_Model):
    """The data of the problem pair: an image folder, a CSV file or a named generator."""

    kind: Literal["images", "csv"]
    folder: Path | None = None
    csv: Path | None = None
    generator: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    good_class: str | None = None
    label_column: str | None = None
    good_label: str | None = None
    source: str | None = None


class Problem(_Model):
    """The problem pair: what the company wants solved, and the data that shows it."""

    statement: str = Field(min_length=1)
    data: ProblemData


class Session(_Model):
    """One training day."""

    date: dt.date
    title: str = ""

    @field_validator("date", mode="before")
    @classmethod
    def _read_office_date(cls, value: Any) -> Any:
        """Read ``2026/10/21`` and ``令和8年10月21日`` as ``kenshu kpi event add --date`` does.

        Text in no known form is passed on unchanged, so that pydantic reports it as not a date.
        """
        if not isinstance(value, str):
            return value
        # Imported here because kenshu.kpi_reports.normalise imports kenshu.yaml_spec.
        from kenshu.kpi_reports.normalise import DateDoesNotExist, parse_date

        try:
            return parse_date(value)
        except DateDoesNotExist as error:
            raise PydanticCustomError("date_does_not_exist", "no such day", {"reason": error.reason()}) from None
        except ValueError:
            return value


class Trainee(_Model):
    """A trainee (受講者), whose ``id`` is the nbgrader student id and the hub user name."""

    id: str
    name: str = Field(min_length=1)
    company: str = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id_is_a_user_name(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(message("spec.bad_trainee_id", value=value))
        return value


class Instructor(_Model):
    """An instructor (講師)."""

    name: str = Field(min_length=1)
    email: str | None = None


class LatePenalty(_Model):
    """How a late submission is penalised: not at all, to zero, or by a percentage per started day."""

    rule: Literal["none", "zero", "percent_per_day"] = "none"
    percent: float = Field(default=0, ge=0, le=100, description="percent of the score taken per started day late")

    @model_validator(mode="after")
    def _percent_given(self) -> LatePenalty:
        """Reject ``percent_per_day`` without a percentage, which would penalise nothing."""
        if self.rule == "percent_per_day" and self.percent <= 0:
            raise ValueError(message("spec.late_percent_missing"))
        return self


def _end_of_day(deadline: object) -> object:
    if isinstance(deadline, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", deadline.strip()):
        try:
            deadline = dt.date.fromisoformat(deadline.strip())
        except ValueError:
            return deadline
    if isinstance(deadline, dt.date) and not isinstance(deadline, dt.datetime):
        return dt.datetime.combine(deadline, dt.time(23, 59, 59))
    return deadline


class Grading(_Model):
    """Settings that go into the generated nbgrader configuration and the autograder's limits.

    ``due`` maps a module id to its deadline, read as Japan time (JST, UTC+9)
    when it carries no offset.
    """

    cell_timeout: int = Field(default=120, gt=0, description="seconds one cell may run when autograding")
    notebook_timeout: int = Field(default=900, gt=0, description="seconds one whole notebook may run")
    memory_mb: int = Field(default=2048, gt=0, description="data memory limit of a grading kernel, in MiB")
    output_kb: int = Field(default=1024, gt=0, description="output one notebook may keep when graded, in KiB")
    exchange: Path | None = None
    exchange_group: str | None = None
    due: dict[str, dt.datetime] = Field(default_factory=dict)
    late_penalty: LatePenalty = Field(default_factory=LatePenalty)

    @field_validator("due", mode="before")
    @classmethod
    def _date_means_end_of_day(cls, value: object) -> object:
        """Read a deadline given as a date alone (``2026-06-11``) as the end of that day, 23:59:59."""
        if not isinstance(value, dict):
            return value
        return {module_id: _end_of_day(deadline) for module_id, deadline in value.items()}


class CourseSpec(_Model):
    """A validated course.yml, with absolute paths in ``problem.data``."""

    company: str = Field(min_length=1)
    course_id: str
    language: Literal["ja", "en"] = "ja"
    problem: Problem
    modules: list[str] = Field(min_length=1)
    sessions: list[Session] = Field(min_length=1)
    trainees: list[Trainee] = Field(min_length=1)
    instructors: list[Instructor] = Field(default_factory=list)
    grading: Grading = Field(default_factory=Grading)
    course_dir: Path = Field(default=Path("."), exclude=True)

    @field_validator("course_id")
    @classmethod
    def _course_id_is_a_name(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(message("spec.bad_course_id", value=value))
        return value

    def trainee(self, trainee_id: str) -> Trainee:
        """Return the trainee with *trainee_id*, or raise KeyError if there is none."""
        for trainee in self.trainees:
            if trainee.id == trainee_id:
                return trainee
        raise KeyError(trainee_id)


def _check_data(spec: CourseSpec, problems: Problems) -> None:
    from kenshu.courses.data import GENERATORS

    data = spec.problem.data
    location = ["problem", "data"]
    sources = [name for name in ("folder", "csv", "generator") if getattr(data, name) is not None]
    if len(sources) != 1:
        problems.add(location, "spec.data_one_source", given=", ".join(sources) or "-")
        return

    if data.generator is not None:
        if data.generator not in GENERATORS.get(data.kind, {}):
            problems.add(
                location + ["generator"],
                "spec.unknown_generator",
                name=data.generator,
                known=", ".join(sorted(GENERATORS.get(data.kind, {}))),
            )
    elif data.kind == "images":
        if data.folder is None:
            problems.add(location, "spec.images_need_folder")
            return
        _check_image_folder(data, problems, location)
    else:
        if data.csv is None:
            problems.add(location, "spec.csv_needs_file")
        elif not data.csv.is_file():
            problems.add(location + ["csv"], "spec.csv_not_found", path=data.csv)

    if data.kind == "csv" and data.csv is not None and not data.label_column:
        problems.add(location, "spec.csv_needs_label")
    elif data.kind == "csv" and data.csv is not None and data.csv.is_file():
        from kenshu.courses.data_checks import check_csv_labels

        check_csv_labels(data, problems, location)


def _check_image_folder(data: ProblemData, problems: Problems, location: list[str | int]) -> None:
    folder = data.folder
    assert folder is not None
    if not folder.is_dir():
        problems.add(location + ["folder"], "spec.folder_not_found", path=folder)
        return

    class_folders = sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith((".", "_")))
    if len(class_folders) < 2:
        problems.add(location + ["folder"], "spec.too_few_classes", path=folder, count=len(class_folders))
    for class_folder in class_folders:
        if not any(path.suffix.lower() in IMAGE_SUFFIXES for path in class_folder.rglob("*") if path.is_file()):
            problems.add(location + ["folder"], "spec.empty_class_folder", path=class_folder)

    names = [path.name for path in class_folders]
    if data.good_class is not None and data.good_class not in names:
        problems.add(location + ["good_class"], "spec.good_class_not_found", name=data.good_class, classes=", ".join(names))


def _check_people(spec: CourseSpec, problems: Problems) -> None:
    first_row: dict[str, int] = {}
    for index, trainee in enumerate(spec.trainees):
        if trainee.id in first_row:
            problems.add(
                ["trainees", index, "id"],
                "spec.duplicate_trainee",
                id=trainee.id,
                other_line=line_of(problems.document, ["trainees", first_row[trainee.id], "id"]),
            )
        else:
            first_row[trainee.id] = index
        if _normalise_company(trainee.company) != _normalise_company(spec.company):
            problems.add(
                ["trainees", index, "company"],
                "spec.other_company",
                name=trainee.name,
                company=trainee.company,
                expected=spec.company,
            )


def _check_sessions(spec: CourseSpec, problems: Problems) -> None:
    for index in range(1, len(spec.sessions)):
        previous, current = spec.sessions[index - 1].date, spec.sessions[index].date
        if current <= previous:
            problems.add(["sessions", index, "date"], "spec.sessions_out_of_order", date=current, previous=previous)


def _check_modules(spec: CourseSpec, problems: Problems, module_ids: set[str] | None) -> None:
    # Given module ids (a caller's own list) carry no data kinds, so only the templates
    # found on disk let each module be checked against the kind of the course data.
    templates = None
    if module_ids is None:
        from kenshu.notebooks.templates import discover_modules

        templates = discover_modules()
        module_ids = set(templates)
    data_kind = spec.problem.data.kind
    seen: set[str] = set()
    for index, module_id in enumerate(spec.modules):
        if module_id not in module_ids:
            problems.add(["modules", index], "spec.unknown_module", module=module_id, known=", ".join(sorted(module_ids)))
        elif templates is not None and not any(template.supports(data_kind) for template in templates[module_id]):
            usable = sorted(key for key, found in templates.items() if any(template.supports(data_kind) for template in found))
            problems.add(
                ["modules", index],
                "spec.module_wrong_data_kind",
                module=module_id,
                kind=data_kind,
                module_kinds=", ".join(template.data_kind for template in templates[module_id]),
                usable=", ".join(usable) or "-",
            )
        if module_id in seen:
            problems.add(["modules", index], "spec.duplicate_module", module=module_id)
        seen.add(module_id)
    for module_id in spec.grading.due:
        if module_id not in spec.modules:
            problems.add(["grading", "due", module_id], "spec.due_unknown_module", module=module_id, known=", ".join(spec.modules))


def _normalise_company(name: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", name).replace(" ", "")


def _resolve_paths(raw: dict[str, Any], course_dir: Path) -> None:
    data = raw.get("problem", {}).get("data") if isinstance(raw.get("problem"), dict) else None
    if isinstance(data, dict):
        for key in ("folder", "csv"):
            if isinstance(data.get(key), str):
                data[key] = str((course_dir / data[key]).resolve())
    grading = raw.get("grading")
    if isinstance(grading, dict) and isinstance(grading.get("exchange"), str):
        grading["exchange"] = str((course_dir / grading["exchange"]).resolve())


def load_course_spec(course: str | Path, *, module_ids: set[str] | None = None) -> CourseSpec:
    """Read and validate a course spec.

    Parameters
    ----------
    course : str or Path
        The course folder, or its course.yml.
    module_ids : set of str, optional
        The module ids that exist; by default the templates under notebooks/
        and hardware_labs/ are searched.

    Returns
    -------
    CourseSpec
        The spec, with data paths made absolute relative to the course folder.

    Raises
    ------
    KenshuError
        If the file is missing, is not YAML or writes a key twice.
    CollectedErrors
        If the spec is invalid; ``problems`` lists each problem with its key and line.
    """
    course = Path(course)
    spec_path = course if course.suffix in (".yml", ".yaml") else course / SPEC_FILENAME
    course_dir = spec_path.parent.resolve()
    logger.info("reading course spec %s", spec_path)

    # 1. Parse YAML, keeping line numbers for the messages.
    document = read_yaml_document(spec_path, SPEC_MESSAGES)
    problems = Problems(spec_path, document)

    # 2. Check types and required keys.
    raw = plain(document)
    _resolve_paths(raw, course_dir)
    try:
        spec = CourseSpec.model_validate({**raw, "course_dir": course_dir})
    except ValidationError as error:
        report_validation_error(error, problems)
        raise CollectedErrors("spec.invalid", problems.items, path=spec_path) from None

    # 3. Check what types cannot: the data exists, ids are unique, dates are ordered.
    _check_data(spec, problems)
    _check_people(spec, problems)
    _check_sessions(spec, problems)
    _check_modules(spec, problems, module_ids)
    if problems.items:
        raise CollectedErrors("spec.invalid", problems.items, path=spec_path)

    return spec
