"""The KPI plan, ``kpi_reports/plan.yml``: yearly targets and the rules for counting.

The plan is the coordinator's, not the code's: targets for a new fiscal year
and a change of rule (say, counting a trainee only after every session) are
made there and change the next report.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kenshu.errors import CollectedErrors
from kenshu.i18n import message
from kenshu.kpi_reports.normalise import Status
from kenshu.paths import project_root
from kenshu.yaml_spec import DocumentMessages, Problems, plain, read_yaml_document, report_validation_error

logger = logging.getLogger(__name__)

KPI_IDS = ("trainees", "ai_iot_companies", "ai_system_companies", "value_added")
PLAN_MESSAGES = DocumentMessages(
    not_found="kpi.plan_not_found",
    not_utf8="kpi.plan_not_utf8",
    yaml_syntax="kpi.plan_yaml",
    not_a_mapping="kpi.plan_not_a_mapping",
    duplicate_key="kpi.plan_duplicate_key",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class YearTargets(_Model):
    """The targets of one fiscal year; a KPI left out has no target that year."""

    trainees: float | None = None
    ai_iot_companies: float | None = None
    ai_system_companies: float | None = None
    value_added: float | None = None


class EvidenceWindow(_Model):
    """Days around a session day in which an nbgrader submission or hub activity counts as attendance."""

    enabled: bool = True
    days_before: int = Field(default=0, ge=0)
    days_after: int = Field(default=1, ge=0)
    overrides_absent: bool = False



class Rules(_Model):
    """Rules that turn attendance into the trainee count."""

    min_session_share: float = Field(default=0.5, gt=0, le=1)
    attended_statuses: list[Status] = Field(default_factory=lambda: [Status.PRESENT, Status.LATE, Status.LEFT_EARLY])
    count_once_per_year: bool = True
    nbgrader_evidence: EvidenceWindow = Field(default_factory=EvidenceWindow)
    hub_evidence: EvidenceWindow = Field(default_factory=lambda: EvidenceWindow(days_after=0))
    # Submission and hub timestamps are UTC; this zone decides on which day they fall.
    time_zone: str = "Asia/Tokyo"

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(message("kpi.plan_bad_time_zone", value=value)) from None
        return value


class Plan(_Model):
    """A validated plan.yml."""

    targets: dict[int, YearTargets] = Field(min_length=1)
    rules: Rules = Field(default_factory=Rules)
    path: Path | None = Field(default=None, exclude=True)

    @property
    def first_year(self) -> int:
        """Return the first fiscal year of the plan; cumulative totals start there."""
        return min(self.targets)

    def target(self, kpi: str, year: int) -> float | None:
        """Return the target of *kpi* in fiscal *year*, or None when the plan sets none."""
        if kpi not in KPI_IDS:
            raise ValueError(f"unknown KPI {kpi!r}; expected one of {KPI_IDS}")
        targets = self.targets.get(year)
        return getattr(targets, kpi) if targets else None


def default_plan_path() -> Path:
    """Return ``kpi_reports/plan.yml`` of the checkout."""
    return project_root() / "kpi_reports" / "plan.yml"


def load_plan(path: str | Path | None = None) -> Plan:
    """Read and validate a KPI plan.

    Raises
    ------
    KenshuError
        If the file is missing, is not YAML or writes a key twice.
    CollectedErrors
        If a key or value is invalid; ``problems`` lists each with its key and line.
    """
    path = Path(path) if path is not None else default_plan_path()
    document = read_yaml_document(path, PLAN_MESSAGES)
    problems = Problems(path, document)
    try:
        plan = Plan.model_validate({**plain(document), "path": path})
    except ValidationError as error:
        report_validation_error(error, problems)
        raise CollectedErrors("kpi.plan_invalid", problems.items, path=path) from None
    logger.info("KPI plan %s: years %s", path, sorted(plan.targets))
    return plan
