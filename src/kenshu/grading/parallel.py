"""Autograde a cohort in parallel worker processes, one trainee per process, into one consistent gradebook.

Design
------
Each trainee is graded by its own worker process, forked from the grader,
with at most ``workers`` running at once (default: the number of
cores). A worker never opens the course's gradebook. It builds a scratch
nbgrader course directory for its trainee (a copy of the gradebook, the
non-notebook source files, and a checked copy of the submission), runs
nbgrader's own ``NbGraderAPI.autograde`` there with the containment of
``kenshu.grading.contained``, and writes the resulting grades, read back
through nbgrader's ``Gradebook``, to a JSON file.

The parent process is the only writer of the real gradebook. As each worker
finishes, it copies the grades into the gradebook through ``Gradebook``
(``update_or_create_submission`` and the grade, comment and notebook rows
nbgrader's ``SaveAutoGrades`` and ``AssignLatePenalties`` fill in) and moves
the autograded notebooks into ``autograded/``. SQLite therefore sees one
writer and no lock contention ("database is locked" cannot occur), a crashed
or killed worker loses only its own trainee's result, and every value
written is one nbgrader computed, so the gradebook equals what a sequential
``nbgrader autograde`` writes.

Serialising nbgrader's own gradebook writes instead would need a lock
around code inside nbgrader; a worker-local gradebook needs no change to
nbgrader at all.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import signal
import sqlite3
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from kenshu.grading.contained import (
    CELL_TIMEOUT,
    KERNEL_DIED,
    NOTEBOOK_TIMEOUT,
    OUTPUT_CAP_MARKER,
    Limits,
    contained_config,
)
from kenshu.i18n import message

logger = logging.getLogger(__name__)

# Kernels of worker slot k run as uid SANDBOX_UID_BASE + k when the grader is root.
SANDBOX_UID_BASE = 61000
# Seconds a worker may take beyond its notebooks' time limits (kernel start, nbgrader's own work).
WORKER_GRACE_SECONDS = 120


@dataclass
class Job:
    """What one worker grades, written to ``job.json`` in its scratch folder."""

    trainee_id: str
    assignment: str
    course_id: str
    real_root: str
    job_dir: str
    gradebook_template: str
    config_file: str
    limits: dict
    sandbox_uid: int
    hide: list[str]
    expose: list[str]
    log_level: int = logging.WARNING
    # nbgrader's and nbclient's own lines ("Kernel died while waiting for execute reply") repeat in English
    # what the trainee's result already states in Japanese, so they are shown only with kenshu -v.
    nbgrader_log_level: int = logging.CRITICAL
    kernel_threads: int = 0
    matplotlib_cache: str = ""


@dataclass
class Outcome:
    """What one worker reports back: the status, the findings and the grades nbgrader computed."""

    trainee_id: str
    status: str
    problems: list[dict] = field(default_factory=list)
    reason: str = ""
    grades: dict | None = None
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)


def default_workers() -> int:
    """Return the number of worker processes used when none is given: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# -- worker side ---------------------------------------------------------------------------------


def _read_grades(db_url: str, course_id: str, assignment: str, trainee_id: str) -> dict:
    """Return the grades nbgrader stored for one submission, as plain values."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id) as gradebook:
        submission = gradebook.find_submission(assignment, trainee_id)
        notebooks = {}
        for notebook in submission.notebooks:
            notebooks[notebook.name] = {
                "flagged": notebook.flagged,
                "late_submission_penalty": notebook.late_submission_penalty,
                "grades": {
                    grade.name: {
                        "auto_score": grade.auto_score,
                        "manual_score": grade.manual_score,
                        "extra_credit": grade.extra_credit,
                        "needs_manual_grade": grade.needs_manual_grade,
                    }
                    for grade in notebook.grades
                },
                "comments": {
                    comment.name: {"auto_comment": comment.auto_comment, "manual_comment": comment.manual_comment}
                    for comment in notebook.comments
                },
            }
        return {
            "timestamp": submission.timestamp.isoformat() if submission.timestamp else None,
            "score": submission.score,
            "max_score": submission.max_score,
            "notebooks": notebooks,
        }


def execution_problems(notebook: nbformat.NotebookNode, name: str) -> list[dict]:
    """Return the containment events recorded in an autograded notebook's outputs."""
    found: dict[str, list[str]] = {}
    for index, cell in enumerate(notebook.cells):
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or str(index + 1)
        for output in cell.get("outputs", []):
            code = None
            if output.get("output_type") == "error":
                code = {
                    CELL_TIMEOUT: "cell_timeout",
                    KERNEL_DIED: "kernel_died",
                    NOTEBOOK_TIMEOUT: "notebook_timeout",
                    "MemoryError": "memory_limit",
                }.get(output.get("ename"))
            elif output.get("output_type") == "stream" and OUTPUT_CAP_MARKER in output.get("text", ""):
                code = "output_capped"
            if code is not None and label not in found.setdefault(code, []):
                found[code].append(label)
    return [{"code": code, "notebook": name, "cells": cells} for code, cells in found.items()]


def _problem_text(problem: dict, limits: Limits) -> str:
    fields = {
        "notebook": problem.get("notebook", ""),
        "cells": ", ".join(problem.get("cells", [])),
        "cell_timeout": limits.cell_timeout,
        "notebook_timeout": limits.notebook_timeout,
        "memory_mb": limits.memory_bytes // 1024**2,
        "output_kb": limits.output_bytes // 1024,
    }
    return message(f"grading.problem.{problem['code']}", **fields)


def _build_scratch_course(job: Job, config) -> tuple[Path, list[dict], str | None]:
    """Lay out the worker's scratch course directory; return its root, the findings and a fatal reason."""
    from kenshu.grading.submission import prepare_submission

    real_root, job_dir = Path(job.real_root), Path(job.job_dir)
    root = job_dir / "course"
    for folder, mode in (("source", 0o700), ("submitted", 0o700), ("autograded", 0o711)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder).chmod(mode)
    root.chmod(0o711)

    # Non-notebook source files (data the tests read); nbgrader copies them into autograded/.
    source = real_root / "source" / job.assignment
    source_notebooks = {path.name: nbformat.read(path, as_version=4) for path in sorted(source.glob("*.ipynb"))}
    shutil.copytree(source, root / "source" / job.assignment, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))

    limits = Limits(**job.limits)
    prepared = prepare_submission(
        real_root / "submitted" / job.trainee_id / job.assignment,
        root / "submitted" / job.trainee_id / job.assignment,
        source_notebooks,
        max_file_bytes=limits.file_bytes,
    )
    problems = [{"code": problem.code, "text": problem.text, "fatal": problem.fatal} for problem in prepared.problems]
    fatal = prepared.fatal
    return root, problems, fatal.text if fatal else None


def _run_job(job: Job) -> Outcome:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    from kenshu.grading.api import _last_error_line

    started = time.monotonic()
    limits = Limits(**job.limits)
    config = PyFileConfigLoader(Path(job.config_file).name, path=str(Path(job.config_file).parent)).load_config()

    # 1. Scratch course: checked submission, non-notebook source files, a copy of the gradebook.
    root, problems, fatal = _build_scratch_course(job, config)
    if fatal is not None:
        return Outcome(job.trainee_id, "failed", problems, fatal, seconds=time.monotonic() - started)
    gradebook = Path(job.job_dir) / "gradebook.db"
    shutil.copyfile(job.gradebook_template, gradebook)
    gradebook.chmod(0o600)
    prepared_at = time.monotonic()

    # 2. nbgrader's autograde in the scratch course, with contained kernels.
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{gradebook}"
    config.NbGraderAPI.log_level = job.nbgrader_log_level
    config = contained_config(
        config,
        limits,
        sandbox_uid=job.sandbox_uid,
        pid_file=Path(job.job_dir) / "kernel.pids",
        hide=[Path(path) for path in job.hide],
        expose=[Path(path) for path in job.expose],
        threads=job.kernel_threads,
        matplotlib_cache=Path(job.matplotlib_cache) if job.matplotlib_cache else None,
    )
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    result = api.autograde(job.assignment, job.trainee_id, force=True, create=True)
    graded_at = time.monotonic()
    if not result.get("success"):
        reason = message("grading.problem.nbgrader_failed", detail=_last_error_line(result))
        return Outcome(job.trainee_id, "failed", problems, reason, seconds=graded_at - started)

    # 3. What happened while the notebooks ran, and the grades nbgrader stored.
    autograded = root / "autograded" / job.trainee_id / job.assignment
    for path in sorted(autograded.glob("*.ipynb")):
        for problem in execution_problems(nbformat.read(path, as_version=4), path.name):
            problems.append({**problem, "text": _problem_text(problem, limits), "fatal": False})
    grades = _read_grades(config.CourseDirectory.db_url, job.course_id, job.assignment, job.trainee_id)
    timings = {"prepare": prepared_at - started, "autograde": graded_at - prepared_at, "read": time.monotonic() - graded_at}
    return Outcome(job.trainee_id, "ok", problems, "", grades, time.monotonic() - started, timings)


def _worker_main(job_file: str) -> None:
    """Entry point of a worker process: grade one job and write ``outcome.json`` beside it."""
    job = Job(**json.loads(Path(job_file).read_text(encoding="utf-8")))
    logging.basicConfig(level=job.log_level)
    try:
        outcome = _run_job(job)
    except Exception as error:  # noqa: BLE001  (any failure becomes this trainee's result, not the cohort's)
        logger.error("grading %s failed: %s", job.trainee_id, traceback.format_exc())
        outcome = Outcome(job.trainee_id, "failed", reason=message("grading.problem.worker_error", detail=f"{type(error).__name__}: {error}"))
    (Path(job.job_dir) / "outcome.json").write_text(json.dumps(asdict(outcome), ensure_ascii=False), encoding="utf-8")


# -- parent side ---------------------------------------------------------------------------------


def merge_grades(db_url: str, course_id: str, assignment: str, trainee_id: str, grades: dict) -> None:
    """Write the grades a worker read from its scratch gradebook into the course's gradebook."""
    import datetime as dt

    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id) as gradebook:
        gradebook.update_or_create_student(trainee_id)
        timestamp = dt.datetime.fromisoformat(grades["timestamp"]) if grades["timestamp"] else None
        if timestamp is not None:
            submission = gradebook.update_or_create_submission(assignment, trainee_id, timestamp=timestamp)
        else:
            submission = gradebook.update_or_create_submission(assignment, trainee_id)
        for notebook in submission.notebooks:
            stored = grades["notebooks"].get(notebook.name)
            if stored is None:
                continue
            notebook.flagged = stored["flagged"]
            notebook.late_submission_penalty = stored["late_submission_penalty"]
            for grade in notebook.grades:
                for key, value in stored["grades"].get(grade.name, {}).items():
                    setattr(grade, key, value)
            for comment in notebook.comments:
                for key, value in stored["comments"].get(comment.name, {}).items():
                    setattr(comment, key, value)
        gradebook.db.commit()


def _snapshot(db_path: Path, copy: Path) -> None:
    """Copy the SQLite gradebook consistently (sqlite's backup API, not a file copy)."""
    with sqlite3.connect(db_path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    copy.chmod(0o600)


def _kill_kernels(job_dir: Path) -> None:
    pid_file = job_dir / "kernel.pids"
    if not pid_file.is_file():
        return
    for line in pid_file.read_text(encoding="ascii").split():
        try:
            os.killpg(int(line), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, ValueError):
            continue


@dataclass
class _Running:
    job: Job
    process: multiprocessing.Process
    deadline: float
    slot: int


def run_jobs(
    jobs: list[Job],
    *,
    workers: int,
    hard_timeout: float,
    on_done,
) -> None:
    """Run *jobs* in at most *workers* processes; call ``on_done(job, outcome)`` in the parent as each ends."""
    # fork, not spawn: a worker starts with nbgrader already imported, and the caller's
    # __main__ is not imported again (scripts without a __main__ guard keep working).
    context = multiprocessing.get_context("fork")
    pending = list(jobs)
    running: list[_Running] = []
    free_slots = list(range(workers))

    while pending or running:
        # Start jobs while there are free slots.
        while pending and free_slots:
            job = pending.pop(0)
            slot = free_slots.pop(0)
            job.sandbox_uid = SANDBOX_UID_BASE + slot
            job_file = Path(job.job_dir) / "job.json"
            job_file.write_text(json.dumps(asdict(job), ensure_ascii=False), encoding="utf-8")
            process = context.Process(target=_worker_main, args=(str(job_file),), name=f"kenshu-grade-{job.trainee_id}")
            process.start()
            running.append(_Running(job, process, time.monotonic() + hard_timeout, slot))

        time.sleep(0.05)
        for entry in list(running):
            timed_out = entry.process.is_alive() and time.monotonic() > entry.deadline
            if timed_out:
                logger.error("worker for %s exceeded %.0f s; killing it", entry.job.trainee_id, hard_timeout)
                entry.process.kill()
            if entry.process.is_alive():
                continue
            entry.process.join()
            _kill_kernels(Path(entry.job.job_dir))
            running.remove(entry)
            free_slots.append(entry.slot)
            on_done(entry.job, _read_outcome(entry, timed_out, hard_timeout))


def _read_outcome(entry: _Running, timed_out: bool, hard_timeout: float) -> Outcome:
    outcome_file = Path(entry.job.job_dir) / "outcome.json"
    if timed_out:
        return Outcome(entry.job.trainee_id, "failed", reason=message("grading.problem.worker_timeout", seconds=round(hard_timeout)))
    if not outcome_file.is_file():
        return Outcome(
            entry.job.trainee_id, "failed", reason=message("grading.problem.worker_crashed", code=entry.process.exitcode)
        )
    return Outcome(**json.loads(outcome_file.read_text(encoding="utf-8")))


def make_scratch_root() -> Path:
    """Create the folder that holds the workers' scratch courses, reachable but not listable by others."""
    scratch = Path(tempfile.mkdtemp(prefix="kenshu-autograde-"))
    scratch.chmod(0o711)
    return scratch


def kernel_threads(workers: int) -> int:
    """Return the threads each kernel's numerical libraries may use with *workers* kernels at once (0: no limit)."""
    if workers <= 1:
        return 0
    return max(1, default_workers() // workers)


def snapshot_gradebook(real_root: Path, scratch: Path) -> Path:
    """Return a consistent copy of the course gradebook for the workers to start from."""
    template = scratch / "gradebook-template.db"
    _snapshot(real_root / "gradebook.db", template)
    return template
