"""make_bearing_vibration and bearing_fault_frequencies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import hilbert

from kenshu.datasets import bearing_fault_frequencies, make_bearing_vibration


def envelope_spectrum(signal: np.ndarray, sample_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Amplitude spectrum of the demodulated signal, the standard view of bearing faults."""
    envelope = np.abs(hilbert(signal))
    envelope = envelope - envelope.mean()
    spectrum = np.abs(np.fft.rfft(envelope * np.hanning(len(envelope))))
    return np.fft.rfftfreq(len(envelope), 1 / sample_rate), spectrum


def peak_ratio(frequencies: np.ndarray, spectrum: np.ndarray, target: float, *, width: float = 2.0) -> float:
    """Height of the largest line within *width* Hz of *target* over the median of 5 to 500 Hz."""
    near = np.abs(frequencies - target) <= width
    band = (frequencies > 5) & (frequencies < 500)
    return float(spectrum[near].max() / np.median(spectrum[band]))


def strongest_line(frequencies: np.ndarray, spectrum: np.ndarray) -> float:
    band = (frequencies > 20) & (frequencies < 400)
    return float(frequencies[band][np.argmax(spectrum[band])])


def harmonic_number(frequency: float, fundamental: float) -> float:
    """How far *frequency* is from the nearest whole multiple of *fundamental*, in Hz."""
    return abs(frequency - round(frequency / fundamental) * fundamental)


def test_frequencies_of_6205():
    # Multipliers of the shaft frequency for a 6205 bearing (9 balls, 7.94 mm, pitch 39.04 mm).
    found = bearing_fault_frequencies(1797)
    shaft = 1797 / 60
    assert found["shaft"] == pytest.approx(shaft)
    assert found["BPFO"] == pytest.approx(3.5848 * shaft, rel=1e-3)
    assert found["BPFI"] == pytest.approx(5.4152 * shaft, rel=1e-3)
    assert found["BSF"] == pytest.approx(2.3568 * shaft, rel=1e-3)
    assert found["FTF"] == pytest.approx(0.3983 * shaft, rel=1e-3)


def test_contact_angle_lowers_bpfi():
    straight = bearing_fault_frequencies(1800)
    angled = bearing_fault_frequencies(1800, contact_angle=30)
    assert angled["BPFI"] < straight["BPFI"]
    assert angled["BPFO"] > straight["BPFO"]


def test_time_axis():
    data = make_bearing_vibration("none", duration=0.5, sample_rate=8000, random_state=0)
    assert data.signal.shape == (4000,)
    assert data.time.shape == (4000,)
    assert data.time[1] - data.time[0] == pytest.approx(1 / 8000)
    assert data.units == {"signal": "g", "time": "s"}


def test_outer_race_at_bpfo():
    data = make_bearing_vibration("outer_race", duration=2.0, random_state=1)
    frequencies, spectrum = envelope_spectrum(data.signal, data.sample_rate)
    bpfo = data.fault_frequencies["BPFO"]
    assert data.fault_frequency == pytest.approx(bpfo)
    assert peak_ratio(frequencies, spectrum, bpfo) > 10
    assert peak_ratio(frequencies, spectrum, 2 * bpfo) > 5
    assert harmonic_number(strongest_line(frequencies, spectrum), bpfo) < 1.5


def test_inner_race_at_bpfi_with_sidebands():
    data = make_bearing_vibration("inner_race", duration=2.0, random_state=2)
    frequencies, spectrum = envelope_spectrum(data.signal, data.sample_rate)
    bpfi = data.fault_frequencies["BPFI"]
    shaft = data.shaft_frequency
    assert peak_ratio(frequencies, spectrum, bpfi) > 10
    assert peak_ratio(frequencies, spectrum, bpfi - shaft, width=1.0) > 4
    assert peak_ratio(frequencies, spectrum, bpfi + shaft, width=1.0) > 4


def test_ball_at_twice_bsf():
    data = make_bearing_vibration("ball", duration=2.0, random_state=3)
    frequencies, spectrum = envelope_spectrum(data.signal, data.sample_rate)
    assert data.fault_frequency == pytest.approx(2 * data.fault_frequencies["BSF"])
    assert peak_ratio(frequencies, spectrum, data.fault_frequency) > 10


def test_healthy_has_no_fault_line():
    data = make_bearing_vibration("none", duration=2.0, random_state=4)
    frequencies, spectrum = envelope_spectrum(data.signal, data.sample_rate)
    assert data.fault_frequency is None
    assert peak_ratio(frequencies, spectrum, data.fault_frequencies["BPFO"]) < 5


def test_fault_raises_rms():
    healthy = make_bearing_vibration("none", random_state=5)
    faulty = make_bearing_vibration("outer_race", random_state=5)
    assert np.sqrt(np.mean(faulty.signal**2)) > np.sqrt(np.mean(healthy.signal**2))


def test_shaft_speed_moves_bpfo():
    slow = make_bearing_vibration("outer_race", shaft_speed=900, duration=2.0, random_state=6)
    frequencies, spectrum = envelope_spectrum(slow.signal, slow.sample_rate)
    bpfo = slow.fault_frequencies["BPFO"]
    assert bpfo == pytest.approx(3.5848 * 15, rel=1e-3)
    assert peak_ratio(frequencies, spectrum, bpfo) > 10
    assert harmonic_number(strongest_line(frequencies, spectrum), bpfo) < 1.5


def test_reproducible():
    first = make_bearing_vibration("ball", random_state=9)
    second = make_bearing_vibration("ball", random_state=9)
    assert first.signal.tobytes() == second.signal.tobytes()


def test_metadata_recorded():
    data = make_bearing_vibration("inner_race", sample_rate=20000, shaft_speed=1200, random_state=0)
    assert data.metadata["sample_rate_hz"] == 20000
    assert data.metadata["shaft_speed_rpm"] == 1200
    assert data.shaft_frequency == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"fault": "cage"}, "cage"),
        ({"resonance": 7000}, "resonance"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"duration": -1}, "duration"),
        ({"shaft_speed": 0}, "shaft_speed"),
        ({"ball_diameter": 50.0}, "ball_diameter"),
    ],
)
def test_bad_argument_names_value(arguments, fragment):
    with pytest.raises(ValueError, match=fragment):
        make_bearing_vibration(**arguments)
