"""SerialSensor on real pseudo-terminals and loop://: reading, unplug/replug, error messages."""

from __future__ import annotations

import os
import pwd
import threading
import time

import pytest

from kenshu.errors import KenshuError
from kenshu.hardware_labs.protocol import encode_line
from kenshu.hardware_labs.serial_sensor import SerialSensor
from kenshu.hardware_labs.simulator import SensorSimulator
from kenshu.i18n import message


def test_loop_url_reads_written_lines():
    with SerialSensor("loop://", reconnect=False) as sensor:
        for sequence in range(3):
            sensor.write(encode_line("loop-1", sequence, sequence * 10, "current", {"current": 4.25}, {"current": "A"}))
        readings = list(sensor.readings(max_readings=3, duration=5))
    assert [r.sequence for r in readings] == [0, 1, 2]
    assert readings[0].values == {"current": 4.25}


def test_loop_url_counts_noise_without_newline():
    with SerialSensor("loop://", reconnect=False) as sensor:
        sensor.write(b"\xff" * 600)
        sensor.write(encode_line("loop-1", 0, 0, "current", {"current": 1.0}, {"current": "A"}))
        reading = sensor.read(timeout=5)
    assert reading is not None
    assert sensor.stats.garbled >= 1


def test_simulator_lines_parse(tmp_path):
    with SensorSimulator(sensor="current", rate=100, random_state=0) as simulator:
        with SerialSensor(simulator.path) as sensor:
            readings = list(sensor.readings(max_readings=20, duration=20))
    assert len(readings) == 20
    assert {r.device_id for r in readings} == {"sim-current-01"}
    assert all(3.0 < r.values["current"] < 5.5 for r in readings)
    assert sensor.stats.rejected == 0


def test_simulator_corrupt_lines_counted():
    with SensorSimulator(sensor="env", rate=200, corrupt=0.3, random_state=3) as simulator:
        with SerialSensor(simulator.path) as sensor:
            readings = list(sensor.readings(max_readings=150, duration=30))
    stats = sensor.stats
    assert len(readings) == 150
    assert stats.checksum > 0
    assert stats.truncated > 0
    assert stats.garbled > 0
    assert stats.gap > 0
    assert stats.restart > 0


def test_unplug_replug_reconnects(tmp_path):
    link = tmp_path / "ttyKENSHU0"
    with SensorSimulator(sensor="env", rate=50, link=link, random_state=1) as simulator:
        with SerialSensor(str(link), backoff_initial=0.05, backoff_max=0.4) as sensor:
            before = list(sensor.readings(max_readings=10, duration=20))

            def pull_and_replug():
                simulator.unplug()
                time.sleep(1.0)
                simulator.replug()

            threading.Thread(target=pull_and_replug).start()
            after = list(sensor.readings(max_readings=40, duration=30))
    assert len(before) == 10
    assert len(after) == 40
    assert sensor.reconnects == 1
    assert sensor.stats.gap >= 1


def test_unplug_without_reconnect_ends_iteration(tmp_path):
    with SensorSimulator(sensor="env", rate=50, random_state=1) as simulator:
        with SerialSensor(simulator.path, reconnect=False) as sensor:
            sensor.read(timeout=10)
            simulator.unplug()
            rest = list(sensor.readings(duration=10))
    assert len(rest) < 50
    assert not sensor.is_open


def test_give_up_after_limit(tmp_path):
    link = tmp_path / "ttyGONE"
    with SensorSimulator(sensor="env", rate=50, link=link) as simulator:
        sensor = SerialSensor(str(link), backoff_initial=0.05, backoff_max=0.1, give_up_after=0.5).open()
        sensor.read(timeout=10)
        simulator.unplug()
        started = time.monotonic()
        list(sensor.readings())
        sensor.close()
    assert time.monotonic() - started < 10


def test_missing_port_message(tmp_path):
    missing = str(tmp_path / "ttyUSB9")
    with pytest.raises(KenshuError) as caught:
        SerialSensor(missing).open()
    text = str(caught.value)
    assert caught.value.key == "hardware_labs.port_not_found"
    assert missing in text
    assert "ケーブル" in text


def test_invalid_url_message():
    with pytest.raises(KenshuError) as caught:
        SerialSensor("nosuchscheme://x").open()
    assert caught.value.key == "hardware_labs.port_invalid"


def test_permission_message_text():
    error = PermissionError(13, "Permission denied")
    from kenshu.hardware_labs.serial_sensor import open_error

    text = str(open_error("/dev/ttyUSB0", error))
    assert "usermod -aG" in text
    assert "/dev/ttyUSB0" in text
    assert "権限がありません" in text


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch a child process to user nobody")
def test_permission_denied_as_unprivileged_user():
    """A user outside the device's group gets the dialout advice, from a real EACCES."""
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody' on this machine")
    with SensorSimulator(sensor="env", rate=5) as simulator:
        os.chmod(simulator.path, 0o660)
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # the child drops root and tries to open the port
            os.close(read_end)
            try:
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                SerialSensor(simulator.path).open()
                os.write(write_end, b"opened")
            except KenshuError as error:
                os.write(write_end, f"{error.key}\n{error}".encode())
            except BaseException as error:  # reported to the parent through the pipe
                os.write(write_end, repr(error).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            output = pipe.read().decode()
        os.waitpid(child, 0)
    key, _, text = output.partition("\n")
    assert key == "hardware_labs.port_permission", output
    assert "usermod -aG" in text
    assert "nobody" in text
    assert simulator.path in text


def test_port_not_found_lists_message_fields():
    text = message("hardware_labs.port_not_found", port="/dev/ttyUSB0", available="-", lang="en")
    assert "/dev/ttyUSB0" in text
