"""A streaming bearing-vibration signal for the simulator, and the spectra the labs use.

The signal itself comes from `kenshu.datasets.make_bearing_vibration`, which
puts bearing fault impacts at their kinematic frequencies (BPFO, BPFI,
2 x BSF); `VibrationStream` cuts it into samples for a board that sends one
line per sample, and adds the other two accelerometer axes.
"""

from __future__ import annotations

import numpy as np

FAULTS = ("outer_race", "inner_race", "ball")

# A 2.2 kW four-pole motor under load turns at about 1500 min^-1 (25 Hz).
DEFAULT_SHAFT_SPEED_RPM = 1500.0
# An MPU6050 samples at 1 kHz at most, so the structural resonance that the
# impacts excite must lie below 500 Hz to be seen at all.
DEFAULT_RESONANCE_HZ = 320.0


class VibrationStream:
    """Three-axis acceleration in g, produced in blocks of *block_seconds* and handed out sample by sample.

    Parameters
    ----------
    sample_rate
        Samples per second.
    fault
        ``None`` or one of ``FAULTS``.
    shaft_speed
        Shaft speed in revolutions per minute.
    block_seconds
        Length of each generated block. The impact train starts at a random
        phase in each block, so a longer block means fewer seams.
    random_state
        Seed; block *k* uses seed ``random_state + k``.
    """

    def __init__(
        self,
        *,
        sample_rate: float = 1000.0,
        fault: str | None = None,
        shaft_speed: float = DEFAULT_SHAFT_SPEED_RPM,
        block_seconds: float = 10.0,
        random_state: int = 0,
    ) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"fault {fault!r} is not one of {FAULTS}")
        self.sample_rate = float(sample_rate)
        self.fault = fault
        self.shaft_speed = shaft_speed
        self.block_seconds = block_seconds
        self.random_state = random_state
        self._blocks = 0
        self._block = np.empty((0, 3))
        self._position = 0

    def _next_block(self) -> np.ndarray:
        from kenshu.datasets import make_bearing_vibration

        seed = self.random_state + self._blocks
        self._blocks += 1
        resonance = min(DEFAULT_RESONANCE_HZ, 0.4 * self.sample_rate)
        bunch = make_bearing_vibration(
            self.fault or "none",
            duration=self.block_seconds,
            sample_rate=self.sample_rate,
            shaft_speed=self.shaft_speed,
            resonance=resonance,
            fault_amplitude=0.5,
            noise_level=0.02,
            random_state=seed,
        )
        radial = bunch.signal
        rng = np.random.default_rng(seed)
        block = np.empty((radial.size, 3))
        block[:, 0] = radial
        # The second radial axis sees the same machine, weaker and a few samples later.
        block[:, 1] = 0.6 * np.roll(radial, 3) + 0.02 * rng.standard_normal(radial.size)
        # The axial axis carries gravity.
        block[:, 2] = 1.0 + 0.02 * rng.standard_normal(radial.size)
        return block

    def next_sample(self) -> tuple[float, float, float]:
        """Return the next (ax, ay, az) in g."""
        if self._position >= len(self._block):
            self._block = self._next_block()
            self._position = 0
        ax, ay, az = self._block[self._position]
        self._position += 1
        return float(ax), float(ay), float(az)


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
