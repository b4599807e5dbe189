"""Measures of an inspection at a threshold, and where a model looked on an image."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from kenshu.inspection.fitting import as_tensor


@dataclass(frozen=True)
class InspectionMetrics:
    """What an inspection does on a labelled set at one threshold.

    ``recall`` is the share of 不良品 caught (defect recall), ``miss_rate``
    its complement, ``false_alarm_rate`` the share of 良品 set aside.
    ``roc_auc`` is NaN when the set has only one class. ``confusion`` is
    ``[[良品→良品, 良品→不良品], [不良品→良品, 不良品→不良品]]`` (rows true, columns judged).
    """

    n_images: int
    n_good: int
    n_defect: int
    accuracy: float
    balanced_accuracy: float
    recall: float
    miss_rate: float
    false_alarm_rate: float
    roc_auc: float
    set_aside_per_thousand: float
    confusion: list[list[int]]

    def to_dict(self) -> dict:
        """Return the fields as plain Python values, NaN as None (for JSON)."""
        return {key: (None if isinstance(value, float) and math.isnan(value) else value) for key, value in asdict(self).items()}


def evaluate_scores(scores, labels, threshold: float) -> InspectionMetrics:
    """Measure verdicts ``score >= threshold`` (不良品) against *labels* (1 = 不良品).

    Parameters
    ----------
    scores : array-like of shape (n,)
    labels : array-like of shape (n,)
    threshold : float

    Returns
    -------
    InspectionMetrics
        Rates over a class with no images are NaN; balanced accuracy is then
        the rate of the class present.
    """
    score_array = np.asarray(scores, dtype=np.float64).ravel()
    label_array = np.asarray(labels, dtype=np.int64).ravel()
    if score_array.shape != label_array.shape:
        raise ValueError(f"scores and labels differ in length: {score_array.size} and {label_array.size}")
    if score_array.size == 0:
        raise ValueError("scores is empty")
    judged = score_array >= threshold

    true_negative = int(np.sum(~judged & (label_array == 0)))
    false_positive = int(np.sum(judged & (label_array == 0)))
    false_negative = int(np.sum(~judged & (label_array == 1)))
    true_positive = int(np.sum(judged & (label_array == 1)))
    n_good = true_negative + false_positive
    n_defect = false_negative + true_positive

    recall = true_positive / n_defect if n_defect else math.nan
    specificity = true_negative / n_good if n_good else math.nan
    present = [rate for rate in (recall, specificity) if not math.isnan(rate)]
    auc = float(roc_auc_score(label_array, score_array)) if n_good and n_defect else math.nan
    return InspectionMetrics(
        n_images=int(label_array.size),
        n_good=n_good,
        n_defect=n_defect,
        accuracy=(true_negative + true_positive) / label_array.size,
        balanced_accuracy=float(np.mean(present)),
        recall=recall,
        miss_rate=1.0 - recall if n_defect else math.nan,
        false_alarm_rate=1.0 - specificity if n_good else math.nan,
        roc_auc=auc,
        set_aside_per_thousand=1000.0 * (false_positive + true_positive) / label_array.size,
        confusion=[[true_negative, false_positive], [false_negative, true_positive]],
    )


@torch.no_grad()
def occlusion_map(scorer: nn.Module, image: np.ndarray, *, window: int | None = None, stride: int | None = None, batch_size: int = 64) -> np.ndarray:
    """Return how much the score drops when each region of *image* is covered (occlusion sensitivity).

    A square of the image's mean brightness slides over the image, with its
    last position flush with the right and bottom edges so that every pixel is
    covered. Each pixel gets the mean drop in score over the squares that
    covered it. Large values mark the region the model relies on to call the
    part 不良品.

    Parameters
    ----------
    scorer : torch.nn.Module
        Maps (N, 1, S, S) to scores.
    image : ndarray of shape (S, S)
        Float in [0, 1].
    window : int, optional
        Side of the square, by default S // 6, at most S.
    stride : int, optional
        Step of the square, by default window // 2.

    Returns
    -------
    ndarray of shape (S, S)
    """
    scorer.eval()
    side = int(image.shape[-1])
    window = min(side, window or max(2, side // 6))
    stride = stride or max(1, window // 2)
    base = as_tensor(image[None])
    reference = float(scorer(base)[0])
    fill = float(base.mean())

    # All covered copies, scored in batches. Every pixel is covered at least once.
    starts = window_starts(side, window, stride)
    positions = [(top, left) for top in starts for left in starts]
    drops = np.zeros((side, side))
    counts = np.zeros((side, side))
    for start in range(0, len(positions), batch_size):
        chunk = positions[start : start + batch_size]
        batch = base.repeat(len(chunk), 1, 1, 1)
        for index, (top, left) in enumerate(chunk):
            batch[index, :, top : top + window, left : left + window] = fill
        scores = scorer(batch).numpy()
        for (top, left), score in zip(chunk, scores):
            drops[top : top + window, left : left + window] += reference - float(score)
            counts[top : top + window, left : left + window] += 1

    return drops / counts


def window_starts(side: int, window: int, stride: int) -> list[int]:
    """Return the start offsets of a *window* sliding by *stride* along *side* pixels, the last one flush with the end.

    Without the last, flush window, the pixels after the last full step
    (``side - window`` not a multiple of *stride*) would never be covered.
    """
    if not 1 <= window <= side or stride < 1:
        raise ValueError(f"window must be in [1, {side}] and stride at least 1, got window={window}, stride={stride}")
    starts = list(range(0, side - window + 1, stride))
    if starts[-1] != side - window:
        starts.append(side - window)
    return starts


@torch.no_grad()
def anomaly_heat_map(scorer: nn.Module, image: np.ndarray) -> np.ndarray:
    """Return the patch anomaly map of the good-parts-only detector, resized to the image (S, S)."""
    patch_map = scorer.anomaly_map(as_tensor(image[None]))
    side = int(image.shape[-1])
    resized = torch.nn.functional.interpolate(patch_map.unsqueeze(1), size=[side, side], mode="bilinear", align_corners=False)
    return resized[0, 0].numpy()
