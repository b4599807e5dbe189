"""Export to TorchScript and reload: the same scores and verdicts, with torch alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from kenshu.datasets import make_press_parts
from kenshu.inspection import (
    InspectionModel,
    export_model,
    fit_anomaly_detector,
    fit_feature_baseline,
    load_exported,
    predict,
    score_images,
)


@pytest.fixture(scope="module")
def parts():
    data = make_press_parts(24, image_size=32, random_state=5)
    return data.images.astype(np.float32) / 255.0, data.target


def _export(fitted, images, target, folder: Path) -> tuple[InspectionModel, Path]:
    scores = score_images(fitted.scorer, images)
    threshold = float(np.median(scores))
    model = InspectionModel(fitted.scorer, threshold=threshold, image_size=images.shape[-1], kind=fitted.kind)
    return model, export_model(model, folder)


def test_feature_model_reload_same_verdicts(parts, tmp_path: Path) -> None:
    images, target = parts
    fitted = fit_feature_baseline(images, target)
    model, path = _export(fitted, images, target, tmp_path)
    loaded = load_exported(tmp_path)

    expected = score_images(fitted.scorer, images)
    reloaded = loaded.score(images)
    assert np.allclose(reloaded, expected, atol=1e-6)
    assert np.array_equal(reloaded >= loaded.threshold, expected >= model.threshold)


def test_anomaly_model_reload_same_verdicts(parts, tmp_path: Path) -> None:
    images, target = parts
    fitted = fit_anomaly_detector(images[target == 0], memory_size=100)
    model, path = _export(fitted, images, target, tmp_path)
    module = torch.jit.load(str(path))

    tensor = torch.as_tensor(images).unsqueeze(1)
    with torch.no_grad():
        verdicts = module.verdicts(tensor).numpy()
    expected = score_images(fitted.scorer, images) >= model.threshold
    assert np.array_equal(verdicts, expected)


def test_exported_model_takes_uint8(parts, tmp_path: Path) -> None:
    images, target = parts
    fitted = fit_feature_baseline(images, target)
    _, path = _export(fitted, images, target, tmp_path)
    module = torch.jit.load(str(path))

    as_bytes = torch.as_tensor(np.round(images * 255).astype(np.uint8))
    with torch.no_grad():
        from_bytes = module(as_bytes).numpy()
    assert np.allclose(from_bytes, score_images(fitted.scorer, np.round(images * 255) / 255), atol=1e-5)


def test_config_beside_model(parts, tmp_path: Path) -> None:
    images, target = parts
    model, path = _export(fit_feature_baseline(images, target), images, target, tmp_path)
    config = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert config["threshold"] == pytest.approx(model.threshold)
    assert config["image_size"] == 32
    assert config["kind"] == "features"


def test_predict_files_match_arrays(parts, tmp_path: Path) -> None:
    images, target = parts
    fitted = fit_feature_baseline(images, target)
    model, _ = _export(fitted, images, target, tmp_path / "model")
    files = []
    for index, image in enumerate(images[:6]):
        file = tmp_path / "photos" / f"{index}.png"
        file.parent.mkdir(exist_ok=True)
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(file)
        files.append(file)

    verdicts = predict(tmp_path / "model", files)
    expected = score_images(fitted.scorer, np.round(images[:6] * 255) / 255)
    assert [verdict.path for verdict in verdicts] == files
    assert np.allclose([verdict.score for verdict in verdicts], expected, atol=1e-5)
    assert [verdict.is_defect for verdict in verdicts] == list(expected >= model.threshold)


def test_list_images_leaves_out_masks(tmp_path: Path) -> None:
    from kenshu.inspection.export import list_images

    pixels = np.zeros((8, 8), dtype=np.uint8)
    for name in ["0001.png", "0001_mask.png", "0002.jpg", "0002.png", "0003.png", "lone_mask.png"]:
        Image.fromarray(pixels).save(tmp_path / name)
    listed = [path.name for path in list_images([tmp_path])]
    # A mask needs its photo beside it; "lone_mask.png" has none, so it is a photo.
    assert listed == ["0001.png", "0002.jpg", "0003.png", "lone_mask.png"]


def test_ensemble_mean_of_logits_and_reload(parts, tmp_path: Path) -> None:
    from scipy.special import expit, logit

    from kenshu.inspection import combine_programs, fit_cnn

    images, target = parts
    features = fit_feature_baseline(images, target)
    cnn = fit_cnn(images[:16], target[:16], images[16:], target[16:], epochs=2)
    combined = combine_programs([features, cnn])
    assert combined.kind == "ensemble"
    assert combined.training_seconds == pytest.approx(features.training_seconds + cnn.training_seconds)

    members = [np.clip(score_images(program.scorer, images), 1e-6, 1 - 1e-6) for program in (features, cnn)]
    expected = expit((logit(members[0]) + logit(members[1])) / 2)
    assert np.allclose(score_images(combined.scorer, images), expected, atol=1e-5)

    _export(combined, images, target, tmp_path)
    assert np.allclose(load_exported(tmp_path).score(images), expected, atol=1e-5)


def test_ensemble_rejects_members(parts) -> None:
    from kenshu.inspection import combine_programs

    images, target = parts
    features = fit_feature_baseline(images, target)
    detector = fit_anomaly_detector(images[target == 0], memory_size=50)
    with pytest.raises(ValueError, match="at least 2"):
        combine_programs([features])
    with pytest.raises(ValueError, match="only supervised"):
        combine_programs([features, detector])
