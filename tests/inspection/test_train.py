"""train_inspector end to end on a small generated folder: files, report numbers, reload."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from kenshu.inspection import load_exported, predict


def _report_metrics(trained) -> dict[str, str]:
    text = trained.report_path.read_text(encoding="utf-8")
    return dict(re.findall(r'data-metric="([^"]+)">([^<]*)<', text))


def _test_predictions(trained) -> tuple[list[str], np.ndarray, np.ndarray]:
    with open(trained.files["predictions"], encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row["path"] for row in rows], np.array([int(row["label"]) for row in rows]), np.array([float(row["score"]) for row in rows])


@pytest.mark.parametrize(
    "name",
    ["model.pt", "model.json", "report.html", "metrics.json", "test_predictions.csv",
     "confusion_matrix.png", "mistakes.png", "heat_maps.png", "dataset_card.json"],
)
def test_output_file_written(trained, name: str) -> None:
    assert (trained.out_dir / name).is_file()


def test_learning_curves_only_for_cnn(trained) -> None:
    # The report draws the training curves of the program kept; only the CNN, alone or combined, has epochs.
    assert (trained.out_dir / "learning_curves.png").is_file() == (trained.kind in ("cnn", "ensemble"))


def test_report_is_japanese(trained) -> None:
    text = trained.report_path.read_text(encoding="utf-8")
    assert '<html lang="ja">' in text
    assert "不良品の検出率" in text
    assert "1000 個あたり" in text


def test_report_numbers_match_recomputation(trained) -> None:
    reported = _report_metrics(trained)
    _, labels, scores = _test_predictions(trained)
    threshold = float(reported["threshold"])
    judged = scores >= threshold
    good, defect = labels == 0, labels == 1

    recall = judged[defect].mean()
    false_alarm = judged[good].mean()
    assert float(reported["test.accuracy"]) == pytest.approx(np.mean(judged == defect), abs=5e-4)
    assert float(reported["test.recall"]) == pytest.approx(recall, abs=5e-4)
    assert float(reported["test.miss_rate"]) == pytest.approx(1 - recall, abs=5e-4)
    assert float(reported["test.false_alarm_rate"]) == pytest.approx(false_alarm, abs=5e-4)
    assert float(reported["test.balanced_accuracy"]) == pytest.approx((recall + 1 - false_alarm) / 2, abs=5e-4)
    assert float(reported["test.roc_auc"]) == pytest.approx(roc_auc_score(labels, scores), abs=5e-4)
    assert float(reported["test.set_aside_per_thousand"]) == pytest.approx(1000 * judged.mean(), abs=0.05)


def test_report_confusion_matches(trained) -> None:
    reported = _report_metrics(trained)
    _, labels, scores = _test_predictions(trained)
    judged = scores >= float(reported["threshold"])
    expected = [np.sum(~judged & (labels == 0)), np.sum(judged & (labels == 0)),
                np.sum(~judged & (labels == 1)), np.sum(judged & (labels == 1))]
    cells = ["good_judged_good", "good_judged_defect", "defect_judged_good", "defect_judged_defect"]
    assert [int(reported[f"test.confusion.{cell}"]) for cell in cells] == expected


def test_validation_catches_every_defect(trained) -> None:
    assert trained.threshold.misses == 0
    assert trained.validation.recall == pytest.approx(1.0)


def test_threshold_same_everywhere(trained) -> None:
    config = json.loads((trained.out_dir / "model.json").read_text(encoding="utf-8"))
    metrics = json.loads((trained.out_dir / "metrics.json").read_text(encoding="utf-8"))
    assert config["threshold"] == pytest.approx(trained.threshold.threshold)
    assert metrics["threshold"]["threshold"] == pytest.approx(trained.threshold.threshold)


def test_reloaded_model_gives_test_scores(trained) -> None:
    paths, _, scores = _test_predictions(trained)
    verdicts = predict(load_exported(trained.out_dir), paths)
    assert np.allclose([verdict.score for verdict in verdicts], scores, atol=1e-5)


def test_both_programs_compared(trained) -> None:
    assert set(trained.candidates) == {"features", "cnn", "ensemble"}
    assert trained.kind in trained.candidates


def test_export_measured(trained) -> None:
    assert trained.model_size_bytes == trained.model_path.stat().st_size
    assert trained.seconds_per_image > 0
