"""良品/不良品 classification from process data in a table (one row per part or stroke).

:func:`fit_tabular_classifier` fits gradient boosting (scikit-learn's
``HistGradientBoostingClassifier``) or, as the baseline, a logistic
regression on a table such as :func:`kenshu.datasets.make_process_log` or
:func:`kenshu.datasets.load_sensor_csv` returns. Text columns (lot, lubricant
kind, product type) are used as categories. Time stamps are left out,
because a model that learns the date does not carry over to next month.
The settings are chosen by stratified cross-validation on the training rows
only, so the validation and test rows stay unused for choices.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

logger = logging.getLogger(__name__)

TABULAR_METHODS = ("boosting", "logistic")

# Settings compared by cross-validation. Each grid has four points, so a fit costs 4 x cv + 1 model fits.
_BOOSTING_GRID = {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [15, 31]}
_LOGISTIC_GRID = {"classifier__C": [0.01, 0.1, 1.0, 10.0]}


@dataclass
class TabularProgram:
    """A fitted table classifier and its training record.

    Attributes
    ----------
    method : str
        ``"boosting"`` or ``"logistic"``.
    model : sklearn estimator
        The refitted best estimator; takes a DataFrame with ``columns``.
    columns : list of str
        Columns used, in order.
    categorical : list of str
        Columns among them treated as categories.
    training_seconds : float
        Wall-clock time of the fit, cross-validation included.
    cv_roc_auc : float
        Mean ROC AUC of the chosen settings over the cross-validation folds.
    details : dict
        Chosen settings and the columns left out.
    """

    method: str
    model: object
    columns: list[str]
    categorical: list[str]
    training_seconds: float
    cv_roc_auc: float
    details: dict = field(default_factory=dict)

    def score(self, data: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Return the probability of 不良品 for every row of *data* (same columns as in training)."""
        frame = _prepare(_as_frame(data), self.columns, self.categorical)
        return self.model.predict_proba(frame)[:, 1]


def _as_frame(data: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    array = np.asarray(data)
    if array.ndim != 2:
        raise ValueError(f"data must be a DataFrame or a 2-D array, got shape {array.shape}")
    return pd.DataFrame(array, columns=[f"x{index}" for index in range(array.shape[1])])


def _split_columns(frame: pd.DataFrame, categorical: list[str] | None) -> tuple[list[str], list[str], list[str]]:
    """Return the columns used, those among them that are categories, and the time-stamp columns left out."""
    dropped = [str(name) for name in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[name])]
    used = [str(name) for name in frame.columns if str(name) not in dropped]
    if categorical is None:
        categories = [name for name in used if not pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name])]
    else:
        missing = [name for name in categorical if name not in used]
        if missing:
            raise ValueError(f"categorical columns not found in the data: {missing}; columns are {used}")
        categories = list(categorical)
    return used, categories, dropped


def _prepare(frame: pd.DataFrame, columns: list[str], categorical: list[str]) -> pd.DataFrame:
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ValueError(f"columns missing from the data: {missing}")
    prepared = frame[columns].copy()
    for name in categorical:
        prepared[name] = prepared[name].astype(str).astype("category")
    return prepared


def _boosting(categorical: list[str], random_state: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=200,
        class_weight="balanced",
        categorical_features="from_dtype" if categorical else None,
        early_stopping=False,
        random_state=random_state,
    )


def _logistic(columns: list[str], categorical: list[str]) -> Pipeline:
    numeric = [name for name in columns if name not in categorical]
    encoder = ColumnTransformer(
        [("numeric", StandardScaler(), numeric), ("categories", OneHotEncoder(handle_unknown="ignore"), categorical)]
    )
    return Pipeline([("encoder", encoder), ("classifier", LogisticRegression(max_iter=5000, class_weight="balanced"))])


def fit_tabular_classifier(
    data: pd.DataFrame | np.ndarray,
    target,
    *,
    method: str = "boosting",
    categorical: list[str] | None = None,
    cv: int = 4,
    n_threads: int | None = None,
    random_state: int = 0,
) -> TabularProgram:
    """Fit a 良品/不良品 classifier on process data, choosing its settings by cross-validation.

    Parameters
    ----------
    data : DataFrame or ndarray of shape (n_rows, n_columns)
        Training rows. Numeric columns are used as they are, text and boolean
        columns as categories, time-stamp columns are left out. Leave out the
        label column and any column that is the label in other words (for
        example failure-mode flags).
    target : array-like of shape (n_rows,)
        1 = 不良品, 0 = 良品.
    method : {"boosting", "logistic"}, default="boosting"
        Gradient-boosted trees (captures thresholds and interactions such as
        "hot die and thin lubricant"), or a logistic regression on
        standardised numbers and one-hot categories (the baseline).
    categorical : list of str, optional
        Columns to treat as categories, instead of the text columns.
    cv : int, default=4
        Stratified folds for choosing the settings (learning rate and leaf
        count for boosting, ``C`` for the logistic regression), scored by ROC AUC.
    n_threads : int, optional
        Most OpenMP and BLAS threads while fitting; by default the libraries'
        own choice. On a CPU shared with other work, 1 is often faster.
    random_state : int, default=0
        Seed of the folds and of the boosting.

    Returns
    -------
    TabularProgram

    Raises
    ------
    ValueError
        If *method* is unknown, the lengths differ, *target* contains values
        other than 0 and 1, or a class has fewer rows than *cv*.
    """
    if method not in TABULAR_METHODS:
        raise ValueError(f"method must be one of {TABULAR_METHODS}, got {method!r}")
    frame = _as_frame(data)
    labels = np.asarray(target).ravel()
    if len(labels) != len(frame):
        raise ValueError(f"data and target differ in length: {len(frame)} rows and {len(labels)} labels")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"target must be 0 (良品) or 1 (不良品), got values {sorted(set(labels.tolist()))[:10]}")
    labels = labels.astype(np.int64)
    counts = np.bincount(labels, minlength=2)
    if counts.min() < cv:
        raise ValueError(f"each class needs at least cv={cv} rows for cross-validation, got 良品 {counts[0]} and 不良品 {counts[1]}")
    started = time.perf_counter()

    # Columns: categories as pandas categories, so both models see the same table.
    columns, categories, dropped = _split_columns(frame, categorical)
    if dropped:
        logger.info("time-stamp columns left out of the model: %s", dropped)
    prepared = _prepare(frame, columns, categories)

    # Settings chosen on the training rows only.
    if method == "boosting":
        estimator, grid = _boosting(categories, random_state), _BOOSTING_GRID
    else:
        estimator, grid = _logistic(columns, categories), _LOGISTIC_GRID
    search = GridSearchCV(estimator, grid, scoring="roc_auc", cv=StratifiedKFold(cv, shuffle=True, random_state=random_state))
    with threadpool_limits(limits=n_threads):
        search.fit(prepared, labels)

    seconds = time.perf_counter() - started
    logger.info("tabular %s fitted in %.1f s on %d rows, cross-validated ROC AUC %.3f", method, seconds, len(labels), search.best_score_)
    return TabularProgram(
        method=method,
        model=search.best_estimator_,
        columns=columns,
        categorical=categories,
        training_seconds=seconds,
        cv_roc_auc=float(search.best_score_),
        details={"settings": dict(search.best_params_), "dropped_columns": dropped},
    )


__all__ = ["TABULAR_METHODS", "TabularProgram", "fit_tabular_classifier"]
