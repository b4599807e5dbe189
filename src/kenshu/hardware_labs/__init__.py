"""Hardware labs: sensor boards over serial, readings over MQTT, LPWA payloads.

- `protocol`: the KS1 line protocol (`encode_line`, `LineParser`, `Reading`).
- `serial_sensor`: `SerialSensor`, reading a port with reconnect.
- `simulator`: `SensorSimulator`, a board on a pseudo-terminal.
- `mqtt_bridge`, `spool`, `subscriber`, `broker`: serial-to-MQTT with no loss.
- `lpwa`: Sigfox and The Things Stack v3 payload decoders.
- `vibration`: bearing fault frequencies and spectra for the labs.
"""

from kenshu.hardware_labs.protocol import LineParser, ProtocolStats, Reading, decode_line, encode_line
from kenshu.hardware_labs.serial_sensor import SerialSensor
from kenshu.hardware_labs.simulator import SensorSimulator

__all__ = [
    "LineParser",
    "ProtocolStats",
    "Reading",
    "SensorSimulator",
    "SerialSensor",
    "decode_line",
    "encode_line",
]
