"""Module templates: text notebooks (jupytext percent format) rendered for one company.

A module is a folder with ``module.yml`` and a ``.py`` notebook in jupytext's
percent format. Cells carry a ``kenshu`` metadata key that says what nbgrader
should make of them (``answer``, ``test``, ``written``, ``readonly``); a cell
tagged ``parameters`` holds ``NAME = literal`` lines that the builder
rewrites with the course's values; Markdown cells are Jinja2 templates. A
``mistake`` cell holds a typical wrong answer for the answer cell named by its
``answer`` key: it is kept out of the notebook and used to check that the
tests catch that mistake, and by the demo's simulated trainees.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jupytext
import nbformat
from ruamel.yaml import YAML

from kenshu.errors import KenshuError
from kenshu.paths import project_root

logger = logging.getLogger(__name__)

MODULE_FILE = "module.yml"
TEMPLATE_ROOTS = ("notebooks", "hardware_labs")
CELL_KINDS = {"answer", "test", "written", "readonly", "mistake"}
HIDDEN_TESTS_MARK = "### BEGIN HIDDEN TESTS"
SOLUTION_MARK = "### BEGIN SOLUTION"
SOLUTION_END_MARK = "### END SOLUTION"


@dataclass(frozen=True)
class ModuleTemplate:
    """One module of the curriculum as its author wrote it."""

    id: str
    slug: str
    folder: Path
    notebook: Path
    data_kind: str
    title: Mapping[str, str]
    fast_parameters: Mapping[str, Any] = field(default_factory=dict)

    def supports(self, data_kind: str) -> bool:
        """Return whether this module works on data of *data_kind* (``images`` or ``csv``)."""
        return self.data_kind in ("any", data_kind)


@dataclass
class RenderedModule:
    """A module rendered for one course: the nbgrader source notebook and its typical mistakes."""

    template: ModuleTemplate
    notebook: nbformat.NotebookNode
    mistakes: dict[str, str]


def _read_module(folder: Path) -> ModuleTemplate:
    meta_path = folder / MODULE_FILE
    try:
        meta = YAML(typ="safe").load(meta_path.read_text(encoding="utf-8")) or {}
    except Exception as error:  # noqa: BLE001  (any YAML or I/O error makes the module unusable)
        raise KenshuError("template.bad_module_file", path=meta_path, detail=error) from None

    missing = [key for key in ("id", "data_kind", "title", "notebook") if key not in meta]
    if missing:
        raise KenshuError("template.module_key_missing", path=meta_path, keys=", ".join(missing))
    if meta["data_kind"] not in ("images", "csv", "any"):
        raise KenshuError("template.bad_data_kind", path=meta_path, value=meta["data_kind"])
    notebook = folder / meta["notebook"]
    if not notebook.is_file():
        raise KenshuError("template.notebook_missing", path=notebook, module=meta_path)

    return ModuleTemplate(
        id=str(meta["id"]),
        slug=folder.name,
        folder=folder,
        notebook=notebook,
        data_kind=meta["data_kind"],
        title=dict(meta["title"]),
        fast_parameters=dict(meta.get("fast_parameters") or {}),
    )


def discover_modules(roots: Iterable[Path] | None = None) -> dict[str, list[ModuleTemplate]]:
    """Find every module under *roots* (by default notebooks/ and hardware_labs/ of the checkout).

    Returns
    -------
    dict
        Module id to the templates with that id (one per data kind).
    """
    if roots is None:
        roots = [project_root() / name for name in TEMPLATE_ROOTS]

    modules: dict[str, list[ModuleTemplate]] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for meta_path in sorted(root.glob(f"*/{MODULE_FILE}")):
            module = _read_module(meta_path.parent)
            modules.setdefault(module.id, []).append(module)
    return modules


def select_module(module_id: str, data_kind: str, modules: Mapping[str, list[ModuleTemplate]]) -> ModuleTemplate:
    """Return the template of *module_id* for data of *data_kind*, preferring one written for that kind."""
    candidates = [module for module in modules.get(module_id, []) if module.supports(data_kind)]
    if not candidates:
        raise KenshuError("template.no_variant", module=module_id, kind=data_kind)
    candidates.sort(key=lambda module: module.data_kind == "any")
    return candidates[0]


def rewrite_parameters(source: str, values: Mapping[str, Any], *, where: str) -> str:
    """Replace the values of ``NAME = literal`` lines in a parameters cell.

    Names absent from *values* keep their default. Any statement other than
    an assignment of a literal to one name raises KenshuError naming *where*.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise KenshuError("template.parameters_syntax", where=where, line=error.lineno, detail=error.msg) from None

    replacements: list[tuple[int, int, int, int, str]] = []
    for statement in tree.body:
        is_assignment = (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        )
        if not is_assignment:
            raise KenshuError("template.parameters_not_literal", where=where, line=statement.lineno)
        try:
            ast.literal_eval(statement.value)
        except ValueError:
            raise KenshuError("template.parameters_not_literal", where=where, line=statement.lineno) from None
        name = statement.targets[0].id
        if name in values:
            value = statement.value
            replacements.append(
                (value.lineno, value.col_offset, value.end_lineno, value.end_col_offset, repr(values[name]))
            )

    # Replace from the end so that earlier offsets stay valid.
    lines = source.splitlines(keepends=True)
    for start_line, start_col, end_line, end_col, text in sorted(replacements, reverse=True):
        head = lines[start_line - 1].encode()[:start_col].decode()
        tail = lines[end_line - 1].encode()[end_col:].decode()
        lines[start_line - 1 : end_line] = [head + text + tail]
    return "".join(lines)


def _nbgrader_metadata(kind: str, grade_id: str, points: float | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"grade_id": grade_id, "schema_version": 3}
    if kind == "answer":
        metadata.update(grade=False, solution=True, locked=False)
    elif kind == "test":
        metadata.update(grade=True, solution=False, locked=True, points=points)
    elif kind == "written":
        metadata.update(grade=True, solution=True, locked=False, points=points)
    else:
        metadata.update(grade=False, solution=False, locked=True)
    return metadata


def _check_cell(kind: str, cell: nbformat.NotebookNode, where: str, seen: set[str]) -> tuple[str, float | None]:
    if kind not in CELL_KINDS:
        raise KenshuError("template.unknown_cell_kind", where=where, kind=kind, known=", ".join(sorted(CELL_KINDS)))
    grade_id = cell.metadata.get("grade_id")
    if not grade_id or not str(grade_id).replace("_", "").isalnum() or not str(grade_id).isascii():
        raise KenshuError("template.bad_grade_id", where=where, value=grade_id)
    if grade_id in seen:
        raise KenshuError("template.duplicate_grade_id", where=where, value=grade_id)
    seen.add(grade_id)

    points = cell.metadata.get("points")
    if kind in ("test", "written") and not (isinstance(points, int | float) and points > 0):
        raise KenshuError("template.bad_points", where=where, value=points)
    if kind == "test" and HIDDEN_TESTS_MARK not in cell.source:
        raise KenshuError("template.no_hidden_test", where=where, grade_id=grade_id)
    if kind == "answer" and cell.cell_type == "code" and SOLUTION_MARK not in cell.source:
        raise KenshuError("template.no_solution_region", where=where, grade_id=grade_id)
    if kind == "written" and cell.cell_type != "markdown":
        raise KenshuError("template.written_not_markdown", where=where, grade_id=grade_id)
    return str(grade_id), points


def render_module(
    template: ModuleTemplate,
    *,
    context: Mapping[str, Any],
    parameters: Mapping[str, Any],
    fast: bool = False,
) -> RenderedModule:
    """Render *template* into an nbgrader source notebook.

    Parameters
    ----------
    template : ModuleTemplate
        The module to render.
    context : mapping
        Jinja2 fields for Markdown cells (company, problem, …).
    parameters : mapping
        Values for the parameters cell.
    fast : bool
        Also apply the module's ``fast_parameters``, as the test suite does.

    Raises
    ------
    KenshuError
        Naming the template file and cell when a cell breaks the convention.
    """
    notebook = jupytext.read(template.notebook)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    values = {**parameters, **(template.fast_parameters if fast else {})}

    cells = []
    mistakes: dict[str, str] = {}
    seen: set[str] = set()
    for index, cell in enumerate(notebook.cells):
        where = f"{template.notebook}: cell {index + 1}"
        kind = cell.metadata.pop("kenshu", None)
        cell.metadata.pop("lines_to_next_cell", None)
        if kind is not None and kind not in CELL_KINDS:
            raise KenshuError("template.unknown_cell_kind", where=where, kind=kind, known=", ".join(sorted(CELL_KINDS)))

        # 1. Typical mistakes are kept aside, never shown to trainees.
        if kind == "mistake":
            answer = cell.metadata.get("answer")
            if not answer:
                raise KenshuError("template.mistake_without_answer", where=where)
            mistakes[str(answer)] = cell.source
            continue

        # 2. Fill in the company's text and values.
        if cell.cell_type == "markdown":
            try:
                cell.source = environment.from_string(cell.source).render(**context)
            except jinja2.TemplateError as error:
                raise KenshuError("template.markdown_field", where=where, detail=error) from None
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = rewrite_parameters(cell.source, values, where=where)

        # nbgrader looks for solution markers in every cell, so a marker in prose breaks generate_assignment.
        begins = cell.source.count(SOLUTION_MARK)
        ends = cell.source.count(SOLUTION_END_MARK)
        if (begins or ends) and (kind != "answer" or begins != ends):
            raise KenshuError("template.stray_solution_marker", where=where)

        # 3. Turn the kenshu cell kind into nbgrader metadata.
        if kind is not None:
            grade_id, points = _check_cell(kind, cell, where, seen)
            cell.metadata.pop("grade_id", None)
            cell.metadata.pop("points", None)
            cell.metadata["nbgrader"] = _nbgrader_metadata(kind, grade_id, points)
            cell.id = grade_id.replace("_", "-")
        else:
            cell.id = f"cell-{index:03d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)

    unknown = sorted(set(mistakes) - seen)
    if unknown:
        raise KenshuError("template.mistake_unknown_answer", where=template.notebook, grade_ids=", ".join(unknown))

    notebook.cells = cells
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "kenshu": {"module": template.id, "template": template.slug},
    }
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    nbformat.validate(notebook)
    return RenderedModule(template=template, notebook=notebook, mistakes=mistakes)
