"""Time the kenshu.datasets generators and importers on this machine.

Run: .venv/bin/python benchmarks/datasets_speed.py

Prints wall time per step. The real-data steps run only when the folder
``shared/realdata`` exists beside the checkout.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from kenshu.datasets import (
    load_image_folder,
    load_sensor_csv,
    make_bearing_vibration,
    make_press_parts,
    make_process_log,
    save_image_folder,
)

REALDATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata"


def timed(label: str, function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    print(f"{label:<52} {time.perf_counter() - start:7.2f} s")
    return result


def main() -> None:
    os.environ.setdefault("KENSHU_PROGRESS", "0")
    print(f"CPU cores visible: {os.cpu_count()}")
    parts = timed("make_press_parts(200, image_size=128)", make_press_parts, 200, random_state=0)
    timed("make_process_log(10000)", make_process_log, 10000, random_state=0)
    timed("make_bearing_vibration(duration=10 s, 12 kHz)", make_bearing_vibration, "inner_race", duration=10.0, random_state=0)

    with tempfile.TemporaryDirectory() as folder:
        timed("save_image_folder (200 photos + masks)", save_image_folder, parts, folder)
        timed("save_image_folder again (nothing changed)", save_image_folder, parts, folder)
        timed("load_image_folder (200 photos, 64 px)", load_image_folder, folder, show_progress=False)

    tiles = REALDATA / "magnetic_tile"
    if tiles.is_dir():
        with tempfile.TemporaryDirectory() as cards:
            timed("load_image_folder magnetic tile (472 photos, 64 px)", load_image_folder, tiles, card_dir=cards, show_progress=False)
    else:
        print(f"skipped magnetic tile: not found at {tiles}")
    ai4i = REALDATA / "ai4i2020" / "ai4i2020.csv"
    if ai4i.is_file():
        timed("load_sensor_csv AI4I 2020 (10000 rows)", load_sensor_csv, ai4i)
    else:
        print(f"skipped AI4I: not found at {ai4i}")


if __name__ == "__main__":
    main()
