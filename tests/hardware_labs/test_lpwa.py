"""Sigfox and The Things Stack v3 decoders on byte-exact vectors; expected values worked out by hand."""

from __future__ import annotations

import datetime
import json

import pytest

from kenshu.errors import KenshuError
from kenshu.hardware_labs.lpwa import Field, decode_payload, decode_sigfox, decode_tts_uplink, parse_grammar

# 12-byte Sigfox uplink: 29 09 | 5A | 85 | F6 | 01 8B CD | 10 27 00 00
SIGFOX_HEX = "29095A85F6018BCD10270000"
SIGFOX_GRAMMAR = (
    "temperature:0:int:16:little-endian humidity:2:uint:8 battery_low:3.7:bool:1 "
    "mode:3.0:uint:3 tilt:4:int:8 pressure:5:uint:24 counter:8:uint:32:little-endian"
)
SCALES = {"temperature": (0.01, "degC"), "humidity": (0.5, "%RH")}


def test_sigfox_vector_fields():
    values = decode_sigfox(SIGFOX_HEX, parse_grammar(SIGFOX_GRAMMAR, scales=SCALES))
    # 0x0929 little-endian = 2345, times 0.01
    assert values["temperature"] == pytest.approx(23.45)
    # 0x5A = 90, times 0.5
    assert values["humidity"] == pytest.approx(45.0)
    # 0x85 = 0b1000_0101: bit 7 is set
    assert values["battery_low"] is True
    # 0x85 & 0b111 = 5
    assert values["mode"] == 5
    # 0xF6 = 246, two's complement 246 - 256
    assert values["tilt"] == -10
    # 0x018BCD big-endian = 1*65536 + 139*256 + 205
    assert values["pressure"] == 101325
    # 10 27 00 00 little-endian = 0x2710
    assert values["counter"] == 10000


def test_sigfox_float_and_signed_nibble():
    grammar = [Field("level", 0, "float", 32), Field("delta", 4, "int", 4, bit=4)]
    values = decode_sigfox(bytes.fromhex("41200000E0"), grammar)
    # 0x41200000: exponent 130 - 127 = 3, mantissa 1.25; 1.25 * 2**3
    assert values["level"] == 10.0
    # upper nibble of 0xE0 is 14; as 4-bit two's complement 14 - 16
    assert values["delta"] == -2


def test_sigfox_rejects_13_bytes():
    with pytest.raises(KenshuError) as caught:
        decode_sigfox("00" * 13, "a:0:uint:8")
    assert caught.value.key == "hardware_labs.payload_invalid"


def test_payload_shorter_than_grammar():
    with pytest.raises(KenshuError) as caught:
        decode_payload("0102", "a:0:uint:8 b:1:uint:16")
    assert "b" in str(caught.value)


def test_payload_not_hex():
    with pytest.raises(KenshuError) as caught:
        decode_sigfox("zz", "a:0:uint:8")
    assert caught.value.key == "hardware_labs.payload_invalid"


@pytest.mark.parametrize(
    "grammar",
    ["a:0:uint", "a:0:text:8", "a:0:uint:12", "a:0.6:uint:4", "a:0:bool:2", "a:0:float:16", "a:0:uint:8:middle"],
    ids=["parts", "type", "bits", "crosses-byte", "bool-bits", "float-bits", "endianness"],
)
def test_grammar_invalid(grammar):
    with pytest.raises(KenshuError) as caught:
        parse_grammar(grammar)
    assert caught.value.key == "hardware_labs.grammar_invalid"


def uplink(**changes) -> dict:
    document = {
        "end_device_ids": {
            "device_id": "pump-07",
            "application_ids": {"application_id": "sakura-factory"},
            "dev_eui": "70B3D57ED0001234",
        },
        "received_at": "2026-06-04T01:02:03.123456789Z",
        "uplink_message": {
            "f_port": 2,
            "f_cnt": 41,
            # bytes 09 29 5A: 000010 010010 100101 011010 = 2 18 37 26 = "CSla"
            "frm_payload": "CSla",
            "rx_metadata": [{"gateway_ids": {"gateway_id": "gw-roof"}, "rssi": -97, "snr": 7.25}],
        },
    }
    document["uplink_message"].update(changes)
    return document


def test_tts_uplink_vector():
    grammar = parse_grammar("temperature:0:int:16 humidity:2:uint:8", scales=SCALES)
    decoded = decode_tts_uplink(json.dumps(uplink()), grammar={2: grammar})
    assert decoded.payload == bytes([0x09, 0x29, 0x5A])
    # 0x0929 big-endian = 2345, times 0.01
    assert decoded.fields["temperature"] == pytest.approx(23.45)
    assert decoded.fields["humidity"] == pytest.approx(45.0)
    assert decoded.device_id == "pump-07"
    assert decoded.application_id == "sakura-factory"
    assert decoded.dev_eui == "70B3D57ED0001234"
    assert (decoded.f_port, decoded.f_cnt) == (2, 41)
    assert decoded.received_at == datetime.datetime(2026, 6, 4, 1, 2, 3, 123456, tzinfo=datetime.UTC)
    assert (decoded.gateway_id, decoded.rssi, decoded.snr) == ("gw-roof", -97, 7.25)


def test_tts_port_without_grammar_keeps_bytes():
    decoded = decode_tts_uplink(uplink(f_port=9), grammar={2: "a:0:uint:8"})
    assert decoded.fields == {}
    assert decoded.payload.hex() == "09295a"


def test_tts_missing_key_named():
    document = uplink()
    del document["end_device_ids"]["device_id"]
    with pytest.raises(KenshuError) as caught:
        decode_tts_uplink(document, source="up.json")
    assert "device_id" in str(caught.value)
    assert "up.json" in str(caught.value)


def test_tts_bad_base64():
    with pytest.raises(KenshuError) as caught:
        decode_tts_uplink(uplink(frm_payload="C$la"))
    assert "frm_payload" in str(caught.value)
