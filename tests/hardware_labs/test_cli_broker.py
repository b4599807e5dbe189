"""``kenshu lab bridge`` and ``subscribe`` run as a user runs them: embedded broker, broker errors, summary."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest

from kenshu.cli import main
from kenshu.hardware_labs.broker import broker_reachable, free_port
from kenshu.hardware_labs.mqtt_bridge import MqttBridge
from kenshu.hardware_labs.protocol import Reading
from kenshu.hardware_labs.simulator import SensorSimulator
from kenshu.hardware_labs.subscriber import LiveSubscriber

KENSHU = [sys.executable, "-m", "kenshu", "lab"]


def run_kenshu(arguments: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``kenshu lab ...`` in its own process, with both output streams as a user's terminal shows them."""
    return subprocess.run(
        KENSHU + arguments,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "KENSHU_LANG": "ja"},
    )


def publish_until(url: str, stop: threading.Event, spool) -> None:
    """Publish one reading every 0.1 s to *url* once a broker accepts connections there, until *stop* is set."""
    while not stop.is_set() and not broker_reachable(url):
        stop.wait(0.05)
    with MqttBridge(url, spool_path=spool) as bridge:
        sequence = 0
        while not stop.wait(0.1):
            bridge.submit(Reading("d1", sequence, sequence, "env", {"t": 1.0}, {"t": "degC"}, 1.7e9))
            sequence += 1
        bridge.stop(flush_timeout=0)


def test_subscribe_starts_embedded_broker(tmp_path, capsys):
    url = f"mqtt://127.0.0.1:{free_port()}"
    stop = threading.Event()
    publisher = threading.Thread(target=publish_until, args=(url, stop, tmp_path / "s.sqlite"))
    publisher.start()
    try:
        status = main(["lab", "subscribe", "--broker", url, "--count", "3", "--duration", "60"])
    finally:
        stop.set()
        publisher.join()
    captured = capsys.readouterr()
    assert status == 0
    assert captured.out.count("組み込みブローカー") == 1
    assert f"{url} にブローカーがないため" in captured.out
    assert "3 件を受信しました" in captured.out
    assert "シリアルポート" not in captured.err


def test_subscribe_port_without_mqtt_answer(capsys):
    # Something listens on the port but never speaks MQTT, as a web server would.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        status = main(["lab", "subscribe", "--broker", f"mqtt://127.0.0.1:{port}", "--duration", "1"])
    error = capsys.readouterr().err
    assert status == 2
    assert f"mqtt://127.0.0.1:{port} は接続を受け付けましたが" in error
    assert "MQTT ブローカー" in error
    assert "シリアルポート" not in error


def test_bridge_embedded_broker_message_once(tmp_path):
    url = f"mqtt://127.0.0.1:{free_port()}"
    with SensorSimulator(sensor="env", rate=50, random_state=0) as simulator:
        result = run_kenshu(["bridge", "--port", simulator.path, "--broker", url, "--count", "20",
                             "--spool", str(tmp_path / "s.sqlite")])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.count(url) >= 1
    assert output.count("にブローカーがないため") == 1
    assert "このコマンドのプロセスの中で組み込みブローカー" in result.stdout
    assert "started an embedded broker" not in output
    assert "読み取り 20 件" in result.stdout
    assert "再接続 0 回" in result.stdout


def test_bridge_counts_reconnect_after_restart(mosquitto, tmp_path):
    with SensorSimulator(sensor="env", rate=100, random_state=0) as simulator:
        with LiveSubscriber(mosquitto.url) as subscriber:
            process = subprocess.Popen(
                KENSHU + ["bridge", "--port", simulator.path, "--broker", mosquitto.url, "--count", "600",
                          "--spool", str(tmp_path / "s.sqlite")],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "KENSHU_LANG": "ja"},
            )
            try:
                # A first reading at the subscriber shows that the bridge's first connection is up.
                assert subscriber.wait_for(1, timeout=60)
                mosquitto.restart(down_for=0.5)
                output, errors = process.communicate(timeout=120)
            finally:
                process.kill()
    assert process.returncode == 0, errors
    assert "組み込みブローカー" not in output
    assert "読み取り 600 件" in output
    assert "スプールに残り 0 件" in output
    assert "再接続 1 回" in output
