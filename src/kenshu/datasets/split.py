"""Stratified, reproducible split into training, validation and test sets."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from sklearn.utils import check_random_state

logger = logging.getLogger(__name__)


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a fraction in (0, 1), got {value!r}")


def train_validation_test_split(
    target: Sequence | np.ndarray,
    *,
    validation_size: float = 0.2,
    test_size: float = 0.2,
    random_state: int | np.random.RandomState | None = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split sample indices into training, validation and test sets, class by class.

    Every class is split on its own, so each set has about the same class
    proportions as *target*. A class with at least three samples has at least
    one in each set. A class with one sample goes to training only, and one
    with two samples to training and test; both cases are logged as warnings.

    Parameters
    ----------
    target : array-like of shape (n_samples,)
        Class labels (any hashable values, such as 0/1 or folder names).
    validation_size, test_size : float, default=0.2
        Fractions of each class for validation and test; each in (0, 1) and
        together below 1. Counts are rounded to the nearest whole sample.
    random_state : int, RandomState instance or None, default=0
        Seed for the shuffle. The same seed and target give the same split.

    Returns
    -------
    train, validation, test : ndarray of int
        Indices into *target*, shuffled, disjoint and together covering every
        sample.

    Raises
    ------
    ValueError
        If a fraction is out of range or *target* is empty or not 1-D.

    See Also
    --------
    sklearn.model_selection.train_test_split : The two-way split this extends.
    """
    _check_fraction("validation_size", validation_size)
    _check_fraction("test_size", test_size)
    if validation_size + test_size >= 1.0:
        raise ValueError(
            f"validation_size + test_size must be below 1, got {validation_size} + {test_size} = {validation_size + test_size}"
        )
    labels = np.asarray(target)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"target must be a non-empty 1-D array, got shape {labels.shape}")

    rng = check_random_state(random_state)
    train, validation, test = [], [], []

    # Classes in sorted label order, so the same target and seed always draw the same permutations.
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        count = len(members)
        if count >= 3:
            n_test = min(max(1, int(round(count * test_size))), count - 2)
            n_validation = min(max(1, int(round(count * validation_size))), count - n_test - 1)
        else:
            logger.warning("class %r has only %d samples: it cannot appear in all three sets", label, count)
            n_test = 1 if count == 2 else 0
            n_validation = 0
        test.append(members[:n_test])
        validation.append(members[n_test : n_test + n_validation])
        train.append(members[n_test + n_validation :])

    # Shuffle each set so that classes are interleaved, as scikit-learn's splits return them.
    parts = []
    for chunks in (train, validation, test):
        indices = np.concatenate(chunks).astype(np.int64)
        parts.append(indices[rng.permutation(len(indices))])
    return parts[0], parts[1], parts[2]
