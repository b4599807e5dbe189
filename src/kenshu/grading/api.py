"""The one place where kenshu calls nbgrader, through ``nbgrader.apps.NbGraderAPI``.

Each step of an instructor's round (generate, release, collect, autograde,
feedback) is one method of ``CourseGrader``. nbgrader reports failures as a
``success`` flag with a log; here a failure of the whole step raises
KenshuError, and a failure for one trainee becomes a ``TraineeResult`` with
the reason, so that the rest of the cohort is still graded.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from kenshu.courses.spec import CourseSpec
from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.grading.config import exchange_root, load_nbgrader_config, nbgrader_root
from kenshu.progress import progress

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

    NOTE: this also hides the warning for a test cell that a trainee really
    edited. The grade is unaffected because nbgrader restores every test cell
    from the gradebook before it runs the notebook.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not (
            (text.startswith("Attribute 'checksum' for cell") and "has changed" in text)
            or text.startswith("Alternative text is missing")
        )


logging.getLogger("traitlets").addFilter(_KnownNoiseFilter())


@dataclass(frozen=True)
class TraineeResult:
    """The outcome of one step for one trainee: ``status`` is ``ok``, ``failed`` or ``not_submitted``."""

    trainee_id: str
    assignment: str
    status: str
    reason: str = ""


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
        if not (self.root / "nbgrader_config.py").is_file():
            raise KenshuError("grading.not_built", course=spec.course_dir)

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

    @property
    def assignments(self) -> list[str]:
        """Return the assignments of the course, in the order of the spec."""
        return [entry["name"] for entry in self.config.CourseDirectory.db_assignments]

    def _run(self, step: str, assignment: str, result: dict) -> None:
        if not result.get("success"):
            logger.error("nbgrader %s failed for %s: %s", step, assignment, result.get("log"))
            raise KenshuError("grading.step_failed", step=step, assignment=assignment, reason=_last_error_line(result))
        logger.info("nbgrader %s done for %s", step, assignment)

    def generate(self, assignment: str) -> Path:
        """Generate the trainees' version of *assignment* (solutions and hidden tests removed)."""
        logger.info("generating %s from %s", assignment, self.root / "source" / assignment)
        self._run("generate_assignment", assignment, self.api.generate_assignment(assignment, force=True))
        return self.root / "release" / assignment

    def release(self, assignment: str) -> Path:
        """Release *assignment* to the exchange, replacing an earlier release."""
        outbound = exchange_root(self.spec) / self.spec.course_id / "outbound" / assignment
        if outbound.exists():
            self._run("list --remove", assignment, self.api.unrelease(assignment))
        self._run("release_assignment", assignment, self.api.release_assignment(assignment))
        return outbound

    def collect(self, assignment: str) -> list[str]:
        """Collect the submissions of *assignment* from the exchange; return the trainees who submitted."""
        self._run("collect", assignment, self.api.collect(assignment, update=True))
        return sorted(self.api.get_submitted_students(assignment))

    def autograde(self, assignment: str, trainee_ids: list[str] | None = None) -> list[TraineeResult]:
        """Autograde *assignment* for each trainee; a failure for one trainee does not stop the others."""
        submitted = set(self.api.get_submitted_students(assignment))
        trainee_ids = trainee_ids if trainee_ids is not None else [trainee.id for trainee in self.spec.trainees]
        results = []
        for trainee_id in progress(trainee_ids, description=f"autograde {assignment}", unit="人"):
            if trainee_id not in submitted:
                results.append(TraineeResult(trainee_id, assignment, "not_submitted"))
                continue
            problem = self.inspect_submission(assignment, trainee_id)
            if problem is not None:
                logger.error("submission of %s for %s cannot be graded: %s", assignment, trainee_id, problem)
                results.append(TraineeResult(trainee_id, assignment, "failed", problem))
                continue
            outcome = self.api.autograde(assignment, trainee_id, force=True, create=True)
            if outcome.get("success"):
                results.append(TraineeResult(trainee_id, assignment, "ok"))
            else:
                reason = _last_error_line(outcome)
                logger.error("autograde of %s for %s failed: %s", assignment, trainee_id, reason)
                results.append(TraineeResult(trainee_id, assignment, "failed", reason))
        self._save_results(assignment, results)
        return results

    def inspect_submission(self, assignment: str, trainee_id: str) -> str | None:
        """Return why the submitted notebooks of *trainee_id* cannot be graded, or None if they can.

        nbgrader grades a notebook with no grade cells as zero without a word;
        a trainee who saved an empty notebook deserves to be told instead.
        """
        submitted = self.root / "submitted" / trainee_id / assignment
        for source_path in sorted((self.root / "source" / assignment).glob("*.ipynb")):
            path = submitted / source_path.name
            if not path.is_file():
                return message("grading.reason.notebook_missing", notebook=source_path.name)
            try:
                notebook = nbformat.read(path, as_version=4)
            except Exception as error:  # noqa: BLE001  (nbformat raises several JSON and schema errors)
                return message("grading.reason.unreadable", notebook=path.name, detail=str(error).splitlines()[0][:200])
            if not any("nbgrader" in cell.metadata for cell in notebook.cells):
                return message("grading.reason.no_grade_cells", notebook=path.name)
        return None

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
        return [TraineeResult(**entry) for entries in stored.values() for entry in entries]

    def feedback(self, assignment: str, trainee_ids: list[str]) -> list[Path]:
        """Write HTML feedback for each trainee whose submission was graded; return the files."""
        files = []
        for trainee_id in trainee_ids:
            outcome = self.api.generate_feedback(assignment, trainee_id, force=True)
            if not outcome.get("success"):
                logger.error("feedback for %s on %s failed: %s", trainee_id, assignment, _last_error_line(outcome))
                continue
            self.api.release_feedback(assignment, trainee_id)
            files.extend(sorted((self.root / "feedback" / trainee_id / assignment).glob("*.html")))
        return files
