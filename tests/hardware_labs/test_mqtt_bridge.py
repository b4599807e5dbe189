"""MQTT bridge against a real Mosquitto on 127.0.0.1: payloads, spool, no loss across a restart."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest

from kenshu.hardware_labs.broker import EmbeddedBroker, broker_reachable, ensure_broker, parse_broker_url
from kenshu.hardware_labs.mqtt_bridge import MqttBridge, build_topic
from kenshu.hardware_labs.protocol import Reading
from kenshu.hardware_labs.serial_sensor import SerialSensor
from kenshu.hardware_labs.simulator import SensorSimulator
from kenshu.hardware_labs.subscriber import LiveSubscriber, payloads_frame


def reading(sequence: int) -> Reading:
    return Reading("dev-1", sequence, sequence * 100, "env", {"temperature": 20.0 + sequence}, {"temperature": "degC"}, 1.7e9)


def test_parse_broker_url_forms():
    plain = parse_broker_url("mqtt://user:p%40ss@broker.local:1884")
    secure = parse_broker_url("mqtts://broker.local")
    assert (plain.host, plain.port, plain.tls) == ("broker.local", 1884, False)
    assert (plain.username, plain.password) == ("user", "p@ss")
    assert (secure.port, secure.tls) == (8883, True)
    assert "p@ss" not in repr(plain)


def test_build_topic_rejects_wildcards():
    assert build_topic("site", "line1", "dev-1", "env") == "site/line1/dev-1/env"
    with pytest.raises(ValueError):
        build_topic("site", "line/1", "dev", "env")


def test_payload_fields(mosquitto, tmp_path):
    with LiveSubscriber(mosquitto.url, topic="plant/#") as subscriber:
        with MqttBridge(mosquitto.url, spool_path=tmp_path / "spool.sqlite", site="plant", client_id="b-test") as bridge:
            bridge.submit(reading(3))
            assert bridge.wait_until_sent(timeout=20)
        assert subscriber.wait_for(1, timeout=20)
    payload = subscriber.payloads[0]
    assert payload["topic"] == "plant/line1/dev-1/env"
    assert payload["message_id"] == 1
    assert payload["source"] == "b-test"
    assert payload["sequence"] == 3
    assert payload["values"] == {"temperature": {"value": 23.0, "unit": "degC"}}
    assert payload["timestamp"].endswith("+00:00")


def test_spool_keeps_readings_while_broker_down(mosquitto, tmp_path):
    # A persistent session, so the broker queues what the bridge sends before the subscriber is back.
    subscriber = LiveSubscriber(mosquitto.url, client_id="down-sub", persistent=True).start()
    mosquitto.stop()
    bridge = MqttBridge(mosquitto.url, spool_path=tmp_path / "spool.sqlite", backoff_max=0.2).start()
    for sequence in range(50):
        bridge.submit(reading(sequence))
    time.sleep(0.5)
    assert bridge.pending == 50
    assert not bridge.connected

    mosquitto.start()
    assert bridge.wait_until_sent(timeout=30)
    assert subscriber.wait_for(50, timeout=20)
    bridge.stop()
    subscriber.stop()
    assert list(subscriber.frame()["sequence"]) == list(range(50))


def test_spool_survives_bridge_restart(mosquitto, tmp_path):
    spool = tmp_path / "spool.sqlite"
    mosquitto.stop()
    first = MqttBridge(mosquitto.url, spool_path=spool, client_id="b1", backoff_max=0.2).start()
    for sequence in range(10):
        first.submit(reading(sequence))
    first.stop(flush_timeout=0.2)
    assert first.left_in_spool == 10

    mosquitto.start()
    with LiveSubscriber(mosquitto.url) as subscriber:
        with MqttBridge(mosquitto.url, spool_path=spool, client_id="b1") as second:
            assert second.wait_until_sent(timeout=30)
        assert subscriber.wait_for(10, timeout=20)
    assert sorted(subscriber.frame()["message_id"]) == list(range(1, 11))


def test_restarted_bridge_sends_spool_before_new_readings(mosquitto, tmp_path):
    spool = tmp_path / "spool.sqlite"
    mosquitto.stop()
    first = MqttBridge(mosquitto.url, spool_path=spool, client_id="b2", backoff_max=0.2).start()
    for sequence in range(10):
        first.submit(reading(sequence))
    first.stop(flush_timeout=0.2)

    mosquitto.start()
    with LiveSubscriber(mosquitto.url) as subscriber:
        with MqttBridge(mosquitto.url, spool_path=spool, client_id="b2") as second:
            for sequence in range(10, 25):
                second.submit(reading(sequence))
            assert second.wait_until_sent(timeout=30)
        assert subscriber.wait_for(25, timeout=20)
    frame = subscriber.frame()
    assert list(frame["message_id"]) == list(range(1, 26))
    assert list(frame["sequence"]) == list(range(25))


def test_readings_during_backlog_keep_order(mosquitto, tmp_path):
    """Readings submitted while the spool drains after an outage are published after the backlog, once each."""
    subscriber = LiveSubscriber(mosquitto.url, client_id="backlog-sub", persistent=True).start()
    mosquitto.stop()
    bridge = MqttBridge(mosquitto.url, spool_path=tmp_path / "spool.sqlite", max_inflight=5, backoff_max=0.2).start()
    for sequence in range(300):
        bridge.submit(reading(sequence))

    mosquitto.start()
    assert bridge.wait_connected(timeout=30)
    for sequence in range(300, 600):
        bridge.submit(reading(sequence))
    assert bridge.wait_until_sent(timeout=60)
    bridge.stop()
    assert subscriber.wait_for(600, timeout=30)
    subscriber.stop()
    frame = subscriber.frame()
    assert subscriber.duplicates == 0
    assert list(frame["message_id"]) == list(range(1, 601))
    assert list(frame["sequence"]) == list(range(600))
    assert bridge.acknowledged == 600


def test_submit_does_not_wait_for_broker(mosquitto, tmp_path):
    """With the broker down, every reading is queued and spooled; none is published or dropped."""
    mosquitto.stop()
    bridge = MqttBridge(mosquitto.url, spool_path=tmp_path / "spool.sqlite", backoff_max=0.2).start()
    for sequence in range(5000):
        bridge.submit(reading(sequence % 1000))
    assert bridge.submitted == 5000
    assert bridge.pending == 5000
    bridge.stop(flush_timeout=0)
    assert bridge.published == 0
    assert bridge.left_in_spool == 5000


def test_no_loss_across_mosquitto_restart(mosquitto, tmp_path):
    """Readings from a simulator on a pty reach a subscriber exactly once, in order, across a restart."""
    subscriber = LiveSubscriber(mosquitto.url, client_id="restart-sub", persistent=True).start()
    with SensorSimulator(sensor="current", rate=400, random_state=2) as simulator, SerialSensor(simulator.path) as sensor:
        bridge = MqttBridge(mosquitto.url, spool_path=tmp_path / "spool.sqlite", client_id="b-restart", backoff_max=0.2)
        bridge.start()
        worker = threading.Thread(target=bridge.run, args=(sensor.readings(duration=4.0),))
        worker.start()
        time.sleep(1.0)
        mosquitto.restart(down_for=1.0)
        worker.join()
        assert bridge.wait_until_sent(timeout=30)
        bridge.stop()
    assert subscriber.wait_for(bridge.submitted, timeout=30)
    subscriber.stop()
    frame = subscriber.frame()
    assert bridge.submitted > 800
    assert bridge.disconnects == 1
    assert len(frame) == bridge.submitted
    assert frame["message_id"].is_unique
    assert frame["message_id"].is_monotonic_increasing
    assert sorted(frame["message_id"]) == list(range(1, bridge.submitted + 1))


def test_wrong_password_rejected(tmp_path):
    passwd = subprocess.run(["which", "mosquitto_passwd"], capture_output=True, text=True).stdout.strip()
    if not passwd:
        pytest.skip("mosquitto_passwd not installed")
    password_file = tmp_path / "passwords"
    subprocess.run([passwd, "-b", "-c", str(password_file), "trainee", "right-password"], check=True)
    from kenshu.hardware_labs.broker import MosquittoBroker

    with MosquittoBroker(directory=tmp_path / "m", password_file=password_file) as broker:
        good = MqttBridge(broker.url, spool_path=tmp_path / "a.sqlite", username="trainee", password="right-password")
        with good:
            good.submit(reading(0))
            assert good.wait_until_sent(timeout=20)
        bad = MqttBridge(broker.url, spool_path=tmp_path / "b.sqlite", username="trainee", password="wrong", backoff_max=0.2)
        with bad:
            bad.submit(reading(0))
            time.sleep(1.0)
            assert bad.pending == 1
        assert "not authorized" in (bad.last_error or "").lower()


def test_ensure_broker_uses_running_mosquitto(mosquitto):
    url, embedded = ensure_broker(mosquitto.url)
    assert url == mosquitto.url
    assert embedded is None


def test_embedded_broker_with_paho2(tmp_path):
    pytest.importorskip("amqtt")
    with EmbeddedBroker() as broker:
        assert broker_reachable(broker.url)
        with LiveSubscriber(broker.url) as subscriber:
            with MqttBridge(broker.url, spool_path=tmp_path / "spool.sqlite") as bridge:
                for sequence in range(20):
                    bridge.submit(reading(sequence))
                assert bridge.wait_until_sent(timeout=20)
            assert subscriber.wait_for(20, timeout=20)
    assert list(subscriber.frame()["sequence"]) == list(range(20))


def test_payloads_frame_units_and_columns():
    payloads = [
        {"source": "b", "message_id": 1, "device_id": "d", "sensor": "env", "sequence": 0, "topic": "s/l/d/env",
         "timestamp": "2026-06-04T01:02:03.5+00:00", "received_at": 1.7e9,
         "values": {"temperature": {"value": 21.5, "unit": "degC"}}},
    ]
    frame = payloads_frame(payloads)
    assert frame.attrs["units"] == {"temperature": "degC"}
    assert frame.loc[0, "temperature"] == 21.5
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert json.dumps(list(frame.columns))


def _openssl(*arguments: str, cwd) -> None:
    subprocess.run(["openssl", *arguments], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_mosquitto(tmp_path):
    """A mosquitto with a TLS listener on 127.0.0.1, its certificate signed by a CA made here."""
    import getpass
    import shutil

    from kenshu.hardware_labs.broker import free_port

    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if shutil.which("openssl") is None or not os.path.exists(mosquitto):
        pytest.skip("openssl or mosquitto not installed")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=kenshu-test-ca", cwd=tmp_path)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=127.0.0.1", cwd=tmp_path)
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "san.ext", cwd=tmp_path)
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\ncafile {tmp_path / 'ca.crt'}\n"
        f"certfile {tmp_path / 'server.crt'}\nkeyfile {tmp_path / 'server.key'}\nallow_anonymous true\n",
        encoding="utf-8",
    )
    process = subprocess.Popen([mosquitto, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if broker_reachable(f"mqtt://127.0.0.1:{port}", timeout=0.2):
            break
        time.sleep(0.05)
    yield f"mqtts://127.0.0.1:{port}", str(tmp_path / "ca.crt")
    process.terminate()
    process.wait(timeout=10)


def test_bridge_over_tls(tls_mosquitto, tmp_path):
    url, ca_certs = tls_mosquitto
    with LiveSubscriber(url, ca_certs=ca_certs) as subscriber:
        with MqttBridge(url, spool_path=tmp_path / "spool.sqlite", ca_certs=ca_certs, max_inflight=20) as bridge:
            for sequence in range(300):
                bridge.submit(reading(sequence))
            assert bridge.wait_until_sent(timeout=30)
        assert subscriber.wait_for(300, timeout=20)
    assert bridge.connects == 1
    assert list(subscriber.frame()["sequence"]) == list(range(300))
