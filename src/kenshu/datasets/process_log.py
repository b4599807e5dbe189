"""A generated press-line process log with a quality label per stroke."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from kenshu.i18n import message

logger = logging.getLogger(__name__)

LABEL_COLUMN = "品質"
GOOD_LABEL = "良品"
DEFECT_LABEL = "不良品"

# Column -> unit. Columns without a unit (time stamp, lot, category, label) are not listed.
PROCESS_UNITS = {
    "プレス荷重": "kN",
    "金型温度": "℃",
    "ストローク速度": "spm",
    "板厚": "mm",
    "潤滑油量": "mL/min",
}


def make_process_log(
    n_samples: int = 1000,
    *,
    defect_rate: float = 0.05,
    start: str = "2026-06-01 08:00",
    units_in_columns: bool = False,
    random_state: int | np.random.RandomState | None = None,
) -> pd.DataFrame:
    """Generate a press line's process log with a 良品/不良品 label per part.

    One row is one stroke of the press. The parameters drift as a shift goes
    on: the die warms up, the lubricant tank empties, a new coil of sheet
    starts. The chance of a defect rises when the press force leaves its
    window, the die runs hot, the sheet is off gauge or the lubrication is
    too thin for the stroke rate.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows (strokes).
    defect_rate : float, default=0.05
        Fraction of rows labelled 不良品, in [0, 1). The count is rounded to
        the nearest whole row. The defective rows are drawn with weights from
        the process parameters, so the label depends on them, with noise.
    start : str, default="2026-06-01 08:00"
        Time stamp of the first stroke.
    units_in_columns : bool, default=False
        Write the unit into the column name (``プレス荷重[kN]``), as a CSV
        for a spreadsheet would have it, instead of only in
        ``df.attrs["units"]``.
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed gives the same log.

    Returns
    -------
    df : pandas.DataFrame
        Columns 日時, ロット, プレス荷重 (kN), 金型温度 (℃), ストローク速度
        (spm), 板厚 (mm), 潤滑油 (種類), 潤滑油量 (mL/min) and 品質
        (良品 / 不良品). ``df.attrs["units"]`` maps column names to units,
        ``df.attrs["source"]`` names this generator.

    Raises
    ------
    ValueError
        If *n_samples* or *defect_rate* is out of range.
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not 0.0 <= defect_rate < 1.0:
        raise ValueError(f"defect_rate must be in [0, 1), got {defect_rate!r}")

    rng = check_random_state(random_state)
    position = np.arange(n_samples)

    # Stroke rate in strokes per minute, set per lot; the time stamps follow from it.
    lot = position // 250
    n_lots = int(lot[-1]) + 1
    lot_rate = rng.choice([20.0, 25.0, 30.0, 35.0, 40.0], size=n_lots)
    stroke_rate = lot_rate[lot] + rng.normal(0.0, 0.4, n_samples)
    seconds = np.cumsum(60.0 / stroke_rate) - 60.0 / stroke_rate[0]
    timestamps = pd.Timestamp(start) + pd.to_timedelta(np.round(seconds), unit="s")

    # The die warms up over each lot towards a level that depends on the rate.
    warm = 1.0 - np.exp(-(position % 250) / 60.0)
    die_temperature = 24.0 + warm * (18.0 + 0.9 * stroke_rate) + rng.normal(0.0, 1.2, n_samples)

    # Sheet thickness by coil, and press force following thickness with noise.
    coil_thickness = rng.normal(1.6, 0.015, size=n_lots)
    thickness = coil_thickness[lot] + rng.normal(0.0, 0.008, n_samples)
    press_force = 350.0 * thickness / 1.6 + rng.normal(0.0, 9.0, n_samples)

    # Lubricant type per lot; the flow drops slowly as the tank empties.
    lubricant_types = np.array(["水溶性", "油性"])
    lubricant = lubricant_types[rng.randint(2, size=n_lots)][lot]
    lubricant_flow = 12.0 - 3.0 * (position % 500) / 500.0 + rng.normal(0.0, 0.6, n_samples)

    # Defect risk: each term is zero inside the process window and grows outside it.
    risk = (
        np.maximum(0.0, np.abs(press_force - 350.0) - 15.0) / 6.0
        + np.maximum(0.0, die_temperature - 62.0) / 3.0
        + np.maximum(0.0, np.abs(thickness - 1.6) - 0.02) / 0.008
        + np.maximum(0.0, stroke_rate / np.maximum(lubricant_flow, 0.1) - 3.2) * 1.5
        + np.where(lubricant == "水溶性", 0.3, 0.0)
    )

    # Exactly round(n * defect_rate) defects, drawn with weights exp(risk) (Gumbel top-k sampling).
    n_defects = int(round(n_samples * defect_rate))
    keys = risk + rng.gumbel(size=n_samples)
    defective = np.zeros(n_samples, dtype=bool)
    if n_defects:
        defective[np.argsort(-keys)[:n_defects]] = True

    frame = pd.DataFrame(
        {
            "日時": timestamps,
            "ロット": [f"L{int(number) + 1:03d}" for number in lot],
            "プレス荷重": np.round(press_force, 1),
            "金型温度": np.round(die_temperature, 1),
            "ストローク速度": np.round(stroke_rate, 1),
            "板厚": np.round(thickness, 3),
            "潤滑油": lubricant,
            "潤滑油量": np.round(lubricant_flow, 2),
            LABEL_COLUMN: np.where(defective, DEFECT_LABEL, GOOD_LABEL),
        }
    )
    units = dict(PROCESS_UNITS)
    if units_in_columns:
        frame = frame.rename(columns={name: f"{name}[{unit}]" for name, unit in units.items()})
    frame.attrs["units"] = units
    frame.attrs["source"] = "kenshu.datasets.make_process_log"
    frame.attrs["description"] = message("datasets.process_log_descr", n_samples=n_samples, n_defects=n_defects)
    logger.debug("generated a process log of %d rows, %d defective", n_samples, n_defects)
    return frame
