"""Fixtures for the hardware-lab tests: a real Mosquitto on 127.0.0.1."""

from __future__ import annotations

import os
import shutil

import pytest

from kenshu.hardware_labs.broker import MosquittoBroker


@pytest.fixture
def mosquitto(tmp_path):
    """A mosquitto process on a free port of 127.0.0.1, with a generated configuration file."""
    if shutil.which("mosquitto") is None and not os.path.exists("/usr/sbin/mosquitto"):
        pytest.skip("mosquitto not installed: apt-get install -y mosquitto")
    broker = MosquittoBroker(directory=tmp_path / "mosquitto").start()
    yield broker
    broker.stop()
