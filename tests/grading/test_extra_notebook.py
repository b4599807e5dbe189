"""A notebook beside the expected one (often "-Copy1", where the work is) is named in the result."""

from __future__ import annotations

from pathlib import Path

import nbformat

from kenshu.grading.submission import prepare_submission


def _notebook(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])


def test_extra_notebook_reported(tmp_path: Path) -> None:
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    nbformat.write(_notebook("x = 1"), submitted / "01_tiny.ipynb")
    nbformat.write(_notebook("x = 2  # the real work"), submitted / "01_tiny-Copy1.ipynb")

    prepared = prepare_submission(submitted, tmp_path / "scratch", {"01_tiny.ipynb": _notebook("x = 0")}, max_file_bytes=1024**2)

    extra = [problem for problem in prepared.problems if problem.code == "extra_notebook"]
    assert len(extra) == 1
    assert not extra[0].fatal
    assert "01_tiny-Copy1.ipynb" in extra[0].text
    assert "採点したのは 01_tiny.ipynb だけです" in extra[0].text


def test_renamed_notebook_not_extra(tmp_path: Path) -> None:
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    nbformat.write(_notebook("x = 1"), submitted / "01_tiny-Copy1.ipynb")

    prepared = prepare_submission(submitted, tmp_path / "scratch", {"01_tiny.ipynb": _notebook("x = 0")}, max_file_bytes=1024**2)

    codes = [problem.code for problem in prepared.problems]
    assert "renamed_notebook" in codes
    assert "extra_notebook" not in codes
