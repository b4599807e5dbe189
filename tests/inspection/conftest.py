"""Small generated photo folders and one fast training run shared by the inspection tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from kenshu.datasets import make_press_parts, save_image_folder

# Settings that keep one training run to seconds on a shared CPU.
FAST = {"image_size": 32, "epochs": 2, "n_threads": 1, "memory_size": 200}


@pytest.fixture(scope="session")
def press_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder 良品/ + 不良品/ of 48 generated press parts (64 px)."""
    folder = tmp_path_factory.mktemp("press") / "parts"
    save_image_folder(make_press_parts(48, image_size=64, random_state=3), folder)
    return folder


@pytest.fixture(scope="session")
def trained(press_folder: Path, tmp_path_factory: pytest.TempPathFactory):
    """A supervised training run on ``press_folder`` with both programs, fast settings."""
    from kenshu.inspection import train_inspector

    out_dir = tmp_path_factory.mktemp("trained") / "out"
    return train_inspector(press_folder, out_dir=out_dir, mode="supervised", random_state=0, **FAST)
