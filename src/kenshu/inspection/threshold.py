"""Choose the score threshold for the line: how many defects may pass and how many good parts a person re-checks.

A part is judged 不良品 when its score is at or above the threshold. The
default rule misses no defect of the validation set and, among the thresholds
that do so, sets aside the fewest good parts (the lowest false-alarm rate).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

import numpy as np

logger = logging.getLogger(__name__)

RULES = ("recall", "false_alarm", "cost")


@dataclass(frozen=True)
class ThresholdChoice:
    """A chosen threshold and what it does on the scores it was chosen from.

    Attributes
    ----------
    threshold : float
        Parts with a score at or above it are judged 不良品.
    rule : str
        ``"recall"`` (reach ``target_recall`` with the fewest false alarms),
        ``"false_alarm"`` (at most ``max_false_alarm_rate`` of good parts set
        aside; used when there is no defect to tune on) or ``"cost"``
        (lowest total cost of misses and false alarms).
    recall : float
        Share of defects judged 不良品 (NaN without defects).
    false_alarm_rate : float
        Share of good parts judged 不良品 (NaN without good parts).
    n_good, n_defect, misses, false_alarms : int
        Counts behind the two rates.
    defect_rate : float
        Share of defective parts assumed on the line for the per-thousand figure.
    set_aside_per_thousand : float
        Parts per thousand on the line judged 不良品 and set aside for a person:
        ``1000 * (defect_rate * recall + (1 - defect_rate) * false_alarm_rate)``.
    false_alarms_per_thousand_good : float
        Good parts per thousand set aside by mistake.
    """

    threshold: float
    rule: str
    recall: float
    false_alarm_rate: float
    n_good: int
    n_defect: int
    misses: int
    false_alarms: int
    defect_rate: float
    set_aside_per_thousand: float
    false_alarms_per_thousand_good: float

    def to_dict(self) -> dict:
        """Return the fields as a dict of plain Python numbers (for JSON)."""
        return {key: (None if isinstance(value, float) and math.isnan(value) else value) for key, value in asdict(self).items()}


def _between(lower: float, upper: float) -> float:
    """Return a threshold between two neighbouring scores, so a small shift of either does not flip a verdict."""
    return float(lower + (upper - lower) / 2.0)


def _just_above(value: float) -> float:
    return float(np.nextafter(value, np.inf))


def _recall_threshold(good: np.ndarray, defect: np.ndarray, target_recall: float) -> float:
    # The k lowest-scoring defects may be missed; the threshold sits just below the next one.
    allowed_misses = int(math.floor((1.0 - target_recall) * len(defect) + 1e-9))
    ordered = np.sort(defect)
    upper = float(ordered[allowed_misses])
    below = np.concatenate([good[good < upper], ordered[:allowed_misses]])
    below = below[below < upper]
    return _between(float(below.max()), upper) if below.size else upper


def _false_alarm_threshold(good: np.ndarray, max_false_alarm_rate: float) -> float:
    ordered = np.sort(good)[::-1]
    allowed = int(math.floor(max_false_alarm_rate * len(ordered) + 1e-9))
    if allowed == 0:
        return _just_above(float(ordered[0]))
    if allowed >= len(ordered):
        return float(ordered[-1])

    # Tied scores cannot be split: move down to the first gap between different scores.
    while allowed > 0 and ordered[allowed - 1] == ordered[allowed]:
        allowed -= 1
    if allowed == 0:
        return _just_above(float(ordered[0]))
    return _between(float(ordered[allowed]), float(ordered[allowed - 1]))


def _cost_threshold(good: np.ndarray, defect: np.ndarray, miss_cost: float, false_alarm_cost: float) -> float:
    scores = np.unique(np.concatenate([good, defect]))
    # Candidates: each score itself (that part and all above are 不良品) and just above the highest.
    candidates = list(scores) + [_just_above(float(scores[-1]))]
    best_threshold, best_cost = candidates[0], math.inf
    for index, candidate in enumerate(candidates):
        cost = miss_cost * np.sum(defect < candidate) + false_alarm_cost * np.sum(good >= candidate)
        # Strictly lower only, so among equal costs the lowest threshold (fewest misses) is kept.
        if cost < best_cost:
            best_cost = cost
            best_threshold = candidate if index == 0 or index == len(candidates) - 1 else _between(float(scores[index - 1]), float(candidate))
    return float(best_threshold)


def choose_threshold(
    scores,
    labels,
    *,
    rule: str = "recall",
    target_recall: float = 1.0,
    max_false_alarm_rate: float = 0.01,
    miss_cost: float = 10.0,
    false_alarm_cost: float = 1.0,
    defect_rate: float | None = None,
) -> ThresholdChoice:
    """Choose the score threshold for the line from validation scores.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Scores, higher meaning more likely 不良品.
    labels : array-like of shape (n_samples,)
        1 = 不良品, 0 = 良品.
    rule : {"recall", "false_alarm", "cost"}, default="recall"
        ``"recall"``: the highest threshold that still judges at least
        ``target_recall`` of the defects 不良品, which is the lowest
        false-alarm rate at that recall. ``"false_alarm"``: the lowest
        threshold that sets aside at most ``max_false_alarm_rate`` of the
        good parts. ``"cost"``: the lowest ``miss_cost * misses +
        false_alarm_cost * false_alarms``. When *labels* has no defect,
        ``"recall"`` and ``"cost"`` fall back to ``"false_alarm"``.
    target_recall : float, default=1.0
        Share of defects that must be caught, in (0, 1]. 1.0 misses none.
    max_false_alarm_rate : float, default=0.01
        Share of good parts that may be set aside, in [0, 1).
    miss_cost, false_alarm_cost : float, default=10.0 and 1.0
        Cost of one missed defect and of one good part set aside.
    defect_rate : float, optional
        Share of defective parts on the line, for ``set_aside_per_thousand``.
        By default the share in *labels*.

    Returns
    -------
    ThresholdChoice

    Raises
    ------
    ValueError
        If the arrays differ in length, are empty, hold non-finite scores or
        labels other than 0 and 1, or an option is out of range.

    Notes
    -----
    The threshold is placed halfway between the last score judged 良品 and
    the first judged 不良品, so it does not sit on a validation score.

    Examples
    --------
    >>> choice = choose_threshold([0.1, 0.3, 0.6, 0.5, 0.9], [0, 0, 0, 1, 1])
    >>> round(choice.threshold, 2), choice.misses, choice.false_alarms
    (0.4, 0, 1)
    """
    score_array = np.asarray(scores, dtype=np.float64).ravel()
    label_array = np.asarray(labels).ravel()
    if score_array.shape != label_array.shape:
        raise ValueError(f"scores and labels differ in length: {score_array.size} and {label_array.size}")
    if score_array.size == 0:
        raise ValueError("scores is empty")
    if not np.all(np.isfinite(score_array)):
        raise ValueError("scores contains NaN or infinite values")
    if not np.isin(label_array, (0, 1)).all():
        raise ValueError(f"labels must be 0 (良品) or 1 (不良品), got values {sorted(set(label_array.tolist()))}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if not 0.0 < target_recall <= 1.0:
        raise ValueError(f"target_recall must be in (0, 1], got {target_recall!r}")
    if not 0.0 <= max_false_alarm_rate < 1.0:
        raise ValueError(f"max_false_alarm_rate must be in [0, 1), got {max_false_alarm_rate!r}")
    if miss_cost < 0 or false_alarm_cost < 0:
        raise ValueError(f"costs must not be negative, got miss_cost={miss_cost!r}, false_alarm_cost={false_alarm_cost!r}")
    if defect_rate is not None and not 0.0 <= defect_rate <= 1.0:
        raise ValueError(f"defect_rate must be in [0, 1], got {defect_rate!r}")

    good = score_array[label_array == 0]
    defect = score_array[label_array == 1]

    # Step 1: the threshold by the rule (with no defect to tune on, only false alarms can be bounded).
    if defect.size == 0 and rule != "false_alarm":
        logger.info("no defect among the scores: choosing the threshold by the false-alarm rate %.3f", max_false_alarm_rate)
        rule = "false_alarm"
    if rule == "false_alarm" and good.size == 0:
        raise ValueError("rule 'false_alarm' needs scores of good parts (label 0), but there are none")
    if rule == "recall":
        threshold = _recall_threshold(good, defect, target_recall)
    elif rule == "false_alarm":
        threshold = _false_alarm_threshold(good, max_false_alarm_rate)
    else:
        threshold = _cost_threshold(good, defect, miss_cost, false_alarm_cost)

    # Step 2: what the threshold does on these scores.
    misses = int(np.sum(defect < threshold))
    false_alarms = int(np.sum(good >= threshold))
    recall = (defect.size - misses) / defect.size if defect.size else math.nan
    false_alarm_rate = false_alarms / good.size if good.size else math.nan
    rate = defect.size / score_array.size if defect_rate is None else float(defect_rate)
    defects_set_aside = rate * recall if defect.size else 0.0
    good_set_aside = (1.0 - rate) * false_alarm_rate if good.size else 0.0
    set_aside = 1000.0 * (defects_set_aside + good_set_aside)
    return ThresholdChoice(
        threshold=threshold,
        rule=rule,
        recall=float(recall),
        false_alarm_rate=float(false_alarm_rate),
        n_good=int(good.size),
        n_defect=int(defect.size),
        misses=misses,
        false_alarms=false_alarms,
        defect_rate=rate,
        set_aside_per_thousand=float(set_aside),
        false_alarms_per_thousand_good=float(1000.0 * false_alarm_rate) if good.size else math.nan,
    )
