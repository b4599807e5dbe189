"""Bearing fault frequencies, a streaming vibration signal and the spectra the labs use.

The fault frequencies follow the usual kinematic formulas for a rolling
bearing with a stationary outer race, shaft frequency ``f_r``, ``n`` rolling
elements of diameter ``d`` on pitch diameter ``D`` and contact angle ``phi``:

- BPFO (outer race) = n/2 * f_r * (1 - d/D cos phi)
- BPFI (inner race) = n/2 * f_r * (1 + d/D cos phi)
- BSF (ball spin)   = D/(2d) * f_r * (1 - (d/D cos phi)^2)
- FTF (cage)        = f_r/2 * (1 - d/D cos phi)

The default geometry is a deep-groove ball bearing of the 6205 size (9 balls
of 7.94 mm on a 39.04 mm pitch diameter), common on small induction motors.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

FAULTS = ("outer_race", "inner_race", "ball")


@dataclasses.dataclass(frozen=True)
class BearingGeometry:
    """Rolling-bearing dimensions: ball count, ball and pitch diameters in mm, contact angle in degrees."""

    n_balls: int = 9
    ball_diameter_mm: float = 7.94
    pitch_diameter_mm: float = 39.04
    contact_angle_deg: float = 0.0


@dataclasses.dataclass(frozen=True)
class FaultFrequencies:
    """Characteristic fault frequencies in Hz for one shaft speed."""

    shaft: float
    bpfo: float
    bpfi: float
    bsf: float
    ftf: float

    def for_fault(self, fault: str) -> float:
        """Return the repetition frequency of the impacts caused by *fault*."""
        table = {"outer_race": self.bpfo, "inner_race": self.bpfi, "ball": 2 * self.bsf}
        if fault not in table:
            raise ValueError(f"fault {fault!r} is not one of {sorted(table)}")
        return table[fault]


def bearing_fault_frequencies(shaft_hz: float, geometry: BearingGeometry | None = None) -> FaultFrequencies:
    """Compute BPFO, BPFI, BSF and FTF in Hz for a shaft turning at *shaft_hz*."""
    if shaft_hz <= 0:
        raise ValueError(f"shaft_hz must be positive, got {shaft_hz}")
    geometry = geometry or BearingGeometry()
    ratio = geometry.ball_diameter_mm / geometry.pitch_diameter_mm * math.cos(math.radians(geometry.contact_angle_deg))
    half_n = geometry.n_balls / 2
    return FaultFrequencies(
        shaft=shaft_hz,
        bpfo=half_n * shaft_hz * (1 - ratio),
        bpfi=half_n * shaft_hz * (1 + ratio),
        bsf=geometry.pitch_diameter_mm / (2 * geometry.ball_diameter_mm) * shaft_hz * (1 - ratio**2),
        ftf=shaft_hz / 2 * (1 - ratio),
    )


class VibrationSource:
    """Three-axis accelerometer signal in g, generated block by block with continuous time.

    The healthy machine shows the shaft frequency and its second harmonic
    (residual imbalance and misalignment) and broadband noise, with gravity on
    the z axis. A bearing fault adds impacts at its fault frequency, each
    ringing down at a structural resonance; an inner-race fault is amplitude
    modulated by the shaft rotation, a ball fault by the cage rotation.

    Parameters
    ----------
    sample_rate
        Samples per second (1000 Hz is the maximum accelerometer output rate of an MPU6050).
    shaft_hz
        Shaft rotation frequency in Hz (25 Hz = 1500 min^-1).
    fault
        ``None`` or one of ``FAULTS``.
    severity
        Impact amplitude in g at the resonance.
    resonance_hz
        Frequency of the ringing excited by each impact; must be below the Nyquist frequency.
    random_state
        Seed for noise and the small slip of impact times.
    """

    def __init__(
        self,
        *,
        sample_rate: float = 1000.0,
        shaft_hz: float = 25.0,
        fault: str | None = None,
        severity: float = 0.5,
        resonance_hz: float = 320.0,
        noise_g: float = 0.02,
        geometry: BearingGeometry | None = None,
        random_state: int | None = None,
    ) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"fault {fault!r} is not one of {FAULTS}")
        if not 0 < resonance_hz < sample_rate / 2:
            raise ValueError(f"resonance_hz {resonance_hz} must be below the Nyquist frequency {sample_rate / 2}")
        self.sample_rate = float(sample_rate)
        self.fault = fault
        self.severity = severity
        self.resonance_hz = resonance_hz
        self.noise_g = noise_g
        self.frequencies = bearing_fault_frequencies(shaft_hz, geometry)
        self._rng = np.random.default_rng(random_state)
        self._sample_index = 0
        self._next_impact = 0.0
        self._impact_times: list[float] = []

    def _impacts(self, t: np.ndarray) -> np.ndarray:
        f = self.frequencies
        period = 1.0 / f.for_fault(self.fault)
        decay = 1.0 / (2 * math.pi * self.resonance_hz * 0.05)  # 5 % damping ratio
        t0, t1 = t[0], t[-1]
        signal = np.zeros_like(t)

        # Schedule impacts up to the end of this block, with 1 % random slip
        # of the rolling elements as in a real bearing.
        while self._next_impact <= t1:
            self._impact_times.append(self._next_impact)
            self._next_impact += period * (1 + 0.01 * self._rng.standard_normal())

        # Impacts from earlier blocks may still be ringing, so keep five decay times of them.
        self._impact_times = [impact for impact in self._impact_times if impact >= t0 - 5 * decay]
        for impact in self._impact_times:
            since = t - impact
            ringing = np.where(since >= 0, np.exp(-np.clip(since, 0, None) / decay), 0.0)
            signal += ringing * np.sin(2 * math.pi * self.resonance_hz * since)

        if self.fault == "inner_race":
            signal *= 1 + 0.8 * np.cos(2 * math.pi * f.shaft * t)
        elif self.fault == "ball":
            signal *= 1 + 0.8 * np.cos(2 * math.pi * f.ftf * t)
        return self.severity * signal

    def next_block(self, n_samples: int) -> np.ndarray:
        """Return the next *n_samples* samples as an array of shape (n_samples, 3): ax, ay, az in g."""
        if n_samples <= 0:
            raise ValueError(f"n_samples must be positive, got {n_samples}")
        t = (self._sample_index + np.arange(n_samples)) / self.sample_rate
        self._sample_index += n_samples
        shaft = 2 * math.pi * self.frequencies.shaft * t

        radial = 0.05 * np.sin(shaft) + 0.02 * np.sin(2 * shaft + 0.4)
        if self.fault is not None:
            radial = radial + self._impacts(t)
        noise = self.noise_g * self._rng.standard_normal((n_samples, 3))
        block = np.empty((n_samples, 3))
        block[:, 0] = radial + noise[:, 0]
        block[:, 1] = 0.6 * np.roll(radial, 3) + 0.05 * np.cos(shaft) + noise[:, 1]
        block[:, 2] = 1.0 + 0.01 * np.sin(shaft) + noise[:, 2]
        return block


def amplitude_spectrum(signal: np.ndarray, sample_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (frequencies in Hz, single-sided amplitude) of *signal* with a Hann window."""
    signal = np.asarray(signal, dtype=float)
    if signal.ndim != 1 or signal.size < 8:
        raise ValueError(f"signal must be one-dimensional with at least 8 samples, got shape {signal.shape}")
    window = np.hanning(signal.size)
    spectrum = np.abs(np.fft.rfft((signal - signal.mean()) * window)) * 2 / window.sum()
    return np.fft.rfftfreq(signal.size, 1 / sample_rate), spectrum


def envelope_spectrum(
    signal: np.ndarray, sample_rate: float, *, band: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return the amplitude spectrum of the envelope of *signal*, band-passed to *band* (Hz) first.

    The envelope is the magnitude of the analytic signal (Hilbert transform);
    impacts that excite a resonance show up in it at their repetition
    frequency, which is how bearing faults are found.
    """
    from scipy.signal import butter, hilbert, sosfiltfilt

    signal = np.asarray(signal, dtype=float) - np.mean(signal)
    if band is not None:
        low, high = band
        if not 0 < low < high < sample_rate / 2:
            raise ValueError(f"band {band} must satisfy 0 < low < high < {sample_rate / 2}")
        sos = butter(4, [low, high], btype="bandpass", fs=sample_rate, output="sos")
        signal = sosfiltfilt(sos, signal)
    envelope = np.abs(hilbert(signal))
    return amplitude_spectrum(envelope, sample_rate)
