"""Benchmark: `kenshu grade autograde` (parallel, contained) against sequential `nbgrader autograde`.

A copy of courses/sample_press is built with its fast parameters for a
cohort of simulated trainees (a fixed mix of full, partial, wrong, raising,
empty and absent work, see ``KINDS``), released, submitted and collected.
The project is then copied, and the two graders run one after the other on
identical submissions, each as a child process of this script:

1. ``nbgrader autograde <assignment> --force`` per assignment, in the copy;
2. ``kenshu grade autograde <course> [--workers N]`` in the original.

Printed: wall time of each, the ratio, the peak of the summed resident
memory of each run's process tree (sampled every 100 ms with psutil),
whether every score in the two gradebooks is equal, and a cProfile of one
trainee's autograde through nbgrader's API, split into kernel start, cell
execution and the rest (nbgrader's own work).

Usage::

    .venv/bin/python benchmarks/bench_autograde.py [--trainees 40] [--workers N] [--modules 01 02 03]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
KINDS = ["full", "full", "partial", "wrong", "full", "raises", "partial", "full", "empty", "absent"]


def _measure(command: list[str], *, cwd: Path, env: dict) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run *command*; return its wall time, the peak RSS of its process tree in MiB, and the result."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                total = 0
                for member in tree:
                    try:
                        total += member.memory_info().rss
                    except psutil.Error:
                        continue
                peak = max(peak, total / 1024**2)
            except psutil.Error:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    done.set()
    sampler.join()
    return time.perf_counter() - started, peak, subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _prepare(project: Path, trainees: int, modules: list[str]) -> Path:
    """Copy sample_press with *trainees* simulated trainees into *project*, build, release, submit and collect."""
    from ruamel.yaml import YAML

    shutil.copytree(REPO / "notebooks", project / "notebooks")
    course = project / "courses" / "sample_press"
    shutil.copytree(REPO / "courses" / "sample_press", course, ignore=shutil.ignore_patterns("_build"))
    yaml = YAML()
    spec_path = course / "course.yml"
    spec = yaml.load(spec_path.read_text(encoding="utf-8"))
    spec["modules"] = modules
    spec["trainees"] = [{"id": f"b{index:02d}", "name": f"受講者 {index:02d}", "company": spec["company"]} for index in range(1, trainees + 1)]
    with spec_path.open("w", encoding="utf-8") as handle:
        yaml.dump(spec, handle)

    os.environ["KENSHU_HOME"] = str(project)
    from kenshu.courses.build import build_course
    from kenshu.grading.api import CourseGrader
    from kenshu.grading.simulate import submit_simulated_cohort

    build = build_course(course, fast=True)
    grader = CourseGrader(build.spec)
    cohort = {trainee["id"]: KINDS[index % len(KINDS)] for index, trainee in enumerate(spec["trainees"])}
    for assignment in grader.assignments:
        grader.generate(assignment)
        grader.release(assignment)
        submit_simulated_cohort(grader, assignment, cohort, project / "homes")
        grader.collect(assignment)
    grader.apply_deadlines()
    return course


def _gradebook_scores(db_url: str, course_id: str, assignments: list[str]) -> dict:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(db_url, course_id) as gradebook:
        for assignment in assignments:
            for submission in gradebook.assignment_submissions(assignment):
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        scores[(assignment, submission.student_id, grade.name)] = (grade.auto_score, grade.needs_manual_grade)
    return scores


def _profile_one(course: Path, assignment: str, trainee: str) -> dict[str, float]:
    """Time one trainee's autograde through nbgrader's API; return wall seconds per phase.

    Kernel start is the time from the start of nbgrader's Execute step to
    nbclient's ``on_notebook_start`` hook. The grader process waits for the
    kernel in ``epoll.poll`` (cProfile's own time of that call); that wait
    minus the kernel start is taken as cell execution, an estimate because
    nbconvert's ``preprocess`` calls no per-notebook end hook and nbgrader's
    Execute replaces ``on_cell_executed``. The rest is nbgrader's own work
    in the grader process: sanitising, gradebook, copying, saving grades.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import Execute
    from traitlets.config import Config

    from kenshu.courses.spec import load_course_spec
    from kenshu.grading.api import CourseGrader

    marks: dict[str, float] = {"kernel start": 0.0, "cell execution": 0.0}
    clock: dict[str, float] = {}

    class TimedExecute(Execute):
        def preprocess(self, nb, resources=None, km=None):
            clock["execute"] = time.perf_counter()
            return super().preprocess(nb, resources, km)

    def notebook_start(**_):
        marks["kernel start"] += time.perf_counter() - clock["execute"]

    grader = CourseGrader(load_course_spec(course))
    config = Config(grader.config)
    config.Autograde.autograde_preprocessors = [
        TimedExecute if item is Execute else item
        for item in __import__("nbgrader.converters.autograde", fromlist=["Autograde"]).Autograde.class_traits()["autograde_preprocessors"].default()
    ]
    for key, value in grader.config.get("Execute", {}).items():
        config.TimedExecute[key] = value
    config.TimedExecute.on_notebook_start = notebook_start
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    api.autograde(assignment, trainee, force=True, create=True)
    profiler.disable()
    total = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    waiting = sum(entry[2] for key, entry in stats.stats.items() if key[2] == "<method 'poll' of 'select.epoll' objects>")
    marks["cell execution"] = max(0.0, waiting - marks["kernel start"])
    top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:3]
    hot = ", ".join(f"{key[2]} {entry[2]:.1f} s" for key, entry in top)
    return {
        "total": total,
        **marks,
        "nbgrader and the rest": total - sum(marks.values()),
        "hot": hot,
    }


def main() -> None:
    """Prepare the cohort, run both graders one after the other, and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--modules", nargs="+", default=["01", "02", "03"])
    parser.add_argument("--profile-only", action="store_true", help="prepare one trainee and print only the profile")
    options = parser.parse_args()
    os.environ["KENSHU_PROGRESS"] = "0"
    if options.profile_only:
        course = _prepare(Path(tempfile.mkdtemp(prefix="bench-autograde-")) / "project", 1, options.modules)
        from kenshu.courses.spec import load_course_spec

        for assignment in __import__("kenshu.grading.api", fromlist=["CourseGrader"]).CourseGrader(load_course_spec(course)).assignments:
            profile = _profile_one(course, assignment, "b01")
            hot = profile.pop("hot")
            print(f"profile of one trainee's autograde of {assignment}: " + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in profile.items()))
            print(f"  largest own time in the grader process (cProfile): {hot}")
        return

    scratch = Path(tempfile.mkdtemp(prefix="bench-autograde-"))
    project = scratch / "project"
    started = time.perf_counter()
    course = _prepare(project, options.trainees, options.modules)
    prepared = time.perf_counter() - started

    from kenshu.courses.spec import load_course_spec
    from kenshu.grading.api import CourseGrader

    grader = CourseGrader(load_course_spec(course))
    assignments = grader.assignments
    copy_project = scratch / "sequential"
    shutil.copytree(project, copy_project, symlinks=True)
    copy_root = copy_project / grader.root.relative_to(project)
    config = copy_root / "nbgrader_config.py"
    config.write_text(config.read_text(encoding="utf-8").replace(str(project), str(copy_project)), encoding="utf-8")

    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": str(bin_dir) + os.pathsep + os.environ.get("PATH", ""), "KENSHU_HOME": str(project)}

    # 1. nbgrader's own sequential autograde, one assignment after another.
    script = "; ".join(f"{bin_dir / 'nbgrader'} autograde {assignment} --force" for assignment in assignments)
    sequential_seconds, sequential_peak, sequential = _measure(["sh", "-c", script], cwd=copy_root, env=env)

    # 2. kenshu's parallel autograde of the same submissions.
    command = [str(bin_dir / "kenshu"), "grade", "autograde", str(course)]
    if options.workers:
        command += ["--workers", str(options.workers)]
    kenshu_seconds, kenshu_peak, parallel = _measure(command, cwd=project, env=env)

    ours = _gradebook_scores(grader.config.CourseDirectory.db_url, grader.spec.course_id, assignments)
    theirs = _gradebook_scores(f"sqlite:///{copy_root / 'gradebook.db'}", grader.spec.course_id, assignments)
    differing = [key for key in theirs if ours.get(key) != theirs[key]] + [key for key in ours if key not in theirs]
    profile = _profile_one(course, assignments[0], "b01")

    workers = options.workers or len(os.sched_getaffinity(0))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"cohort: {options.trainees} trainees x {len(assignments)} notebooks ({', '.join(assignments)}); kinds cycle {KINDS}")
    print(f"preparation (build, release, submit, collect): {prepared:.1f} s")
    print(f"nbgrader autograde, sequential: {sequential_seconds:.1f} s, peak RSS {sequential_peak:.0f} MiB, exit {sequential.returncode}")
    print(f"kenshu grade autograde, {workers} workers: {kenshu_seconds:.1f} s, peak RSS {kenshu_peak:.0f} MiB, exit {parallel.returncode}")
    print(f"ratio (nbgrader / kenshu): {sequential_seconds / kenshu_seconds:.2f}x")
    print(f"scores compared: {len(theirs)} grade cells, {len(differing)} differ" + (f": {differing[:5]}" if differing else ""))
    print(f"profile of one trainee's autograde of {assignments[0]} (nbgrader API, one process):")
    hot = profile.pop("hot")
    for phase, seconds in profile.items():
        print(f"  {phase}: {seconds:.2f} s")
    print(f"  largest own time in the grader process (cProfile): {hot}")
    if parallel.returncode not in (0, 1):
        print(parallel.stderr[-3000:])
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
