#!/usr/bin/env python3
"""Sensor node for the Raspberry Pi kit: read BME280, MCP3008 and MPU6050, write KS1 lines to serial or MQTT.

Run on Raspberry Pi OS after setup_pi.sh, inside its virtual environment::

    python pi_node.py --device-id pi-kit-01 --sensors env,current --serial /dev/ttyUSB0
    python pi_node.py --device-id pi-kit-01 --sensors vibration --mqtt mqtt://192.168.10.5:1883
    python pi_node.py --fake --sensors env --stdout         # no hardware: simulated chips

Needs smbus2 (I2C) and spidev (SPI) on the Pi, pyserial for --serial and
paho-mqtt 2.x for --mqtt. The MQTT payload has the same fields as the ones
`kenshu lab bridge` publishes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sensors import BME280, MCP3008, MPU6050, encode_line  # noqa: E402

logger = logging.getLogger("pi_node")

# Lines per second of each sensor: the same rates as the simulator.
RATES = {"env": 1.0, "current": 10.0, "vibration": 1000.0}


class SMBusI2C:
    """I2C bus interface over smbus2 (``/dev/i2c-1`` on a Raspberry Pi)."""

    def __init__(self, bus_number: int = 1) -> None:
        from smbus2 import SMBus

        self.bus = SMBus(bus_number)

    def read(self, address: int, register: int, length: int) -> bytes:
        return bytes(self.bus.read_i2c_block_data(address, register, length))

    def write(self, address: int, register: int, data: bytes) -> None:
        self.bus.write_i2c_block_data(address, register, list(data))


class SpidevSPI:
    """SPI device interface over spidev (``/dev/spidev0.0``: bus 0, chip select CE0)."""

    def __init__(self, bus: int = 0, device: int = 0, speed_hz: int = 1_000_000) -> None:
        import spidev

        self.spi = spidev.SpiDev()
        self.spi.open(bus, device)
        self.spi.max_speed_hz = speed_hz

    def transfer(self, data: bytes) -> bytes:
        return bytes(self.spi.xfer2(list(data)))


def open_sensors(names: list[str], *, fake: bool, random_state: int = 0) -> dict:
    """Return sensor name to driver, on real buses or on fake chips."""
    if fake:
        from fake_chips import FakeBME280, FakeI2CBus, FakeMPU6050, FakeSPI, current_clamp

        bme = FakeBME280()
        bme.set_conditions(22.5, 1012.0, 48.0)
        i2c = FakeI2CBus({0x76: bme, 0x68: FakeMPU6050()})
        spi = FakeSPI({0: current_clamp(4.2, random_state=random_state)})
        clock = spi.clock
    else:
        i2c = SMBusI2C(1) if {"env", "vibration"} & set(names) else None
        spi = SpidevSPI(0, 0) if "current" in names else None
        clock = time.monotonic

    drivers = {}
    for name in names:
        if name == "env":
            drivers[name] = BME280(i2c, 0x76)
        elif name == "vibration":
            drivers[name] = MPU6050(i2c, 0x68)
        elif name == "current":
            drivers[name] = MCP3008(spi, clock, channel=0)
        else:
            raise ValueError(f"sensor {name!r} is not one of {sorted(RATES)}")
    return drivers


class SerialOutput:
    """Write lines to a serial port (a USB-serial adapter, the GPIO UART /dev/serial0, or a pty for tests)."""

    def __init__(self, port: str, baudrate: int) -> None:
        import serial

        self.port = serial.serial_for_url(port, baudrate=baudrate, timeout=1)

    def send(self, line: bytes, reading: dict) -> None:
        self.port.write(line)

    def close(self) -> None:
        self.port.close()


class StreamOutput:
    """Write lines to a binary stream such as standard output."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def send(self, line: bytes, reading: dict) -> None:
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        pass


def mqtt_payload(device_id: str, sensor: str, sequence: int, uptime_ms: int, fields: list, *,
                 source: str, message_id: int) -> dict:
    """Return the JSON payload in the layout `kenshu lab bridge` publishes."""
    return {
        "message_id": message_id,
        "source": source,
        "device_id": device_id,
        "sensor": sensor,
        "sequence": sequence,
        "uptime_ms": uptime_ms,
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
        "values": {name: {"value": value, "unit": unit} for name, value, unit in fields},
    }


class MqttOutput:
    """Publish each reading with QoS 1 to <site>/<line>/<device>/<sensor>.

    NOTE: readings wait in paho's memory queue while the broker is away and
    are lost if this program stops meanwhile. For a spool on disk, write to
    serial and run `kenshu lab bridge` on the receiving side.
    """

    def __init__(self, url: str, *, device_id: str, site: str, line: str, username: str | None,
                 password: str | None, ca_certs: str | None) -> None:
        from urllib.parse import urlsplit

        import paho.mqtt.client as mqtt

        parts = urlsplit(url)
        tls = parts.scheme == "mqtts"
        self.prefix = f"{site}/{line}/{device_id}"
        self.source = f"{socket.gethostname()}-{device_id}"
        self.message_id = int(time.time() * 1000)  # rises across restarts of this program
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.source)
        if username:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(ca_certs=ca_certs)
        self.last_publish = None
        self.client.connect_async(parts.hostname, parts.port or (8883 if tls else 1883), keepalive=30)
        self.client.loop_start()

    def send(self, line: bytes, reading: dict) -> None:
        self.message_id += 1
        payload = mqtt_payload(source=self.source, message_id=self.message_id, **reading)
        self.last_publish = self.client.publish(f"{self.prefix}/{reading['sensor']}", json.dumps(payload), qos=1)

    def close(self) -> None:
        # paho sends queued messages in order, so the last one acknowledged means all were.
        if self.last_publish is not None:
            try:
                self.last_publish.wait_for_publish(timeout=5)
            except (RuntimeError, ValueError) as error:
                logger.warning("not every reading reached the broker before closing: %s", error)
        self.client.disconnect()
        self.client.loop_stop()


def run(drivers: dict, output, *, device_id: str, rates: dict[str, float], count: int | None = None,
        clock=time.monotonic, sleep=time.sleep) -> int:
    """Read each sensor at its rate and send one line per reading; return the number of lines sent."""
    sequence = 0
    boot = clock()
    next_due = {name: boot for name in drivers}
    sent = 0
    while count is None or sent < count:
        name = min(next_due, key=next_due.get)
        wait = next_due[name] - clock()
        if wait > 0:
            sleep(wait)
        try:
            fields = drivers[name].read()
        except OSError as error:
            # A loose wire gives I2C errors; skip this reading and keep the others going.
            logger.warning("reading %s failed: %s", name, error)
            next_due[name] += 1.0 / rates[name]
            continue
        uptime_ms = int((clock() - boot) * 1000)
        line = encode_line(device_id, sequence, uptime_ms, name, fields)
        output.send(line, {"device_id": device_id, "sensor": name, "sequence": sequence, "uptime_ms": uptime_ms,
                           "fields": fields})
        sequence = (sequence + 1) % 2**32
        sent += 1
        # Keep real time: after a stall (a blocked output, a slow bus) start again
        # from now instead of sending the missed readings in a burst.
        next_due[name] = max(next_due[name] + 1.0 / rates[name], clock())
    return sent


def read_password(password_file: str | None) -> str | None:
    """Return the first line of *password_file*, else ``$KENSHU_MQTT_PASSWORD`` (as ``kenshu lab bridge`` does)."""
    if password_file:
        lines = Path(password_file).read_text(encoding="utf-8").splitlines()
        return lines[0].strip() if lines else ""
    return os.environ.get("KENSHU_MQTT_PASSWORD")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Read the kit's sensors and write KS1 lines to serial or MQTT.")
    parser.add_argument("--device-id", default=socket.gethostname().split(".")[0][:32])
    parser.add_argument("--sensors", default="env", help="comma-separated: env, current, vibration")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--serial", help="serial port to write to, for example /dev/ttyUSB0 (a USB-serial adapter)")
    target.add_argument("--mqtt", help="broker URL, for example mqtt://192.168.10.5:1883")
    target.add_argument("--stdout", action="store_true", help="write lines to standard output")
    parser.add_argument("--baudrate", type=int, default=115200)
    parser.add_argument("--site", default="kenshu")
    parser.add_argument("--line", default="line1")
    parser.add_argument("--username")
    parser.add_argument("--password-file", help="file whose first line is the password; default: $KENSHU_MQTT_PASSWORD")
    parser.add_argument("--ca-certs")
    parser.add_argument("--rate", action="append", default=[], help="sensor=lines per second, for example vibration=200")
    parser.add_argument("--count", type=int, help="stop after this many lines")
    parser.add_argument("--fake", action="store_true", help="use simulated chips instead of the I2C and SPI buses")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)

    names = [name.strip() for name in args.sensors.split(",") if name.strip()]
    rates = dict(RATES)
    for item in args.rate:
        name, _, value = item.partition("=")
        rates[name] = float(value)
    drivers = open_sensors(names, fake=args.fake)

    if args.serial:
        output = SerialOutput(args.serial, args.baudrate)
    elif args.mqtt:
        password = read_password(args.password_file)
        output = MqttOutput(args.mqtt, device_id=args.device_id, site=args.site, line=args.line,
                            username=args.username, password=password, ca_certs=args.ca_certs)
    else:
        output = StreamOutput(sys.stdout.buffer)
    try:
        run(drivers, output, device_id=args.device_id, rates=rates, count=args.count)
    except KeyboardInterrupt:
        pass
    finally:
        output.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
