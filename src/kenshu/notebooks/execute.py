"""Running notebooks top to bottom with nbclient, and reading what failed where."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CellError:
    """An error raised by one cell: its position, nbgrader grade_id, and the exception."""

    notebook: str
    index: int
    grade_id: str | None
    execution_count: int | None
    ename: str
    evalue: str

    def __str__(self) -> str:
        where = f"{self.notebook} cell {self.index + 1}"
        if self.grade_id:
            where += f" ({self.grade_id})"
        return f"{where}: {self.ename}: {self.evalue}"


def cell_errors(notebook: nbformat.NotebookNode, name: str = "") -> list[CellError]:
    """Return every error output of an executed notebook, in cell order."""
    errors = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(
                    CellError(
                        notebook=name,
                        index=index,
                        grade_id=cell.metadata.get("nbgrader", {}).get("grade_id"),
                        execution_count=cell.get("execution_count"),
                        ename=output.get("ename", ""),
                        evalue=output.get("evalue", ""),
                    )
                )
    return errors


def execute_notebook(
    notebook: nbformat.NotebookNode | Path,
    *,
    cwd: Path | None = None,
    timeout: int = 600,
    metrics: dict[str, str] | None = None,
) -> tuple[nbformat.NotebookNode, list[CellError], dict[str, object]]:
    """Run a notebook top to bottom, going on after errors, as nbgrader's autograder does.

    Parameters
    ----------
    notebook : NotebookNode or Path
        The notebook, or the .ipynb file to read.
    cwd : Path, optional
        The kernel's working directory; by default the notebook's folder.
    timeout : int
        Seconds one cell may run.
    metrics : dict, optional
        Name to Python expression, evaluated in the kernel after the last
        cell; the values must be JSON-serialisable.

    Returns
    -------
    tuple
        The executed notebook, its cell errors, and the metric values.
    """
    name = ""
    if isinstance(notebook, Path):
        name = notebook.name
        cwd = cwd or notebook.parent
        notebook = nbformat.read(notebook, as_version=4)
    logger.info("executing notebook %s in %s", name or "(in memory)", cwd)

    # 1. Add a last cell that prints the metrics as one JSON line.
    marker = "KENSHU_METRICS="
    if metrics:
        expression = "{" + ", ".join(f"{key!r}: ({value})" for key, value in metrics.items()) + "}"
        probe = f"import json as _json\nprint({marker!r} + _json.dumps({expression}, default=float))"
        notebook.cells.append(nbformat.v4.new_code_cell(probe))

    # 2. Execute everything, keeping errors as outputs.
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        # The kernel listens on 127.0.0.1 only, so ipykernel's warning about unencrypted TCP is noise here.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": str(cwd or Path.cwd())}},
    )
    client.execute()

    # 3. Read the metrics back and drop the probe cell.
    values: dict[str, object] = {}
    if metrics:
        probe_cell = notebook.cells.pop()
        for output in probe_cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(marker):
                    values = json.loads(line.removeprefix(marker))
    return notebook, cell_errors(notebook, name), values
