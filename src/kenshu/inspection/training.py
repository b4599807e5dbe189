"""``train_inspector``: from a folder of photos to a trained, measured, explained and exported model."""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from sklearn.utils import Bunch

from kenshu.datasets import load_image_folder, train_validation_test_split
from kenshu.datasets.image_folder import MIN_LOAD_IMAGE_SIZE, TARGET_NAMES
from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.inspection.evaluation import InspectionMetrics, anomaly_heat_map, evaluate_scores, occlusion_map
from kenshu.inspection.export import export_model, time_per_image
from kenshu.inspection.fitting import FittedProgram, combine_programs, fit_anomaly_detector, fit_cnn, fit_feature_baseline, score_images
from kenshu.inspection.modes import MIN_DEFECT_IMAGES, MODES
from kenshu.inspection.models import KIND_ANOMALY, KIND_CNN, KIND_ENSEMBLE, KIND_FEATURES, InspectionModel, PatchNearestNeighbourScorer
from kenshu.inspection.threshold import ThresholdChoice, choose_threshold

logger = logging.getLogger(__name__)

# A model is reported as not yet fit for the line below this ROC AUC (validation or test), or at or
# above this false-alarm rate on test. An AUC of 0.5 is chance, and a useful inspector ranks far better.
WEAK_ROC_AUC = 0.75
WEAK_FALSE_ALARM_RATE = 0.5
# With fewer defect photos than this in the test split, a recall of 1.0 is weak evidence.
FEW_TEST_DEFECTS = 10
# Minimum usable photos per class for each mode. The split gives validation and test one
# photo in five each, at least one, so 6 good photos leave 4 for training and 4 defects leave 2.
# Supervised training needs 4 good training photos when it aligns the parts. The aligned features
# describe each half of them with a reference fitted on the other half (2 photos each). It also needs
# 2 training defects for the stratified cross-validation of the baseline. The good-parts-only
# detector needs 2 training photos.
MIN_SUPERVISED_GOOD = 6
MIN_SUPERVISED_DEFECTS = 4
MIN_ANOMALY_GOOD = 4
# Preference among programs equal on validation: the simpler, smaller one first.
_SIMPLICITY = {KIND_FEATURES: 0, KIND_CNN: 1, KIND_ENSEMBLE: 2, KIND_ANOMALY: 3}


@dataclass
class Candidate:
    """A trained program with its validation scores and threshold."""

    program: FittedProgram
    validation_scores: np.ndarray
    threshold: ThresholdChoice
    validation: InspectionMetrics


@dataclass
class InspectionResult:
    """What :func:`train_inspector` produced.

    Attributes
    ----------
    out_dir, model_path, report_path : Path
        The output folder, ``model.pt`` and ``report.html``.
    mode : str
        ``"supervised"`` or ``"anomaly"`` (after ``"auto"`` was resolved).
    kind : str
        The program kept: ``"features"``, ``"cnn"``, ``"ensemble"`` or ``"anomaly"``.
    threshold : ThresholdChoice
        Chosen on the validation set.
    validation, test : InspectionMetrics
        Measures at that threshold.
    candidates : dict
        Per program trained: validation ROC AUC, false-alarm rate at the
        threshold and training seconds.
    model_size_bytes : int
    seconds_per_image : float
        Median time to score one image with ``model.pt`` on one CPU thread.
    training_seconds : float
        Wall-clock time from loading the photos to the chosen threshold.
    files : dict of str to Path
        Every file written, by role.
    load_problems : list of str
        The loader's findings (unreadable files, duplicates, small classes),
        one sentence each; those photos were left out.
    line_defect_rate : float or None
        The line's defect share given by the caller, or None when the
        re-check estimate used the photos' own share.
    inputs : dict
        What the model was trained on, for the report: ``folder`` (str or
        None for arrays), ``classes`` (list of (folder name, 良品/不良品,
        photo count)), ``skipped_folders`` (list of str), ``options`` (dict)
        and ``trained_at`` (ISO date and time, UTC).
    """

    out_dir: Path
    model_path: Path
    report_path: Path
    mode: str
    kind: str
    threshold: ThresholdChoice
    validation: InspectionMetrics
    test: InspectionMetrics
    candidates: dict
    model_size_bytes: int
    seconds_per_image: float
    training_seconds: float
    files: dict = field(default_factory=dict)
    load_problems: list[str] = field(default_factory=list)
    line_defect_rate: float | None = None
    inputs: dict = field(default_factory=dict)

    def warnings(self) -> list[str]:
        """Return what a person must know before trusting this model, one sentence each (may be empty)."""
        found = []
        if self.test.n_defect == 0:
            found.append(message("inspection.warn_no_test_defects"))
        # The test split is the honest figure: the kept model was chosen for its validation score.
        # ROC AUC is NaN on a split with one class only, and then nothing was ranked.
        aucs = [value for value in (self.validation.roc_auc, self.test.roc_auc) if not math.isnan(value)]
        many_false_alarms = self.test.false_alarm_rate >= WEAK_FALSE_ALARM_RATE
        false_alarm = f"{self.test.false_alarm_rate:.3f}"
        if any(value < WEAK_ROC_AUC for value in aucs):
            found.append(message("inspection.warn_weak_model", auc=f"{min(aucs):.3f}", limit=WEAK_ROC_AUC))
        elif many_false_alarms and not aucs:
            found.append(message("inspection.warn_not_fit_unranked", false_alarm=false_alarm, limit=WEAK_FALSE_ALARM_RATE))
        elif many_false_alarms:
            found.append(message("inspection.warn_many_false_alarms", false_alarm=false_alarm, limit=WEAK_FALSE_ALARM_RATE))
        if 0 < self.test.n_defect < FEW_TEST_DEFECTS:
            found.append(message("inspection.warn_few_test_defects", count=self.test.n_defect))
        if self.load_problems:
            found.append(message("inspection.warn_left_out", count=len(self.load_problems)))
        return found

    def rate_note(self) -> str:
        """Return the sentence naming the source of the defect share in the re-check estimate."""
        if self.line_defect_rate is not None:
            return message("inspection.rate_given")
        if self.threshold.n_defect == 0:
            return message("inspection.rate_no_defect_photos")
        return message("inspection.rate_from_photos")


def load_training_photos(
    folder: str | Path,
    *,
    out_dir: str | Path,
    good_class: str | None = None,
    image_size: int = 128,
    max_per_class: int | None = None,
    random_state: int = 0,
    log_problems: bool = True,
) -> Bunch:
    """Load a photo folder as :func:`train_inspector` does, for a caller that shows the classes first.

    The masks are loaded, the dataset card is written into *out_dir*, and
    *out_dir* itself is not read when it lies inside *folder* (it is listed
    in ``skipped_folders``, like any kenshu model output found there). The
    result can be passed to :func:`train_inspector` as *data*.
    """
    return load_image_folder(
        folder,
        good_class=good_class,
        image_size=image_size,
        max_per_class=max_per_class,
        random_state=random_state,
        card_dir=out_dir,
        load_masks=True,
        exclude=[out_dir],
        log_problems=log_problems,
    )


def class_counts(bunch: Bunch) -> list[tuple[str, str, int]]:
    """Return (class folder, 良品 or 不良品, photo count) per class of a loaded folder, good class first.

    A Bunch without class folders (arrays) gives one row per label.
    """
    target = np.asarray(bunch.target)
    target_names = list(getattr(bunch, "target_names", None) or TARGET_NAMES)
    if "class_names" not in bunch or "class_index" not in bunch:
        return [(target_names[label], target_names[label], int(np.sum(target == label))) for label in (0, 1)]
    class_index = np.asarray(bunch.class_index)
    rows = []
    for index, name in enumerate(bunch.class_names):
        label = target_names[0] if name == bunch.good_class else target_names[1]
        rows.append((name, label, int(np.sum(class_index == index))))
    return sorted(rows, key=lambda row: row[0] != bunch.good_class)


def _load(data, *, good_class: str | None, image_size: int, max_per_class: int | None, random_state: int, out_dir: Path) -> Bunch:
    if isinstance(data, Bunch):
        if data.images.ndim != 3 or data.images.shape[1] != data.images.shape[2]:
            raise ValueError(f"data.images must be square images (n, S, S), got shape {data.images.shape}")
        return data
    return load_training_photos(data, out_dir=out_dir, good_class=good_class, image_size=image_size,
                                max_per_class=max_per_class, random_state=random_state)


def _resolve_mode(mode: str, target: np.ndarray, min_defect_images: int) -> str:
    n_defect = int(np.sum(target == 1))
    n_good = int(np.sum(target == 0))
    chosen = mode
    if mode == "auto":
        chosen = "supervised" if n_defect >= min_defect_images else "anomaly"
        logger.info("mode auto: %d defect images, %s chosen", n_defect, chosen)
    if chosen == "anomaly" and n_good < MIN_ANOMALY_GOOD:
        raise KenshuError("inspection.too_few_good_for_anomaly", count=n_good, minimum=MIN_ANOMALY_GOOD)
    if chosen == "supervised" and (n_good < MIN_SUPERVISED_GOOD or n_defect < MIN_SUPERVISED_DEFECTS):
        raise KenshuError("inspection.too_few_for_supervised", good=n_good, defects=n_defect,
                          min_good=MIN_SUPERVISED_GOOD, min_defects=MIN_SUPERVISED_DEFECTS)
    return chosen


def _split(target: np.ndarray, mode: str, random_state: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    train, validation, test = train_validation_test_split(target, random_state=random_state)
    if mode == "anomaly":
        # The detector never sees a defect, so training defects help more in choosing the threshold.
        defects = train[target[train] == 1]
        train = train[target[train] == 0]
        validation = np.concatenate([validation, defects])
    return train, validation, test


def _candidate(program: FittedProgram, images: np.ndarray, labels: np.ndarray, threshold_options: dict) -> Candidate:
    scores = score_images(program.scorer, images)
    choice = choose_threshold(scores, labels, **threshold_options)
    return Candidate(program, scores, choice, evaluate_scores(scores, labels, choice.threshold))


def _rank(candidate: Candidate) -> tuple:
    auc = candidate.validation.roc_auc
    return (-(0.0 if np.isnan(auc) else auc), candidate.threshold.false_alarm_rate, _SIMPLICITY[candidate.program.kind])


def _check_count(name: str, value, *, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}")


def train_inspector(
    data,
    *,
    out_dir: str | Path,
    good_class: str | None = None,
    mode: str = "auto",
    image_size: int = 128,
    epochs: int = 25,
    cnn_width: int = 8,
    programs: tuple[str, ...] = (KIND_FEATURES, KIND_CNN),
    max_per_class: int | None = None,
    min_defect_images: int = MIN_DEFECT_IMAGES,
    target_recall: float = 1.0,
    max_false_alarm_rate: float = 0.01,
    line_defect_rate: float | None = None,
    memory_size: int = 3000,
    align: str = "auto",
    anomaly_method: str = "auto",
    n_threads: int | None = None,
    random_state: int = 0,
    write_report: bool = True,
) -> InspectionResult:
    """Train, choose, measure, explain and export an inspection from a folder of photos.

    Steps: load and split the photos (stratified train/validation/test); train
    the supervised programs (scikit-learn baseline on image features and a
    small CNN, and when both are trained their combination) or the
    good-parts-only detector; keep the program best on
    validation; choose its threshold on validation; measure it on test;
    export ``model.pt`` and ``model.json``; write ``report.html`` with its
    figures, ``metrics.json`` and ``test_predictions.csv``.

    Parameters
    ----------
    data : str, Path or sklearn.utils.Bunch
        A folder with one subfolder per class (see
        :func:`kenshu.datasets.load_image_folder`), or a loaded Bunch with
        ``images`` (n, S, S) in [0, 1], ``target`` and optionally ``paths``
        and ``masks``.
    out_dir : str or Path
        Output folder, created if missing; files of a previous run are replaced.
        When it lies inside the photo folder, it is not read as a class.
    good_class : str, optional
        Class folder of the good parts, when the names do not show it.
    mode : {"auto", "supervised", "anomaly"}, default="auto"
        ``"auto"`` trains on good parts only (異常検知) when there are fewer
        than *min_defect_images* defect photos, supervised otherwise.
    image_size : int, default=128
        Photos are resized to this square side in pixels.
    epochs : int, default=25
        Most CNN training epochs (it stops early when validation stops improving).
    cnn_width : int, default=8
        Channels of the CNN's first stage.
    programs : tuple of str, default=("features", "cnn")
        Supervised programs to train and compare.
    max_per_class : int, optional
        Use at most this many photos per class (for quick trials).
    min_defect_images : int, default=20
    target_recall : float, default=1.0
        Share of validation defects the threshold must catch.
    max_false_alarm_rate : float, default=0.01
        Used for the threshold when the validation set has no defect.
    line_defect_rate : float, optional
        Share of defective parts on the line, in [0, 1], for the estimate of
        parts re-checked per thousand. By default the share of defect photos
        in the validation split, which the report says is not the line's.
    memory_size : int, default=3000
        Good patches kept by the good-parts-only detector with ``anomaly_method="patches"``.
    align : {"auto", "always", "never"}, default="auto"
        Whether the supervised programs compare the aligned part with the good
        training parts (see :func:`~kenshu.inspection.fit_feature_baseline`).
    anomaly_method : {"auto", "aligned", "features", "patches"}, default="auto"
        Method of the good-parts-only detector (see
        :func:`~kenshu.inspection.fit_anomaly_detector`).
    n_threads : int, optional
        Torch threads for training; by default the CPU count, at most 4.
    random_state : int, default=0
        Seed of the split, the CNN and the detector.
    write_report : bool, default=True
        Write the HTML report and its figures.

    Returns
    -------
    InspectionResult

    Raises
    ------
    ValueError
        If *mode* or *programs* contains an unknown value, *image_size* is
        below 8, or *epochs*, *n_threads* or *max_per_class* is below 1.
        Nothing is written then.
    KenshuError
        If the folder cannot be loaded or has too few photos for *mode*:
        supervised training needs 6 good and 4 defect photos, the
        good-parts-only detector 4 good photos.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    _check_count("image_size", image_size, minimum=MIN_LOAD_IMAGE_SIZE)
    _check_count("epochs", epochs)
    if n_threads is not None:
        _check_count("n_threads", n_threads)
    if max_per_class is not None:
        _check_count("max_per_class", max_per_class)
    unknown = [program for program in programs if program not in (KIND_FEATURES, KIND_CNN)]
    if unknown or not programs:
        raise ValueError(f"programs must be a non-empty subset of ('features', 'cnn'), got {programs!r}")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    logger.info("training an inspection from %s into %s", data if not isinstance(data, Bunch) else "arrays", folder)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(n_threads or max(1, min(4, os.cpu_count() or 1)))
    started = time.perf_counter()

    try:
        # Step 1: photos, mode and split.
        bunch = _load(data, good_class=good_class, image_size=image_size, max_per_class=max_per_class,
                      random_state=random_state, out_dir=folder)
        images = np.asarray(bunch.images, dtype=np.float32)
        target = np.asarray(bunch.target, dtype=np.int64)
        resolved = _resolve_mode(mode, target, min_defect_images)
        train, validation, test = _split(target, resolved, random_state)
        threshold_options = {
            "target_recall": target_recall,
            "max_false_alarm_rate": max_false_alarm_rate,
            "defect_rate": line_defect_rate,
        }

        # Step 2: train the candidates and keep the best on validation.
        candidates: list[Candidate] = []
        if resolved == "supervised":
            if KIND_FEATURES in programs:
                program = fit_feature_baseline(images[train], target[train], random_state=random_state, align=align)
                candidates.append(_candidate(program, images[validation], target[validation], threshold_options))
            if KIND_CNN in programs:
                program = fit_cnn(images[train], target[train], images[validation], target[validation],
                                  epochs=epochs, width=cnn_width, align=align, random_state=random_state)
                candidates.append(_candidate(program, images[validation], target[validation], threshold_options))
            if len(candidates) >= 2:
                # The combination is a candidate like the others: kept only if better on validation.
                program = combine_programs([candidate.program for candidate in candidates])
                candidates.append(_candidate(program, images[validation], target[validation], threshold_options))
        else:
            program = fit_anomaly_detector(images[train], method=anomaly_method, memory_size=memory_size, random_state=random_state)
            candidates.append(_candidate(program, images[validation], target[validation], threshold_options))
        best = min(candidates, key=_rank)
        training_seconds = time.perf_counter() - started

        # Step 3: measure on the test set at the validation threshold.
        test_scores = score_images(best.program.scorer, images[test])
        test_metrics = evaluate_scores(test_scores, target[test], best.threshold.threshold)

        # Step 4: export and time on one core.
        model = InspectionModel(best.program.scorer, threshold=best.threshold.threshold, image_size=images.shape[-1], kind=best.program.kind)
        trained_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        metadata = {
            "good_class": getattr(bunch, "good_class", None),
            "class_names": list(getattr(bunch, "class_names", [])),
            "trained_at": trained_at,
            "mode": resolved,
            "random_state": random_state,
        }
        model_path = export_model(model, folder, metadata=metadata)
        seconds_per_image = time_per_image(model_path, int(images.shape[-1]))
        model_size = model_path.stat().st_size
    finally:
        torch.set_num_threads(previous_threads)

    paths = list(getattr(bunch, "paths", [])) or [Path(f"image_{index:05d}") for index in range(len(target))]
    result = InspectionResult(
        out_dir=folder,
        model_path=model_path,
        report_path=folder / "report.html",
        mode=resolved,
        kind=best.program.kind,
        threshold=best.threshold,
        validation=best.validation,
        test=test_metrics,
        candidates={
            candidate.program.kind: {
                "validation_roc_auc": None if np.isnan(candidate.validation.roc_auc) else candidate.validation.roc_auc,
                "validation_false_alarm_rate": candidate.threshold.false_alarm_rate,
                "training_seconds": candidate.program.training_seconds,
                "details": candidate.program.details,
            }
            for candidate in candidates
        },
        model_size_bytes=model_size,
        seconds_per_image=seconds_per_image,
        training_seconds=training_seconds,
        files={"model": model_path, "config": model_path.with_name("model.json")},
        load_problems=[problem.describe() for problem in getattr(bunch, "problems", [])],
        line_defect_rate=line_defect_rate,
        inputs={
            "folder": str(bunch.source) if "source" in bunch else None,
            "classes": class_counts(bunch),
            "skipped_folders": [str(problem.path) for problem in getattr(bunch, "skipped_folders", [])],
            "options": {
                "mode": mode,
                "image_size": int(images.shape[-1]),
                "epochs": epochs,
                "max_per_class": max_per_class,
                "line_defect_rate": line_defect_rate,
                "random_state": random_state,
            },
            "trained_at": trained_at,
        },
    )

    # Step 5: predictions, metrics and the report.
    result.files["predictions"] = _write_test_predictions(folder / "test_predictions.csv", [paths[i] for i in test], target[test], test_scores, best.threshold.threshold)
    result.files["metrics"] = _write_metrics(folder / "metrics.json", result)
    _add_test_figures_to_config(result)
    if write_report:
        from kenshu.inspection.report import write_report as write_html_report

        masks = getattr(bunch, "masks", None)
        result.files.update(
            write_html_report(
                result,
                best.program,
                images=images[test],
                labels=target[test],
                scores=test_scores,
                paths=[paths[i] for i in test],
                masks=None if masks is None else np.asarray(masks)[test],
            )
        )
    logger.info("inspection trained: %s, test recall %.3f, false alarms %.3f", result.kind, test_metrics.recall, test_metrics.false_alarm_rate)
    return result


def _add_test_figures_to_config(result: InspectionResult) -> None:
    """Add the test figures and the training warnings to ``model.json``, so ``inspect predict`` can repeat them."""
    config_path = result.files["config"]
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["test_metrics"] = {
        "recall": _finite_or_none(result.test.recall),
        "false_alarm_rate": _finite_or_none(result.test.false_alarm_rate),
        "roc_auc": _finite_or_none(result.test.roc_auc),
        "n_good": result.test.n_good,
        "n_defect": result.test.n_defect,
    }
    config["training_warnings"] = result.warnings()
    config_path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")


def _finite_or_none(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _write_test_predictions(path: Path, paths: list, labels: np.ndarray, scores: np.ndarray, threshold: float) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "score", "judged_defect"])
        for file, label, score in zip(paths, labels, scores):
            writer.writerow([str(file), int(label), repr(float(score)), int(score >= threshold)])
    return path


def _write_metrics(path: Path, result: InspectionResult) -> Path:
    payload = {
        "mode": result.mode,
        "kind": result.kind,
        "threshold": result.threshold.to_dict(),
        "validation": result.validation.to_dict(),
        "test": result.test.to_dict(),
        "candidates": result.candidates,
        "model_size_bytes": result.model_size_bytes,
        "seconds_per_image": result.seconds_per_image,
        "training_seconds": result.training_seconds,
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=float), encoding="utf-8")
    return path


def explain_images(program: FittedProgram, images: np.ndarray) -> list[np.ndarray]:
    """Return a heat map per image of where *program* looked: the patch anomaly map, or occlusion sensitivity.

    Only the patch detector's map lies over the photo as taken. The aligned
    detector's map is in the aligned pose, so it is explained by occlusion too.
    """
    if isinstance(program.scorer, PatchNearestNeighbourScorer):
        return [anomaly_heat_map(program.scorer, image) for image in images]
    return [occlusion_map(program.scorer, image) for image in images]


__all__ = ["InspectionResult", "MODES", "MIN_DEFECT_IMAGES", "class_counts", "explain_images", "load_training_photos", "train_inspector"]
