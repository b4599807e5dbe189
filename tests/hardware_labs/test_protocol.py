"""KS1 line protocol: encoding, checksum and every kind of bad line."""

from __future__ import annotations

import pytest

from kenshu.hardware_labs.protocol import LineParser, ProtocolError, crc16, decode_line, encode_line

UNITS = {"temperature": "degC", "humidity": "%RH"}


def line(sequence: int, uptime_ms: int = 1000, device: str = "board-1") -> bytes:
    return encode_line(device, sequence, uptime_ms, "env", {"temperature": 23.5, "humidity": 41.0}, UNITS)


def test_crc16_check_value():
    # CRC-16/CCITT-FALSE of the standard check string "123456789" is 0x29B1.
    assert crc16(b"123456789") == 0x29B1


def test_encode_line_layout():
    raw = line(7)
    body = b"KS1,board-1,7,1000,env,temperature=23.5:degC,humidity=41:%RH"
    assert raw == b"$" + body + b"*" + f"{crc16(body):04X}".encode() + b"\r\n"


def test_decode_round_trip():
    reading = decode_line(line(7), received_at=5.0)
    assert reading.device_id == "board-1"
    assert reading.sequence == 7
    assert reading.values == {"temperature": 23.5, "humidity": 41.0}
    assert reading.units == UNITS
    assert reading.received_at == 5.0


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (line(1).replace(b"23.5", b"23.6"), "checksum"),
        (line(1)[:30] + b"\r\n", "truncated"),
        (line(1)[12:], "truncated"),
        (line(1)[:20] + b"\xff" + line(1)[21:], "garbled"),
        (line(1)[:20] + b"\x00" + line(1)[21:], "garbled"),
        (b"\r\n", "truncated"),
    ],
    ids=["checksum", "cut-end", "cut-start", "high-byte", "nul-byte", "empty"],
)
def test_decode_bad_line(raw, kind):
    with pytest.raises(ProtocolError) as caught:
        decode_line(raw)
    assert caught.value.kind == kind


def test_decode_malformed_with_good_crc():
    body = b"KS1,board-1,x,1000,env,temperature=23.5:degC"
    raw = b"$" + body + b"*" + f"{crc16(body):04X}".encode() + b"\r\n"
    with pytest.raises(ProtocolError) as caught:
        decode_line(raw)
    assert caught.value.kind == "malformed"


def test_parser_counts_problems_and_continues():
    parser = LineParser()
    stream = [
        line(0),
        line(1).replace(b"23.5", b"29.5"),  # bad checksum
        line(2)[:25],  # truncated
        line(3)[:10] + b"\xfe" + line(3)[11:],  # garbled byte
        line(4),
        line(4),  # duplicate
        line(8),  # gap of three (5, 6, 7)
        line(0, uptime_ms=10),  # board restarted
        line(1, uptime_ms=20),
    ]
    readings = [parser.feed(raw) for raw in stream]
    stats = parser.stats
    assert [r.sequence for r in readings if r] == [0, 4, 8, 0, 1]
    assert stats.lines == 9
    assert stats.readings == 5
    assert stats.checksum == 1
    assert stats.truncated == 1
    assert stats.garbled == 1
    assert stats.duplicate == 1
    assert stats.gap == 2  # 0 -> 4 (after three bad lines) and 4 -> 8
    assert stats.missing == 6
    assert stats.restart == 1


def test_parser_sequence_wraps_without_gap():
    parser = LineParser()
    parser.feed(line(2**32 - 1, uptime_ms=100))
    reading = parser.feed(line(0, uptime_ms=200))
    assert reading is not None
    assert parser.stats.gap == 0
    assert parser.stats.restart == 0


def test_parser_tracks_devices_separately():
    parser = LineParser()
    parser.feed(line(10, device="a"))
    parser.feed(line(50, device="b"))
    parser.feed(line(11, device="a"))
    assert parser.stats.gap == 0


@pytest.mark.parametrize(
    "arguments",
    [
        ("bad id!", 0, 0, "env", {"t": 1.0}, {"t": "degC"}),
        ("dev", -1, 0, "env", {"t": 1.0}, {"t": "degC"}),
        ("dev", 0, 0, "env", {"t": float("nan")}, {"t": "degC"}),
        ("dev", 0, 0, "env", {"t": 1.0}, {"t": "deg,C"}),
        ("dev", 0, 0, "env", {}, {}),
    ],
    ids=["device-id", "sequence", "nan", "unit", "empty"],
)
def test_encode_rejects_bad_argument(arguments):
    with pytest.raises(ValueError):
        encode_line(*arguments)
