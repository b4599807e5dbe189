"""Threshold choice on constructed scores whose right threshold is worked out by hand."""

from __future__ import annotations

import math

import pytest

from kenshu.inspection import choose_threshold

# Good parts score 0.1, 0.2, 0.3, 0.6 and defects 0.5, 0.7, 0.9.
GOOD = [0.1, 0.2, 0.3, 0.6]
DEFECT = [0.5, 0.7, 0.9]
SCORES = GOOD + DEFECT
LABELS = [0] * len(GOOD) + [1] * len(DEFECT)


def test_no_miss_rule_worked_case() -> None:
    # To catch every defect the threshold must be at most 0.5, the lowest defect score.
    # The highest score below 0.5 is the good 0.3, so the threshold sits halfway: 0.4.
    # Only the good 0.6 is then set aside: 1 of 4 good parts.
    choice = choose_threshold(SCORES, LABELS)
    assert choice.threshold == pytest.approx(0.4)
    assert choice.misses == 0
    assert choice.false_alarms == 1
    assert choice.false_alarm_rate == pytest.approx(0.25)
    assert choice.recall == pytest.approx(1.0)
    # 3 defects and 1 good part of 7 are set aside: 4/7 of a thousand.
    assert choice.set_aside_per_thousand == pytest.approx(4000 / 7)


def test_no_miss_rule_line_defect_rate() -> None:
    # At a 1 % defect rate on the line: 1000 * (0.01 * 1.0 + 0.99 * 0.25) = 257.5.
    choice = choose_threshold(SCORES, LABELS, defect_rate=0.01)
    assert choice.set_aside_per_thousand == pytest.approx(257.5)
    assert choice.false_alarms_per_thousand_good == pytest.approx(250.0)


def test_target_recall_allows_one_miss() -> None:
    # Defects 0.35, 0.5, 0.7, 0.9 with recall 0.75: one defect (0.35) may pass,
    # so the threshold sits between 0.35 and 0.5, at 0.425.
    scores = GOOD + [0.35, 0.5, 0.7, 0.9]
    labels = [0] * 4 + [1] * 4
    choice = choose_threshold(scores, labels, target_recall=0.75)
    assert choice.threshold == pytest.approx(0.425)
    assert choice.misses == 1
    assert choice.false_alarms == 1


def test_good_only_false_alarm_rule() -> None:
    # 100 good parts scored 0.00 .. 0.99; 5 % may be set aside: the 5 highest (0.95 .. 0.99),
    # so the threshold sits between 0.94 and 0.95.
    scores = [index / 100 for index in range(100)]
    choice = choose_threshold(scores, [0] * 100, max_false_alarm_rate=0.05)
    assert choice.rule == "false_alarm"
    assert choice.threshold == pytest.approx(0.945)
    assert choice.false_alarms == 5
    assert math.isnan(choice.recall)


def test_cost_rule_cheap_misses() -> None:
    # Threshold 0.4 costs one false alarm; 0.65 costs one missed defect (0.5).
    # With a miss costing 0.5 and a false alarm 1, 0.65 is cheaper.
    choice = choose_threshold(SCORES, LABELS, rule="cost", miss_cost=0.5, false_alarm_cost=1.0)
    assert choice.threshold == pytest.approx(0.65)
    assert choice.misses == 1
    assert choice.false_alarms == 0


def test_cost_rule_expensive_misses() -> None:
    choice = choose_threshold(SCORES, LABELS, rule="cost", miss_cost=10.0, false_alarm_cost=1.0)
    assert choice.threshold == pytest.approx(0.4)
    assert choice.misses == 0


@pytest.mark.parametrize(
    ("scores", "labels"),
    [([0.1, float("nan")], [0, 1]), ([0.1, 0.2], [0, 2]), ([0.1], [0, 1]), ([], [])],
)
def test_invalid_input_rejected(scores, labels) -> None:
    with pytest.raises(ValueError):
        choose_threshold(scores, labels)
