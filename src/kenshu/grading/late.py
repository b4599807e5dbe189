"""Deadlines in Japan time and the late-submission rule of a course, on nbgrader's plugin seam.

nbgrader stores due dates and submission timestamps as UTC. The course spec
gives due dates as Japan time (JST, UTC+9, no daylight saving), so a deadline
of ``2026-06-11 23:59:59`` means 14:59:59 UTC that day. nbgrader's
``AssignLatePenalties`` preprocessor asks the plugin configured as
``AssignLatePenalties.plugin_class`` for each late notebook's penalty;
``JstLatePenalty`` answers with the rule from the spec.
"""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float

JST = ZoneInfo("Asia/Tokyo")
SECONDS_PER_DAY = 24 * 60 * 60


def as_jst(value: dt.datetime) -> dt.datetime:
    """Return *value* as an aware JST datetime; a naive value is taken to be JST already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=JST)
    return value.astimezone(JST)


def as_utc_naive(value: dt.datetime) -> dt.datetime:
    """Return *value* (naive means JST) as the naive UTC datetime nbgrader's gradebook stores."""
    return as_jst(value).astimezone(dt.timezone.utc).replace(tzinfo=None)


def days_late(total_seconds_late: float) -> int:
    """Return the number of started days in *total_seconds_late*: one second late is one day."""
    if total_seconds_late <= 0:
        return 0
    return math.ceil(total_seconds_late / SECONDS_PER_DAY)


class JstLatePenalty(LateSubmissionPlugin):
    """The late-submission rule of a course: ``none``, ``zero`` or ``percent_per_day``.

    ``percent_per_day`` takes ``percent`` of the notebook's score for every
    started day after the deadline, up to the whole score.
    """

    penalty_method = Enum(("none", "zero", "percent_per_day"), default_value="none").tag(config=True)
    percent_per_day = Float(0.0, min=0.0, max=100.0).tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        """Return the points to take from *score* for a notebook *total_seconds_late* after the deadline."""
        if total_seconds_late <= 0 or self.penalty_method == "none":
            return None
        if self.penalty_method == "zero":
            return score
        fraction = min(1.0, days_late(total_seconds_late) * self.percent_per_day / 100)
        self.log.info("%s is %d day(s) late: penalty %.0f%%", student_id, days_late(total_seconds_late), 100 * fraction)
        return round(score * fraction, 6)


def late_penalty_points(grading, score: float, total_seconds_late: float | None) -> float:
    """Return the points the course's rule takes from *score* for a submission *total_seconds_late* late.

    *grading* is the ``grading`` section of the course spec. The grade sheet
    and the feedback call this with the current score, so points given by
    hand after autograding, and a rule changed since, count at once. The
    penalty stored by nbgrader was computed from the autograded score only.
    """
    rule = JstLatePenalty(penalty_method=grading.late_penalty.rule, percent_per_day=float(grading.late_penalty.percent))
    return rule.late_submission_penalty("", score, total_seconds_late or 0.0) or 0.0
