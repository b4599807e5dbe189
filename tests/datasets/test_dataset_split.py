"""train_validation_test_split."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from kenshu.datasets import train_validation_test_split


@pytest.fixture()
def target():
    return np.array([0] * 70 + [1] * 25 + [2] * 5)


def test_disjoint_and_complete(target):
    train, validation, test = train_validation_test_split(target)
    joined = np.concatenate([train, validation, test])
    assert len(joined) == len(target)
    assert len(set(joined.tolist())) == len(target)


def test_stratified_proportions(target):
    train, validation, test = train_validation_test_split(target, validation_size=0.2, test_size=0.2)
    for label, count in ((0, 70), (1, 25)):
        assert int((target[test] == label).sum()) == round(count * 0.2)
        assert int((target[validation] == label).sum()) == round(count * 0.2)
        assert int((target[train] == label).sum()) == count - 2 * round(count * 0.2)


def test_small_class_in_every_set():
    labels = np.array([0] * 40 + [1] * 3)
    for indices in train_validation_test_split(labels):
        assert (labels[indices] == 1).sum() == 1


def test_reproducible(target):
    first = train_validation_test_split(target, random_state=3)
    second = train_validation_test_split(target, random_state=3)
    for a, b in zip(first, second):
        assert np.array_equal(a, b)


def test_seed_changes_split(target):
    first = train_validation_test_split(target, random_state=3)
    other = train_validation_test_split(target, random_state=4)
    assert not np.array_equal(np.sort(first[2]), np.sort(other[2]))


def test_string_labels():
    labels = np.array(["OK"] * 10 + ["NG"] * 10)
    train, validation, test = train_validation_test_split(labels)
    assert set(labels[test]) == {"OK", "NG"}


def test_single_sample_class_in_train(caplog):
    labels = np.array([0] * 10 + [1])
    with caplog.at_level(logging.WARNING, logger="kenshu.datasets"):
        train, validation, test = train_validation_test_split(labels)
    assert 10 in train.tolist()
    assert "only 1" in caplog.text


def test_two_sample_class_split():
    labels = np.array([0] * 10 + [1, 1])
    train, validation, test = train_validation_test_split(labels)
    assert (labels[train] == 1).sum() == 1
    assert (labels[test] == 1).sum() == 1


def test_sets_are_shuffled(target):
    train, _, _ = train_validation_test_split(target)
    assert not np.array_equal(train, np.sort(train))


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"validation_size": 0.0}, "validation_size"),
        ({"test_size": 1.2}, "1.2"),
        ({"validation_size": 0.6, "test_size": 0.5}, "0.6"),
    ],
)
def test_bad_sizes_name_value(target, options, fragment):
    with pytest.raises(ValueError, match=fragment):
        train_validation_test_split(target, **options)


def test_empty_target_rejected():
    with pytest.raises(ValueError, match="non-empty"):
        train_validation_test_split([])
