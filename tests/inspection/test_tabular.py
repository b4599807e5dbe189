"""fit_tabular_classifier on generated process logs: columns, settings chosen on train, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from kenshu.datasets import make_process_log, train_validation_test_split
from kenshu.inspection import fit_tabular_classifier

LABEL = "品質"


@pytest.fixture(scope="module")
def process_log() -> tuple[pd.DataFrame, np.ndarray]:
    frame = make_process_log(800, defect_rate=0.12, random_state=7)
    target = (frame[LABEL] == "不良品").to_numpy().astype(np.int64)
    return frame.drop(columns=[LABEL]), target


@pytest.fixture(scope="module")
def split(process_log):
    _, target = process_log
    return train_validation_test_split(target, random_state=0)


@pytest.mark.parametrize("method", ["boosting", "logistic"])
def test_tabular_beats_chance_on_test(process_log, split, method: str) -> None:
    frame, target = process_log
    train, _, test = split
    program = fit_tabular_classifier(frame.iloc[train], target[train], method=method, cv=3, n_threads=1, random_state=0)
    scores = program.score(frame.iloc[test])
    assert scores.shape == (len(test),)
    assert np.all((scores >= 0) & (scores <= 1))
    assert roc_auc_score(target[test], scores) > 0.7


def test_tabular_columns_sorted_out(process_log, split) -> None:
    frame, target = process_log
    train, _, _ = split
    program = fit_tabular_classifier(frame.iloc[train], target[train], method="logistic")
    assert "日時" not in program.columns
    assert program.details["dropped_columns"] == ["日時"]
    assert set(program.categorical) == {"ロット", "潤滑油"}
    assert "プレス荷重" in program.columns


def test_tabular_settings_from_cross_validation(process_log, split) -> None:
    frame, target = process_log
    train, _, _ = split
    program = fit_tabular_classifier(frame.iloc[train], target[train], method="boosting", cv=3, n_threads=1)
    assert set(program.details["settings"]) == {"learning_rate", "max_leaf_nodes"}
    assert 0.5 < program.cv_roc_auc <= 1.0
    assert program.training_seconds > 0


def test_tabular_same_seed_same_scores(process_log, split) -> None:
    frame, target = process_log
    train, validation, _ = split
    first = fit_tabular_classifier(frame.iloc[train], target[train], cv=3, n_threads=1, random_state=3).score(frame.iloc[validation])
    second = fit_tabular_classifier(frame.iloc[train], target[train], cv=3, n_threads=1, random_state=3).score(frame.iloc[validation])
    assert np.array_equal(first, second)


def test_tabular_accepts_arrays() -> None:
    rng = np.random.RandomState(0)
    values = rng.normal(size=(200, 3))
    target = (values[:, 0] + 0.3 * rng.normal(size=200) > 0.8).astype(int)
    program = fit_tabular_classifier(values, target, method="logistic")
    assert program.columns == ["x0", "x1", "x2"]
    assert roc_auc_score(target, program.score(values)) > 0.9


def test_tabular_new_category_in_scoring(process_log, split) -> None:
    frame, target = process_log
    train, _, test = split
    program = fit_tabular_classifier(frame.iloc[train], target[train], method="logistic")
    unseen = frame.iloc[test].copy()
    unseen["ロット"] = "L999"
    assert np.all(np.isfinite(program.score(unseen)))


@pytest.mark.parametrize(
    ("target", "options", "message"),
    [
        ([0, 1, 2] * 20, {}, "target must be 0"),
        ([0, 1] * 10, {}, "differ in length"),
        ([0] * 58 + [1, 1], {}, "at least cv=4"),
        ([0, 1] * 30, {"method": "forest"}, "method must be one of"),
        ([0, 1] * 30, {"categorical": ["色"]}, "not found"),
    ],
)
def test_tabular_rejects_bad_input(target, options, message: str) -> None:
    values = pd.DataFrame({"a": np.arange(60.0), "b": np.arange(60.0) % 7})
    with pytest.raises(ValueError, match=message):
        fit_tabular_classifier(values, target, **options)


def test_tabular_score_needs_training_columns(process_log, split) -> None:
    frame, target = process_log
    train, _, test = split
    program = fit_tabular_classifier(frame.iloc[train], target[train], method="logistic")
    with pytest.raises(ValueError, match="プレス荷重"):
        program.score(frame.iloc[test].drop(columns=["プレス荷重"]))
