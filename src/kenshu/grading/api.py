"""The one place where kenshu calls nbgrader, through ``nbgrader.apps.NbGraderAPI``.

Each step of an instructor's round (generate, release, collect, autograde,
feedback) is one method of ``CourseGrader``. nbgrader reports failures as a
``success`` flag with a log. Here a failure of the whole step raises
KenshuError. A failure for one trainee becomes a ``TraineeResult`` with the
reason, so that the rest of the cohort is still graded.
"""

from __future__ import annotations

import grp
import json
import logging
import os
import re
import shutil
import sys
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from kenshu.courses.spec import SPEC_FILENAME, CourseSpec
from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.grading.config import (
    CONFIG_FILENAME,
    MANIFEST_FILENAME,
    exchange_root,
    load_nbgrader_config,
    nbgrader_root,
    render_course_manifest,
    render_nbgrader_config,
)
from kenshu.grading.contained import Limits, build_matplotlib_cache
from kenshu.paths import build_dir
from kenshu.progress import progress_bar

logger = logging.getLogger(__name__)

# NOTE: nbgrader 0.9.6 triggers SQLAlchemy 2.x "not in session" warnings on every autograde.
# They do not affect the stored grades (the comparison tests read them back), so they are hidden.
warnings.filterwarnings("ignore", message=".*not in session.*", module="nbgrader")


class _KnownNoiseFilter(logging.Filter):
    """Drop nbgrader log lines that carry no information for an instructor.

    nbgrader 0.9 stores a test cell's checksum before it removes the hidden
    tests, so autograde warns "checksum ... has changed" for every test cell
    with hidden tests in every submission, and nbconvert's HTML feedback warns
    about images without alternative text (matplotlib figures never have any).
    Lateness, the late penalty and an empty collect are reported by kenshu
    itself, in Japanese.

    NOTE: this also hides the warning for a test cell that a trainee really
    edited. The grade is unaffected because nbgrader restores every test cell
    from the gradebook before it runs the notebook.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not (
            (text.startswith("Attribute 'checksum' for cell") and "has changed" in text)
            or text.startswith("Alternative text is missing")
            # Lateness and the penalty are in the grade sheet and the feedback, in Japan time and in Japanese.
            or (text.startswith("SubmittedAssignment<") and " seconds late" in text)
            or text.startswith("Late submission penalty:")
            # collect prints its own count, 0 included.
            or (text.startswith("No submissions of ") and text.endswith(" to collect"))
        )


logging.getLogger("traitlets").addFilter(_KnownNoiseFilter())


@dataclass(frozen=True)
class TraineeResult:
    """The outcome of one step for one trainee.

    ``status`` is ``ok`` (graded), ``failed`` (not graded, ``reason`` says
    why) or ``not_submitted``. ``problems`` lists the codes of what the
    grader found or repaired (``cell_timeout``, ``renamed_notebook`` …, see
    ``kenshu.grading.submission`` and ``kenshu.grading.parallel``); for a
    graded submission ``reason`` then holds their explanations in the
    trainee's language.
    """

    trainee_id: str
    assignment: str
    status: str
    reason: str = ""
    problems: tuple[str, ...] = field(default=())
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0


def _last_error_line(result: dict) -> str:
    """Return the most telling line of an nbgrader failure: the last exception that is not nbgrader's wrapper."""
    text = "\n".join(part for part in (result.get("log") or "", result.get("error") or "") if part)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    exception_lines = [
        line
        for line in lines
        if re.match(r"^[\w.]*(Error|Exception|Timeout\w*)\b.*:", line) and "NbGraderException" not in line
    ]
    if exception_lines:
        return exception_lines[-1][:500]
    error_lines = [line for line in lines if line.startswith("[ERROR]") and "Please see the" not in line]
    if error_lines:
        return error_lines[-1].removeprefix("[ERROR]").strip()[:500]
    return lines[-1][:500] if lines else "unknown error"


class CourseGrader:
    """nbgrader for one built course: its course directory, exchange and gradebook.

    Parameters
    ----------
    spec : CourseSpec
        The course; ``kenshu course build`` must have written its nbgrader directory.
    """

    def __init__(self, spec: CourseSpec) -> None:
        self.spec = spec
        self.root = nbgrader_root(spec)
        if not (self.root / CONFIG_FILENAME).is_file():
            raise KenshuError("grading.not_built", course=spec.course_dir)
        manifest_text = (self.root / MANIFEST_FILENAME).read_text(encoding="utf-8")
        self.manifest = json.loads(manifest_text)
        self._check_build_current(manifest_text)

        # nbgrader runs `alembic` to upgrade the gradebook; it lies beside this interpreter.
        scripts = str(Path(sys.executable).parent)
        if scripts not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")

        self.config: Config = load_nbgrader_config(self.root)
        exchange = exchange_root(spec)
        exchange.mkdir(parents=True, exist_ok=True)
        # nbgrader's default exchange expects a world-writable, sticky root, as /srv/nbgrader/exchange is.
        exchange.chmod(0o1777)
        # nbgrader logs every file it copies at INFO; show that only when kenshu itself is verbose.
        self.config.NbGraderAPI.log_level = max(logging.getLogger("kenshu").getEffectiveLevel(), logging.INFO)
        self.coursedir = CourseDirectory(config=self.config)
        self.api = NbGraderAPI(coursedir=self.coursedir, config=self.config)
        self._enter_course_into_gradebook()

    def _check_build_current(self, manifest_text: str) -> None:
        """Raise when course.yml changed after the last build (trainees, modules, grading settings).

        The nbgrader files are rendered again from the spec as it is now and
        compared with those the build wrote, so an edited comment in
        course.yml does not count as a change.
        """
        assignments = self.manifest["assignments"]
        built_modules = [name.split("_", 1)[0] for name in assignments]
        current = (
            built_modules == list(self.spec.modules)
            and (self.root / CONFIG_FILENAME).read_text(encoding="utf-8") == render_nbgrader_config(self.spec, assignments)
            and manifest_text == render_course_manifest(self.spec, assignments)
        )
        if not current:
            raise KenshuError("grading.stale_build", course=self.spec.course_dir)

    def _enter_course_into_gradebook(self) -> None:
        """Enter the trainees (with their names) and the assignments into the gradebook; safe to repeat."""
        with self.api.gradebook as gradebook:
            for trainee in self.manifest["trainees"]:
                gradebook.update_or_create_student(trainee["id"], first_name=trainee["name"], last_name="")
            for assignment in self.manifest["assignments"]:
                gradebook.update_or_create_assignment(assignment)

    @property
    def assignments(self) -> list[str]:
        """Return the assignments of the course, in the order of the spec."""
        return list(self.manifest["assignments"])

    def _run(self, step: str, assignment: str, result: dict) -> None:
        if not result.get("success"):
            logger.error("nbgrader %s failed for %s: %s", step, assignment, result.get("log"))
            raise KenshuError("grading.step_failed", step=step, assignment=assignment, reason=_last_error_line(result))
        logger.info("nbgrader %s done for %s", step, assignment)

    def generate(self, assignment: str) -> Path:
        """Generate the trainees' version of *assignment* (solutions and hidden tests removed)."""
        logger.info("generating %s from %s", assignment, self.root / "source" / assignment)
        released = self.root / "release" / assignment
        if released.exists():
            # Regenerating is routine after a rebuild. nbgrader's force=True would remove the folder too,
            # but with an English warning on every run.
            logger.info("removing the earlier generated version %s", released)
            shutil.rmtree(released)
        self._run("generate_assignment", assignment, self.api.generate_assignment(assignment, force=True))
        return released

    def release(self, assignment: str) -> Path:
        """Release *assignment* to the exchange, replacing an earlier release."""
        outbound = exchange_root(self.spec) / self.spec.course_id / "outbound" / assignment
        if outbound.exists():
            self._run("list --remove", assignment, self.api.unrelease(assignment))
        self._run("release_assignment", assignment, self.api.release_assignment(assignment))
        self.secure_exchange()
        return outbound

    def collect(self, assignment: str) -> list[str]:
        """Collect the submissions of *assignment* from the exchange; return the trainees who submitted."""
        self._run("collect", assignment, self.api.collect(assignment, update=True))
        submitted = sorted(self.api.get_submitted_students(assignment))
        self._warn_unknown_submitters(assignment, submitted)
        return submitted

    def _warn_unknown_submitters(self, assignment: str, submitted) -> list[str]:
        """Log a warning for each submitter who is not a trainee of the course, and return them."""
        roster = {trainee.id for trainee in self.spec.trainees}
        unknown = sorted(set(submitted) - roster)
        for submitter in unknown:
            logger.warning(message("grade.unknown_submitter", submitter=submitter, assignment=assignment, spec=self.spec.course_dir / SPEC_FILENAME))
        return unknown

    def autograde(
        self,
        assignment: str,
        trainee_ids: list[str] | None = None,
        *,
        workers: int | None = None,
        limits: Limits | None = None,
    ) -> list[TraineeResult]:
        """Autograde *assignment* for each trainee in parallel worker processes; see ``kenshu.grading.parallel``.

        Parameters
        ----------
        assignment : str
            The assignment (module slug).
        trainee_ids : list of str, optional
            Who to grade; by default every trainee of the spec.
        workers : int, optional
            Worker processes; by default the number of cores this process may use.
        limits : Limits, optional
            Time, memory and output limits; by default those of the spec.

        Returns
        -------
        list of TraineeResult
            One per trainee, in the order of *trainee_ids*; a failure for one
            trainee does not stop the others.
        """
        return self.autograde_assignments([assignment], trainee_ids, workers=workers, limits=limits)[assignment]

    def autograde_assignments(
        self,
        assignments: list[str],
        trainee_ids: list[str] | None = None,
        *,
        workers: int | None = None,
        limits: Limits | None = None,
    ) -> dict[str, list[TraineeResult]]:
        """Autograde several assignments in one pool of workers; return each assignment's results.

        One pool keeps every worker busy until the last notebook of the
        last assignment, where a pool per assignment would leave workers
        idle at the end of each. The arguments are those of :meth:`autograde`.
        """
        from kenshu.grading import parallel

        trainee_ids = trainee_ids if trainee_ids is not None else [trainee.id for trainee in self.spec.trainees]
        limits = limits or Limits.from_spec(self.spec)
        workers = workers or parallel.default_workers()
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.apply_deadlines()
        self._protect_root()

        results: dict[str, dict[str, TraineeResult]] = {}
        to_grade: list[tuple[str, str]] = []
        for assignment in assignments:
            submitted = set(self.api.get_submitted_students(assignment))
            self._warn_unknown_submitters(assignment, submitted)
            results[assignment] = {
                trainee_id: TraineeResult(trainee_id, assignment, "not_submitted") for trainee_id in trainee_ids if trainee_id not in submitted
            }
            to_grade += [(assignment, trainee_id) for trainee_id in trainee_ids if trainee_id in submitted]
        logger.info("autograding %s: %d notebook set(s) in %d worker(s)", ", ".join(assignments), len(to_grade), workers)

        scratch = parallel.make_scratch_root()
        try:
            template = parallel.snapshot_gradebook(self.root, scratch)
            jobs = [self._job(assignment, trainee_id, scratch, template, limits) for assignment, trainee_id in to_grade]
            matplotlib_cache = build_matplotlib_cache(scratch / "matplotlib") if os.geteuid() == 0 and jobs else None
            for job in jobs:
                job.kernel_threads = parallel.kernel_threads(workers)
                job.matplotlib_cache = str(matplotlib_cache or "")
            notebooks = max(
                [len(list((self.root / "source" / assignment).glob("*.ipynb"))) for assignment in assignments] + [1]
            )
            hard_timeout = notebooks * (limits.notebook_timeout + limits.cell_timeout) + parallel.WORKER_GRACE_SECONDS

            description = message("grading.progress", assignment=", ".join(assignments))
            with progress_bar(description=description, total=len(jobs), unit="件") as bar:
                failed = 0

                def on_done(job: parallel.Job, outcome: parallel.Outcome) -> None:
                    nonlocal failed
                    result = self._accept(job.assignment, job, outcome)
                    results[job.assignment][job.trainee_id] = result
                    failed += result.status == "failed"
                    bar.set_postfix_str(message("grading.progress_failed", count=failed))
                    bar.update(1)

                parallel.run_jobs(jobs, workers=workers, hard_timeout=hard_timeout, on_done=on_done)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

        ordered = {}
        for assignment in assignments:
            ordered[assignment] = [results[assignment][trainee_id] for trainee_id in trainee_ids]
            self._save_results(assignment, ordered[assignment])
        return ordered

    def _job(self, assignment: str, trainee_id: str, scratch: Path, template: Path, limits: Limits):
        from kenshu.grading import parallel

        job_dir = scratch / f"job-{assignment}-{trainee_id}"
        job_dir.mkdir()
        job_dir.chmod(0o711)
        return parallel.Job(
            trainee_id=trainee_id,
            assignment=assignment,
            course_id=self.spec.course_id,
            real_root=str(self.root),
            job_dir=str(job_dir),
            gradebook_template=str(template),
            config_file=str(self.root / "nbgrader_config.py"),
            limits=asdict(limits),
            sandbox_uid=-1,
            hide=[str(self.root), str(exchange_root(self.spec)), str(scratch)],
            expose=self._kernel_paths(),
            log_level=max(logging.getLogger("kenshu").getEffectiveLevel(), logging.WARNING),
            nbgrader_log_level=logging.INFO if logging.getLogger("kenshu").getEffectiveLevel() <= logging.INFO else logging.CRITICAL,
        )

    def _kernel_paths(self) -> list[str]:
        """Return the folders a grading kernel must reach: Python, kenshu's sources and the course data."""
        import kenshu

        paths = {Path(sys.base_prefix), Path(sys.prefix), Path(kenshu.__file__).resolve().parents[1]}
        data = self.spec.problem.data
        for path in (data.folder, data.csv.parent if data.csv else None, build_dir(self.spec.course_dir) / "data"):
            if path is not None and Path(path).is_dir():
                paths.add(Path(path).resolve())
        return sorted(str(path) for path in paths)

    def _accept(self, assignment: str, job, outcome) -> TraineeResult:
        """Merge a worker's grades into the gradebook and return the trainee's result."""
        from kenshu.grading.parallel import merge_grades

        codes = tuple(dict.fromkeys(problem["code"] for problem in outcome.problems))
        if outcome.status != "ok" or outcome.grades is None:
            # The result carries the Japanese reason, which the command prints; this line is for -v.
            logger.info("autograde of %s for %s failed: %s", assignment, job.trainee_id, outcome.reason)
            return TraineeResult(job.trainee_id, assignment, "failed", outcome.reason, codes, seconds=outcome.seconds)

        merge_grades(self.config.CourseDirectory.db_url, self.spec.course_id, assignment, job.trainee_id, outcome.grades)
        source = Path(job.job_dir) / "course" / "autograded" / job.trainee_id / assignment
        destination = self.root / "autograded" / job.trainee_id / assignment
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(source, destination, ignore=shutil.ignore_patterns(".kernel-connection.json", ".ipython", ".config", ".jupyter-runtime", ".cache"))
        reason = "\n".join(problem["text"] for problem in outcome.problems)
        grades = outcome.grades
        return TraineeResult(job.trainee_id, assignment, "ok", reason, codes, grades["score"], grades["max_score"], outcome.seconds)

    def apply_deadlines(self) -> None:
        """Store the spec's due dates (JST) in the gradebook, where nbgrader's late check reads them."""
        from nbgrader.api import Gradebook

        from kenshu.grading.late import as_utc_naive

        slugs = {assignment.split("_", 1)[0]: assignment for assignment in self.assignments}
        with Gradebook(self.config.CourseDirectory.db_url, self.spec.course_id) as gradebook:
            for module_id, due in self.spec.grading.due.items():
                assignment = slugs.get(module_id)
                if assignment is not None:
                    gradebook.update_or_create_assignment(assignment, duedate=as_utc_naive(due))

    def _protect_root(self) -> None:
        """Make the nbgrader root (gradebook, source notebooks, submissions) private to its owner."""
        # NOTE: only a grader running as root drops kernels to another uid. Run by an ordinary
        # user, kernels keep that user's rights and only the time, memory and output limits apply.
        if os.geteuid() == 0:
            self.root.chmod(0o700)

    def secure_exchange(self) -> None:
        """Limit this course's exchange folder to the spec's ``exchange_group``, when one is given and we are root.

        Members of the group can fetch, submit and receive feedback; anyone
        else can neither list nor read the course's folder. nbgrader's own
        modes inside the folder (an inbound that members can write but not
        list) are kept.
        """
        group_name = self.spec.grading.exchange_group
        if group_name is None or os.geteuid() != 0:
            return
        try:
            group = grp.getgrnam(group_name)
        except KeyError:
            raise KenshuError("grading.exchange_group_missing", group=group_name, course=self.spec.course_id) from None
        course_folder = exchange_root(self.spec) / self.spec.course_id
        course_folder.mkdir(parents=True, exist_ok=True)
        modes = {course_folder: 0o2750, course_folder / "outbound": 0o2755, course_folder / "inbound": 0o2730, course_folder / "feedback": 0o2711}
        for folder, mode in modes.items():
            folder.mkdir(exist_ok=True)
            os.chown(folder, 0, group.gr_gid)
            folder.chmod(mode)

    @property
    def results_file(self) -> Path:
        """Return the file that keeps the last autograde outcome of each trainee, for exports."""
        return self.root / "kenshu_autograde_results.json"

    def _save_results(self, assignment: str, results: list[TraineeResult]) -> None:
        stored = json.loads(self.results_file.read_text(encoding="utf-8")) if self.results_file.is_file() else {}
        stored[assignment] = [asdict(result) for result in results]
        self.results_file.write_text(json.dumps(stored, ensure_ascii=False, indent=1), encoding="utf-8")

    def last_results(self) -> list[TraineeResult]:
        """Return the outcome of the last autograde of every assignment."""
        if not self.results_file.is_file():
            return []
        stored = json.loads(self.results_file.read_text(encoding="utf-8"))
        return [
            TraineeResult(**{**entry, "problems": tuple(entry.get("problems", ()))}) for entries in stored.values() for entry in entries
        ]

    def feedback(self, assignment: str, trainee_ids: list[str]) -> list[Path]:
        """Write Japanese feedback for each trainee (see ``kenshu.grading.feedback``) and return it through the exchange.

        A trainee whose submission could not be graded gets a page with the
        reason. Returns the HTML files written.
        """
        from kenshu.grading.feedback import write_feedback

        results = {result.trainee_id: result for result in self.last_results() if result.assignment == assignment}
        files = []
        for trainee_id in trainee_ids:
            result = results.get(trainee_id, TraineeResult(trainee_id, assignment, "ok"))
            if result.status == "not_submitted":
                continue
            try:
                written = write_feedback(self, assignment, trainee_id, result)
            except Exception as error:  # noqa: BLE001  (nbgrader raises MissingEntry for a submission it never graded)
                logger.error("feedback for %s on %s failed: %s", trainee_id, assignment, error)
                continue
            files.extend(written)
            folder = self.root / "feedback" / trainee_id / assignment
            if (folder / "timestamp.txt").is_file() and (folder / "submission_secret.txt").is_file():
                outcome = self.api.release_feedback(assignment, trainee_id)
                if not outcome.get("success"):
                    logger.error("releasing feedback of %s on %s failed: %s", trainee_id, assignment, _last_error_line(outcome))
        return files
