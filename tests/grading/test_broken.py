"""Every kind of broken submission gets a result, a status and a Japanese explanation; the cohort is still graded."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest

from kenshu.grading.contained import Limits

from .conftest import ASSIGNMENT, answer_cell, released_course, solved_notebook, submit, writer

LIMITS = Limits(cell_timeout=5, notebook_timeout=12, memory_bytes=768 * 1024**2, output_bytes=64 * 1024, file_bytes=1024**2)


def _prepend(notebook, grade_id: str, code: str):
    cell = answer_cell(notebook, grade_id)
    cell.source = code + "\n" + cell.source
    return notebook


def _submissions(grader) -> dict:
    """Return a write callback per trainee: one broken submission of each kind, and two sound ones."""
    full = solved_notebook(grader, "full")

    def edited_locked():
        notebook = solved_notebook(grader, "wrong")
        for grade_id in ("test_total", "test_mean", "parameters"):
            answer_cell(notebook, grade_id).source = "assert True"
        return notebook

    def deleted():
        notebook = copy.deepcopy(full)
        notebook.cells.remove(answer_cell(notebook, "test_mean"))
        return notebook

    def duplicated():
        notebook = copy.deepcopy(full)
        cell = answer_cell(notebook, "total")
        notebook.cells.insert(notebook.cells.index(cell) + 1, copy.deepcopy(cell))
        return notebook

    def raw(data: bytes):
        def write(folder: Path) -> None:
            (folder / f"{ASSIGNMENT}.ipynb").write_bytes(data)

        return write

    def extra_file(folder: Path) -> None:
        nbformat.write(full, folder / f"{ASSIGNMENT}.ipynb")
        (folder / "big.bin").write_bytes(b"\0" * (3 * 1024**2))

    def slow():
        # Four added cells of 3.5 s each: none hits the 5 s cell limit, together they pass the 12 s notebook limit.
        notebook = copy.deepcopy(full)
        index = notebook.cells.index(answer_cell(notebook, "mean")) + 1
        for _ in range(4):
            notebook.cells.insert(index, nbformat.v4.new_code_cell("import time\ntime.sleep(3.5)"))
        return notebook

    hidden_only = copy.deepcopy(full)
    answer_cell(hidden_only, "total").source = "def total(n):\n    return 6 if n == 3 else 0"
    old_format = nbformat.writes(nbformat.convert(copy.deepcopy(full), 3), version=3).encode("utf-8")
    cp932 = json.dumps(full, ensure_ascii=False).encode("cp932")

    return {
        "t1": writer(full),
        "t2": writer(_prepend(copy.deepcopy(full), "total", "while True:\n    pass")),
        "t3": writer(_prepend(copy.deepcopy(full), "total", "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 1024 * 1024))")),
        "t4": writer(_prepend(copy.deepcopy(full), "mean", "import os\nos._exit(3)")),
        "t5": writer(deleted()),
        "t6": writer(duplicated()),
        "t7": writer(edited_locked()),
        "t8": writer(full, name=f"{ASSIGNMENT}-Copy1.ipynb"),
        "t9": raw(b'{"cells": [{"cell_type": "code", '),
        "t10": raw(old_format),
        "t11": raw(cp932),
        "t12": writer(_prepend(copy.deepcopy(full), "total", "for _ in range(40):\n    print('出力' * 20000)")),
        "t13": extra_file,
        "t14": writer(slow()),
        "t15": writer(hidden_only),
    }


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory, project_factory):
    """Submit every broken kind plus sound work, autograde in two workers, and write feedback."""
    root = tmp_path_factory.mktemp("broken")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KENSHU_HOME", str(root))
        grader = released_course(root, project_factory, trainees=15)
        for trainee_id, write in _submissions(grader).items():
            submit(grader, trainee_id, root / "homes", write)
        grader.collect(ASSIGNMENT)
        results = {result.trainee_id: result for result in grader.autograde(ASSIGNMENT, workers=2, limits=LIMITS)}
        feedback = {path.parent.parent.name: path.read_text(encoding="utf-8") for path in grader.feedback(ASSIGNMENT, list(results))}
        yield grader, results, feedback


# trainee, expected status, problem code, expected score (None: not graded)
CASES = [
    ("t2", "ok", "cell_timeout", 2),
    ("t3", "ok", "memory_limit", 2),
    ("t4", "ok", "kernel_died", 2),
    ("t5", "ok", "deleted_cell", 2),
    ("t6", "ok", "duplicate_cell", 4),
    ("t7", "ok", "edited_locked_cell", 0),
    ("t8", "ok", "renamed_notebook", 4),
    ("t9", "failed", "invalid_json", None),
    ("t10", "ok", "old_nbformat", 4),
    ("t11", "ok", "cp932", 4),
    ("t12", "ok", "output_capped", 4),
    ("t13", "ok", "huge_file", 4),
    ("t14", "ok", "notebook_timeout", 2),
]


@pytest.mark.parametrize(("trainee", "status", "code", "score"), CASES, ids=[case[2] for case in CASES])
def test_broken_submission_result(cohort, trainee: str, status: str, code: str, score) -> None:
    _, results, feedback = cohort
    result = results[trainee]

    assert result.status == status
    assert code in result.problems
    assert result.score == score
    assert result.reason
    # The explanation in the trainee's feedback is Japanese and is the one in the result.
    first_line = result.reason.splitlines()[0]
    assert any("\u3040" <= char <= "\u30ff" for char in first_line)
    assert first_line.replace("'", "&#39;").replace('"', "&#34;") in feedback[trainee]


def test_sound_work_graded_alongside(cohort) -> None:
    _, results, _ = cohort
    assert results["t1"].status == "ok"
    assert results["t1"].score == 4
    assert results["t1"].problems == ()
    assert results["t15"].score == 2


def test_every_trainee_has_result(cohort) -> None:
    _, results, feedback = cohort
    assert sorted(results) == sorted(f"t{index}" for index in range(1, 16))
    assert sorted(feedback) == sorted(results)


def test_feedback_hides_hidden_tests(cohort) -> None:
    grader, results, feedback = cohort
    autograded = (grader.root / "autograded" / "t15" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8")
    page = feedback["t15"]

    # The graded notebook holds the hidden tests, so their absence from the page is the feedback's doing.
    assert "N_ITEMS * (N_ITEMS + 1) // 2" in autograded
    assert "N_ITEMS * (N_ITEMS + 1) // 2" not in page
    assert "mean([1.5])" not in page
    assert "HIDDEN TESTS" not in page
    assert "assert " not in page
    assert "total(n) は 1 から n までの和です" in page
    assert "test_total" in page
    assert "不合格" in page
    assert "合格" in page


def test_feedback_reaches_exchange(cohort) -> None:
    grader, _, _ = cohort
    released = list((grader.root.parent / "exchange" / grader.spec.course_id / "feedback").glob("*.html"))
    assert len(released) >= 13
