"""Device-side code (hardware_labs/device) against fake chips and on a real pseudo-terminal."""

from __future__ import annotations

import importlib
import io
import os
import select
import sys
import tty
from pathlib import Path

import pytest

from kenshu.hardware_labs.protocol import LineParser, crc16
from kenshu.hardware_labs.serial_sensor import SerialSensor

DEVICE = Path(__file__).resolve().parents[2] / "hardware_labs" / "device"
sys.path.insert(0, str(DEVICE))

sensors = importlib.import_module("sensors")
fake_chips = importlib.import_module("fake_chips")
pi_node = importlib.import_module("pi_node")


def test_crc_matches_library():
    data = b"KS1,pi-kit-01,5,1200,env,temperature=21.5:degC"
    assert sensors.crc16(data) == crc16(data)


def test_device_line_parses_with_library():
    raw = sensors.encode_line("pi-kit-01", 5, 1200, "env", [("temperature", 21.5, "degC"), ("humidity", 40.25, "%RH")])
    reading = LineParser().feed(raw)
    assert reading is not None
    assert reading.values == {"temperature": 21.5, "humidity": 40.25}


def test_bme280_datasheet_example():
    """Bosch BMP280 datasheet worked example: adc_T 519888, adc_P 415148 give 25.08 degC and 100653.27 Pa."""
    chip = fake_chips.FakeBME280()
    driver = sensors.BME280(fake_chips.FakeI2CBus({0x76: chip}))
    temperature, pressure, _ = driver.compensate(519888, 415148, 30000)
    assert temperature == 25.08
    # The datasheet rounds to 0.01 Pa; the integer formula lands within 0.1 Pa of it.
    assert pressure == pytest.approx(1006.5327, abs=1e-3)


def test_bme280_reads_conditions_through_registers():
    chip = fake_chips.FakeBME280()
    chip.set_conditions(21.3, 1008.2, 55.0)
    driver = sensors.BME280(fake_chips.FakeI2CBus({0x76: chip}))
    fields = {name: value for name, value, unit in driver.read()}
    assert fields["temperature"] == pytest.approx(21.3, abs=0.02)
    assert fields["pressure"] == pytest.approx(1008.2, abs=0.05)
    assert fields["humidity"] == pytest.approx(55.0, abs=0.2)
    assert chip.measurements == 1


def test_bme280_humidity_needs_ctrl_hum_before_ctrl_meas():
    chip = fake_chips.FakeBME280()
    chip.set_conditions(21.3, 1008.2, 55.0)
    bus = fake_chips.FakeI2CBus({0x76: chip})
    driver = sensors.BME280(bus)
    bus.write(0x76, 0xF2, bytes([0x00]))  # humidity oversampling off
    adc_t, adc_p, adc_h = driver.read_raw()
    assert adc_h == 0x8000  # the chip's "skipped" value


def test_bme280_wrong_chip_id():
    chip = fake_chips.FakeBME280()
    chip.registers[0xD0] = 0x58  # a BMP280
    with pytest.raises(OSError):
        sensors.BME280(fake_chips.FakeI2CBus({0x76: chip}))


def test_missing_i2c_device_raises_oserror():
    with pytest.raises(OSError):
        sensors.MPU6050(fake_chips.FakeI2CBus({}))


def test_mpu6050_wakes_and_scales():
    chip = fake_chips.FakeMPU6050(lambda: (0.5, -0.25, 1.0))
    bus = fake_chips.FakeI2CBus({0x68: chip})
    asleep = bus.read(0x68, 0x3B, 6)
    driver = sensors.MPU6050(bus)
    assert asleep == bytes(6)
    assert driver.read_g() == (0.5, -0.25, 1.0)


def test_mcp3008_current_rms():
    spi = fake_chips.FakeSPI({0: fake_chips.current_clamp(5.0, mains_hz=60.0)})
    driver = sensors.MCP3008(spi, spi.clock, channel=0)
    # 10-bit quantisation of a 0.236 V amplitude limits the accuracy to about 1 %.
    assert driver.read_current_rms() == pytest.approx(5.0, rel=0.03)


def test_mcp3008_channel_bits():
    spi = fake_chips.FakeSPI({3: lambda t: 1.65})
    driver = sensors.MCP3008(spi, spi.clock, channel=3)
    assert driver.read_channel(3) == 512
    assert driver.read_channel(0) == 0


def test_pi_node_fake_to_stdout():
    drivers = pi_node.open_sensors(["env", "current"], fake=True)
    stream = io.BytesIO()
    sent = pi_node.run(drivers, pi_node.StreamOutput(stream), device_id="pi-kit-01",
                       rates={"env": 1000.0, "current": 1000.0}, count=6)
    parser = LineParser()
    readings = [parser.feed(line + b"\n") for line in stream.getvalue().split(b"\n") if line]
    assert sent == 6
    assert len(readings) == 6
    assert all(reading is not None for reading in readings)
    assert {reading.sensor for reading in readings} == {"env", "current"}
    assert readings[0].values["temperature"] == pytest.approx(22.5, abs=0.05)


def test_pi_node_serial_on_pty():
    """The Pi program writes to a real pseudo-terminal and SerialSensor reads it back."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    try:
        with SerialSensor(path, reconnect=False) as reader:
            # The program writes to the slave side, so its output comes out of the master.
            # Writing that back into the master works like a loopback plug (TX wired to RX).
            pi_node.main(["--fake", "--sensors", "vibration", "--serial", path, "--device-id", "pi-kit-02",
                          "--count", "20", "--rate", "vibration=200"])
            output = b""
            while output.count(b"\n") < 20 and select.select([master], [], [], 10)[0]:
                output += os.read(master, 65536)
            os.write(master, output)
            readings = list(reader.readings(max_readings=20, duration=20))
    finally:
        os.close(master)
        os.close(slave)
    assert len(readings) == 20
    assert readings[0].device_id == "pi-kit-02"
    assert readings[0].values["az"] == pytest.approx(1.0)


def test_pi_node_mqtt_payload_matches_bridge():
    from kenshu.hardware_labs.mqtt_bridge import reading_payload
    from kenshu.hardware_labs.protocol import Reading

    device = pi_node.mqtt_payload("pi-kit-01", "env", 3, 100, [("temperature", 21.0, "degC")], source="s", message_id=9)
    bridge = reading_payload(Reading("pi-kit-01", 3, 100, "env", {"temperature": 21.0}, {"temperature": "degC"}, 0.0),
                             source="s")
    assert set(device) == set(bridge) | {"message_id"}
    assert device["values"] == bridge["values"]


def test_pico_main_on_cpython(monkeypatch):
    """The MicroPython program's loop, with a fake I2C object that has machine.I2C's method names."""
    monkeypatch.syspath_prepend(str(DEVICE / "pico"))
    pico = importlib.import_module("main")

    chip_bus = fake_chips.FakeI2CBus({0x76: fake_chips.FakeBME280(), 0x68: fake_chips.FakeMPU6050()})

    class MachineI2C:
        def readfrom_mem(self, address, register, length):
            return chip_bus.read(address, register, length)

        def writeto_mem(self, address, register, data):
            chip_bus.write(address, register, data)

    bus = pico.PicoI2C(MachineI2C())
    drivers = {"env": sensors.BME280(bus), "vibration": sensors.MPU6050(bus)}
    now = [0]
    lines = []
    written = pico.run(drivers, lines.append, lambda: now[0], lambda ms: now.__setitem__(0, now[0] + ms), count=12)
    parser = LineParser()
    readings = [parser.feed(line) for line in lines]
    assert written == 12
    assert all(reading is not None for reading in readings)
    assert sum(reading.sensor == "vibration" for reading in readings) > sum(reading.sensor == "env" for reading in readings)
    assert parser.stats.gap == 0


def test_pi_node_keeps_time_after_stall():
    """A stalled output must not be followed by a burst of readings with the same uptime."""
    now = [0.0]

    class StallingOutput:
        def __init__(self) -> None:
            self.uptimes = []

        def send(self, line, reading) -> None:
            self.uptimes.append(reading["uptime_ms"])
            if len(self.uptimes) == 1:
                now[0] += 10.0  # the first write blocks for 10 s, as an unread serial port can

    def sleep(seconds: float) -> None:
        now[0] += seconds

    drivers = pi_node.open_sensors(["env"], fake=True)
    output = StallingOutput()
    pi_node.run(drivers, output, device_id="pi-kit-01", rates={"env": 1.0}, count=5, clock=lambda: now[0], sleep=sleep)
    gaps = [later - earlier for earlier, later in zip(output.uptimes[1:], output.uptimes[2:])]
    assert len(output.uptimes) == 5
    assert all(gap >= 999 for gap in gaps), output.uptimes


def test_pi_node_password_from_environment(tmp_path, monkeypatch):
    password_file = tmp_path / "password"
    password_file.write_text("from-file\n", encoding="utf-8")
    monkeypatch.setenv("KENSHU_MQTT_PASSWORD", "from-env")
    assert pi_node.read_password(None) == "from-env"
    assert pi_node.read_password(str(password_file)) == "from-file"


def test_pi_node_mqtt_with_env_password(tmp_path, monkeypatch):
    import shutil
    import subprocess

    from kenshu.hardware_labs.broker import MosquittoBroker
    from kenshu.hardware_labs.subscriber import LiveSubscriber

    passwd = shutil.which("mosquitto_passwd")
    if passwd is None or not os.path.exists("/usr/sbin/mosquitto"):
        pytest.skip("mosquitto or mosquitto_passwd not installed: apt-get install -y mosquitto")
    password_file = tmp_path / "passwords"
    subprocess.run([passwd, "-b", "-c", str(password_file), "kenshu", "line-secret"], check=True)
    monkeypatch.setenv("KENSHU_MQTT_PASSWORD", "line-secret")
    with MosquittoBroker(directory=tmp_path / "m", password_file=password_file) as broker:
        with LiveSubscriber(broker.url, topic="kenshu/#", username="kenshu", password="line-secret") as subscriber:
            pi_node.main(["--fake", "--sensors", "env", "--mqtt", broker.url, "--username", "kenshu",
                          "--device-id", "pi-kit-03", "--count", "3", "--rate", "env=20"])
            subscriber.wait_for(3, timeout=20)
    assert subscriber.count == 3
    assert subscriber.payloads[0]["device_id"] == "pi-kit-03"
