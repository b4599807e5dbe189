"""Time the kenshu.datasets generators and importers against the plain library calls they build on.

Run: .venv/bin/python benchmarks/bench_datasets.py

Each importer is timed beside a baseline run in the same process:

- ``load_image_folder`` against a loop of ``PIL.Image.open`` + ``convert("L")``
  + ``resize`` over the same files (no EXIF rotation, duplicate check, card
  or problem report);
- ``load_sensor_csv`` against ``pandas.read_csv(..., encoding="utf-8-sig")``
  (no encoding detection, unit parsing or row checks).

The ratio printed is kenshu's time over the baseline's: what the checks cost.
The real-data steps run only when ``../shared/realdata`` exists beside the
checkout; the generated-data steps always run.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from kenshu.datasets import (
    load_image_folder,
    load_sensor_csv,
    make_bearing_vibration,
    make_press_parts,
    make_process_log,
    save_image_folder,
)

REALDATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata"


def timed(label: str, function, *args, **kwargs) -> tuple[float, object]:
    """Run *function* once; print and return its wall time with its result."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    print(f"{label:<56} {seconds:7.2f} s")
    return seconds, result


def plain_image_loop(paths: list[Path], image_size: int) -> np.ndarray:
    """Read *paths* with Pillow alone (the baseline): grayscale, square, scaled to 0..1."""
    images = []
    for path in paths:
        with Image.open(path) as image:
            images.append(np.asarray(image.convert("L").resize((image_size, image_size)), dtype=np.float32) / 255)
    return np.stack(images)


def compare_images(label: str, folder: Path, **options) -> None:
    """Time ``load_image_folder`` and the plain Pillow loop on *folder*; print the ratio."""
    ours, data = timed(f"load_image_folder {label}", load_image_folder, folder, show_progress=False, **options)
    # The baseline reads the photos the loader found, so both read the same files.
    theirs, plain = timed(f"  baseline: Pillow loop {label}", plain_image_loop, data.paths, data.images.shape[-1])
    print(f"  ratio load_image_folder / Pillow loop: {ours / theirs:.2f}x ({len(data.target)} and {len(plain)} images)")


def compare_csv(label: str, path: Path) -> None:
    """Time ``load_sensor_csv`` and ``pandas.read_csv`` on *path*; print the ratio."""
    ours, _ = timed(f"load_sensor_csv {label}", load_sensor_csv, path)
    theirs, _ = timed(f"  baseline: pandas.read_csv {label}", pd.read_csv, path, encoding="utf-8-sig")
    print(f"  ratio load_sensor_csv / pandas.read_csv: {ours / theirs:.2f}x")


def main() -> None:
    """Time the generators, then each importer beside its baseline."""
    os.environ.setdefault("KENSHU_PROGRESS", "0")
    print(f"CPU cores visible: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}")

    # 1. Generators (no baseline: nothing else makes these data).
    _, parts = timed("make_press_parts(200, image_size=128)", make_press_parts, 200, random_state=0)
    _, log = timed("make_process_log(10000)", make_process_log, 10000, random_state=0)
    timed("make_bearing_vibration(duration=10 s, 12 kHz)", make_bearing_vibration, "inner_race", duration=10.0, random_state=0)

    # 2. Importers on generated data, beside their baselines.
    with tempfile.TemporaryDirectory() as folder:
        timed("save_image_folder (200 photos + masks)", save_image_folder, parts, folder)
        timed("save_image_folder again (nothing changed)", save_image_folder, parts, folder)
        compare_images("(200 generated photos, 64 px)", Path(folder), image_size=64)
        csv_path = Path(folder) / "process_log.csv"
        log.to_csv(csv_path, index=False, encoding="utf-8-sig")
        compare_csv("(generated process log, 10000 rows)", csv_path)

    # 3. Importers on the real data, when it is beside the checkout.
    tiles = REALDATA / "magnetic_tile"
    if tiles.is_dir():
        with tempfile.TemporaryDirectory() as cards:
            compare_images("(magnetic tile, 472 photos, 64 px)", tiles, image_size=64, card_dir=cards)
    else:
        print(f"skipped magnetic tile: not found at {tiles}")
    ai4i = REALDATA / "ai4i2020" / "ai4i2020.csv"
    if ai4i.is_file():
        compare_csv("(AI4I 2020, 10000 rows)", ai4i)
    else:
        print(f"skipped AI4I: not found at {ai4i}")


if __name__ == "__main__":
    main()
