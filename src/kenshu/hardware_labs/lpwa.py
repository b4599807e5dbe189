"""Decoders for LPWA uplinks: Sigfox payloads by a field grammar, and The Things Stack v3 uplink JSON.

A grammar is a list of `Field` records, or a text with one field per
whitespace-separated word::

    name:byte[.bit]:type:bits[:big-endian|little-endian]

- ``byte`` is the offset of the field's first byte in the payload (0 = first).
- ``type`` is ``uint``, ``int`` (two's complement), ``float`` (IEEE 754, 32 or
  64 bits) or ``bool``.
- ``bits`` is the length in bits: a multiple of 8 for fields that span whole
  bytes, or 1 to 7 for a field inside one byte, which then starts at bit
  ``.bit`` (0 = least significant bit). A ``bool`` is one bit.
- Multi-byte fields are big-endian unless the word ends in ``little-endian``.

The same grammar decodes LoRaWAN ``frm_payload`` bytes; Sigfox payloads are
limited to 12 bytes.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import json
import re
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

from kenshu.errors import KenshuError
from kenshu.i18n import message

SIGFOX_MAX_BYTES = 12
# JSON names of the Python types json.loads returns, for error messages.
_JSON_KINDS = {"array": "array", "str": "string", "int": "number", "float": "number", "bool": "true/false", "NoneType": "null"}
FIELD_TYPES = ("uint", "int", "float", "bool")
ENDIANNESS = {"big-endian": "big", "little-endian": "little", "big": "big", "little": "little"}


@dataclasses.dataclass(frozen=True)
class Field:
    """One field of a binary payload; the decoded value is ``raw * scale + add`` in *unit*."""

    name: str
    offset: int
    type: str
    bits: int
    endianness: str = "big"
    bit: int = 0
    scale: float = 1.0
    add: float = 0.0
    unit: str = ""

    def __post_init__(self) -> None:
        spec = f"{self.name}:{self.offset}.{self.bit}:{self.type}:{self.bits}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.name):
            raise KenshuError("hardware_labs.grammar_invalid", spec=spec, reason=message("hardware_labs.reason.field_name"))
        if self.type not in FIELD_TYPES:
            raise KenshuError("hardware_labs.grammar_invalid", spec=spec, reason=message("hardware_labs.reason.field_type", type=self.type))
        if self.endianness not in ("big", "little"):
            raise KenshuError("hardware_labs.grammar_invalid", spec=spec, reason=message("hardware_labs.reason.field_endianness", endianness=self.endianness))
        if self.offset < 0 or not 0 <= self.bit <= 7:
            raise KenshuError("hardware_labs.grammar_invalid", spec=spec, reason=message("hardware_labs.reason.field_offset"))
        if self.type == "bool" and self.bits != 1:
            raise KenshuError("hardware_labs.grammar_invalid", spec=spec, reason=message("hardware_labs.reason.bool_bits"))
        if self.type == "float" and self.bits not in (32, 64):
            raise KenshuError("hardware_labs.grammar_invalid", spec=spec, reason=message("hardware_labs.reason.float_bits"))
        if self.bits < 1:
            raise KenshuError("hardware_labs.grammar_invalid", spec=spec, reason=message("hardware_labs.reason.bits_positive"))
        if self.bits < 8:
            if self.bit + self.bits > 8:
                raise KenshuError("hardware_labs.grammar_invalid", spec=spec, reason=message("hardware_labs.reason.crosses_byte"))
        elif self.bits % 8 or self.bit or self.bits > 64:
            raise KenshuError("hardware_labs.grammar_invalid", spec=spec, reason=message("hardware_labs.reason.whole_bytes"))

    @property
    def end(self) -> int:
        """Offset of the first byte after the field."""
        return self.offset + max(1, self.bits // 8)

    def decode(self, payload: bytes) -> int | float | bool:
        """Return the field's value from *payload*, scaled (``raw * scale + add``)."""
        chunk = payload[self.offset : self.end]
        if self.bits < 8:
            raw: int | float | bool = (chunk[0] >> self.bit) & ((1 << self.bits) - 1)
            if self.type == "int" and raw >= 1 << (self.bits - 1):
                raw -= 1 << self.bits
            if self.type == "bool":
                return bool(raw)
        elif self.type == "float":
            order = ">" if self.endianness == "big" else "<"
            raw = struct.unpack(order + ("f" if self.bits == 32 else "d"), chunk)[0]
        else:
            raw = int.from_bytes(chunk, self.endianness, signed=self.type == "int")
        if self.scale == 1 and self.add == 0:
            return raw
        return raw * self.scale + self.add


def parse_grammar(text: str, *, scales: Mapping[str, tuple[float, str]] | None = None) -> list[Field]:
    """Parse a grammar text into fields; *scales* maps a field name to (scale, unit).

    Raises
    ------
    KenshuError
        Naming the word that is not ``name:byte[.bit]:type:bits[:endianness]``.
    """
    scales = dict(scales or {})
    fields = []
    seen: set[str] = set()
    for word in text.split():
        parts = word.split(":")
        if len(parts) not in (4, 5):
            raise KenshuError("hardware_labs.grammar_invalid", spec=word, reason=message("hardware_labs.reason.field_parts", count=len(parts)))
        name, position, kind, bits = parts[:4]
        endianness = ENDIANNESS.get(parts[4] if len(parts) == 5 else "big-endian")
        match = re.fullmatch(r"(\d+)(?:\.(\d))?", position)
        if endianness is None or match is None or not bits.isdigit():
            raise KenshuError("hardware_labs.grammar_invalid", spec=word, reason=message("hardware_labs.reason.field_numbers"))
        if name in seen:
            raise KenshuError("hardware_labs.grammar_invalid", spec=word, reason=message("hardware_labs.reason.duplicate_field", name=name))
        seen.add(name)
        scale, unit = scales.pop(name, (1.0, ""))
        try:
            field = Field(
                name=name,
                offset=int(match.group(1)),
                type=kind,
                bits=int(bits),
                endianness=endianness,
                bit=int(match.group(2) or 0),
                scale=scale,
                unit=unit,
            )
        except KenshuError as error:
            # Field names itself in its normalised form; show the word as the user typed it.
            raise KenshuError(error.key, **{**error.fields, "spec": word}) from None
        fields.append(field)
    if not fields:
        raise KenshuError("hardware_labs.grammar_invalid", spec=text, reason=message("hardware_labs.reason.no_fields"))
    if scales:
        raise KenshuError("hardware_labs.grammar_invalid", spec=text, reason=message("hardware_labs.reason.unknown_scale", names=", ".join(sorted(scales))))
    return fields


def _payload_bytes(payload: bytes | str) -> bytes:
    if isinstance(payload, bytes):
        return payload
    text = payload.strip().replace(" ", "")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise KenshuError("hardware_labs.payload_invalid", payload=payload, reason=message("hardware_labs.reason.not_hex")) from None


def decode_payload(payload: bytes | str, grammar: Sequence[Field] | str) -> dict[str, int | float | bool]:
    """Decode *payload* (bytes or hex text) with *grammar*; return field name to value.

    Raises
    ------
    KenshuError
        If the payload is not hexadecimal or is shorter than a field needs.
    """
    data = _payload_bytes(payload)
    fields = parse_grammar(grammar) if isinstance(grammar, str) else list(grammar)
    values: dict[str, int | float | bool] = {}
    for field in fields:
        if field.end > len(data):
            raise KenshuError(
                "hardware_labs.payload_invalid",
                payload=data.hex(),
                reason=message("hardware_labs.reason.payload_too_short", length=len(data), field=field.name, needed=field.end),
            )
        values[field.name] = field.decode(data)
    return values


def decode_sigfox(payload: bytes | str, grammar: Sequence[Field] | str) -> dict[str, int | float | bool]:
    """Decode a Sigfox uplink payload (at most 12 bytes) with *grammar*."""
    data = _payload_bytes(payload)
    if not 1 <= len(data) <= SIGFOX_MAX_BYTES:
        raise KenshuError(
            "hardware_labs.payload_invalid",
            payload=data.hex(),
            reason=message("hardware_labs.reason.sigfox_length", maximum=SIGFOX_MAX_BYTES, length=len(data)),
        )
    return decode_payload(data, grammar)


@dataclasses.dataclass(frozen=True)
class LoRaWANUplink:
    """One uplink from The Things Stack v3, with the payload decoded when a grammar was given."""

    device_id: str
    application_id: str
    dev_eui: str | None
    f_port: int
    f_cnt: int | None
    received_at: datetime.datetime
    payload: bytes
    fields: dict[str, int | float | bool]
    rssi: float | None
    snr: float | None
    gateway_id: str | None


class _TimeFormatError(ValueError):
    """A time text that is not RFC 3339, kept as *text* for the message."""

    def __init__(self, text: str) -> None:
        super().__init__(f"time {text!r} is not RFC 3339")
        self.text = text


def _parse_rfc3339(text: str) -> datetime.datetime:
    # The Things Stack writes nanoseconds; Python's datetime keeps microseconds.
    match = re.fullmatch(r"(.+?T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if match is None:
        raise _TimeFormatError(text)
    base, fraction, zone = match.groups()
    fraction = (fraction or "0")[:6].ljust(6, "0")
    return datetime.datetime.fromisoformat(f"{base}.{fraction}{'+00:00' if zone == 'Z' else zone}")


def decode_tts_uplink(
    document: str | bytes | Mapping,
    *,
    grammar: Sequence[Field] | str | Mapping[int, Sequence[Field] | str] | None = None,
    source: str = "-",
) -> LoRaWANUplink:
    """Decode an uplink message as The Things Stack v3 sends it (webhook or MQTT ``.../up``).

    Parameters
    ----------
    document
        The JSON text or the already parsed object.
    grammar
        One grammar for every port, or a mapping from ``f_port`` to grammar;
        ``None`` leaves ``fields`` empty.
    source
        Name of the file or topic, used in error messages.

    Raises
    ------
    KenshuError
        If a required key is missing, ``frm_payload`` is not base64, or the
        payload does not fit the grammar.
    """
    try:
        data = json.loads(document) if isinstance(document, str | bytes) else document
        if not isinstance(data, Mapping):
            kind = type(data).__name__ if not isinstance(data, list) else "array"
            reason = message("hardware_labs.reason.not_object", kind=_JSON_KINDS.get(kind, kind))
            raise KenshuError("hardware_labs.uplink_invalid", source=source, reason=reason)
        ids = data["end_device_ids"]
        uplink = data["uplink_message"]
        device_id = str(ids["device_id"])
        application_id = str(ids["application_ids"]["application_id"])
        received_at = _parse_rfc3339(data.get("received_at") or uplink["received_at"])
        f_port = int(uplink.get("f_port", 0))
    except json.JSONDecodeError as error:
        reason = message("hardware_labs.reason.not_json", line=error.lineno, column=error.colno)
        raise KenshuError("hardware_labs.uplink_invalid", source=source, reason=reason) from None
    except _TimeFormatError as error:
        reason = message("hardware_labs.reason.bad_time", value=error.text)
        raise KenshuError("hardware_labs.uplink_invalid", source=source, reason=reason) from None
    except KeyError as error:
        reason = message("hardware_labs.reason.missing_key", key=error)
        raise KenshuError("hardware_labs.uplink_invalid", source=source, reason=reason) from None
    except (TypeError, ValueError) as error:
        reason = message("hardware_labs.reason.bad_value", detail=error)
        raise KenshuError("hardware_labs.uplink_invalid", source=source, reason=reason) from None

    if "frm_payload" not in uplink:
        reason = message("hardware_labs.reason.no_frm_payload")
        raise KenshuError("hardware_labs.uplink_invalid", source=source, reason=reason)
    try:
        payload = base64.b64decode(uplink["frm_payload"], validate=True)
    except (binascii.Error, ValueError):
        reason = message("hardware_labs.reason.bad_base64")
        raise KenshuError("hardware_labs.uplink_invalid", source=source, reason=reason) from None

    port_grammar = grammar.get(f_port) if isinstance(grammar, Mapping) else grammar
    fields = decode_payload(payload, port_grammar) if port_grammar is not None and payload else {}

    metadata = (uplink.get("rx_metadata") or [{}])[0]
    return LoRaWANUplink(
        device_id=device_id,
        application_id=application_id,
        dev_eui=ids.get("dev_eui"),
        f_port=f_port,
        f_cnt=uplink.get("f_cnt"),
        received_at=received_at,
        payload=payload,
        fields=fields,
        rssi=metadata.get("rssi"),
        snr=metadata.get("snr"),
        gateway_id=(metadata.get("gateway_ids") or {}).get("gateway_id"),
    )


def read_tts_uplink(path: str | Path, **options) -> LoRaWANUplink:
    """Read and decode an uplink JSON file; *options* go to `decode_tts_uplink`."""
    path = Path(path)
    if not path.exists():
        raise KenshuError("hardware_labs.file_not_found", path=path)
    if not path.is_file():
        kind = message("hardware_labs.path_kind.directory" if path.is_dir() else "hardware_labs.path_kind.other")
        raise KenshuError("hardware_labs.input_not_file", path=path, kind=kind)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        reason = message("hardware_labs.reason.not_utf8", position=error.start)
        raise KenshuError("hardware_labs.uplink_invalid", source=str(path), reason=reason) from None
    return decode_tts_uplink(text, source=str(path), **options)


def make_tts_uplinks(n_uplinks: int = 10, *, device_id: str = "env-node-01", random_state: int | None = None) -> list[dict]:
    """Generate uplink messages in The Things Stack v3 JSON layout, for labs without a LoRaWAN gateway.

    Each payload on ``f_port`` 2 is temperature (int16, big-endian, 0.01 degC)
    followed by humidity (uint8, 0.5 %RH); uplinks are 10 minutes apart.
    """
    import numpy as np

    if n_uplinks < 1:
        raise ValueError(f"n_uplinks must be at least 1, got {n_uplinks}")
    rng = np.random.default_rng(random_state)
    start = datetime.datetime(2026, 6, 4, 0, 0, tzinfo=datetime.UTC)
    uplinks = []
    for index in range(n_uplinks):
        temperature = round(float(rng.normal(24.0, 2.0)), 2)
        humidity = round(float(rng.uniform(30.0, 70.0)) * 2) / 2
        payload = int(round(temperature * 100)).to_bytes(2, "big", signed=True) + bytes([int(humidity * 2)])
        received = start + datetime.timedelta(minutes=10 * index, microseconds=int(rng.integers(0, 10**6)))
        uplinks.append(
            {
                "end_device_ids": {
                    "device_id": device_id,
                    "application_ids": {"application_id": "kenshu-lab"},
                    "dev_eui": "70B3D57ED0000001",
                },
                "received_at": received.isoformat().replace("+00:00", "Z"),
                "uplink_message": {
                    "f_port": 2,
                    "f_cnt": index,
                    "frm_payload": base64.b64encode(payload).decode("ascii"),
                    "rx_metadata": [
                        {
                            "gateway_ids": {"gateway_id": "kenshu-gw-01"},
                            "rssi": int(rng.integers(-120, -60)),
                            "snr": round(float(rng.uniform(-5, 10)), 1),
                        }
                    ],
                },
            }
        )
    return uplinks
