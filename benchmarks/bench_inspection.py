"""Benchmark of the inspection programs on generated press parts, magnetic tile photos and the AI4I failure label.

For each data set and program: train on the training split, choose the
threshold on the validation split (miss no validation defect), and measure
on the test split, which is never used for any choice. Settings inside a
program are chosen by cross-validation on the training split (logistic
regression ``C``, boosting settings) or by the validation split (the CNN's
best epoch and early stop). Printed per program: accuracy, balanced accuracy,
defect recall, false-alarm rate and ROC AUC on test, wall-clock training
time, the CPU time of the process during training (all threads; less
affected than wall-clock time by other work on a shared machine), the ratio
of the wall-clock time to that of the baseline, and the peak resident memory
of the process while that program trained (sampled every 50 ms with psutil).
The baseline, a plain logistic regression on raw pixels (raw columns for
AI4I), runs first in the same process.

Usage::

    .venv/bin/python benchmarks/bench_inspection.py [--threads N] [--realdata DIR]

Real data is read from ``shared/realdata`` beside the checkout; a data set
that is absent is skipped with the reason printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("KENSHU_PROGRESS", "0")

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import torch  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from kenshu.datasets import load_image_folder, load_sensor_csv, make_press_parts, save_image_folder, train_validation_test_split  # noqa: E402
from kenshu.inspection import (  # noqa: E402
    choose_threshold,
    combine_programs,
    evaluate_scores,
    fit_anomaly_detector,
    fit_cnn,
    fit_feature_baseline,
    fit_tabular_classifier,
    score_images,
)

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


class PeakMemory:
    """Sample the resident memory of this process in a thread and keep the maximum (bytes)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._process = psutil.Process()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_program(
    name: str,
    fit: Callable[[], Callable[[np.ndarray], np.ndarray]],
    validation,
    test,
    *,
    baseline: dict | None = None,
    members: list[dict] | None = None,
) -> dict:
    """Fit with *fit* (which returns a scoring function), threshold on validation, measure on test, and print one row.

    *baseline* is the row of the reference program; the ratio of training times is printed against it.
    *members* are the rows of programs that *fit* only combines: their times are added and their peak kept.
    """
    with PeakMemory() as memory:
        started = time.perf_counter()
        cpu_started = time.process_time()
        score = fit()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    peak = memory.peak
    for member in members or []:
        seconds += member["train_s"]
        cpu_seconds += member["cpu_s"]
        peak = max(peak, member["peak_mb"] * 2**20)
    validation_scores = score(validation[0])
    choice = choose_threshold(validation_scores, validation[1])
    metrics = evaluate_scores(score(test[0]), test[1], choice.threshold)
    row = {
        "program": name,
        "accuracy": metrics.accuracy,
        "balanced_accuracy": metrics.balanced_accuracy,
        "recall": metrics.recall,
        "false_alarm_rate": metrics.false_alarm_rate,
        "roc_auc": metrics.roc_auc,
        "train_s": seconds,
        "cpu_s": cpu_seconds,
        "peak_mb": peak / 2**20,
    }
    ratio = seconds / baseline["train_s"] if baseline else 1.0
    print(
        f"  {name:<38} acc {row['accuracy']:.3f}  bal.acc {row['balanced_accuracy']:.3f}  "
        f"recall {row['recall']:.3f}  false-alarm {row['false_alarm_rate']:.3f}  AUC {row['roc_auc']:.3f}  "
        f"train {row['train_s']:6.1f} s (CPU {row['cpu_s']:6.1f} s, {ratio:6.1f}x baseline)  peak RSS {row['peak_mb']:5.0f} MB  "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )

    # A second operating point, also chosen on validation only: the threshold with the best
    # balanced accuracy there (misses and false alarms weighted by the size of their class).
    n_defect = int(np.sum(validation[1] == 1))
    n_good = len(validation[1]) - n_defect
    if n_defect and n_good:
        balanced = choose_threshold(validation_scores, validation[1], rule="cost", miss_cost=1 / n_defect, false_alarm_cost=1 / n_good)
        at_balanced = evaluate_scores(score(test[0]), test[1], balanced.threshold)
        row["balanced_accuracy_at_balanced_threshold"] = at_balanced.balanced_accuracy
        print(
            f"    at the validation-balanced threshold: bal.acc {at_balanced.balanced_accuracy:.3f}  "
            f"recall {at_balanced.recall:.3f}  false-alarm {at_balanced.false_alarm_rate:.3f}",
            flush=True,
        )
    return row


def image_programs(images: np.ndarray, target: np.ndarray, *, epochs: int, random_state: int = 0) -> list[dict]:
    """Run the raw-pixel reference, the feature baseline, the CNN and the good-parts-only detector on one image set."""
    train, validation, test = train_validation_test_split(target, random_state=random_state)
    valid = (images[validation], target[validation])
    tested = (images[test], target[test])
    print(f"  split: train {len(train)}, validation {len(validation)}, test {len(test)} "
          f"(defects {target[train].sum()}/{target[validation].sum()}/{target[test].sum()}), image {images.shape[-1]} px", flush=True)

    def raw_pixels():
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
        model.fit(images[train].reshape(len(train), -1), target[train])
        return lambda x: model.predict_proba(x.reshape(len(x), -1))[:, 1]

    fitted = {}

    def features():
        program = fitted["features"] = fit_feature_baseline(images[train], target[train], random_state=random_state)
        print(f"    features: {program.details}", flush=True)
        return lambda x: score_images(program.scorer, x)

    def cnn():
        program = fitted["cnn"] = fit_cnn(images[train], target[train], *valid, epochs=epochs, random_state=random_state)
        print(f"    CNN: {program.details}", flush=True)
        return lambda x: score_images(program.scorer, x)

    def ensemble():
        program = combine_programs([fitted["features"], fitted["cnn"]])
        return lambda x: score_images(program.scorer, x)

    def anomaly():
        # Good training images only; the training defects are not used at all.
        good = train[target[train] == 0]
        program = fit_anomaly_detector(images[good], random_state=random_state)
        print(f"    good parts only: method {program.details['method']}", flush=True)
        return lambda x: score_images(program.scorer, x)

    baseline = run_program("baseline: logistic regression, raw pixels", raw_pixels, valid, tested)
    rows = [baseline]
    rows.append(run_program("features + logistic regression", features, valid, tested, baseline=baseline))
    rows.append(run_program(f"small CNN (at most {epochs} epochs)", cnn, valid, tested, baseline=baseline))
    rows.append(run_program("features and CNN, mean of logits", ensemble, valid, tested, baseline=baseline, members=rows[1:3]))
    rows.append(run_program("good parts only (異常検知)", anomaly, valid, tested, baseline=baseline))
    return rows


def bench_press_parts(args) -> None:
    print(f"\n== generated press parts: make_press_parts(400, random_state=0), loaded at {args.press_size} px", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        save_image_folder(make_press_parts(400, image_size=args.press_size, random_state=0), folder)
        data = load_image_folder(folder, image_size=args.press_size, write_card=False, show_progress=False)
    image_programs(data.images, data.target, epochs=args.press_epochs)


def bench_magnetic_tile(args) -> None:
    folder = args.realdata / "magnetic_tile"
    print(f"\n== magnetic tile photos ({folder}), defect = MT_Blowhole + MT_Crack, good = MT_Free, {args.tile_size} px", flush=True)
    if not folder.is_dir():
        print(f"  skipped: folder not found: {folder}")
        return
    data = load_image_folder(folder, good_class="MT_Free", image_size=args.tile_size, write_card=False, show_progress=False)
    counts = {name: int(np.sum(data.class_index == i)) for i, name in enumerate(data.class_names)}
    print(f"  classes: {counts}; problems reported by the loader: {len(data.problems)}", flush=True)
    image_programs(data.images, data.target, epochs=args.tile_epochs)


def bench_ai4i(args) -> None:
    path = args.realdata / "ai4i2020" / "ai4i2020.csv"
    print(f"\n== AI4I 2020 machine failure label ({path})", flush=True)
    if not path.is_file():
        print(f"  skipped: file not found: {path}")
        return
    frame = load_sensor_csv(path)
    target = frame["Machine failure"].to_numpy().astype(np.int64)
    # The five failure-mode columns are the label broken down: leaving them in would leak the answer.
    raw = frame[["Air temperature", "Process temperature", "Rotational speed", "Torque", "Tool wear"]].to_numpy(float)
    product_type = np.stack([(frame["Type"] == kind).to_numpy(float) for kind in ("L", "M", "H")], axis=1)
    # Physical quantities behind the failure modes: power (W), temperature difference (K), torque x wear (overstrain).
    power = raw[:, 3] * raw[:, 2] * 2 * np.pi / 60
    table = pd.DataFrame(raw, columns=["air_K", "process_K", "speed_rpm", "torque_Nm", "tool_wear_min"])
    table["type"] = frame["Type"].astype(str).to_numpy()
    table["power_W"] = power
    table["temperature_difference_K"] = raw[:, 1] - raw[:, 0]
    table["torque_x_wear"] = raw[:, 3] * raw[:, 4]
    train, validation, test = train_validation_test_split(target, random_state=0)
    print(f"  rows {len(target)}, failures {target.sum()}; split {len(train)}/{len(validation)}/{len(test)}", flush=True)

    def raw_columns():
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
        model.fit(np.column_stack([raw, product_type])[train], target[train])
        return lambda rows: model.predict_proba(np.column_stack([raw, product_type])[rows])[:, 1]

    def boosting():
        program = fit_tabular_classifier(table.iloc[train], target[train], method="boosting", n_threads=1, random_state=0)
        print(f"    boosting: settings {program.details['settings']}, cross-validated ROC AUC {program.cv_roc_auc:.3f}", flush=True)
        return lambda rows: program.score(table.iloc[rows])

    validation_rows = (validation, target[validation])
    test_rows = (test, target[test])
    baseline = run_program("baseline: logistic regression, raw columns", raw_columns, validation_rows, test_rows)
    run_program("fit_tabular_classifier (boosting)", boosting, validation_rows, test_rows, baseline=baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--realdata", type=Path, default=REALDATA, help="folder with magnetic_tile/ and ai4i2020/")
    parser.add_argument("--press-size", type=int, default=128, help="press part image side in pixels")
    parser.add_argument("--press-epochs", type=int, default=30, help="most CNN epochs on press parts (early stop after 8 without gain)")
    parser.add_argument("--tile-size", type=int, default=128, help="magnetic tile image side in pixels")
    parser.add_argument("--tile-epochs", type=int, default=30, help="most CNN epochs on magnetic tiles (early stop after 8 without gain)")
    parser.add_argument("--only", choices=("press", "tile", "ai4i"), action="append", help="run only these data sets")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    print(f"bench_inspection.py  {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC  {platform.machine()}  "
          f"{os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.1f}, torch {torch.__version__}, threads {args.threads}")
    selected = args.only or ["press", "tile", "ai4i"]
    if "press" in selected:
        bench_press_parts(args)
    if "tile" in selected:
        bench_magnetic_tile(args)
    if "ai4i" in selected:
        bench_ai4i(args)


if __name__ == "__main__":
    main()
