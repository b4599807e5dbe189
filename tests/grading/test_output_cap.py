"""The output cap of a grading kernel counts the outputs a notebook keeps, not those it cleared."""

from __future__ import annotations

from pathlib import Path

import nbformat

from kenshu.grading.contained import OUTPUT_CAP_MARKER, ContainedExecute

LIMIT = 64 * 1024

# 100 frames of about 20 KB each, every one replacing the last, as a live plot does.
REDRAWN = """
from IPython.display import clear_output, display
for frame in range(100):
    clear_output(wait=True)
    print(f"frame {frame} " + "#" * 20000)
"""

# The same frames without clearing: about 2 MB sent, all of it kept unless capped.
PILED_UP = """
for frame in range(100):
    print(f"frame {frame} " + "#" * 20000)
"""

# Cleared at once (wait=False) between frames.
CLEARED_AT_ONCE = """
from IPython.display import clear_output
for frame in range(100):
    print(f"frame {frame} " + "#" * 20000)
    clear_output()
print("done")
"""


def _execute(folder: Path, *sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    preprocessor = ContainedExecute(timeout=120, output_limit=LIMIT)
    executed, _ = preprocessor.preprocess(notebook, {"metadata": {"path": str(folder)}})
    return executed


def _texts(cell: nbformat.NotebookNode) -> str:
    return "".join(output.get("text", "") for output in cell.outputs)


def test_redrawn_output_not_capped(tmp_path: Path) -> None:
    executed = _execute(tmp_path, REDRAWN, "print('after')")

    assert OUTPUT_CAP_MARKER not in _texts(executed.cells[0])
    assert _texts(executed.cells[0]).startswith("frame 99 ")
    assert _texts(executed.cells[1]) == "after\n"


def test_immediate_clear_not_capped(tmp_path: Path) -> None:
    executed = _execute(tmp_path, CLEARED_AT_ONCE)

    assert _texts(executed.cells[0]) == "done\n"


def test_piled_up_output_capped(tmp_path: Path) -> None:
    executed = _execute(tmp_path, PILED_UP, "print('after')")
    kept_text = _texts(executed.cells[0])

    assert OUTPUT_CAP_MARKER in kept_text
    assert len(kept_text.encode("utf-8")) < LIMIT + 1024
    # A later output that still fits under the cap is kept.
    assert _texts(executed.cells[1]) == "after\n"
