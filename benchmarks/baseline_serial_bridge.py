"""The serial-to-MQTT bridge as it was before the sender thread drove paho itself, kept as a benchmark baseline.

`BaselineMqttBridge` is the earlier `kenshu.hardware_labs.mqtt_bridge.MqttBridge`
unchanged: paho's own network thread (``loop_start``), a sender thread woken
by a `threading.Event` on every submitted reading and every acknowledgement,
and every reading read back from the SQLite spool before it is published.
``python benchmarks/baseline_serial_bridge.py --port PTY --broker URL --spool FILE``
runs it the way ``kenshu lab bridge`` runs the current one: `SerialSensor`
in the main thread, until SIGTERM. Only benchmarks/bench_serial_mqtt.py uses it.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import paho.mqtt.client as mqtt

from kenshu.hardware_labs.broker import BrokerAddress, parse_broker_url
from kenshu.hardware_labs.mqtt_bridge import _with_message_id, build_topic, logger, reading_payload
from kenshu.hardware_labs.serial_sensor import SerialSensor
from kenshu.hardware_labs.spool import Spool


class BaselineMqttBridge:
    """Publish readings to a broker with QoS 1 through a SQLite spool.

    Parameters
    ----------
    broker
        ``mqtt://host:port`` or ``mqtts://host:port`` (TLS); a user name and
        password in the URL are used when *username* is not given.
    spool_path
        SQLite file that keeps readings until the broker acknowledges them.
        Reuse the same file after a restart to send what was left.
    site, line
        First two levels of the topic.
    client_id
        MQTT client id, also written as ``source`` in every payload; the
        host name by default.
    username, password
        Credentials for a broker with a password file.
    ca_certs, certfile, keyfile
        TLS: CA bundle to verify the broker, and a client certificate and key
        for brokers that require one. Giving *ca_certs* turns TLS on.
    tls_insecure
        Skip the check of the broker's host name (self-signed test brokers only).
    max_inflight
        Messages published but not yet acknowledged, at most.
    backoff_initial, backoff_max
        First and maximum wait in seconds between connection attempts.
    """

    def __init__(
        self,
        broker: str,
        *,
        spool_path: str | Path,
        site: str = "kenshu",
        line: str = "line1",
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_certs: str | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
        tls_insecure: bool = False,
        max_inflight: int = 200,
        keepalive: int = 30,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
    ) -> None:
        if max_inflight < 1:
            raise ValueError(f"max_inflight must be at least 1, got {max_inflight}")
        build_topic(site, line, "x", "x")
        self.address: BrokerAddress = parse_broker_url(broker)
        self.site = site
        self.line = line
        self.client_id = client_id or socket.gethostname()
        self.username = username if username is not None else self.address.username
        self.password = password if password is not None else self.address.password
        self.ca_certs = ca_certs
        self.certfile = certfile
        self.keyfile = keyfile
        self.tls = self.address.tls or ca_certs is not None
        self.tls_insecure = tls_insecure
        self.max_inflight = max_inflight
        self.keepalive = keepalive
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.spool = Spool(spool_path)

        self.submitted = 0
        self.published = 0
        self.acknowledged = 0
        self.connects = 0
        self.disconnects = 0
        self.last_error: str | None = None
        self.left_in_spool = 0

        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._dropped = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._acks: collections.deque[tuple[mqtt.Client, int]] = collections.deque()
        self._incoming: collections.deque[tuple[str, str]] = collections.deque()
        self._inflight: dict[int, int] = {}
        self._last_sent = 0
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------

    def start(self) -> BaselineMqttBridge:
        """Start the sender thread; it connects in the background and retries until stopped."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="mqtt-bridge", daemon=True)
            self._thread.start()
            logger.info("bridge %s publishing to %s", self.client_id, self.address.url)
        return self

    def stop(self, *, flush_timeout: float = 5.0) -> None:
        """Wait up to *flush_timeout* seconds for the spool to empty, then disconnect. Safe to call twice."""
        if self._thread is None:
            return
        self.wait_until_sent(timeout=flush_timeout)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._thread = None
        self._store_incoming()
        self._drop_client()
        left = self.left_in_spool = self.spool.count()
        if left:
            logger.warning("bridge stopped with %d reading(s) still in the spool %s", left, self.spool.path)
        self.spool.close()

    def __enter__(self) -> BaselineMqttBridge:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        """Whether the bridge has a live connection to the broker."""
        return self._connected.is_set()

    @property
    def pending(self) -> int:
        """Readings not yet acknowledged by the broker (in the spool or about to be written to it)."""
        return len(self._incoming) + self.spool.count()

    # -- input --------------------------------------------------------------

    def submit(self, reading: Reading) -> None:
        """Queue *reading* for the spool; the sender thread stores it within milliseconds and publishes it."""
        topic = build_topic(self.site, self.line, reading.device_id, reading.sensor)
        body = json.dumps(reading_payload(reading, source=self.client_id), ensure_ascii=False)
        self._incoming.append((topic, body))
        self.submitted += 1
        self._wake.set()

    def _store_incoming(self) -> None:
        # One transaction for everything that arrived since the last pass: a
        # commit per reading would cap the bridge at a few thousand readings/s.
        batch = []
        while self._incoming:
            batch.append(self._incoming.popleft())
        self.spool.extend(batch)

    def run(self, readings: Iterable[Reading]) -> int:
        """Submit every reading from *readings* (for example a `SerialSensor`) and return how many."""
        count = 0
        for reading in readings:
            self.submit(reading)
            count += 1
        return count

    def wait_connected(self, *, timeout: float) -> bool:
        """Block until the first connection to the broker; return ``False`` if *timeout* seconds pass first."""
        return self._connected.wait(timeout)

    def wait_until_sent(self, *, timeout: float | None = None) -> bool:
        """Block until the spool is empty; return ``False`` if *timeout* seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._incoming or self.spool.count():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    # -- MQTT client --------------------------------------------------------

    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=True,
            reconnect_on_failure=False,
        )
        client.max_inflight_messages_set(self.max_inflight)
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(
                ca_certs=self.ca_certs,
                certfile=self.certfile,
                keyfile=self.keyfile,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(self.tls_insecure)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.last_error = str(reason_code)
            logger.error("broker %s rejected the connection: %s", self.address.url, reason_code)
            self._dropped.set()
        else:
            self._connected.set()
        self._wake.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if client is self._client:
            self._connected.clear()
            self._dropped.set()
            self._wake.set()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        # Runs in paho's network thread with paho's locks held: only hand over the id.
        self._acks.append((client, mid))
        self._wake.set()

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        self._connected.clear()
        if client is not None:
            try:
                client.disconnect()
            except (OSError, ValueError):
                pass
            client.loop_stop()
        self._inflight.clear()
        self._acks.clear()
        self._last_sent = 0

    def _connect(self) -> bool:
        self._drop_client()
        self._dropped.clear()
        client = self._new_client()
        self._client = client
        try:
            client.connect(self.address.host, self.address.port, keepalive=self.keepalive)
        except (OSError, ssl.SSLError, ValueError) as error:
            self.last_error = str(error)
            self._client = None
            logger.info("broker %s not reachable: %s", self.address.url, error)
            return False
        client.loop_start()
        deadline = time.monotonic() + 10
        while not self._connected.is_set() and not self._dropped.is_set() and time.monotonic() < deadline:
            self._connected.wait(0.05)
        if not self._connected.is_set():
            self._drop_client()
            return False
        self.connects += 1
        left = self.spool.count()
        if left:
            logger.warning("connected to %s; sending %d spooled reading(s) first", self.address.url, left)
        else:
            logger.info("connected to %s", self.address.url)
        return True

    # -- sender thread ------------------------------------------------------

    def _run(self) -> None:
        delay = self.backoff_initial
        while not self._stop.is_set():
            self._store_incoming()
            if self._client is None or self._dropped.is_set():
                if self._client is not None:
                    self.disconnects += 1
                    logger.warning("lost the connection to %s; spooling readings", self.address.url)
                if self._connect():
                    delay = self.backoff_initial
                else:
                    # Keep spooling what arrives while waiting for the next attempt.
                    waited_until = time.monotonic() + delay
                    while not self._stop.is_set() and time.monotonic() < waited_until:
                        self._wake.wait(min(0.05, max(0.0, waited_until - time.monotonic())))
                        self._wake.clear()
                        self._store_incoming()
                    delay = min(delay * 2, self.backoff_max)
                continue

            self._wake.wait(0.05)
            self._wake.clear()
            self._handle_acks()
            self._publish_pending()

    def _handle_acks(self) -> None:
        done = []
        while self._acks:
            client, mid = self._acks.popleft()
            if client is self._client and mid in self._inflight:
                done.append(self._inflight.pop(mid))
        if done:
            self.spool.delete(done)
            self.acknowledged += len(done)

    def _publish_pending(self) -> None:
        room = self.max_inflight - len(self._inflight)
        if room <= 0 or self._client is None:
            return
        for message_id, topic, body in self.spool.pending(after_id=self._last_sent, limit=room):
            info = self._client.publish(topic, _with_message_id(body, message_id), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                # The connection went away under us; _run reconnects and starts over from the spool.
                self._dropped.set()
                return
            self._inflight[info.mid] = message_id
            self._last_sent = message_id
            self.published += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", required=True, help="serial port or pseudo-terminal to read")
    parser.add_argument("--broker", required=True, help="mqtt://host:port")
    parser.add_argument("--spool", required=True, help="SQLite spool file")
    parser.add_argument("--site", default="kenshu", help="first topic level")
    parser.add_argument("--client-id", default="baseline-bridge", help="MQTT client id and payload source")
    args = parser.parse_args()

    sensor = SerialSensor(args.port).open()
    bridge = BaselineMqttBridge(args.broker, spool_path=args.spool, site=args.site, client_id=args.client_id)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda number, frame: stop.set())
    threading.Thread(target=lambda: (stop.wait(), sensor.close()), daemon=True).start()
    print(f"baseline bridge reading {args.port}", flush=True)
    with sensor:
        bridge.start()
        bridge.run(sensor.readings())
        bridge.stop(flush_timeout=10)
    print(f"baseline bridge stopped: submitted {bridge.submitted}, acknowledged {bridge.acknowledged}, "
          f"left in the spool {bridge.left_in_spool}, connections {bridge.connects}, line problems {sensor.stats.as_dict()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
