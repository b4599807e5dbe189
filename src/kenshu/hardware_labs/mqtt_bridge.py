"""Publish serial readings to an MQTT broker with QoS 1, spooling while the broker is down.

Topic scheme: ``<site>/<line>/<device_id>/<sensor>``, for example
``kenshu/line1/sim-env-01/env``. Payload: one JSON object per reading::

    {"message_id": 17, "source": "bridge-host", "device_id": "sim-env-01",
     "sensor": "env", "sequence": 42, "uptime_ms": 123456,
     "timestamp": "2026-06-04T01:02:03.456789+00:00",
     "values": {"temperature": {"value": 23.51, "unit": "degC"}}}

Every reading goes into a SQLite spool first and leaves it only when the
broker acknowledges it. When the connection drops, the bridge discards its
MQTT client, reconnects with backoff and publishes the spool again from the
oldest message, so the broker receives every reading in order. A reading whose
acknowledgement was lost in the drop is published twice; subscribers drop the
repeat by (``source``, ``message_id``), as `kenshu.hardware_labs.subscriber` does.

Threads: `MqttBridge.submit` only encodes the payload and appends it to a
queue, so the caller (the serial reader) never waits for SQLite or the
network. One sender thread owns the spool and the paho client. It drives
paho through its external-loop interface (``loop_read``, ``loop_write``,
``loop_misc``), so acknowledgements, publishing and spool writes happen in
one place without locks or a wake-up per message.
"""

from __future__ import annotations

import collections
import datetime
import json
import logging
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import paho.mqtt.client as mqtt

from kenshu.errors import KenshuError
from kenshu.i18n import message
from kenshu.hardware_labs.broker import BrokerAddress, parse_broker_url
from kenshu.hardware_labs.protocol import Reading
from kenshu.hardware_labs.spool import Spool

logger = logging.getLogger(__name__)

TOPIC_PART_FORBIDDEN = set("/+#\0")

# Rows read back from the spool at a time when it contains a backlog (after a
# reconnect or a restart of the bridge).
SPOOL_PAGE = 1000
# Maximum sleep of the sender thread in seconds. paho sends keepalive pings
# only from loop_misc, which must run more often than the keepalive interval.
IDLE_WAIT = 0.25
CONNECT_TIMEOUT = 10.0
# Acknowledged rows are deleted from the spool in batches of this many, or
# after this many seconds. Every SQLite transaction appends at least one page
# to the write-ahead log, so a delete per acknowledgement would make SQLite
# checkpoint (and fsync) the log several times a second.
DELETE_BATCH = 500
# Seconds between two log lines about the same connection failure.
REPORT_INTERVAL = 30.0
DELETE_INTERVAL = 0.05


def build_topic(site: str, line: str, device_id: str, sensor: str) -> str:
    """Return ``site/line/device_id/sensor``; raise ValueError if a part is empty or has ``/``, ``+`` or ``#``."""
    parts = (site, line, device_id, sensor)
    for part in parts:
        if not part or TOPIC_PART_FORBIDDEN & set(part):
            raise ValueError(f"topic part {part!r} must be non-empty and free of '/', '+', '#'")
    return "/".join(parts)


def reading_payload(reading: Reading, *, source: str) -> dict:
    """Return the JSON-ready payload of *reading*, without its message id."""
    timestamp = datetime.datetime.fromtimestamp(reading.received_at, tz=datetime.UTC)
    return {
        "source": source,
        "device_id": reading.device_id,
        "sensor": reading.sensor,
        "sequence": reading.sequence,
        "uptime_ms": reading.uptime_ms,
        "timestamp": timestamp.isoformat(),
        "values": {name: {"value": value, "unit": reading.units[name]} for name, value in reading.values.items()},
    }


def _with_message_id(body: str, message_id: int) -> bytes:
    # The body is a JSON object stored without its id; splice the id in front.
    return f'{{"message_id": {message_id}, {body[1:]}'.encode()


class MqttBridge:
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
    keepalive
        Seconds between MQTT keepalive pings when nothing else is sent.
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
        # Failed connection attempts since the last success, and the reason of the last one, in the user's language.
        self.connect_failures = 0
        self.last_reason: str | None = None
        self._reported_reason: str | None = None
        self._reported_at = 0.0
        self._rejected = False
        self.left_in_spool = 0

        # Shared between submit() and the sender thread. deque.append and
        # popleft are atomic, and the sender is the only consumer.
        self._topics: dict[tuple[str, str], str] = {}
        self._incoming: collections.deque[tuple[str, str]] = collections.deque()
        self._storing = 0
        self._sender_idle = False
        # A pipe that submit() writes a byte to, to end the sender's select();
        # created by start() and closed by stop().
        self._wake_read = self._wake_write = -1
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

        # Owned by the sender thread only.
        self._client: mqtt.Client | None = None
        self._dropped = False
        self._outbox: collections.deque[tuple[int, str, str]] = collections.deque()
        self._loaded_until = 0
        self._spooled_until = self.spool.last_id()
        self._inflight: dict[int, int] = {}
        self._acked_mids: list[int] = []
        self._acked_rows: list[int] = []
        self._last_delete = time.monotonic()

    # -- life cycle ---------------------------------------------------------

    def start(self) -> MqttBridge:
        """Start the sender thread; it connects in the background and retries until stopped."""
        if self._thread is None:
            self._stop.clear()
            self._wake_read, self._wake_write = os.pipe()
            os.set_blocking(self._wake_read, False)
            os.set_blocking(self._wake_write, False)
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
        self._wake()
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            logger.error("bridge sender thread did not stop within 10 s; the spool is closed under it")
        self._thread = None
        self._store_incoming()
        left = self.left_in_spool = self.spool.count()
        if left:
            logger.warning("%s", message("hardware_labs.bridge_left_in_spool", count=left, spool=self.spool.path))
        self.spool.close()
        for descriptor in (self._wake_read, self._wake_write):
            try:
                os.close(descriptor)
            except OSError:
                pass
        self._wake_read = self._wake_write = -1

    def __enter__(self) -> MqttBridge:
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
        """Readings queued or in the spool: not yet acknowledged, or acknowledged within the last `DELETE_INTERVAL` seconds."""
        # Each reading is counted in at least one of the three places at every
        # moment (sometimes in two), so the total never drops below the truth.
        return len(self._incoming) + self._storing + self.spool.count()

    # -- input --------------------------------------------------------------

    def submit(self, reading: Reading) -> None:
        """Queue *reading* for the sender thread, which saves it to the spool on its next pass and publishes it.

        Only appends to an in-memory queue, so a serial reader that calls it
        keeps draining the port while SQLite or the broker is slow or down.
        """
        key = (reading.device_id, reading.sensor)
        topic = self._topics.get(key)
        if topic is None:
            topic = self._topics[key] = build_topic(self.site, self.line, reading.device_id, reading.sensor)
        body = json.dumps(reading_payload(reading, source=self.client_id), ensure_ascii=False)
        self._incoming.append((topic, body))
        self.submitted += 1
        # Wake the sender only when it sleeps: a busy sender takes the whole
        # queue on its next pass anyway, and a wake-up per reading costs more
        # than encoding the reading.
        if self._sender_idle:
            self._wake()

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
        while self.pending:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def _wake(self) -> None:
        if self._wake_write < 0:
            return
        try:
            os.write(self._wake_write, b"\0")
        except (BlockingIOError, OSError):
            # A full pipe wakes the sender anyway, and a closed one means it has stopped.
            pass

    def _sleep(self, timeout: float, client_socket: socket.socket | None = None) -> tuple[bool, bool]:
        """Wait for a submit, a broker packet or *timeout*; return (socket readable, socket writable)."""
        self._sender_idle = True
        try:
            # Check after raising the flag: a reading queued before it was
            # raised did not wake us and must not wait for the timeout.
            if self._incoming or self._stop.is_set():
                timeout = 0.0
            readable = [self._wake_read] if client_socket is None else [self._wake_read, client_socket]
            writable = [client_socket] if client_socket is not None and self._client.want_write() else []
            try:
                ready_read, ready_write, _ = select.select(readable, writable, [], timeout)
            except (OSError, ValueError):
                # The client socket was closed during select, and the caller handles the drop.
                return False, False
        finally:
            self._sender_idle = False
        if self._wake_read in ready_read:
            try:
                os.read(self._wake_read, 65536)
            except BlockingIOError:
                pass
        return client_socket in ready_read, client_socket in ready_write

    # -- spool --------------------------------------------------------------

    def _store_incoming(self) -> None:
        # One transaction for everything that arrived since the last pass: a
        # commit per reading would cap the bridge at a few thousand readings/s.
        batch = []
        while self._incoming:
            # Count the reading as being stored before taking it off the
            # queue, so that `pending` never misses it.
            self._storing += 1
            batch.append(self._incoming.popleft())
        if not batch:
            return
        try:
            ids = self.spool.extend(batch)
        finally:
            self._storing = 0
        self._spooled_until = ids[-1]

        # Publish fresh readings straight from memory when nothing older is
        # waiting in the spool. Otherwise _fill_outbox reads them back in order.
        if ids[0] == self._loaded_until + 1:
            self._outbox.extend((message_id, topic, body) for message_id, (topic, body) in zip(ids, batch))
            self._loaded_until = ids[-1]

    def _fill_outbox(self) -> None:
        # Skip the SELECT when every spooled row is already in the outbox or sent.
        if self._outbox or self._loaded_until >= self._spooled_until:
            return
        rows = self.spool.pending(after_id=self._loaded_until, limit=SPOOL_PAGE)
        if rows:
            self._outbox.extend(rows)
            self._loaded_until = rows[-1][0]

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

    # The callbacks run in the sender thread, inside paho's loop_read/loop_write.

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if client is not self._client:
            return
        if reason_code.is_failure:
            self.last_error = str(reason_code)
            self._rejected = True
            self._dropped = True
        else:
            self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if client is self._client:
            self._connected.clear()
            self._dropped = True

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        if client is self._client:
            self._acked_mids.append(mid)

    def _drop_client(self) -> None:
        # Delete what the broker has acknowledged first, so that the next
        # connection does not publish it again.
        self._handle_acks()
        self._delete_acknowledged()
        client, self._client = self._client, None
        self._connected.clear()
        if client is not None:
            try:
                client.disconnect()
            except (OSError, ValueError):
                pass
            # Close the socket too: without a network thread, paho closes it
            # only when the DISCONNECT packet was written out.
            try:
                client.loop_write()
            except (OSError, ValueError):
                pass
            sock = client.socket()
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass

        # Everything unacknowledged is still in the spool; the next
        # connection publishes it again from the oldest row.
        self._inflight.clear()
        self._acked_mids.clear()
        self._outbox.clear()
        self._loaded_until = 0

    def _connect(self) -> bool:
        self._drop_client()
        self._dropped = False
        client = self._new_client()
        self._client = client
        self._rejected = False
        try:
            client.connect(self.address.host, self.address.port, keepalive=self.keepalive)
        except ssl.SSLError as error:
            self.last_error = str(error)
            self._client = None
            self._report_connect_failure(message("hardware_labs.reason.tls_failed", error=error))
            return False
        except ConnectionRefusedError as error:
            self.last_error = str(error)
            self._client = None
            self._report_connect_failure(message("hardware_labs.reason.refused"))
            return False
        except (OSError, ValueError) as error:
            self.last_error = str(error)
            self._client = None
            # A TLS handshake sent to a plain MQTT broker times out or fails.
            key = "hardware_labs.reason.tls_failed" if self.tls else "hardware_labs.reason.network"
            self._report_connect_failure(message(key, error=error))
            return False

        # Run paho's loop here until CONNACK (or a rejection) arrives.
        deadline = time.monotonic() + CONNECT_TIMEOUT
        timed_out = False
        while not self._connected.is_set() and not self._dropped and not self._stop.is_set():
            if time.monotonic() >= deadline:
                self.last_error = f"no CONNACK within {CONNECT_TIMEOUT:g} s"
                timed_out = True
                break
            self._store_incoming()
            self._pump_network(wait=0.05)
        if not self._connected.is_set():
            if self._rejected:
                reason = message("hardware_labs.reason.rejected", error=self.last_error)
            elif timed_out:
                reason = message("hardware_labs.reason.no_connack", seconds=CONNECT_TIMEOUT)
            elif self._dropped:
                # The peer replied with something other than a CONNACK and closed the
                # connection, as an HTTP server or a TLS-only broker does.
                key = "hardware_labs.reason.tls_failed" if self.tls else "hardware_labs.reason.not_mqtt"
                reason = message(key, error=self.last_error or "-")
            else:
                reason = None
            if reason is not None:
                self._report_connect_failure(reason)
            self._drop_client()
            return False

        # paho 2.2 leaves Nagle's algorithm on. A reading is one small packet,
        # and waiting to merge it with the next one adds up to one delayed-ACK
        # period (at least 40 ms on Linux) to its latency.
        sock = client.socket()
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as error:
                logger.debug("could not set TCP_NODELAY on the broker connection: %s", error)

        self.connects += 1
        self.connect_failures = 0
        self._reported_reason = None
        left = self.spool.count()
        if left:
            logger.warning("%s", message("hardware_labs.bridge_reconnected", url=self.address.url, count=left))
        else:
            logger.info("connected to %s", self.address.url)
        return True

    def _report_connect_failure(self, reason: str) -> None:
        """Log why the connection failed: at once when the reason is new, then every `REPORT_INTERVAL` seconds."""
        self.connect_failures += 1
        self.last_reason = reason
        now = time.monotonic()
        if reason == self._reported_reason and now - self._reported_at < REPORT_INTERVAL:
            return
        self._reported_reason = reason
        self._reported_at = now
        text = message("hardware_labs.bridge_connect_failed", url=self.address.url, attempts=self.connect_failures, reason=reason)
        logger.warning("%s", text)

    def _pump_network(self, *, wait: float) -> None:
        """Wait up to *wait* seconds, then let paho read acknowledgements, write packets and send pings."""
        client = self._client
        sock = client.socket() if client is not None else None
        if sock is None:
            self._dropped = True
            return
        readable, _writable = self._sleep(wait, sock)

        # A TLS socket can hold decrypted bytes that select() does not report.
        pending = getattr(sock, "pending", None)
        if readable or (pending is not None and pending() > 0):
            rc = client.loop_read()
            if rc != mqtt.MQTT_ERR_SUCCESS:
                self._note_network_error(rc)
                return
        if client.want_write():
            rc = client.loop_write()
            if rc != mqtt.MQTT_ERR_SUCCESS:
                self._note_network_error(rc)
                return
        rc = client.loop_misc()
        if rc != mqtt.MQTT_ERR_SUCCESS:
            self._note_network_error(rc)

    def _note_network_error(self, rc: int) -> None:
        self.last_error = self.last_error or mqtt.error_string(rc)
        self._connected.clear()
        self._dropped = True

    # -- sender thread ------------------------------------------------------

    def _run(self) -> None:
        delay = self.backoff_initial
        try:
            while not self._stop.is_set():
                self._store_incoming()
                if self._client is None or self._dropped:
                    if self._client is not None:
                        self.disconnects += 1
                        logger.warning("%s", message("hardware_labs.bridge_connection_lost", url=self.address.url))
                    if self._connect():
                        delay = self.backoff_initial
                    else:
                        self._wait_before_retry(delay)
                        delay = min(delay * 2, self.backoff_max)
                    continue

                self._publish_pending()
                work_left = self._incoming or (self._outbox and len(self._inflight) < self.max_inflight)
                wait = IDLE_WAIT if not self._acked_rows else DELETE_INTERVAL
                self._pump_network(wait=0.0 if work_left else wait)
                self._handle_acks()
                if len(self._acked_rows) >= DELETE_BATCH or time.monotonic() - self._last_delete >= DELETE_INTERVAL:
                    self._delete_acknowledged()
        except Exception:  # logged here because no caller receives this thread's exceptions
            logger.exception("bridge sender thread failed; readings stay in the spool %s", self.spool.path)
            raise
        finally:
            self._drop_client()

    def _wait_before_retry(self, delay: float) -> None:
        # Keep spooling what arrives while waiting for the next attempt.
        waited_until = time.monotonic() + delay
        while not self._stop.is_set() and time.monotonic() < waited_until:
            self._sleep(min(0.05, max(0.0, waited_until - time.monotonic())))
            self._store_incoming()

    def _handle_acks(self) -> None:
        if not self._acked_mids:
            return
        done = [self._inflight.pop(mid) for mid in self._acked_mids if mid in self._inflight]
        self._acked_mids.clear()
        self._acked_rows.extend(done)
        self.acknowledged += len(done)

    def _delete_acknowledged(self) -> None:
        if self._acked_rows:
            self.spool.delete(self._acked_rows)
            self._acked_rows.clear()
        self._last_delete = time.monotonic()

    def _publish_pending(self) -> None:
        client = self._client
        while client is not None and len(self._inflight) < self.max_inflight and not self._dropped:
            self._fill_outbox()
            if not self._outbox:
                return
            message_id, topic, body = self._outbox[0]
            info = client.publish(topic, _with_message_id(body, message_id), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                # The connection went away under us; _run reconnects and starts over from the spool.
                self._note_network_error(info.rc)
                return
            self._outbox.popleft()
            self._inflight[info.mid] = message_id
            self.published += 1


def check_credentials(bridge: MqttBridge) -> None:
    """Raise `KenshuError` when the broker rejected the bridge's user name or password."""
    if bridge.last_error and "not authorized" in bridge.last_error.lower():
        raise KenshuError("hardware_labs.broker_not_authorized", url=bridge.address.url)
