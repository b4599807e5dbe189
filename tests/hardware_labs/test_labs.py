"""Each hardware lab runs top to bottom on the simulator and an embedded broker, and fails without its solutions."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from kenshu.notebooks.templates import discover_modules, render_module

LABS_ROOT = Path(__file__).resolve().parents[2] / "hardware_labs"
LAB_IDS = ["L1", "L2", "L3", "L4", "L5"]
CONTEXT = {
    "company": "株式会社テスト精機",
    "problem": "主軸ベアリングの故障を止まる前に知る",
    "course_id": "test-2026",
    "good_class": "良品",
    "defect_classes": "不良品",
    "data_name": "振動データ",
    "label_column": "品質",
    "good_label": "良品",
}
PARAMETERS = {"COMPANY": "株式会社テスト精機", "RANDOM_STATE": 0}


def render(lab_id: str) -> nbformat.NotebookNode:
    modules = discover_modules([LABS_ROOT])
    (template,) = modules[lab_id]
    assert template.data_kind == "any"
    return render_module(template, context=CONTEXT, parameters=PARAMETERS, fast=True).notebook


def execute(notebook: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return notebook


def errors_by_cell(notebook: nbformat.NotebookNode) -> dict[str, str]:
    errors = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id"))
                errors[grade_id] = f"{output['ename']}: {output['evalue']}"
    return errors


def test_lab_folders_complete():
    modules = discover_modules([LABS_ROOT])
    assert sorted(modules) == LAB_IDS
    for lab_id in LAB_IDS:
        (template,) = modules[lab_id]
        assert (template.folder / "README.md").is_file()
        assert template.fast_parameters


@pytest.mark.parametrize("lab_id", LAB_IDS)
def test_lab_solution_passes(lab_id, tmp_path):
    notebook = execute(render(lab_id), tmp_path)
    assert errors_by_cell(notebook) == {}


@pytest.mark.parametrize("lab_id", LAB_IDS)
def test_lab_without_solution_fails(lab_id, tmp_path):
    from nbgrader.preprocessors import ClearSolutions

    notebook = render(lab_id)
    notebook, _ = ClearSolutions().preprocess(notebook, {})
    test_cells = [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
    ]
    errors = errors_by_cell(execute(notebook, tmp_path))
    assert test_cells
    for grade_id in test_cells:
        assert grade_id in errors, f"{grade_id} passes with the solutions removed"


async def _execute_async(notebook: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    await client.async_execute()
    return notebook


def execute_together(notebooks: list[nbformat.NotebookNode], folder: Path) -> list[nbformat.NotebookNode]:
    """Execute *notebooks* at the same time, each in its own kernel, as parallel autograding does."""
    import asyncio

    async def run_all() -> list[nbformat.NotebookNode]:
        folders = [folder / f"run{index}" for index in range(len(notebooks))]
        for run_folder in folders:
            run_folder.mkdir()
        return await asyncio.gather(*(_execute_async(nb, f) for nb, f in zip(notebooks, folders)))

    return asyncio.run(run_all())


def render_default(lab_id: str, **overrides) -> nbformat.NotebookNode:
    """Render *lab_id* with the parameters a course uses (not the test-only fast ones), plus *overrides*."""
    modules = discover_modules([LABS_ROOT])
    (template,) = modules[lab_id]
    return render_module(template, context=CONTEXT, parameters={**PARAMETERS, **overrides}, fast=False).notebook


def test_l2_two_runs_at_once(tmp_path, monkeypatch):
    # Kernels inherit TMPDIR, so every temporary folder a run makes lands here.
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    notebooks = [render_default("L2", N_MESSAGES=40) for _ in range(2)]
    first, second = execute_together(notebooks, tmp_path)
    assert errors_by_cell(first) == {}
    assert errors_by_cell(second) == {}
    assert sorted(path.name for path in temporary.iterdir()) == []


def test_l2_two_runs_share_broker(tmp_path, mosquitto):
    # An instructor's broker shared by both runs: topics and client ids must still keep them apart.
    notebooks = [render_default("L2", N_MESSAGES=40, BROKER_URL=mosquitto.url) for _ in range(2)]
    first, second = execute_together(notebooks, tmp_path)
    assert errors_by_cell(first) == {}
    assert errors_by_cell(second) == {}


def test_l4_two_runs_share_broker(tmp_path, mosquitto):
    fast = {"TRAIN_SECONDS": 16.0, "LIVE_WINDOWS": 6}
    notebooks = [render_default("L4", BROKER_URL=mosquitto.url, **fast) for _ in range(2)]
    first, second = execute_together(notebooks, tmp_path)
    assert errors_by_cell(first) == {}
    assert errors_by_cell(second) == {}
