"""Part alignment and the good-part reference: pose, polarity, when to align, z-scores, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kenshu.datasets import make_press_parts
from kenshu.inspection import InspectionModel, export_model, fit_anomaly_detector, fit_cnn, fit_feature_baseline, load_exported, score_images
from kenshu.inspection.features import PartAligner, alignment_gain, fit_good_reference
from kenshu.inspection.fitting import MIN_ALIGNMENT_GAIN


@pytest.fixture(scope="module")
def parts() -> tuple[np.ndarray, np.ndarray]:
    data = make_press_parts(40, image_size=64, random_state=21)
    return data.images.astype(np.float32) / 255.0, data.target


@pytest.fixture(scope="module")
def surfaces() -> np.ndarray:
    """Textured surfaces that fill the frame, like photos of tiles: no part outline to align."""
    rng = np.random.RandomState(4)
    coarse = rng.uniform(0.3, 0.7, size=(30, 8, 8))
    texture = np.kron(coarse, np.ones((8, 8))) + rng.normal(0.0, 0.05, size=(30, 64, 64))
    return np.clip(texture, 0.0, 1.0).astype(np.float32)


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(images).unsqueeze(1)


def test_aligner_undoes_turn_and_shift(parts) -> None:
    images, _ = parts
    original = _tensor(images[:6])
    moved = torch.roll(torch.rot90(original, 1, dims=(2, 3)), shifts=(3, -4), dims=(2, 3))
    aligner = PartAligner()
    with torch.no_grad():
        difference_before = (original - moved).abs().mean()
        difference_after = (aligner(original) - aligner(moved)).abs().mean()
    assert difference_after < 0.3 * difference_before


def test_aligner_dark_part_on_light_background(parts) -> None:
    images, _ = parts
    light_part = _tensor(images[:6])
    aligner = PartAligner()
    with torch.no_grad():
        aligned_light = aligner(light_part)
        aligned_dark = aligner(1.0 - light_part)
    assert torch.allclose(aligned_dark, 1.0 - aligned_light, atol=1e-4)


def test_alignment_gain_parts_against_surfaces(parts, surfaces) -> None:
    images, target = parts
    part_gain, _ = alignment_gain(_tensor(images[target == 0]))
    surface_gain, _ = alignment_gain(_tensor(surfaces))
    assert part_gain >= MIN_ALIGNMENT_GAIN
    assert surface_gain < MIN_ALIGNMENT_GAIN


def test_reference_marks_painted_spot(parts) -> None:
    images, target = parts
    good = _tensor(images[target == 0])
    _, aligner = alignment_gain(good)
    reference = fit_good_reference(good, aligner)
    painted = good[:4].clone()
    painted[:, :, 28:34, 28:34] = 0.02
    with torch.no_grad():
        peak_good = reference(good[:4]).abs().amax(dim=(1, 2, 3))
        peak_painted = reference(painted).abs().amax(dim=(1, 2, 3))
    assert torch.all(peak_painted > peak_good)


def test_feature_baseline_aligns_parts_only(parts, surfaces) -> None:
    images, target = parts
    assert fit_feature_baseline(images, target).details["aligned"] is True
    assert fit_feature_baseline(images, target, align="never").details["aligned"] is False
    surface_target = np.arange(len(surfaces)) % 2
    assert fit_feature_baseline(surfaces, surface_target).details["aligned"] is False


def test_align_choice_rejected(parts) -> None:
    images, target = parts
    with pytest.raises(ValueError, match="align must be one of"):
        fit_feature_baseline(images, target, align="sometimes")


@pytest.mark.parametrize(("method", "images_from"), [("auto", "parts"), ("aligned", "parts"), ("auto", "surfaces"), ("patches", "parts")])
def test_anomaly_method_chosen(parts, surfaces, method: str, images_from: str) -> None:
    images = parts[0][parts[1] == 0] if images_from == "parts" else surfaces
    expected = {"auto": "aligned" if images_from == "parts" else "features"}.get(method, method)
    fitted = fit_anomaly_detector(images, method=method, memory_size=100)
    assert fitted.details["method"] == expected


@pytest.mark.parametrize("method", ["aligned", "features", "patches"])
def test_anomaly_painted_spot_and_reload(parts, tmp_path: Path, method: str) -> None:
    images, target = parts
    good = images[target == 0]
    fitted = fit_anomaly_detector(good, method=method, memory_size=200)
    painted = good[:6].copy()
    painted[:, 26:36, 26:36] = 0.02
    # Paired: each painted part against the same part unpainted.
    assert np.all(score_images(fitted.scorer, painted) > score_images(fitted.scorer, good[:6]))

    model = InspectionModel(fitted.scorer, threshold=1.0, image_size=64, kind=fitted.kind)
    export_model(model, tmp_path)
    reloaded = load_exported(tmp_path).score(images)
    assert np.allclose(reloaded, score_images(fitted.scorer, images), rtol=1e-4, atol=1e-5)


def test_aligned_cnn_reload_same_scores(parts, tmp_path: Path) -> None:
    images, target = parts
    fitted = fit_cnn(images[:30], target[:30], images[30:], target[30:], epochs=2, align="always", random_state=0)
    assert fitted.details["aligned"] is True
    model = InspectionModel(fitted.scorer, threshold=0.5, image_size=64, kind=fitted.kind)
    export_model(model, tmp_path)
    assert np.allclose(load_exported(tmp_path).score(images), score_images(fitted.scorer, images), atol=1e-5)


def test_cnn_stops_early(parts) -> None:
    images, target = parts
    fitted = fit_cnn(images[:30], target[:30], images[30:], target[30:], epochs=12, patience=1, align="never", random_state=0)
    trained = fitted.details["epochs"]
    assert len(fitted.history["validation_auc"]) == trained
    # Training stops one epoch after the best one, or runs out of epochs.
    assert trained == min(12, fitted.details["best_epoch"] + 1)


def test_cnn_progress_full_on_early_stop(parts, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    # Shown as in a terminal: the bar ends at the epoch where training stopped, as n/n, not part way.
    monkeypatch.setenv("KENSHU_PROGRESS", "1")
    images, target = parts
    fitted = fit_cnn(images[:30], target[:30], images[30:], target[30:], epochs=12, patience=1, align="never", random_state=0)
    trained = fitted.details["epochs"]
    last_line = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]

    assert trained < 12  # the case under test: training stopped early
    assert f"{trained}/{trained}" in last_line
    assert "100%" in last_line


def test_cnn_patience_rejected(parts) -> None:
    images, target = parts
    with pytest.raises(ValueError, match="patience"):
        fit_cnn(images[:30], target[:30], images[30:], target[30:], epochs=2, patience=0)
