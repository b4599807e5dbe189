"""``kenshu demo``: one company's course from spec to graded work and KPI report.

The demo runs every step an instructor and the office take, on embedded
defaults (SQLite, a local exchange folder, no hub, no network), with a
simulated cohort in place of real trainees.

The simulated trainees submit under the ids of the course's trainees, so the
demo never works in the course folder itself: it builds a copy of the course
under ``kpi_reports/_build/demo/courses/<course_id>/`` (see
`demo_course_copy`). A course that is already being taught keeps its
gradebook, exchange and grade sheet as they are.

The simulated trainees submit each assignment on the day of its session, in
Japan time (see `kenshu.grading.simulate.session_submission_times`), so that
the attendance import counts their submissions as it counts a real
trainee's. Each run replaces the previous run's simulated submissions, and
without ``--db`` it starts a new attendance store of its own.
"""

from __future__ import annotations

import argparse
import io
import logging
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from typing import TYPE_CHECKING

from ruamel.yaml import YAML

from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.paths import build_dir, project_root

if TYPE_CHECKING:
    from kenshu.courses.spec import CourseSpec

logger = logging.getLogger(__name__)

DEFAULT_COURSE = Path("courses") / "sample_press"
# The grading problem code of a notebook with none of the released answer and test cells.
EMPTY_NOTEBOOK = "no_grade_cells"


@dataclass
class DemoResult:
    """Outputs of one demo run: grades, attendance, metrics and the files written."""

    course_id: str
    cohort: dict[str, str]
    grades: object = None
    attendance: dict[str, tuple[int, int]] = field(default_factory=dict)
    failures: list = field(default_factory=list)
    metrics: dict[str, dict[str, object]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def _step(number: int, total: int, key: str, **fields: object) -> None:
    print(message("demo.step", number=number, total=total, text=message(key, **fields)), flush=True)


def assign_cohort(trainee_ids: list[str]) -> dict[str, str]:
    """Give each trainee a simulated kind, in the order full, partial, wrong, empty, raises, absent."""
    from kenshu.grading.simulate import COHORT_KINDS

    return dict(zip(trainee_ids, cycle(COHORT_KINDS), strict=False))


def demo_course_copy(course: Path) -> tuple[CourseSpec, Path]:
    """Write the demo's copy of *course* and return (the original's spec, the copy's folder).

    The copy holds only ``course.yml``: its data paths point at the
    original's data, which the build reads but does not change, and any
    shared ``grading.exchange`` is dropped so that the copy releases into its
    own exchange. Its ``_build/`` (gradebook, exchange, trainees' homes,
    exports) is the demo's own. Running again rewrites the copy only when
    the original spec has changed.

    Raises
    ------
    KenshuError, CollectedErrors
        If the original course.yml is missing or invalid, naming that file.
    """
    from kenshu.courses.spec import SPEC_FILENAME, load_course_spec

    # Validate the original first, so that errors name its file and lines.
    spec = load_course_spec(course)
    original = spec.course_dir
    spec_path = course if course.suffix in (".yml", ".yaml") else course / SPEC_FILENAME
    copy = demo_dir() / "courses" / spec.course_id
    if original == copy.resolve():
        return spec, original

    yaml = YAML(typ="safe")
    raw = yaml.load(spec_path.read_text(encoding="utf-8"))
    data = raw["problem"]["data"]
    for key in ("folder", "csv"):
        if data.get(key) is not None:
            data[key] = str(getattr(spec.problem.data, key))
    grading = raw.get("grading") or {}
    for key in ("exchange", "exchange_group"):
        grading.pop(key, None)

    buffer = io.StringIO()
    yaml.allow_unicode = True
    yaml.default_flow_style = False
    yaml.dump(raw, buffer)
    text = message("demo.copy_header", course=spec_path.resolve()) + "\n" + buffer.getvalue()
    target = copy / SPEC_FILENAME
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    logger.info("demo copy of %s is %s", original, copy)
    return spec, copy


def _module_metrics(template_folder: Path) -> dict[str, str]:
    meta = YAML(typ="safe").load((template_folder / "module.yml").read_text(encoding="utf-8")) or {}
    return dict(meta.get("metrics") or {})


def run_solutions(result_root: Path, assignments: list[str], templates: dict[str, Path]) -> dict[str, dict[str, object]]:
    """Run each assignment's solution notebook and return the metrics its module declares."""
    from kenshu.notebooks.execute import execute_notebook

    from kenshu.progress import progress

    metrics: dict[str, dict[str, object]] = {}
    measured = [assignment for assignment in assignments if _module_metrics(templates[assignment])]
    for assignment in progress(measured, description="solutions", unit="notebook"):
        wanted = _module_metrics(templates[assignment])
        path = result_root / "source" / assignment / f"{assignment}.ipynb"
        _, errors, values = execute_notebook(path, metrics=wanted)
        if errors:
            raise KenshuError("demo.solution_failed", notebook=path, error=errors[0])
        metrics[assignment] = values
    return metrics


def _attendance(db: str | None, spec) -> dict[str, tuple[int, int]]:
    """Return (sessions attended, sessions) per trainee, counted by the rules of kpi_reports/plan.yml."""
    from kenshu.kpi_reports.kpi import attendance_by_trainee
    from kenshu.kpi_reports.plan import load_plan

    counted = attendance_by_trainee(spec.course_id, db=db, plan=load_plan())
    return {trainee.id: counted.get(trainee.id, (0, len(spec.sessions))) for trainee in spec.trainees}


def clear_simulated_submissions(grader, assignments: list[str], trainee_ids: list[str], homes: Path) -> int:  # noqa: ANN001
    """Remove earlier simulated submissions of *assignments* from the demo copy's exchange, nbgrader folder and homes.

    nbgrader's collect keeps the newest submission of each trainee, so a
    submission left by an earlier run (dated when that run ran) would win over
    this run's, which is dated on the session day. A submission dated the
    same as this run's would also clash with it in the trainee's submission
    cache (``.nbgrader_cache``, named without nbgrader's random suffix). Only
    the demo calls this, on its own copy of the course. Returns the number of
    folders removed.
    """
    import shutil

    from kenshu.grading.config import exchange_root

    removed = 0
    inbound = exchange_root(grader.spec) / grader.spec.course_id / "inbound"
    for trainee_id in trainee_ids:
        for assignment in assignments:
            pattern = f"{trainee_id}+{assignment}+*"
            cache = homes / trainee_id / ".nbgrader_cache" / grader.spec.course_id
            folders = [*inbound.glob(pattern), *cache.glob(pattern), grader.root / "submitted" / trainee_id / assignment]
            for folder in folders:
                if folder.is_dir():
                    shutil.rmtree(folder)
                    removed += 1
    logger.info("removed %d earlier simulated submission folders", removed)
    return removed


def run_demo(course: Path, *, fast: bool = False, db: str | None = None, fiscal_year: int | None = None) -> DemoResult:
    """Run the whole path for one course and return what it made.

    Parameters
    ----------
    course : Path
        The course folder (course.yml).
    fast : bool
        Build with each module's fast parameters, as the tests do.
    db : str, optional
        The attendance store's URL; by default the kit's SQLite file.
    fiscal_year : int, optional
        The year of the KPI report; by default the year of the first session.
    """
    from kenshu.courses.build import build_course
    from kenshu.grading.api import CourseGrader
    from kenshu.grading.export import export_grades
    from kenshu.grading.simulate import session_submission_times, submit_simulated_cohort
    from kenshu.kpi_reports.fiscal import fiscal_year as fiscal_year_of
    from kenshu.kpi_reports.importer import import_signin_sheet
    from kenshu.kpi_reports.nbgrader_import import import_nbgrader_submissions
    from kenshu.kpi_reports.report import write_report
    from kenshu.notebooks.templates import discover_modules, select_module

    total = 8
    logger.info("demo on %s (fast=%s)", course, fast)

    # 1. Copy the course into the demo's own folder and build the curriculum there.
    _step(1, total, "demo.step_build", course=course)
    original_spec, copy = demo_course_copy(Path(course))
    print("   " + message("demo.course_copy", copy=_relative(copy)), flush=True)
    build = build_course(copy, fast=fast)
    spec = build.spec
    trainee_ids = [trainee.id for trainee in spec.trainees]
    result = DemoResult(course_id=spec.course_id, cohort=assign_cohort(trainee_ids))
    modules = discover_modules()
    templates = {
        select_module(module_id, build.data.kind, modules).slug: select_module(module_id, build.data.kind, modules).folder
        for module_id in spec.modules
    }

    # 2. Run the solutions, and keep the figures the modules declare (accuracy and so on).
    _step(2, total, "demo.step_solutions")
    result.metrics = run_solutions(build.root, build.assignments, templates)

    # 3. Release every assignment to the exchange.
    _step(3, total, "demo.step_release", count=len(build.assignments))
    grader = CourseGrader(spec)
    # NOTE: the simulated trainees' submissions belong to whoever runs the demo, so
    # nbgrader's owner check ("cheating attempt?") would flag every one. A real hub keeps the check.
    grader.api.config.ExchangeCollect.check_owner = False
    for assignment in build.assignments:
        grader.generate(assignment)
        grader.release(assignment)

    # 4. Simulated trainees fetch, work and submit, each assignment on its session day (JST).
    _step(4, total, "demo.step_submit", count=len(trainee_ids))
    homes = build_dir(spec.course_dir) / "homes"
    clear_simulated_submissions(grader, build.assignments, trainee_ids, homes)
    times = session_submission_times(spec, build.assignments)
    for assignment in build.assignments:
        print("   " + message("demo.submitted_at", assignment=assignment, time=times[assignment].strftime("%Y-%m-%d %H:%M")), flush=True)
        submit_simulated_cohort(grader, assignment, result.cohort, homes, submitted_at=times[assignment])

    # 5. Collect, autograde and return feedback.
    _step(5, total, "demo.step_grade")
    for assignment in build.assignments:
        grader.collect(assignment)
    graded = grader.autograde_assignments(build.assignments)
    for assignment, outcomes in graded.items():
        result.failures.extend(outcome for outcome in outcomes if outcome.status == "failed")
        grader.feedback(assignment, [outcome.trainee_id for outcome in outcomes if outcome.status == "ok"])

    # 6. Export the grade sheet.
    _step(6, total, "demo.step_export")
    exported = export_grades(grader, build_dir(spec.course_dir) / "exports", grader.last_results())
    result.grades = exported.table
    result.files.update(
        nbgrader=grader.root, grades_csv=exported.csv, grades_xlsx=exported.xlsx, feedback=grader.root / "feedback"
    )

    # 7. Import the sign-in sheets and the submissions into the attendance store.
    _step(7, total, "demo.step_attendance")
    # The sign-in sheets stay in the original course folder and are only read. Names
    # are matched against the original roster, so that a message names the file to fix.
    for sheet in sorted((original_spec.course_dir / "attendance").glob("*")):
        if sheet.suffix.lower() in (".csv", ".xlsx"):
            imported = import_signin_sheet(sheet, db=db, course=original_spec)
            print("   " + imported.summary())
            for rejected in imported.rejected:
                print("     - " + str(rejected))
    imported = import_nbgrader_submissions(grader.config.CourseDirectory.db_url, course_id=spec.course_id, db=db, course=original_spec)
    print("   " + imported.summary())
    result.attendance = _attendance(db, spec)

    # 8. Write the KPI report of the course's fiscal year.
    year = fiscal_year or fiscal_year_of(spec.sessions[0].date)
    _step(8, total, "demo.step_report", year=year)
    report = write_report(year, db=db, out_dir=demo_dir() / "reports")
    result.files.update(kpi_html=report.html, kpi_xlsx=report.xlsx, kpi_chart=report.chart)
    return result


def _problem_codes(entry) -> list[str]:
    """Return the problem codes of one grade-table row (``problems`` is a comma-separated text or empty)."""
    value = entry.get("problems")
    if not isinstance(value, str):
        return []
    return [code.strip() for code in value.split(",") if code.strip()]


def problem_label(code: str) -> str:
    """Return the short catalog label of a grading problem code, or the code itself when it has none."""
    from kenshu.i18n import load_catalog

    key = f"grading.problem_label.{code}"
    return message(key) if key in load_catalog() else code


def _problems_cell(found: dict[str, list[str]], assignments: list[str]) -> str:
    """Return the 指摘 cell: each label, with its assignments unless it was found in all of them."""
    if not found:
        return "-"
    parts = []
    for label, where in found.items():
        if len(where) == len(assignments):
            parts.append(label)
        else:
            parts.append(f"{label} ({', '.join(where)})")
    return ", ".join(parts)


def format_summary(result: DemoResult, names: dict[str, str]) -> str:
    """Return the closing table: trainees, scores per assignment, problems found, attendance, and the files written."""
    grades = result.grades
    assignments = list(dict.fromkeys(grades["assignment"]))
    header = (
        [message("demo.col_trainee"), message("demo.col_kind")]
        + assignments
        + [message("export.column.problems"), message("demo.col_attendance")]
    )
    rows = []
    waiting_shown = False
    for trainee_id, kind in result.cohort.items():
        row = [f"{trainee_id} {names[trainee_id]}", message(f"demo.kind.{kind}")]
        # Each problem label with the assignments it was found in, in order of first appearance.
        found: dict[str, list[str]] = {}
        for assignment in assignments:
            entry = grades[(grades["trainee_id"] == trainee_id) & (grades["assignment"] == assignment)].iloc[0]
            codes = _problem_codes(entry)
            for code in codes:
                found.setdefault(problem_label(code), []).append(assignment)

            if entry["status"] in ("graded", "needs_manual_grade") and EMPTY_NOTEBOOK in codes:
                # nbgrader grades an empty notebook 0 and still marks its written
                # answers as waiting, but there is nothing for the instructor to read.
                row.append(message("demo.status.empty", max_score=f"{entry['max_score']:g}"))
            elif entry["status"] in ("graded", "needs_manual_grade"):
                waiting = "*" if entry["status"] == "needs_manual_grade" else ""
                waiting_shown = waiting_shown or bool(waiting)
                row.append(f"{entry['score']:g}/{entry['max_score']:g}{waiting}")
            else:
                row.append(message(f"export.status.{entry['status']}"))
        row.append(_problems_cell(found, assignments))
        attended, total = result.attendance.get(trainee_id, (0, 0))
        row.append(f"{attended}/{total}")
        rows.append(row)

    widths = [max(_width(str(line[column])) for line in [header] + rows) for column in range(len(header))]
    lines = [message("demo.summary_title", course_id=result.course_id)]
    for line in [header] + rows:
        lines.append("  ".join(_pad(str(cell), width) for cell, width in zip(line, widths, strict=True)))

    if waiting_shown:
        lines.append(message("demo.manual_grade_note"))
    for failure in result.failures:
        lines.append(message("demo.failure", trainee=failure.trainee_id, assignment=failure.assignment, reason=failure.reason))
    for assignment, values in result.metrics.items():
        figures = ", ".join(f"{key} = {value:.3f}" if isinstance(value, float) else f"{key} = {value}" for key, value in values.items())
        lines.append(message("demo.metrics", assignment=assignment, figures=figures))

    lines.append(message("demo.files_title"))
    for key, path in result.files.items():
        lines.append(f"  {message(f'demo.file.{key}')}: {_relative(path)}")
    return "\n".join(lines)


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(character) in ("W", "F") else 1 for character in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def demo_dir() -> Path:
    """Return the folder of the demo's own course copies, attendance store and KPI report.

    The demo never writes into the office's store or into a course's own
    ``_build/``, so that simulated trainees cannot end up in a real
    gradebook, grade sheet or report.
    """
    return project_root() / "kpi_reports" / "_build" / "demo"


def _same_store(first: str, second: str) -> bool:
    """Return whether two database URLs name the same store (SQLite files compared by resolved path)."""
    from sqlalchemy.engine import make_url

    first_url, second_url = make_url(first), make_url(second)
    if first_url.get_backend_name() == "sqlite" and second_url.get_backend_name() == "sqlite":
        if not first_url.database or not second_url.database:
            return False
        return Path(first_url.database).resolve() == Path(second_url.database).resolve()
    return first_url.render_as_string(hide_password=False) == second_url.render_as_string(hide_password=False)


def _run(args: argparse.Namespace) -> int:
    from kenshu.kpi_reports.store import default_db_url

    course = args.course or project_root() / DEFAULT_COURSE
    db = args.db or f"sqlite:///{demo_dir() / 'attendance.sqlite'}"
    # The simulated cohort's attendance must never reach the office's store and its KPI report.
    if _same_store(db, default_db_url()):
        raise KenshuError("demo.office_store", url=db)
    # Read the course first: a wrong --course must fail before the previous demo's store is removed.
    from kenshu.courses.spec import load_course_spec

    names = {trainee.id: trainee.name for trainee in load_course_spec(course).trainees}
    if args.db is None:
        # The importers keep the first timestamp they stored for a submission, so a store
        # left by an earlier demo run would keep that run's dates. The default store is the demo's own.
        store = demo_dir() / "attendance.sqlite"
        if store.is_file():
            store.unlink()
            print(message("demo.store_new", path=_relative(store)), flush=True)
    result = run_demo(course, fast=args.fast, db=db, fiscal_year=args.fy)
    print()
    print(format_summary(result, names))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``kenshu demo``."""
    parser = subparsers.add_parser("demo", help=message("demo.help"))
    parser.add_argument("--course", type=Path, help=message("demo.course_help"))
    parser.add_argument("--fast", action="store_true", help=message("course.fast_help"))
    parser.add_argument("--db", help=message("demo.db_help"))
    parser.add_argument("--fy", type=int, help=message("demo.fy_help"))
    parser.set_defaults(handler=_run)
