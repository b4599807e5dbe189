"""Read KS1 readings from a serial port: a USB adapter, a pseudo-terminal or a pyserial URL.

`SerialSensor` opens ``/dev/ttyUSB0``, ``/dev/pts/3``, a udev-style symlink or
``loop://`` the same way (through ``serial.serial_for_url``), yields parsed
readings and, when the device disappears (cable pulled, board reset, simulator
stopped), reopens the port with exponential backoff until it is back.
"""

from __future__ import annotations

import errno
import grp
import logging
import os
import pwd
import threading
import time
from collections.abc import Iterator
from types import TracebackType

import serial
import serial.tools.list_ports

from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.hardware_labs.protocol import MAX_LINE_BYTES, LineParser, ProtocolStats, Reading

logger = logging.getLogger(__name__)

DEFAULT_BAUDRATE = 115200
EMPTY_READS_BEFORE_LOST = 5
MAX_READ_BYTES = 65536


def _group_name(path: str) -> str:
    try:
        return grp.getgrgid(os.stat(path).st_gid).gr_name
    except (OSError, KeyError):
        return "dialout"


def _user_name() -> str:
    # The effective user, not $USER: a process started with sudo or su keeps the old $USER.
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _available_ports() -> str:
    names = sorted(port.device for port in serial.tools.list_ports.comports())
    return ", ".join(names) if names else "-"


def open_error(port: str, error: Exception) -> KenshuError:
    """Translate an error from opening *port* into a `KenshuError` that explains what to do."""
    code = getattr(error, "errno", None)
    if isinstance(error, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return KenshuError(
            "hardware_labs.port_permission",
            port=port,
            user=_user_name(),
            group=_group_name(port),
        )
    if isinstance(error, FileNotFoundError) or code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return KenshuError("hardware_labs.port_not_found", port=port, available=_available_ports())
    if code == errno.EBUSY:
        return KenshuError("hardware_labs.port_busy", port=port)
    return KenshuError("hardware_labs.port_open_failed", port=port, error=error)


class SerialSensor:
    """A sensor board on a serial port, yielding `Reading` records.

    Parameters
    ----------
    port
        Device path (``/dev/ttyUSB0``, ``/dev/ttyACM0``, a pseudo-terminal or a
        symlink to one) or a pyserial URL such as ``loop://``.
    baudrate
        Line speed in bit/s; ignored by pseudo-terminals and ``loop://``.
    read_timeout
        Seconds one low-level read waits for bytes.
    reconnect
        Reopen the port when the device goes away. With ``False`` the
        iteration ends instead.
    backoff_initial, backoff_max
        First and maximum wait in seconds between reopen attempts; the wait
        doubles after each failed attempt.
    give_up_after
        Seconds of failed reopen attempts after which the iteration ends
        (``None``: keep trying until `close`).

    Examples
    --------
    >>> with SerialSensor("/dev/ttyUSB0") as sensor:           # doctest: +SKIP
    ...     for reading in sensor.readings(max_readings=10):
    ...         print(reading.values)
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
        read_timeout: float = 0.2,
        reconnect: bool = True,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        give_up_after: float | None = None,
    ) -> None:
        if not port:
            raise ValueError("port must be a device path or a pyserial URL, got an empty string")
        if read_timeout <= 0:
            raise ValueError(f"read_timeout must be positive, got {read_timeout}")
        if not 0 < backoff_initial <= backoff_max:
            raise ValueError(f"need 0 < backoff_initial ({backoff_initial}) <= backoff_max ({backoff_max})")
        self.port = port
        self.baudrate = baudrate
        self.read_timeout = read_timeout
        self.reconnect = reconnect
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.give_up_after = give_up_after
        self.parser = LineParser()
        self.reconnects = 0
        self._serial: serial.SerialBase | None = None
        self._buffer = bytearray()
        self._closed = threading.Event()
        self._opened_once = False
        self._empty_reads = 0
        self._gave_up = False
        # End of the current read() call, so that reopening the port stops there too.
        self._read_deadline: float | None = None

    # -- opening and closing ------------------------------------------------

    def _open_port(self) -> serial.SerialBase:
        try:
            port = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=self.read_timeout)
        except ValueError as error:
            # pyserial raises ValueError for an unknown URL scheme or bad settings.
            raise KenshuError("hardware_labs.port_invalid", port=self.port, error=error) from error
        except (serial.SerialException, OSError) as error:
            raise open_error(self.port, error) from error
        return port

    def open(self) -> SerialSensor:
        """Open the port; raise `KenshuError` with advice when it is missing or not permitted."""
        if self._serial is None:
            self._serial = self._open_port()
            self._closed.clear()
            self._opened_once = True
            self._gave_up = False
            logger.info("opened serial port %s", self.port)
        return self

    def close(self) -> None:
        """Close the port and end any iteration in progress. Safe to call twice."""
        self._closed.set()
        if self._serial is not None:
            try:
                self._serial.close()
            except (serial.SerialException, OSError) as error:
                logger.debug("error while closing %s: %s", self.port, error)
            self._serial = None
            logger.info("closed serial port %s", self.port)

    def __enter__(self) -> SerialSensor:
        return self.open()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @property
    def stats(self) -> ProtocolStats:
        """Line counters of the parser (good readings and each kind of problem)."""
        return self.parser.stats

    @property
    def is_open(self) -> bool:
        """Whether the port is open now (``False`` while waiting for the device to return)."""
        return self._serial is not None

    def write(self, data: bytes) -> None:
        """Write raw bytes to the port (``loop://`` tests and boards that take commands)."""
        if self._serial is None:
            self.open()
        self._serial.write(data)

    # -- reconnecting -------------------------------------------------------

    def _lost(self, error: Exception) -> None:
        logger.warning("%s", message("hardware_labs.serial_lost", port=self.port, error=error))
        if self._buffer:
            # The device went away in the middle of a line.
            self.parser.feed(bytes(self._buffer))
            self._buffer.clear()
        if self._serial is not None:
            try:
                self._serial.close()
            except (serial.SerialException, OSError):
                pass
            self._serial = None

    def _reopen(self) -> bool:
        """Reopen the port with exponential backoff; return ``False`` when giving up, closed or past the read deadline."""
        delay = self.backoff_initial
        started = time.monotonic()
        attempt = 0
        while not self._closed.is_set():
            if self._read_deadline is not None and time.monotonic() >= self._read_deadline:
                return False
            attempt += 1
            try:
                self._serial = self._open_port()
            except KenshuError as error:
                logger.info("reopening %s, attempt %d failed (%s); next try in %.1f s", self.port, attempt, error.key, delay)
            else:
                self.reconnects += 1
                self._empty_reads = 0
                logger.warning("%s", message("hardware_labs.serial_back", port=self.port, attempts=attempt))
                return True
            if self.give_up_after is not None and time.monotonic() - started >= self.give_up_after:
                self._gave_up = True
                logger.error("%s", message("hardware_labs.serial_gave_up", port=self.port, seconds=time.monotonic() - started))
                return False
            wait = delay
            if self._read_deadline is not None:
                wait = max(0.0, min(delay, self._read_deadline - time.monotonic()))
            if self._closed.wait(wait):
                return False
            delay = min(delay * 2, self.backoff_max)
        return False

    # -- reading ------------------------------------------------------------

    def _read_chunk(self) -> bytes | None:
        """Return the bytes available (maybe none), or ``None`` when the iteration must end."""
        if self._serial is None:
            if self._closed.is_set() or not self.reconnect:
                return None
            if not self._reopen():
                # Past the read deadline the caller decides; otherwise the port is closed or given up.
                return b"" if self._serial is None and not (self._closed.is_set() or self._gave_up) else None
        try:
            waiting = self._serial.in_waiting
            # Read every byte the driver has buffered in one call. A
            # pseudo-terminal loses bytes when its small buffer overflows, so
            # the reader must not fall behind a fast board by reading in small pieces.
            chunk = self._serial.read(max(1, min(waiting, MAX_READ_BYTES)))
        except serial.SerialException as error:
            # pyserial reports "readiness to read but returned no data" both for a
            # device that is gone and, once in a while, for a pseudo-terminal whose
            # buffer overflowed. Only a repeated empty read counts as unplugged.
            self._empty_reads += 1
            if "returned no data" in str(error) and self._empty_reads < EMPTY_READS_BEFORE_LOST:
                time.sleep(0.01)
                return b""
            if self._closed.is_set():
                return None
            self._lost(error)
            if not self.reconnect:
                return None
            return b""
        except (OSError, TypeError, AttributeError) as error:
            # TypeError/AttributeError: pyserial reads from a file descriptor
            # that close() from another thread has just released.
            if self._closed.is_set():
                return None
            self._lost(error)
            if not self.reconnect:
                return None
            return b""
        if chunk:
            self._empty_reads = 0
        return chunk

    def read(self, timeout: float | None = None) -> Reading | None:
        """Return the next good reading, or ``None`` when *timeout* seconds pass or the port is closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._read_deadline = deadline
        if not self._opened_once:
            self.open()
        while True:
            newline = self._buffer.find(b"\n")
            while newline >= 0:
                raw = bytes(self._buffer[: newline + 1])
                del self._buffer[: newline + 1]
                start = raw.rfind(b"$")
                if start > 0:
                    # Resynchronise on the start marker: what comes before it is
                    # noise or the rest of a cut line, counted on its own.
                    self.parser.feed(raw[:start])
                    raw = raw[start:]
                reading = self.parser.feed(raw)
                if reading is not None:
                    return reading
                newline = self._buffer.find(b"\n")

            if len(self._buffer) > MAX_LINE_BYTES:
                # Noise with no line end: count it and keep only a line that may have started.
                start = self._buffer.rfind(b"$")
                keep = start if 0 <= start and len(self._buffer) - start <= MAX_LINE_BYTES else len(self._buffer)
                self.parser.feed(bytes(self._buffer[:keep]))
                del self._buffer[:keep]

            if deadline is not None and time.monotonic() >= deadline:
                return None
            chunk = self._read_chunk()
            if chunk is None:
                return None
            self._buffer.extend(chunk)

    def readings(self, *, max_readings: int | None = None, duration: float | None = None) -> Iterator[Reading]:
        """Yield readings until *max_readings* or *duration* seconds is reached, or the port is closed."""
        if max_readings is not None and max_readings < 0:
            raise ValueError(f"max_readings must not be negative, got {max_readings}")
        end = None if duration is None else time.monotonic() + duration
        count = 0
        while max_readings is None or count < max_readings:
            remaining = None if end is None else end - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            reading = self.read(timeout=remaining)
            if reading is None:
                if self._closed.is_set() or self._gave_up or end is not None or not self.reconnect:
                    return
                continue
            count += 1
            yield reading

    def __iter__(self) -> Iterator[Reading]:
        return self.readings()
