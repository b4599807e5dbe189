"""Generated accelerometer signals of a rolling bearing, healthy or with a local fault.

A local fault (a pit or spall) on a raceway or a ball is struck once per
passage of a rolling element. Each strike rings the housing at a structural
resonance, so the signal is a train of decaying bursts repeating at the
fault's characteristic frequency. Those frequencies follow from the bearing
geometry and the shaft speed (textbook kinematics, assuming rolling without
slip):

- FTF  = fr / 2 · (1 − d/D · cos φ)          cage (fundamental train)
- BPFO = n · fr / 2 · (1 − d/D · cos φ)      outer-race defect
- BPFI = n · fr / 2 · (1 + d/D · cos φ)      inner-race defect
- BSF  = D / (2d) · fr · (1 − (d/D · cos φ)²)  ball spin

with shaft frequency fr, n rolling elements, ball diameter d, pitch diameter
D and contact angle φ. An inner-race fault turns with the shaft through the
load zone, so its bursts are amplitude-modulated at fr. A ball fault strikes
both races once per spin turn (2 × BSF) and is modulated at the cage
frequency. Real bearings slip by one or two percent, modelled as jitter of
the strike times.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from scipy.signal import fftconvolve
from sklearn.utils import Bunch, check_random_state

from kenshu.i18n import message

logger = logging.getLogger(__name__)

FAULTS = ("none", "outer_race", "inner_race", "ball")


def bearing_fault_frequencies(
    shaft_speed: float,
    *,
    n_balls: int = 9,
    ball_diameter: float = 7.94,
    pitch_diameter: float = 39.04,
    contact_angle: float = 0.0,
) -> dict[str, float]:
    """Compute a rolling bearing's characteristic fault frequencies in Hz.

    Parameters
    ----------
    shaft_speed : float
        Shaft speed in revolutions per minute.
    n_balls : int, default=9
        Number of rolling elements.
    ball_diameter, pitch_diameter : float, default=7.94, 39.04
        Ball and pitch diameters in mm; the defaults are those of a 6205
        deep-groove ball bearing.
    contact_angle : float, default=0.0
        Contact angle in degrees.

    Returns
    -------
    frequencies : dict
        ``shaft`` (fr), ``FTF``, ``BPFO``, ``BPFI`` and ``BSF`` in Hz.

    Raises
    ------
    ValueError
        If a speed, count or diameter is not positive, or the ball is not
        smaller than the pitch diameter.
    """
    if shaft_speed <= 0:
        raise ValueError(f"shaft_speed must be positive (rpm), got {shaft_speed!r}")
    if n_balls < 1:
        raise ValueError(f"n_balls must be at least 1, got {n_balls!r}")
    if not 0 < ball_diameter < pitch_diameter:
        raise ValueError(f"need 0 < ball_diameter < pitch_diameter, got {ball_diameter!r} and {pitch_diameter!r}")
    if not 0 <= contact_angle < 90:
        raise ValueError(f"contact_angle must be in [0, 90) degrees, got {contact_angle!r}")

    shaft = shaft_speed / 60.0
    ratio = ball_diameter / pitch_diameter * math.cos(math.radians(contact_angle))
    return {
        "shaft": shaft,
        "FTF": shaft / 2 * (1 - ratio),
        "BPFO": n_balls * shaft / 2 * (1 - ratio),
        "BPFI": n_balls * shaft / 2 * (1 + ratio),
        "BSF": pitch_diameter / (2 * ball_diameter) * shaft * (1 - ratio**2),
    }


def _burst_train(
    rng: np.random.RandomState,
    n_points: int,
    sample_rate: float,
    rate: float,
    amplitude: np.ndarray | float,
    slip: float,
) -> np.ndarray:
    """Return unit impulses at *rate* per second (with timing jitter) scaled by *amplitude*."""
    period = 1.0 / rate
    count = int(n_points / sample_rate * rate) + 2
    times = (np.arange(count) + rng.uniform(0, 1)) * period
    times = times + rng.normal(0.0, slip * period, size=count)
    indices = np.round(times * sample_rate).astype(np.int64)
    indices = indices[(indices >= 0) & (indices < n_points)]
    train = np.zeros(n_points)
    scale = amplitude[indices] if isinstance(amplitude, np.ndarray) else amplitude
    np.add.at(train, indices, scale * rng.uniform(0.8, 1.2, size=len(indices)))
    return train


def make_bearing_vibration(
    fault: str = "outer_race",
    *,
    duration: float = 1.0,
    sample_rate: float = 12000.0,
    shaft_speed: float = 1797.0,
    n_balls: int = 9,
    ball_diameter: float = 7.94,
    pitch_diameter: float = 39.04,
    contact_angle: float = 0.0,
    resonance: float = 3000.0,
    damping: float = 0.05,
    fault_amplitude: float = 1.0,
    noise_level: float = 0.2,
    slip: float = 0.01,
    random_state: int | np.random.RandomState | None = None,
) -> Bunch:
    """Generate an accelerometer signal of a rolling bearing.

    Parameters
    ----------
    fault : {"none", "outer_race", "inner_race", "ball"}, default="outer_race"
        Where the local fault is; ``"none"`` for a healthy bearing.
    duration : float, default=1.0
        Length of the signal in seconds.
    sample_rate : float, default=12000.0
        Samples per second (Hz).
    shaft_speed : float, default=1797.0
        Shaft speed in revolutions per minute.
    n_balls, ball_diameter, pitch_diameter, contact_angle
        Bearing geometry (count, mm, mm, degrees); see
        :func:`bearing_fault_frequencies`. Defaults: a 6205 bearing.
    resonance : float, default=3000.0
        Frequency in Hz of the housing resonance each strike excites; below
        half the sample rate.
    damping : float, default=0.05
        Damping ratio of that resonance, in (0, 1).
    fault_amplitude : float, default=1.0
        Peak acceleration of one strike's response, in g.
    noise_level : float, default=0.2
        Standard deviation of the white measurement noise, in g.
    slip : float, default=0.01
        Timing jitter of the strikes as a fraction of their period.
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed gives the same signal.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``signal`` float64 (n,) acceleration in g; ``time`` float64 (n,) in
        s; ``sample_rate`` in Hz; ``shaft_speed`` in rpm;
        ``shaft_frequency`` in Hz; ``fault``; ``fault_frequencies`` dict
        (``FTF``, ``BPFO``, ``BPFI``, ``BSF`` in Hz); ``fault_frequency``
        the repetition rate of the bursts for this fault in Hz (None when
        healthy); ``units`` {"signal": "g", "time": "s"}; ``metadata`` dict of
        every parameter; ``DESCR``.

    Raises
    ------
    ValueError
        If *fault* is unknown or a parameter is out of range.

    See Also
    --------
    bearing_fault_frequencies : The frequencies alone.
    """
    if fault not in FAULTS:
        raise ValueError(f"fault must be one of {list(FAULTS)}, got {fault!r}")
    if duration <= 0:
        raise ValueError(f"duration must be positive (s), got {duration!r}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive (Hz), got {sample_rate!r}")
    if not 0 < resonance < sample_rate / 2:
        raise ValueError(f"resonance must be between 0 and half the sample rate ({sample_rate / 2} Hz), got {resonance!r}")
    if not 0 < damping < 1:
        raise ValueError(f"damping must be in (0, 1), got {damping!r}")
    if noise_level < 0 or fault_amplitude < 0 or slip < 0:
        raise ValueError(
            f"noise_level, fault_amplitude and slip must not be negative, got {noise_level!r}, {fault_amplitude!r}, {slip!r}"
        )
    frequencies = bearing_fault_frequencies(
        shaft_speed, n_balls=n_balls, ball_diameter=ball_diameter, pitch_diameter=pitch_diameter, contact_angle=contact_angle
    )
    n_points = int(round(duration * sample_rate))
    if n_points < 16:
        raise ValueError(f"duration * sample_rate gives {n_points} samples; need at least 16")

    rng = check_random_state(random_state)
    time = np.arange(n_points) / sample_rate
    shaft = frequencies["shaft"]

    # Running condition present in every bearing: unbalance at 1x and misalignment at 2x shaft speed.
    signal = 0.08 * np.sin(2 * np.pi * shaft * time + rng.uniform(0, 2 * np.pi))
    signal += 0.03 * np.sin(2 * np.pi * 2 * shaft * time + rng.uniform(0, 2 * np.pi))

    # Fault strikes, each ringing the resonance as a damped sine.
    fault_frequency = None
    if fault != "none":
        if fault == "outer_race":
            fault_frequency = frequencies["BPFO"]
            amplitude: np.ndarray | float = 1.0
        elif fault == "inner_race":
            fault_frequency = frequencies["BPFI"]
            # The defect passes through the load zone once per shaft turn.
            amplitude = 0.6 + 0.4 * np.cos(2 * np.pi * shaft * time + rng.uniform(0, 2 * np.pi))
        else:
            fault_frequency = 2 * frequencies["BSF"]
            amplitude = 0.6 + 0.4 * np.cos(2 * np.pi * frequencies["FTF"] * time + rng.uniform(0, 2 * np.pi))
        train = _burst_train(rng, n_points, sample_rate, fault_frequency, amplitude, slip)
        ring_time = np.arange(int(min(n_points, 8 / (damping * resonance) * sample_rate / (2 * np.pi)) + 1)) / sample_rate
        omega = 2 * np.pi * resonance
        ring = np.exp(-damping * omega * ring_time) * np.sin(omega * np.sqrt(1 - damping**2) * ring_time)
        signal += fault_amplitude * fftconvolve(train, ring)[:n_points]

    signal += rng.normal(0.0, noise_level, n_points)

    metadata = {
        "fault": fault,
        "duration_s": duration,
        "sample_rate_hz": sample_rate,
        "shaft_speed_rpm": shaft_speed,
        "n_balls": n_balls,
        "ball_diameter_mm": ball_diameter,
        "pitch_diameter_mm": pitch_diameter,
        "contact_angle_deg": contact_angle,
        "resonance_hz": resonance,
        "damping_ratio": damping,
        "fault_amplitude_g": fault_amplitude,
        "noise_level_g": noise_level,
        "slip": slip,
    }
    return Bunch(
        signal=signal,
        time=time,
        sample_rate=float(sample_rate),
        shaft_speed=float(shaft_speed),
        shaft_frequency=shaft,
        fault=fault,
        fault_frequencies={name: value for name, value in frequencies.items() if name != "shaft"},
        fault_frequency=fault_frequency,
        units={"signal": "g", "time": "s"},
        metadata=metadata,
        DESCR=message(
            "datasets.bearing_descr",
            fault=fault,
            duration=duration,
            sample_rate=sample_rate,
            shaft_speed=shaft_speed,
            bpfo=frequencies["BPFO"],
            bpfi=frequencies["BPFI"],
            bsf=frequencies["BSF"],
        ),
    )
