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
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from torch import nn

from kenshu.i18n import message
from kenshu.inspection.features import GoodReference, ImageFeatures, PartAligner, PatchFeatures, alignment_gain, fit_good_reference
from kenshu.inspection.models import (
    KIND_ANOMALY,
    KIND_CNN,
    KIND_ENSEMBLE,
    KIND_FEATURES,
    AlignedDeviationScorer,
    FeatureGaussianScorer,
    FeatureLinearScorer,
    MeanLogitEnsemble,
    PatchNearestNeighbourScorer,
    SmallCNN,
)
from kenshu.progress import progress_bar

logger = logging.getLogger(__name__)

ALIGN_CHOICES = ("auto", "always", "never")
ANOMALY_METHODS = ("auto", "aligned", "features", "patches")
# With align="auto", parts are aligned when that makes the good images agree at least
# this much better (ratio of per-pixel standard deviations, see alignment_gain).
# Measured on the data of benchmarks/bench_inspection.py: generated press parts 2.0 to 2.2,
# magnetic tile photos 1.0.
MIN_ALIGNMENT_GAIN = 1.25


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


def _check_align(align: str) -> None:
    if align not in ALIGN_CHOICES:
        raise ValueError(f"align must be one of {ALIGN_CHOICES}, got {align!r}")


def _decide_alignment(good: torch.Tensor, align: str) -> PartAligner | None:
    """Return the aligner to use for these good images, or None when they are better compared as they are."""
    if align == "never":
        return None
    gain, aligner = alignment_gain(good)
    use = align == "always" or gain >= MIN_ALIGNMENT_GAIN
    logger.info("alignment gain %.2f on %d good images: %s", gain, len(good), "aligning parts" if use else "not aligning")
    return aligner if use else None


@torch.no_grad()
def _deviation_features(reference: GoodReference, tensor: torch.Tensor, *, batch_size: int = 64) -> np.ndarray:
    parts = [reference.deviation_features(reference(tensor[start : start + batch_size])) for start in range(0, len(tensor), batch_size)]
    return torch.cat(parts).numpy().astype(np.float64)


@torch.no_grad()
def _cross_fitted_deviations(tensor: torch.Tensor, target: np.ndarray, aligner: PartAligner, random_state: int) -> np.ndarray:
    """Return deviation features of the training images, each from a reference fitted without it.

    A good image inside the reference looks closer to it than a new good
    image would, so each half of the training set is described by a
    reference fitted on the good images of the other half.
    """
    rng = np.random.RandomState(random_state)
    halves = np.zeros(len(target), dtype=np.int64)
    for label in (0, 1):
        members = np.flatnonzero(target == label)
        halves[rng.permutation(members)[: len(members) // 2]] = 1
    features: np.ndarray | None = None
    for half in (0, 1):
        fitted_on = np.flatnonzero((halves != half) & (target == 0))
        described = np.flatnonzero(halves == half)
        reference = fit_good_reference(tensor[fitted_on], aligner)
        values = _deviation_features(reference, tensor[torch.as_tensor(described)])
        if features is None:
            features = np.zeros((len(target), values.shape[1]))
        features[described] = values
    return features


def fit_feature_baseline(images: np.ndarray, target: np.ndarray, *, random_state: int = 0, align: str = "auto") -> FittedProgram:
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
    align : {"auto", "always", "never"}, default="auto"
        Whether to add the deviations of the aligned part from the good
        training parts (:class:`~kenshu.inspection.features.GoodReference`)
        to the features. ``"auto"`` does so when aligning makes the good
        training images agree clearly better (a part photographed in varying
        poses), not for a surface that fills the frame.

    Returns
    -------
    FittedProgram
        ``details`` records ``C``, ``n_features`` and ``aligned``.
    """
    _check_training_labels(target)
    _check_align(align)
    started = time.perf_counter()
    image_size = int(images.shape[-1])
    target = np.asarray(target, dtype=np.int64)
    tensor = as_tensor(images)

    # Features in torch, so that the exported module computes exactly these.
    extractor = ImageFeatures(image_size)
    features = _extract(extractor, images, description=message("inspection.progress_features")).numpy().astype(np.float64)

    # Deviations from the good parts, cross-fitted so that training images are described as new ones would be.
    aligner = _decide_alignment(tensor[torch.as_tensor(target == 0)], align)
    reference = None
    if aligner is not None:
        deviations = _cross_fitted_deviations(tensor, target, aligner, random_state)
        features = np.concatenate([features, deviations], axis=1)
        reference = fit_good_reference(tensor[torch.as_tensor(target == 0)], aligner)

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
        reference=reference,
    ).eval()
    seconds = time.perf_counter() - started
    chosen_c = float(np.ravel(classifier.C_)[0])
    logger.info("feature baseline fitted in %.1f s, C=%s, %d features", seconds, chosen_c, features.shape[1])
    details = {"C": chosen_c, "n_features": int(features.shape[1]), "aligned": reference is not None}
    return FittedProgram(KIND_FEATURES, scorer, seconds, details=details)


def augment(batch: torch.Tensor, generator: torch.Generator, *, flips: bool = True) -> torch.Tensor:
    """Return a randomly flipped, quarter-turned, brightened and contrast-changed copy of *batch* (N, 1, S, S).

    With ``flips=False`` the images are only turned, never mirrored: a
    mirrored part is a different part when it is compared with good ones.
    """
    n = batch.shape[0]
    flip_x = torch.rand(n, generator=generator) < 0.5
    flip_y = torch.rand(n, generator=generator) < 0.5
    turns = torch.randint(0, 4, (n,), generator=generator)
    out = batch
    if flips:
        out = torch.where(flip_x.view(n, 1, 1, 1), out.flip(3), out)
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
    learning_rate: float = 3e-3,
    width: int = 8,
    patience: int | None = 8,
    align: str = "auto",
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
        Most epochs to train.
    batch_size : int, default=32
    learning_rate : float, default=3e-3
        Peak AdamW learning rate of a one-cycle schedule over *epochs*.
    width : int, default=8
        Channels of the first stage of :class:`SmallCNN`.
    patience : int or None, default=8
        Stop when the validation ROC AUC has not improved for this many
        epochs; None trains all *epochs*.
    align : {"auto", "always", "never"}, default="auto"
        Whether the network receives the aligned part and its deviations from the
        good training parts instead of the photo (see
        :func:`fit_feature_baseline`).
    random_state : int, default=0
        Seed of the weights, batch order and augmentation.

    Returns
    -------
    FittedProgram
        With ``history`` holding per-epoch training and validation loss and
        validation ROC AUC.

    Notes
    -----
    With alignment, the good-part reference is fitted on all good training
    images, so good training images look slightly closer to it than new
    ones. The threshold is chosen on validation images, which the reference
    has not seen.
    """
    _check_training_labels(target)
    _check_align(align)
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs!r}")
    if patience is not None and patience < 1:
        raise ValueError(f"patience must be at least 1 or None, got {patience!r}")
    started = time.perf_counter()
    torch.manual_seed(random_state)
    generator = torch.Generator().manual_seed(random_state)

    x_train = as_tensor(images)
    y_train = torch.as_tensor(np.asarray(target, dtype=np.float32))
    x_valid = as_tensor(validation_images)
    y_valid = np.asarray(validation_target, dtype=np.int64)
    aligner = _decide_alignment(x_train[y_train == 0], align)
    reference = None if aligner is None else fit_good_reference(x_train[y_train == 0], aligner)
    model = SmallCNN(width=width, reference=reference)

    # Defects are usually the rarer class: weight them up so that both count equally.
    n_defect = float(y_train.sum())
    pos_weight = torch.tensor([(len(y_train) - n_defect) / max(n_defect, 1.0)])
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    steps_per_epoch = max(1, sum(1 for start in range(0, len(x_train), batch_size) if len(x_train) - start >= 2))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=epochs * steps_per_epoch)
    history: dict[str, list[float]] = {"train_loss": [], "validation_loss": [], "validation_auc": []}
    best_state, best_key, best_epoch = None, None, 0

    with progress_bar(description=message("inspection.progress_cnn"), total=epochs, unit="epoch") as bar:
        for epoch in range(epochs):
            model.train()
            order = torch.randperm(len(x_train), generator=generator)
            total_loss = 0.0
            for start in range(0, len(order), batch_size):
                index = order[start : start + batch_size]
                if len(index) < 2:
                    continue  # batch normalisation needs two images
                # Turned images are turned back by the aligner; mirrored ones would not be.
                logits = model.logits(augment(x_train[index], generator, flips=reference is None))
                loss = F.binary_cross_entropy_with_logits(logits, y_train[index], pos_weight=pos_weight)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                total_loss += loss.item() * len(index)

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
            if patience is not None and epoch + 1 - best_epoch >= patience:
                logger.info("CNN early stop after epoch %d: validation ROC AUC best at epoch %d", epoch + 1, best_epoch)
                # The bar ends full at the epoch where training stopped, not part way.
                bar.total = epoch + 1
                bar.update(1)
                break
            bar.update(1)

    model.load_state_dict(best_state)
    model.eval()
    seconds = time.perf_counter() - started
    trained_epochs = len(history["train_loss"])
    logger.info("CNN trained in %.1f s, best epoch %d of %d", seconds, best_epoch, trained_epochs)
    return FittedProgram(
        KIND_CNN,
        model,
        seconds,
        history=history,
        details={
            "epochs": trained_epochs,
            "best_epoch": best_epoch,
            "width": width,
            "aligned": reference is not None,
            "parameters": sum(p.numel() for p in model.parameters()),
        },
    )


def combine_programs(programs: list[FittedProgram]) -> FittedProgram:
    """Combine fitted supervised programs into one that scores by the mean of their logits.

    Nothing is trained: the training time is the sum of the members', and
    the history is that of the first member that has one (the CNN's curves).

    Raises
    ------
    ValueError
        If fewer than 2 programs are given or one of them is a good-parts-only detector.
    """
    if len(programs) < 2:
        raise ValueError(f"combine_programs needs at least 2 programs, got {len(programs)}")
    kinds = [program.kind for program in programs]
    if KIND_ANOMALY in kinds:
        raise ValueError(f"only supervised programs (scores are probabilities) can be combined, got kinds {kinds}")
    scorer = MeanLogitEnsemble([program.scorer for program in programs]).eval()
    history = next((program.history for program in programs if program.history), {})
    return FittedProgram(
        KIND_ENSEMBLE,
        scorer,
        sum(program.training_seconds for program in programs),
        history=history,
        details={"members": kinds},
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
    method: str = "auto",
    patch_size: int | None = None,
    memory_size: int = 3000,
    random_state: int = 0,
) -> FittedProgram:
    """Fit the good-parts-only detector (異常検知) on photos of good parts.

    Parameters
    ----------
    good_images : ndarray of shape (n, S, S)
        Photos of good parts only, float in [0, 1].
    method : {"auto", "aligned", "features", "patches"}, default="auto"
        ``"aligned"``: align every part and score the largest deviation from
        the good parts pixel by pixel (:class:`AlignedDeviationScorer`).
        ``"features"``: Mahalanobis distance of the whole-image features from
        those of the good images (:class:`FeatureGaussianScorer`).
        ``"patches"``: distance of every patch to the nearest good patch
        (:class:`PatchNearestNeighbourScorer`). ``"auto"`` takes
        ``"aligned"`` when aligning makes the good images agree clearly
        better (one part photographed in varying poses) and ``"features"``
        otherwise (a surface that fills the frame).
    patch_size : int, optional
        Side of a patch in pixels for ``"patches"`` (default S // 8).
    memory_size : int, default=3000
        Patches kept in memory by ``"patches"``, chosen by greedy
        farthest-point sampling. Scoring time grows with it.
    random_state : int, default=0
        Seed of the first point of the sampling.

    Returns
    -------
    FittedProgram
        ``details["method"]`` records the method used.
    """
    if len(good_images) < 2:
        raise ValueError(f"the anomaly detector needs at least 2 good images, got {len(good_images)}")
    if method not in ANOMALY_METHODS:
        raise ValueError(f"method must be one of {ANOMALY_METHODS}, got {method!r}")
    if memory_size < 1:
        raise ValueError(f"memory_size must be positive, got {memory_size!r}")
    started = time.perf_counter()
    image_size = int(good_images.shape[-1])
    tensor = as_tensor(good_images)

    if method in ("auto", "aligned"):
        aligner = _decide_alignment(tensor, "always" if method == "aligned" else "auto")
        method = "aligned" if aligner is not None else "features"
    if method == "aligned":
        scorer = AlignedDeviationScorer(fit_good_reference(tensor, aligner)).eval()
        details = {}
    elif method == "features":
        scorer, details = _fit_feature_gaussian(good_images, image_size)
    else:
        scorer, details = _fit_patch_memory(good_images, image_size, patch_size, memory_size, random_state)

    seconds = time.perf_counter() - started
    logger.info("anomaly detector (%s) fitted in %.1f s on %d good images", method, seconds, len(good_images))
    details.update({"method": method, "n_good_images": int(len(good_images))})
    return FittedProgram(KIND_ANOMALY, scorer, seconds, details=details)


def _fit_feature_gaussian(good_images: np.ndarray, image_size: int) -> tuple[nn.Module, dict]:
    extractor = ImageFeatures(image_size)
    features = _extract(extractor, good_images, description=message("inspection.progress_features")).numpy().astype(np.float64)
    scaler = StandardScaler().fit(features)
    # Features constant over the good images get scale 1 from StandardScaler, so they cannot divide by zero.
    covariance = LedoitWolf().fit(scaler.transform(features))
    scorer = FeatureGaussianScorer(
        image_size,
        torch.as_tensor(scaler.mean_),
        torch.as_tensor(scaler.scale_),
        torch.as_tensor(covariance.location_),
        torch.as_tensor(covariance.precision_),
    ).eval()
    return scorer, {"n_features": int(features.shape[1]), "shrinkage": float(covariance.shrinkage_)}


def _fit_patch_memory(good_images: np.ndarray, image_size: int, patch_size: int | None, memory_size: int, random_state: int) -> tuple[nn.Module, dict]:
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
    return scorer, {"memory_size": int(len(memory)), "patch_size": int(extractor.patch_size)}
