"""Fit the three inspection programs on arrays of images.

Each ``fit_*`` function takes float32 images (n, S, S) in [0, 1] and returns
a :class:`FittedProgram`: a scorer module (see :mod:`kenshu.inspection.models`)
plus what the report shows about its training.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from torch import nn

from kenshu.i18n import message
from kenshu.inspection.features import ImageFeatures, PatchFeatures
from kenshu.inspection.models import (
    KIND_ANOMALY,
    KIND_CNN,
    KIND_FEATURES,
    FeatureLinearScorer,
    PatchNearestNeighbourScorer,
    SmallCNN,
)
from kenshu.progress import progress, progress_bar

logger = logging.getLogger(__name__)


@dataclass
class FittedProgram:
    """A trained scorer and its training record.

    Attributes
    ----------
    kind : str
        ``"features"``, ``"cnn"`` or ``"anomaly"``.
    scorer : torch.nn.Module
        Maps (N, 1, S, S) images to scores (higher = more likely 不良品), in eval mode.
    training_seconds : float
        Wall-clock time of the fit.
    history : dict of str to list of float
        Per-epoch curves for the CNN (``train_loss``, ``validation_loss``,
        ``validation_auc``); empty for the others.
    details : dict
        Settings worth reporting (chosen ``C``, epochs, memory size, ...).
    """

    kind: str
    scorer: nn.Module
    training_seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)
    details: dict = field(default_factory=dict)


def as_tensor(images: np.ndarray) -> torch.Tensor:
    """Return images (n, S, S) or (n, 1, S, S) as a float32 tensor (n, 1, S, S)."""
    tensor = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(1)
    if tensor.dim() != 4 or tensor.shape[1] != 1:
        raise ValueError(f"images must have shape (n, S, S) or (n, 1, S, S), got {tuple(tensor.shape)}")
    return tensor


@torch.no_grad()
def score_images(scorer: nn.Module, images: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
    """Return the scores of *scorer* for float images (n, S, S), computed in batches."""
    scorer.eval()
    tensor = as_tensor(images)
    parts = [scorer(tensor[start : start + batch_size]) for start in range(0, len(tensor), batch_size)]
    return torch.cat(parts).numpy().astype(np.float64) if parts else np.zeros(0)


@torch.no_grad()
def _extract(module: nn.Module, images: np.ndarray, *, description: str, batch_size: int = 64) -> torch.Tensor:
    tensor = as_tensor(images)
    parts = []
    with progress_bar(description=description, total=len(tensor), unit="img") as bar:
        for start in range(0, len(tensor), batch_size):
            batch = tensor[start : start + batch_size]
            parts.append(module(batch))
            bar.update(len(batch))
    return torch.cat(parts)


def _check_training_labels(target: np.ndarray) -> None:
    counts = np.bincount(np.asarray(target, dtype=np.int64), minlength=2)
    if counts[0] < 2 or counts[1] < 2:
        raise ValueError(f"supervised training needs at least 2 images of each class, got 良品 {counts[0]} and 不良品 {counts[1]}")


def fit_feature_baseline(images: np.ndarray, target: np.ndarray, *, random_state: int = 0) -> FittedProgram:
    """Fit the scikit-learn baseline: hand-made image features and a logistic regression.

    The regularisation strength ``C`` is chosen by stratified cross-validation
    on the training images (ROC AUC), with classes weighted to balance.

    Parameters
    ----------
    images : ndarray of shape (n, S, S)
        Training images, float in [0, 1].
    target : ndarray of shape (n,)
        1 = 不良品, 0 = 良品.
    random_state : int, default=0
        Seed of the cross-validation folds.

    Returns
    -------
    FittedProgram
    """
    _check_training_labels(target)
    started = time.perf_counter()
    image_size = int(images.shape[-1])

    # Features in torch, so that the exported module computes exactly these.
    extractor = ImageFeatures(image_size)
    features = _extract(extractor, images, description=message("inspection.progress_features")).numpy().astype(np.float64)

    scaler = StandardScaler().fit(features)
    folds = int(min(4, np.bincount(target).min()))
    classifier = LogisticRegressionCV(
        Cs=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0],
        cv=StratifiedKFold(folds, shuffle=True, random_state=random_state),
        scoring="roc_auc",
        class_weight="balanced",
        max_iter=5000,
        l1_ratios=(0.0,),
        use_legacy_attributes=False,
    )
    classifier.fit(scaler.transform(features), target)

    scorer = FeatureLinearScorer(
        image_size,
        torch.as_tensor(scaler.mean_),
        torch.as_tensor(scaler.scale_),
        torch.as_tensor(classifier.coef_[0]),
        float(classifier.intercept_[0]),
    ).eval()
    seconds = time.perf_counter() - started
    chosen_c = float(np.ravel(classifier.C_)[0])
    logger.info("feature baseline fitted in %.1f s, C=%s, %d features", seconds, chosen_c, features.shape[1])
    return FittedProgram(KIND_FEATURES, scorer, seconds, details={"C": chosen_c, "n_features": int(features.shape[1])})


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Return a randomly flipped, quarter-turned, brightened and contrast-changed copy of *batch* (N, 1, S, S)."""
    n = batch.shape[0]
    flip_x = torch.rand(n, generator=generator) < 0.5
    flip_y = torch.rand(n, generator=generator) < 0.5
    turns = torch.randint(0, 4, (n,), generator=generator)
    out = torch.where(flip_x.view(n, 1, 1, 1), batch.flip(3), batch)
    out = torch.where(flip_y.view(n, 1, 1, 1), out.flip(2), out)
    rotated = torch.empty_like(out)
    for k in range(4):
        chosen = turns == k
        if chosen.any():
            rotated[chosen] = torch.rot90(out[chosen], k, dims=(2, 3))
    gain = 0.8 + 0.4 * torch.rand(n, 1, 1, 1, generator=generator)
    offset = 0.1 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)
    return torch.clamp(rotated * gain + offset, 0.0, 1.0)


def fit_cnn(
    images: np.ndarray,
    target: np.ndarray,
    validation_images: np.ndarray,
    validation_target: np.ndarray,
    *,
    epochs: int = 30,
    batch_size: int = 32,
    learning_rate: float = 2e-3,
    width: int = 16,
    random_state: int = 0,
) -> FittedProgram:
    """Train the small CNN with augmentation and keep the epoch best on validation.

    Parameters
    ----------
    images, target : ndarray
        Training images (n, S, S) in [0, 1] and labels (1 = 不良品).
    validation_images, validation_target : ndarray
        Validation set; after every epoch its ROC AUC (then its loss) decides
        which weights are kept.
    epochs : int, default=30
    batch_size : int, default=32
    learning_rate : float, default=2e-3
        Initial Adam learning rate, lowered on a cosine schedule.
    width : int, default=16
        Channels of the first stage of :class:`SmallCNN`.
    random_state : int, default=0
        Seed of the weights, batch order and augmentation.

    Returns
    -------
    FittedProgram
        With ``history`` holding per-epoch training and validation loss and
        validation ROC AUC.
    """
    _check_training_labels(target)
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs!r}")
    started = time.perf_counter()
    torch.manual_seed(random_state)
    generator = torch.Generator().manual_seed(random_state)

    model = SmallCNN(width=width)
    x_train = as_tensor(images)
    y_train = torch.as_tensor(np.asarray(target, dtype=np.float32))
    x_valid = as_tensor(validation_images)
    y_valid = np.asarray(validation_target, dtype=np.int64)

    # Defects are usually the rarer class: weight them up so that both count equally.
    n_defect = float(y_train.sum())
    pos_weight = torch.tensor([(len(y_train) - n_defect) / max(n_defect, 1.0)])
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history: dict[str, list[float]] = {"train_loss": [], "validation_loss": [], "validation_auc": []}
    best_state, best_key, best_epoch = None, None, 0

    for epoch in progress(range(epochs), description=message("inspection.progress_cnn"), total=epochs, unit="epoch"):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total_loss = 0.0
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            if len(index) < 2:
                continue  # batch normalisation needs two images
            logits = model.logits(augment(x_train[index], generator))
            loss = F.binary_cross_entropy_with_logits(logits, y_train[index], pos_weight=pos_weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(index)
        scheduler.step()

        # Validation after every epoch: the curves show overfitting, the best epoch is kept.
        model.eval()
        with torch.no_grad():
            valid_logits = torch.cat([model.logits(x_valid[s : s + 64]) for s in range(0, len(x_valid), 64)])
        valid_loss = float(F.binary_cross_entropy_with_logits(valid_logits, torch.as_tensor(y_valid, dtype=torch.float32), pos_weight=pos_weight))
        valid_auc = float(roc_auc_score(y_valid, valid_logits.numpy())) if len(np.unique(y_valid)) == 2 else float("nan")
        history["train_loss"].append(total_loss / len(x_train))
        history["validation_loss"].append(valid_loss)
        history["validation_auc"].append(valid_auc)
        key = (0.0 if np.isnan(valid_auc) else valid_auc, -valid_loss)
        if best_key is None or key > best_key:
            best_key, best_state, best_epoch = key, copy.deepcopy(model.state_dict()), epoch + 1

    model.load_state_dict(best_state)
    model.eval()
    seconds = time.perf_counter() - started
    logger.info("CNN trained in %.1f s, best epoch %d of %d", seconds, best_epoch, epochs)
    return FittedProgram(
        KIND_CNN,
        model,
        seconds,
        history=history,
        details={"epochs": epochs, "best_epoch": best_epoch, "width": width, "parameters": sum(p.numel() for p in model.parameters())},
    )


def _greedy_coreset(points: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Pick *size* rows that cover *points* well (greedy farthest-point sampling) and return their indices.

    Each step adds the point farthest from those already picked, so rare but
    normal patches (edges, holes) stay in memory where a random sample could
    drop them.
    """
    squared_norms = (points * points).sum(dim=1)
    first = int(torch.randint(0, len(points), (1,), generator=generator))
    chosen = [first]
    nearest = squared_norms - 2.0 * (points @ points[first]) + squared_norms[first]
    for _ in range(size - 1):
        index = int(torch.argmax(nearest))
        chosen.append(index)
        distance = squared_norms - 2.0 * (points @ points[index]) + squared_norms[index]
        nearest = torch.minimum(nearest, distance)
    return torch.as_tensor(chosen)


@torch.no_grad()
def fit_anomaly_detector(
    good_images: np.ndarray,
    *,
    patch_size: int | None = None,
    memory_size: int = 3000,
    random_state: int = 0,
) -> FittedProgram:
    """Fit the good-parts-only detector (異常検知): a memory of good patches.

    Parameters
    ----------
    good_images : ndarray of shape (n, S, S)
        Photos of good parts only, float in [0, 1].
    patch_size : int, optional
        Side of a patch in pixels (default S // 8).
    memory_size : int, default=3000
        Patches kept in memory, chosen by greedy farthest-point sampling.
        Scoring time grows with it.
    random_state : int, default=0
        Seed of the first point of the sampling.

    Returns
    -------
    FittedProgram
    """
    if len(good_images) < 2:
        raise ValueError(f"the anomaly detector needs at least 2 good images, got {len(good_images)}")
    if memory_size < 1:
        raise ValueError(f"memory_size must be positive, got {memory_size!r}")
    started = time.perf_counter()
    image_size = int(good_images.shape[-1])

    # Patch features of every good image, standardised per feature.
    extractor = PatchFeatures(image_size, patch_size=patch_size)
    maps = _extract(extractor, good_images, description=message("inspection.progress_patches"))
    patches = maps.permute(0, 2, 3, 1).reshape(-1, maps.shape[1])
    mean = patches.mean(dim=0)
    scale = patches.std(dim=0).clamp_min(1e-3)
    standardised = (patches - mean) / scale

    # Keep a memory that covers the good patches; the search runs on a random sample of
    # at most ten times the memory size to bound its time.
    generator = torch.Generator().manual_seed(random_state)
    if len(standardised) > memory_size:
        candidates = standardised
        if len(candidates) > 10 * memory_size:
            candidates = candidates[torch.randperm(len(candidates), generator=generator)[: 10 * memory_size]]
        memory = candidates[_greedy_coreset(candidates, memory_size, generator)]
    else:
        memory = standardised

    scorer = PatchNearestNeighbourScorer(image_size, mean, scale, memory, patch_size=extractor.patch_size).eval()
    seconds = time.perf_counter() - started
    logger.info("anomaly detector fitted in %.1f s on %d good images, memory %d patches", seconds, len(good_images), len(memory))
    return FittedProgram(
        KIND_ANOMALY,
        scorer,
        seconds,
        details={"memory_size": int(len(memory)), "patch_size": int(extractor.patch_size), "n_good_images": int(len(good_images))},
    )
