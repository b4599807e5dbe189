"""make_process_log."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kenshu.datasets import make_process_log

NUMERIC = ["プレス荷重", "金型温度", "ストローク速度", "板厚", "潤滑油量"]


def test_columns_and_label():
    frame = make_process_log(100, random_state=0)
    assert list(frame.columns) == ["日時", "ロット", *NUMERIC[:4], "潤滑油", "潤滑油量", "品質"]
    assert set(frame["品質"]) <= {"良品", "不良品"}


def test_units_recorded():
    frame = make_process_log(10, random_state=0)
    assert frame.attrs["units"]["プレス荷重"] == "kN"
    assert frame.attrs["units"]["金型温度"] == "℃"
    assert frame.attrs["units"]["ストローク速度"] == "spm"


def test_units_in_columns_option():
    frame = make_process_log(10, units_in_columns=True, random_state=0)
    assert "プレス荷重[kN]" in frame.columns
    assert "品質" in frame.columns


def test_defect_count_exact():
    frame = make_process_log(1000, defect_rate=0.05, random_state=1)
    assert int((frame["品質"] == "不良品").sum()) == 50


def test_reproducible():
    first = make_process_log(300, random_state=4)
    second = make_process_log(300, random_state=4)
    assert first.equals(second)


def test_seed_changes_log():
    assert not make_process_log(50, random_state=4).equals(make_process_log(50, random_state=5))


def test_time_stamps_increase():
    frame = make_process_log(500, random_state=2)
    assert frame["日時"].is_monotonic_increasing


def test_label_depends_on_parameters():
    frame = make_process_log(3000, defect_rate=0.1, random_state=3)
    features = frame[NUMERIC].to_numpy()
    labels = (frame["品質"] == "不良品").to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    auc = cross_val_score(model, features, labels, cv=3, scoring="roc_auc").mean()
    assert auc > 0.75


def test_shuffled_label_not_predictable():
    frame = make_process_log(3000, defect_rate=0.1, random_state=3)
    features = frame[NUMERIC].to_numpy()
    labels = np.random.default_rng(0).permutation((frame["品質"] == "不良品").to_numpy())
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    auc = cross_val_score(model, features, labels, cv=3, scoring="roc_auc").mean()
    assert auc < 0.6


@pytest.mark.parametrize(("arguments", "fragment"), [({"n_samples": 0}, "n_samples"), ({"defect_rate": 1.0}, "defect_rate")])
def test_bad_argument_names_value(arguments, fragment):
    with pytest.raises(ValueError, match=fragment):
        make_process_log(**{"n_samples": 10, **arguments})
