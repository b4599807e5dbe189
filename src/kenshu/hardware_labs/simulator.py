"""A simulated sensor board that writes KS1 lines to a real pseudo-terminal.

`SensorSimulator` opens a pseudo-terminal with ``os.openpty`` and writes one
line per reading at the rate a real board would, from a background thread.
Readers open the slave side (``simulator.path``, for example ``/dev/pts/5``)
exactly as they would open ``/dev/ttyUSB0``, and only the device id
distinguishes the two. `unplug` and `replug` close and reopen the
pseudo-terminal as pulling and plugging a USB cable would. Give ``link`` to
get a stable symlink that follows the device, as udev's
``/dev/serial/by-id/`` names do.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import math
import os
import struct
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import numpy as np

from kenshu.hardware_labs.protocol import SEQUENCE_MODULUS, encode_line
from kenshu.hardware_labs.vibration import FAULTS as BEARING_FAULTS
from kenshu.hardware_labs.vibration import VibrationStream

logger = logging.getLogger(__name__)

SENSORS = ("env", "current", "vibration")
SENSOR_FAULTS: dict[str, tuple[str, ...]] = {
    "env": ("overheat",),
    "current": ("overload",),
    "vibration": BEARING_FAULTS,
}
# Output rates of the real boards: a BME280 read once a second, an MCP3008
# current channel averaged to 10 RMS values a second, an MPU6050 at its
# maximum accelerometer output rate of 1 kHz.
DEFAULT_RATES = {"env": 1.0, "current": 10.0, "vibration": 1000.0}
# Highest line rate in lines per second; a 1 kHz accelerometer board is the fastest real one.
MAX_RATE = 20000.0
LINE_PROBLEMS = ("checksum", "truncated", "garbled", "gap", "restart")
MAX_PENDING_BYTES = 65536
SLAVE_QUEUE_LIMIT = 3072


class _EnvSource:
    units = {"temperature": "degC", "humidity": "%RH", "pressure": "hPa"}

    def __init__(self, fault: str | None, rng: np.random.Generator) -> None:
        self.fault = fault
        self.rng = rng
        self.pressure = 1013.25

    def values(self, t: float) -> dict[str, float]:
        # Room temperature drifting with a 10-minute air-conditioning cycle.
        temperature = 22.0 + 1.5 * math.sin(2 * math.pi * t / 600) + 0.05 * self.rng.standard_normal()
        if self.fault == "overheat":
            temperature += 0.05 * t
        humidity = 45.0 - 2.0 * (temperature - 22.0) + 0.3 * self.rng.standard_normal()
        self.pressure += 0.01 * self.rng.standard_normal()
        return {
            "temperature": round(temperature, 2),
            "humidity": round(min(max(humidity, 0.0), 100.0), 2),
            "pressure": round(self.pressure, 2),
        }


class _CurrentSource:
    units = {"current": "A"}

    def __init__(self, fault: str | None, rng: np.random.Generator) -> None:
        self.fault = fault
        self.rng = rng

    def values(self, t: float) -> dict[str, float]:
        # RMS current of a 2.2 kW motor with a 20-second load cycle.
        current = 4.2 + 0.3 * math.sin(2 * math.pi * t / 20) + 0.03 * self.rng.standard_normal()
        if self.fault == "overload":
            current *= 1 + 0.6 * min(t / 30, 1.0)
        return {"current": round(current, 3)}


class _VibrationSource:
    units = {"ax": "g", "ay": "g", "az": "g"}

    def __init__(self, fault: str | None, rng: np.random.Generator, rate: float) -> None:
        self.stream = VibrationStream(sample_rate=rate, fault=fault, random_state=int(rng.integers(2**31)))

    def values(self, t: float) -> dict[str, float]:
        ax, ay, az = self.stream.next_sample()
        return {"ax": round(ax, 4), "ay": round(ay, 4), "az": round(az, 4)}


class SensorSimulator:
    """A board on a pseudo-terminal, writing KS1 lines at a fixed rate.

    Parameters
    ----------
    sensor
        ``"env"`` (BME280: temperature, humidity, pressure), ``"current"``
        (motor current through an MCP3008) or ``"vibration"`` (MPU6050, 3 axes).
    fault
        ``None`` or one of ``SENSOR_FAULTS[sensor]``; vibration faults put
        bearing impacts at their physical frequencies.
    device_id
        Id written in every line; ``sim-<sensor>-01`` by default.
    rate
        Lines per second; the real board's rate (``DEFAULT_RATES``) by default.
    link
        Path of a symlink kept pointing at the current pseudo-terminal.
    corrupt
        Fraction of lines written with a problem (bad checksum, truncation,
        garbled byte, sequence gap or counter restart), for exercising readers.
    random_state
        Seed for the signals and the corrupted lines.
    on_line
        Called with (sequence, time.time()) after each line is handed to the
        pseudo-terminal; the benchmark uses it to measure latency.
    """

    def __init__(
        self,
        *,
        sensor: str = "env",
        fault: str | None = None,
        device_id: str | None = None,
        rate: float | None = None,
        link: str | os.PathLike[str] | None = None,
        corrupt: float = 0.0,
        random_state: int | None = None,
        on_line: Callable[[int, float], None] | None = None,
    ) -> None:
        if sensor not in SENSORS:
            raise ValueError(f"sensor {sensor!r} is not one of {SENSORS}")
        if fault is not None and fault not in SENSOR_FAULTS[sensor]:
            raise ValueError(f"fault {fault!r} is not one of {SENSOR_FAULTS[sensor]} for sensor {sensor!r}")
        rate = DEFAULT_RATES[sensor] if rate is None else float(rate)
        if not 0 < rate <= MAX_RATE:
            raise ValueError(f"rate {rate} must be in (0, {MAX_RATE:g}] lines per second")
        if not 0 <= corrupt <= 1:
            raise ValueError(f"corrupt {corrupt} must be between 0 and 1")

        self.sensor = sensor
        self.fault = fault
        self.device_id = device_id or f"sim-{sensor}-01"
        self.rate = rate
        self.link = Path(link) if link is not None else None
        self.corrupt = corrupt
        self.on_line = on_line
        self._rng = np.random.default_rng(random_state)
        if sensor == "env":
            self._source = _EnvSource(fault, self._rng)
        elif sensor == "current":
            self._source = _CurrentSource(fault, self._rng)
        else:
            self._source = _VibrationSource(fault, self._rng, rate)

        self.path: str | None = None
        self.lines_written = 0
        self.lines_dropped = 0
        self.problems_written = {kind: 0 for kind in LINE_PROBLEMS}
        self._master: int | None = None
        self._slave: int | None = None
        self._pending = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sequence = 0
        self._boot = time.monotonic()

    # -- the pseudo-terminal ------------------------------------------------

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        # Raw mode: no echo back to the master and no newline translation,
        # like a USB serial adapter.
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.path = os.ttyname(slave)
        if self.link is not None:
            self._point_link()
        logger.info("simulator %s on %s", self.device_id, self.path)

    def _point_link(self) -> None:
        # Only a symlink may be replaced: a regular file or a folder at the
        # path belongs to someone else.
        if os.path.lexists(self.link) and not self.link.is_symlink():
            raise FileExistsError(errno.EEXIST, "exists and is not a symlink", str(self.link))
        temporary = self.link.with_name(self.link.name + ".new")
        temporary.unlink(missing_ok=True)
        try:
            temporary.symlink_to(self.path)
            os.replace(temporary, self.link)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise

    def _close_pty(self) -> None:
        for descriptor in (self._master, self._slave):
            if descriptor is not None:
                os.close(descriptor)
        self._master = self._slave = None
        self._pending.clear()
        if self.link is not None and self.link.is_symlink():
            self.link.unlink(missing_ok=True)

    def unplug(self) -> None:
        """Close the pseudo-terminal as if the USB cable were pulled; lines are lost until `replug`."""
        with self._lock:
            self._close_pty()
        logger.info("simulator %s unplugged", self.device_id)

    def replug(self) -> str:
        """Open a new pseudo-terminal (the board plugged back in) and return its path."""
        with self._lock:
            if self._master is None:
                self._open_pty()
        logger.info("simulator %s plugged in at %s", self.device_id, self.path)
        return self.path

    def restart_counter(self) -> None:
        """Start the sequence number and uptime from zero, as a rebooted board does."""
        with self._lock:
            self._sequence = 0
            self._boot = time.monotonic()

    # -- running ------------------------------------------------------------

    def start(self) -> SensorSimulator:
        """Open the pseudo-terminal and start writing lines from a background thread."""
        if self._thread is not None:
            return self
        self._open_pty()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"simulator-{self.device_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop writing and close the pseudo-terminal. Safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            self._close_pty()

    def __enter__(self) -> SensorSimulator:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def wait(self, duration: float | None = None) -> None:
        """Block for *duration* seconds, or until `stop` is called from elsewhere."""
        self._stop.wait(duration)

    def _next_line(self, now: float) -> bytes:
        t = now - self._boot
        values = self._source.values(t)
        sequence = self._sequence
        self._sequence = (self._sequence + 1) % SEQUENCE_MODULUS
        line = encode_line(self.device_id, sequence, int(t * 1000), self.sensor, values, self._source.units)
        if self.corrupt and self._rng.random() < self.corrupt:
            line = self._damage(line)
        return line

    def _damage(self, line: bytes) -> bytes:
        kind = LINE_PROBLEMS[int(self._rng.integers(len(LINE_PROBLEMS)))]
        self.problems_written[kind] += 1
        if kind == "checksum":
            # Flip one digit in the body so that the CRC no longer matches.
            index = max(i for i, byte in enumerate(line[:-7]) if chr(byte).isdigit())
            digit = (line[index] - 48 + 1) % 10 + 48
            return line[:index] + bytes([digit]) + line[index + 1 :]
        if kind == "truncated":
            return line[: len(line) // 2] + b"\r\n"
        if kind == "garbled":
            index = int(self._rng.integers(1, len(line) - 2))
            return line[:index] + b"\xff" + line[index + 1 :]
        if kind == "gap":
            self._sequence = (self._sequence + int(self._rng.integers(1, 5))) % SEQUENCE_MODULUS
            return line
        self._sequence = 0
        self._boot = time.monotonic()
        return line

    def _run(self) -> None:
        started = time.monotonic()
        due_total = 0
        while not self._stop.is_set():
            now = time.monotonic()
            due = int((now - started) * self.rate) + 1 - due_total
            # After a long stall, catch up at most half a second of lines.
            if due > self.rate / 2 + 1:
                skipped = due - int(self.rate / 2 + 1)
                due_total += skipped
                due -= skipped
            if due > 0:
                self._write(due, now)
                due_total += due
            else:
                with self._lock:
                    self._flush_pending()
            next_due = started + due_total / self.rate
            # Come back soon while bytes wait for the reader, as a UART drains its buffer.
            longest = 0.002 if self._pending else 0.05
            self._stop.wait(max(0.0, min(next_due - time.monotonic(), longest)))

    def _flush_pending(self) -> None:
        """Hand pending bytes to the pseudo-terminal, no more than the reader's input queue has room for.

        Called with the lock held. The Linux pty discards bytes that the reader
        has not taken in time, in the middle of lines, although the master's
        write reported them as accepted. Keeping the slave's input queue below
        SLAVE_QUEUE_LIMIT bytes (TIOCINQ) works like a board with a transmit
        buffer and hardware flow control. Whole lines are dropped, and
        counted, only when the board's own buffer is full.
        """
        if self._master is None or not self._pending:
            return
        try:
            queued = struct.unpack("i", fcntl.ioctl(self._slave, termios.TIOCINQ, b"\0\0\0\0"))[0]
        except OSError:
            queued = 0
        room = SLAVE_QUEUE_LIMIT - queued
        if room <= 0:
            return
        try:
            written = os.write(self._master, self._pending[:room])
        except BlockingIOError:
            written = 0
        except OSError as error:
            logger.debug("write to %s failed: %s", self.path, error)
            written = 0
        del self._pending[:written]

    def _write(self, count: int, now: float) -> None:
        with self._lock:
            sequences = []
            for _ in range(count):
                sequence = self._sequence
                line = self._next_line(now)
                if self._master is None or len(self._pending) > MAX_PENDING_BYTES:
                    # No reader keeps up (or the cable is out), but a board's UART sends anyway.
                    self.lines_dropped += 1
                    continue
                self._pending.extend(line)
                sequences.append(sequence)
            self._flush_pending()
            self.lines_written += len(sequences)
        if self.on_line is not None:
            stamp = time.time()
            for sequence in sequences:
                self.on_line(sequence, stamp)
