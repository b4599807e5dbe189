"""Checking and repairing a copy of one submission before nbgrader grades it.

nbgrader grades the notebook it finds under its source name, or gives zero.
Trainees hand in renamed notebooks, notebooks saved by editors in cp932,
notebooks in an old format, and folders with large data files. Here the
submission is copied into the grader's scratch folder, and each such case is
repaired in the copy when that is safe or rejected with a reason. The
trainee's original under ``submitted/`` is not changed.

Each finding is a ``Problem``: a code (``invalid_json``, ``renamed_notebook``
…) and a message from the catalog, shown in the trainee's feedback.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import compute_checksum

from kenshu.i18n import message

logger = logging.getLogger(__name__)

IGNORED_NAMES = {".ipynb_checkpoints", "__pycache__", "feedback"}


@dataclass(frozen=True)
class Problem:
    """One finding about a submission: a code and its explanation for the trainee."""

    code: str
    text: str
    fatal: bool = False


@dataclass
class PreparedSubmission:
    """The scratch copy of one submission and what was found while making it."""

    folder: Path
    problems: list[Problem] = field(default_factory=list)

    @property
    def fatal(self) -> Problem | None:
        """Return the first problem that stops grading, or None."""
        return next((problem for problem in self.problems if problem.fatal), None)

    def add(self, code: str, fatal: bool = False, **fields: object) -> None:
        self.problems.append(Problem(code, message(f"grading.problem.{code}", **fields), fatal))


def _copy_files(source: Path, destination: Path, *, max_file_bytes: int, prepared: PreparedSubmission) -> None:
    """Copy a submission folder, leaving out caches and files larger than *max_file_bytes*."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in IGNORED_NAMES for part in relative.parts) or path.is_symlink():
            continue
        target = destination / relative
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        size = path.stat().st_size
        if size > max_file_bytes and path.suffix != ".ipynb":
            prepared.add("huge_file", name=str(relative), size_mb=round(size / 1024**2, 1), limit_mb=round(max_file_bytes / 1024**2, 1))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def _decode(raw: bytes, name: str, prepared: PreparedSubmission) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp932")
    except UnicodeDecodeError:
        prepared.add("bad_encoding", fatal=True, notebook=name)
        return None
    prepared.add("cp932", notebook=name)
    return text


def _read_notebook(path: Path, prepared: PreparedSubmission) -> nbformat.NotebookNode | None:
    """Read a submitted notebook, repairing encoding and format in place; None if it cannot be graded."""
    text = _decode(path.read_bytes(), path.name, prepared)
    if text is None:
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        prepared.add("invalid_json", fatal=True, notebook=path.name, line=error.lineno, column=error.colno)
        return None
    if not isinstance(document, dict) or "nbformat" not in document:
        prepared.add("not_a_notebook", fatal=True, notebook=path.name)
        return None

    version = document.get("nbformat")
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # noqa: BLE001  (nbformat raises several schema and conversion errors)
        prepared.add("unreadable", fatal=True, notebook=path.name, detail=str(error).splitlines()[0][:200])
        return None
    if isinstance(version, int) and version < 4:
        prepared.add("old_nbformat", notebook=path.name, version=version)

    # Write what nbgrader will read: UTF-8, nbformat 4.
    nbformat.write(notebook, path)
    return notebook


def _grade_ids(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id")]


def _check_cells(notebook: nbformat.NotebookNode, source: nbformat.NotebookNode, name: str, prepared: PreparedSubmission) -> None:
    """Compare the grade cells of a submission with the source notebook, as nbgrader will repair them."""
    submitted_ids = _grade_ids(notebook)
    if not submitted_ids:
        # Graded all the same: nbgrader scores every missing grade cell 0, as a sequential
        # `nbgrader autograde` does, so the gradebook stays equal to nbgrader's.
        prepared.add("no_grade_cells", notebook=name)
        return

    source_cells = {cell.metadata["nbgrader"]["grade_id"]: cell for cell in source.cells if cell.metadata.get("nbgrader", {}).get("grade_id")}
    missing = [grade_id for grade_id in source_cells if grade_id not in submitted_ids]
    if missing:
        prepared.add("deleted_cell", notebook=name, cells=", ".join(missing))
    duplicated = sorted({grade_id for grade_id in submitted_ids if submitted_ids.count(grade_id) > 1})
    if duplicated:
        # nbgrader 0.9.6's DeduplicateIds leaves an empty nbgrader entry on the copies, which its
        # CheckCellMetadata then rejects as an outdated schema; drop the copies' entry entirely.
        seen: set[str] = set()
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in seen:
                del cell.metadata["nbgrader"]
            elif grade_id:
                seen.add(grade_id)
        prepared.add("duplicate_cell", notebook=name, cells=", ".join(duplicated))

    edited = []
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        original = source_cells.get(grade_id)
        if original is None or not original.metadata["nbgrader"].get("locked"):
            continue
        expected = original.metadata["nbgrader"].get("checksum") or compute_checksum(original)
        if compute_checksum(cell) != expected and cell.source.strip() != _visible_source(original).strip():
            edited.append(grade_id)
    if edited:
        prepared.add("edited_locked_cell", notebook=name, cells=", ".join(dict.fromkeys(edited)))


def _visible_source(cell: nbformat.NotebookNode) -> str:
    """Return a locked cell's source as released: hidden tests removed."""
    lines, hidden = [], False
    for line in cell.source.splitlines():
        if "### BEGIN HIDDEN TESTS" in line:
            hidden = True
        elif "### END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines)


def prepare_submission(
    submitted: Path,
    destination: Path,
    source_notebooks: dict[str, nbformat.NotebookNode],
    *,
    max_file_bytes: int,
) -> PreparedSubmission:
    """Copy the submission folder *submitted* to *destination* and check each expected notebook.

    Parameters
    ----------
    submitted : Path
        ``submitted/<trainee>/<assignment>`` in the course's nbgrader root.
    destination : Path
        The scratch copy to create.
    source_notebooks : dict
        The instructor's notebooks by file name (``01_tiny.ipynb``), with solutions and hidden tests.
    max_file_bytes : int
        Files other than notebooks larger than this are left out of the copy.
    """
    prepared = PreparedSubmission(folder=destination)
    destination.mkdir(parents=True, exist_ok=True)
    _copy_files(submitted, destination, max_file_bytes=max_file_bytes, prepared=prepared)

    # Notebooks of the submission that have no source of that name: candidates for a renamed notebook.
    strays = sorted(path for path in destination.glob("*.ipynb") if path.name not in source_notebooks)
    for name, source in source_notebooks.items():
        path = destination / name
        if not path.is_file():
            if len(strays) == 1:
                stray = strays.pop()
                prepared.add("renamed_notebook", notebook=name, found=stray.name)
                stray.rename(path)
            elif strays:
                prepared.add("ambiguous_notebook", fatal=True, notebook=name, found=", ".join(item.name for item in strays))
                continue
            else:
                prepared.add("notebook_missing", fatal=len(source_notebooks) == 1, notebook=name)
                continue
        notebook = _read_notebook(path, prepared)
        if notebook is not None:
            _check_cells(notebook, source, name, prepared)
            nbformat.write(notebook, path)

    # Left over: notebooks beside the expected ones (a "-Copy1" where the work may be), never graded.
    if strays:
        prepared.add("extra_notebook", found=", ".join(path.name for path in strays), notebooks=", ".join(source_notebooks))
    return prepared
