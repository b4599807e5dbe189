"""``kenshu lab`` verbs as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kenshu.cli import main
from kenshu.hardware_labs.serial_sensor import SerialSensor


def test_simulate_prints_openable_path(tmp_path):
    link = tmp_path / "ttySIM"
    process = subprocess.Popen(
        [sys.executable, "-m", "kenshu", "lab", "simulate", "--sensor", "vibration", "--fault", "ball",
         "--rate", "200", "--link", str(link), "--duration", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KENSHU_LANG": "ja"},
    )
    try:
        first_line = process.stdout.readline()
        path = first_line.rsplit(": ", 1)[-1].strip()
        with SerialSensor(path) as sensor:
            readings = list(sensor.readings(max_readings=10, duration=30))
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=60)
    assert "このパスを開いてください" in first_line
    assert path.startswith("/dev/pts/")
    assert len(readings) == 10
    assert set(readings[0].values) == {"ax", "ay", "az"}
    assert "停止しました" in output
    assert not link.exists()


def test_simulate_rejects_fault_of_other_sensor(capsys):
    status = main(["lab", "simulate", "--sensor", "env", "--fault", "ball", "--duration", "0"])
    assert status == 2
    assert "overheat" in capsys.readouterr().err


def test_bridge_missing_port_message(tmp_path, capsys):
    status = main(["lab", "bridge", "--port", str(tmp_path / "ttyUSB7"), "--spool", str(tmp_path / "s.sqlite")])
    error = capsys.readouterr().err
    assert status == 2
    assert "ttyUSB7" in error
    assert "見つかりません" in error


def test_decode_sigfox_json(capsys):
    status = main(["lab", "decode", "sigfox", "29095A", "--grammar", "t:0:int:16:little-endian h:2:uint:8",
                   "--scale", "t=0.01:degC"])
    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert result["fields"]["t"] == pytest.approx(23.45)
    assert result["fields"]["h"] == 90
    assert result["units"] == {"t": "degC"}


def test_decode_tts_file(tmp_path, capsys):
    from kenshu.hardware_labs.lpwa import make_tts_uplinks

    path = tmp_path / "up.json"
    path.write_text(json.dumps(make_tts_uplinks(1, random_state=0)[0]), encoding="utf-8")
    status = main(["lab", "decode", "tts", str(path), "--grammar", "temperature:0:int:16 humidity:2:uint:8"])
    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert result["device_id"] == "env-node-01"
    assert result["f_port"] == 2
    assert set(result["fields"]) == {"temperature", "humidity"}


def test_decode_bad_scale(capsys):
    status = main(["lab", "decode", "sigfox", "00", "--grammar", "a:0:uint:8", "--scale", "a=x"])
    assert status == 2
    assert "--scale" in capsys.readouterr().err


def test_subscribe_counts(mosquitto, tmp_path, capsys):
    from kenshu.hardware_labs.mqtt_bridge import MqttBridge
    from kenshu.hardware_labs.protocol import Reading
    import threading
    import time

    csv = tmp_path / "live.csv"

    def publish_later():
        time.sleep(1.5)
        with MqttBridge(mosquitto.url, spool_path=tmp_path / "s.sqlite") as bridge:
            for sequence in range(5):
                bridge.submit(Reading("d1", sequence, sequence, "env", {"t": 1.0}, {"t": "degC"}, 1.7e9))
            bridge.wait_until_sent(timeout=20)

    worker = threading.Thread(target=publish_later)
    worker.start()
    status = main(["lab", "subscribe", "--broker", mosquitto.url, "--count", "5", "--duration", "30", "--csv", str(csv)])
    worker.join()
    output = capsys.readouterr().out
    assert status == 0
    assert "5 件を受信しました" in output
    assert csv.read_text(encoding="utf-8-sig").count("\n") == 6


@pytest.mark.parametrize(
    ("make_port", "kind"),
    [
        (lambda tmp_path: tmp_path / "readings.txt", "通常のファイル"),
        (lambda tmp_path: tmp_path, "フォルダ"),
        (lambda tmp_path: "/dev/null", "端末ではない特殊ファイル"),
    ],
)
def test_bridge_port_not_serial_device(tmp_path, capsys, make_port, kind):
    (tmp_path / "readings.txt").write_text("KS1 not a device\n", encoding="utf-8")
    port = str(make_port(tmp_path))
    status = main(["lab", "bridge", "--port", port, "--spool", str(tmp_path / "s.sqlite")])
    error = capsys.readouterr().err
    assert status == 2
    assert f"{port} はシリアルデバイスではありません" in error
    assert kind in error
    assert "kenshu lab simulate" in error
    assert "loop://" in error
    assert "ioctl" not in error


@pytest.mark.parametrize(
    ("arguments", "expected", "english"),
    [
        (["sigfox", "ZZZ", "--grammar", "a:0:uint:8"], "16 進数", "not hexadecimal"),
        (["sigfox", "00"], "--grammar でペイロードの文法を指定してください", "is required"),
        (["sigfox", "00", "--grammar", "a:0:uint:16"], "フィールド a には 2 バイト必要です", "needs"),
        (["sigfox", "00", "--grammar", "a:0:uint"], "コロンで区切った部分が 3 個", "parts"),
        (["sigfox", "00", "--grammar", "a:0:text:8"], "型 text は使えません", "type text"),
        (["sigfox", "00", "--grammar", "a:0:uint:8", "--scale", "b=2"], "--scale のフィールド b", "unknown field"),
    ],
)
def test_decode_errors_in_japanese(capsys, arguments, expected, english):
    status = main(["lab", "decode", *arguments])
    error = capsys.readouterr().err
    assert status == 2
    assert expected in error
    assert english not in error


def test_decode_errors_in_english(capsys):
    status = main(["lab", "decode", "sigfox", "ZZZ", "--grammar", "a:0:uint:8", "--lang", "en"])
    error = capsys.readouterr().err
    assert status == 2
    assert "Cannot read payload ZZZ: it is not hexadecimal" in error


def test_decode_tts_bad_json_in_japanese(tmp_path, capsys):
    path = tmp_path / "up.json"
    path.write_text('{"end_device_ids": ', encoding="utf-8")
    status = main(["lab", "decode", "tts", str(path)])
    error = capsys.readouterr().err
    assert status == 2
    assert "up.json" in error
    assert "JSON として読めません (1 行" in error
    assert "Expecting" not in error
