"""The kenshu sensor line protocol (KS1): one reading per text line.

A line looks like::

    $KS1,sim-env-01,42,123456,env,temperature=23.51:degC,humidity=45.2:%RH*C361

``$KS1`` starts the line, then come the device id, the sequence number, the
device's uptime in milliseconds, the sensor kind and one ``name=value:unit``
field per measured quantity. ``*`` is followed by the CRC-16/CCITT-FALSE
(polynomial 0x1021, initial value 0xFFFF) of every byte between ``$`` and
``*``, as four upper-case hexadecimal digits, and the line ends with CR LF.
hardware_labs/PROTOCOL.md is the full description for board makers.

`LineParser` turns raw lines into `Reading` records. A line with a bad
checksum, a truncated line, a garbled byte, a sequence gap, a repeated line or
a restarted counter is counted in `ProtocolStats` and logged, never raised.
"""

from __future__ import annotations

import binascii
import dataclasses
import logging
import math
import re
import time
from collections.abc import Mapping

from kenshu.i18n import message

logger = logging.getLogger(__name__)

PROTOCOL_TAG = "KS1"
MAX_LINE_BYTES = 512
SEQUENCE_MODULUS = 2**32

DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
SENSOR_PATTERN = re.compile(r"^[a-z0-9_]{1,16}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
UNIT_PATTERN = re.compile(r"^[A-Za-z0-9%/_.^-]{0,16}$")
NOT_PRINTABLE = re.compile(rb"[^\x20-\x7e]")

# Problems a line can have; each is one counter in ProtocolStats.
PROBLEM_KINDS = ("checksum", "truncated", "garbled", "malformed", "gap", "restart", "duplicate")

# Log the first few problems of each kind, then only every LOG_EVERY-th, so a
# noisy cable cannot flood the log.
LOG_FIRST = 5
LOG_EVERY = 100


@dataclasses.dataclass(frozen=True)
class Reading:
    """One parsed line: the measured values of one sensor of one device at one instant.

    Attributes
    ----------
    device_id, sequence, uptime_ms, sensor
        The header fields of the line.
    values
        Quantity name to value, for example ``{"temperature": 23.51}``.
    units
        Quantity name to unit, for example ``{"temperature": "degC"}``.
    received_at
        Wall-clock time (seconds since the epoch, UTC) at which the line was read.
    """

    device_id: str
    sequence: int
    uptime_ms: int
    sensor: str
    values: dict[str, float]
    units: dict[str, str]
    received_at: float


@dataclasses.dataclass
class ProtocolStats:
    """Counters of good lines and of each kind of problem.

    ``missing`` is the number of sequence numbers skipped by gaps, while
    ``gap`` counts the gaps themselves.
    """

    lines: int = 0
    readings: int = 0
    checksum: int = 0
    truncated: int = 0
    garbled: int = 0
    malformed: int = 0
    gap: int = 0
    missing: int = 0
    restart: int = 0
    duplicate: int = 0

    @property
    def rejected(self) -> int:
        """Return the number of lines that yielded no reading."""
        return self.checksum + self.truncated + self.garbled + self.malformed + self.duplicate

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a plain dictionary."""
        return dataclasses.asdict(self)


class ProtocolError(ValueError):
    """A line that is not valid KS1; ``kind`` is one of `PROBLEM_KINDS`."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def crc16(data: bytes) -> int:
    """Return the CRC-16/CCITT-FALSE of *data* (0x29B1 for ``b"123456789"``)."""
    return binascii.crc_hqx(data, 0xFFFF)


def _format_value(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"value {value!r} is not finite; KS1 carries finite numbers only")
    text = f"{value:.6g}"
    return text


def encode_line(
    device_id: str,
    sequence: int,
    uptime_ms: int,
    sensor: str,
    values: Mapping[str, float],
    units: Mapping[str, str],
) -> bytes:
    """Encode one reading as a KS1 line, CR LF included.

    Raises
    ------
    ValueError
        If an id, name or unit has characters the protocol does not allow, a
        value is not finite, or a quantity has no unit entry.
    """
    if not DEVICE_ID_PATTERN.match(device_id):
        raise ValueError(f"device id {device_id!r} must be 1-32 of A-Z a-z 0-9 _ -")
    if not SENSOR_PATTERN.match(sensor):
        raise ValueError(f"sensor {sensor!r} must be 1-16 of a-z 0-9 _")
    if not 0 <= sequence < SEQUENCE_MODULUS:
        raise ValueError(f"sequence {sequence} must be in 0..{SEQUENCE_MODULUS - 1}")
    if uptime_ms < 0:
        raise ValueError(f"uptime_ms {uptime_ms} must not be negative")
    if not values:
        raise ValueError("a reading needs at least one value")

    fields = [PROTOCOL_TAG, device_id, str(sequence), str(uptime_ms), sensor]
    for name, value in values.items():
        unit = units[name]
        if not NAME_PATTERN.match(name):
            raise ValueError(f"quantity name {name!r} must be a-z then up to 31 of a-z 0-9 _")
        if not UNIT_PATTERN.match(unit):
            raise ValueError(f"unit {unit!r} of {name!r} has a character KS1 does not allow")
        fields.append(f"{name}={_format_value(float(value))}:{unit}")

    body = ",".join(fields).encode("ascii")
    line = b"$" + body + b"*" + f"{crc16(body):04X}".encode("ascii") + b"\r\n"
    if len(line) > MAX_LINE_BYTES:
        raise ValueError(f"line of {len(line)} bytes is longer than {MAX_LINE_BYTES}")
    return line


def decode_line(raw: bytes, *, received_at: float | None = None) -> Reading:
    """Decode one KS1 line without any sequence checks.

    Raises
    ------
    ProtocolError
        With ``kind`` truncated, garbled, checksum or malformed.
    """
    line = raw.rstrip(b"\r\n")

    # A byte outside printable ASCII is a garbled line, whatever else is wrong with it.
    if NOT_PRINTABLE.search(line):
        raise ProtocolError("garbled", f"non-printable byte in {line[:60]!r}")

    # The start marker and the checksum suffix must both be there. A line cut
    # at either end (a reader joining mid-line, a board reset mid-write) lacks one of them.
    start = line.rfind(b"$")
    if start < 0 or not line[start:].startswith(b"$" + PROTOCOL_TAG.encode() + b","):
        raise ProtocolError("truncated", f"no '${PROTOCOL_TAG},' start in {line[:60]!r}")
    if start > 0:
        raise ProtocolError("truncated", f"bytes before '$': {line[:60]!r}")
    star = line.rfind(b"*")
    if star < 0 or len(line) - star - 1 != 4:
        raise ProtocolError("truncated", f"no '*XXXX' checksum at the end of {line[-60:]!r}")

    body = line[1:star]
    try:
        expected = int(line[star + 1 :], 16)
    except ValueError:
        raise ProtocolError("garbled", f"checksum {line[star + 1:]!r} is not hexadecimal") from None
    actual = crc16(body)
    if actual != expected:
        raise ProtocolError("checksum", f"CRC {actual:04X} != {expected:04X} in {line[:60]!r}")

    return _parse_body(body.decode("ascii"), received_at=time.time() if received_at is None else received_at)


def _parse_body(body: str, *, received_at: float) -> Reading:
    fields = body.split(",")
    if len(fields) < 6:
        raise ProtocolError("malformed", f"{len(fields)} fields, at least 6 needed: {body[:60]!r}")
    _tag, device_id, sequence_text, uptime_text, sensor, *quantities = fields

    if not DEVICE_ID_PATTERN.match(device_id):
        raise ProtocolError("malformed", f"device id {device_id!r}")
    if not SENSOR_PATTERN.match(sensor):
        raise ProtocolError("malformed", f"sensor {sensor!r}")
    if not (sequence_text.isdigit() and uptime_text.isdigit()):
        raise ProtocolError("malformed", f"sequence {sequence_text!r} or uptime {uptime_text!r} is not a number")
    sequence = int(sequence_text)
    if sequence >= SEQUENCE_MODULUS:
        raise ProtocolError("malformed", f"sequence {sequence} out of range")

    values: dict[str, float] = {}
    units: dict[str, str] = {}
    for quantity in quantities:
        name, equals, rest = quantity.partition("=")
        value_text, colon, unit = rest.partition(":")
        if not (equals and colon and NAME_PATTERN.match(name) and UNIT_PATTERN.match(unit)):
            raise ProtocolError("malformed", f"field {quantity!r} is not name=value:unit")
        try:
            value = float(value_text)
        except ValueError:
            raise ProtocolError("malformed", f"value {value_text!r} of {name!r} is not a number") from None
        if not math.isfinite(value) or name in values:
            raise ProtocolError("malformed", f"value of {name!r} is not finite or given twice")
        values[name] = value
        units[name] = unit

    return Reading(device_id, sequence, int(uptime_text), sensor, values, units, received_at)


class LineParser:
    """Parse a stream of KS1 lines, checking sequence numbers per device.

    `feed` returns a `Reading` for a good line and ``None`` for a rejected
    one. Every problem is counted in `stats` and logged (rate-limited).
    """

    def __init__(self) -> None:
        self.stats = ProtocolStats()
        self._last: dict[str, tuple[int, int]] = {}

    def _note(self, kind: str, detail: str) -> None:
        count = getattr(self.stats, kind) + 1
        setattr(self.stats, kind, count)
        if count <= LOG_FIRST or count % LOG_EVERY == 0:
            kind_text = message(f"hardware_labs.problem_kind.{kind}")
            logger.warning("%s", message("hardware_labs.line_problem", kind=kind_text, count=count, detail=detail))

    def feed(self, raw: bytes, *, received_at: float | None = None) -> Reading | None:
        """Parse one raw line and update the counters; return the reading or ``None``."""
        self.stats.lines += 1
        try:
            reading = decode_line(raw, received_at=received_at)
        except ProtocolError as error:
            self._note(error.kind, error.detail)
            return None

        if not self._check_sequence(reading):
            return None
        self.stats.readings += 1
        return reading

    def _check_sequence(self, reading: Reading) -> bool:
        previous = self._last.get(reading.device_id)
        self._last[reading.device_id] = (reading.sequence, reading.uptime_ms)
        if previous is None:
            return True

        last_sequence, last_uptime = previous
        expected = (last_sequence + 1) % SEQUENCE_MODULUS
        if reading.sequence == expected:
            return True
        if reading.sequence == last_sequence:
            self._note("duplicate", f"{reading.device_id} sent sequence {reading.sequence} twice")
            return False

        # A board that rebooted starts counting again and its uptime goes back;
        # a smaller number with uptime still rising is a gap across the wrap.
        if reading.sequence < last_sequence and reading.uptime_ms < last_uptime:
            self._note(
                "restart",
                f"{reading.device_id} restarted: sequence {last_sequence} -> {reading.sequence}",
            )
            return True
        missing = (reading.sequence - expected) % SEQUENCE_MODULUS
        self.stats.missing += missing
        self._note("gap", f"{reading.device_id} skipped {missing} line(s) before sequence {reading.sequence}")
        return True
