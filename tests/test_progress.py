"""When progress bars are shown: the setting first, then a terminal or a notebook."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = "from kenshu.progress import progress_enabled; print(progress_enabled())"


@pytest.mark.parametrize(("setting", "expected"), [(None, "False"), ("1", "True"), ("0", "False")])
def test_progress_to_pipe(setting: str | None, expected: str) -> None:
    """Standard error is a pipe here, as when a command's output goes to a log file."""
    import os

    environment = {key: value for key, value in os.environ.items() if key != "KENSHU_PROGRESS"}
    if setting is not None:
        environment["KENSHU_PROGRESS"] = setting
    result = subprocess.run([sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_progress_on_terminal() -> None:
    """A pseudo-terminal as standard error shows the bars when nothing is set."""
    import os
    import pty

    environment = {key: value for key, value in os.environ.items() if key != "KENSHU_PROGRESS"}
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-c", PROBE], env=environment, stdout=subprocess.PIPE, stderr=terminal, text=True, timeout=60
        )
    finally:
        os.close(terminal)
        os.close(controller)

    assert result.returncode == 0
    assert result.stdout.strip() == "True"


def test_progress_in_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real Jupyter kernel shows the bars (as widgets) when nothing is set, though its stderr is no terminal."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("KENSHU_PROGRESS", raising=False)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys\n" + PROBE + "\nprint(sys.stderr.isatty())")])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()

    printed = "".join(output.get("text", "") for output in notebook.cells[0].outputs).split()
    assert printed == ["True", "False"]
