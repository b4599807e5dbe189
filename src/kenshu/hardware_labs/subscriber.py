"""Subscribe to bridge payloads and hand them to notebooks as a pandas DataFrame.

`LiveSubscriber` keeps every payload received on a topic filter, drops
repeats by (``source``, ``message_id``) and builds a DataFrame with one row per
reading and one column per quantity; the units are in ``frame.attrs["units"]``.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType

import pandas as pd
import paho.mqtt.client as mqtt

from kenshu.errors import KenshuError
from kenshu.i18n import message as catalog_message
from kenshu.hardware_labs.broker import parse_broker_url

logger = logging.getLogger(__name__)

HEADER_COLUMNS = ("timestamp", "received_at", "topic", "source", "message_id", "device_id", "sensor", "sequence")


def check_topic_filter(topic: str) -> None:
    """Raise `KenshuError` naming *topic* unless it is a valid MQTT 3.1.1 topic filter.

    ``#`` must be a whole level and the last one, ``+`` a whole level, and the
    filter must be non-empty and free of NUL characters.
    """
    levels = topic.split("/")
    valid = bool(topic) and "\0" not in topic
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            valid = False
        if "+" in level and level != "+":
            valid = False
    if not valid:
        raise KenshuError("hardware_labs.topic_filter_invalid", topic=topic)


def payloads_frame(payloads: list[dict]) -> pd.DataFrame:
    """Return a DataFrame with one row per bridge payload and one column per quantity.

    ``timestamp`` (when the bridge read the line) and ``received_at`` (when the
    subscriber got the message) are UTC datetimes. Units go to ``attrs["units"]``.
    """
    rows = []
    units: dict[str, str] = {}
    for payload in payloads:
        row = {column: payload.get(column) for column in HEADER_COLUMNS}
        for name, quantity in payload.get("values", {}).items():
            row[name] = quantity.get("value")
            units.setdefault(name, quantity.get("unit", ""))
        rows.append(row)

    frame = pd.DataFrame(rows, columns=list(HEADER_COLUMNS) + sorted(units))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    frame["received_at"] = pd.to_datetime(frame["received_at"], unit="s", utc=True)
    frame.attrs["units"] = units
    return frame


class LiveSubscriber:
    """Collect bridge payloads from a broker in a background thread.

    Parameters
    ----------
    broker
        ``mqtt://host:port`` or ``mqtts://host:port``.
    topic
        Topic filter, for example ``kenshu/#`` or ``kenshu/line1/+/vibration``.
    client_id
        Client id; random by default. Give a fixed id with ``persistent=True``
        so that the broker queues messages for this subscriber while it is
        away (a broker restart, a sleeping laptop).
    persistent
        Ask for a persistent session (MQTT ``clean_session=False``).
    on_payload
        Called with each new payload (a dict), after repeats are dropped.
    username, password, ca_certs, tls_insecure
        As for `kenshu.hardware_labs.mqtt_bridge.MqttBridge`.
    """

    def __init__(
        self,
        broker: str,
        *,
        topic: str = "kenshu/#",
        client_id: str | None = None,
        persistent: bool = False,
        on_payload: Callable[[dict], None] | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_certs: str | None = None,
        tls_insecure: bool = False,
    ) -> None:
        self.address = parse_broker_url(broker)
        check_topic_filter(topic)
        self.topic = topic
        self.client_id = client_id or f"kenshu-sub-{uuid.uuid4().hex[:8]}"
        self.on_payload = on_payload
        self.payloads: list[dict] = []
        self.duplicates = 0
        self.invalid = 0
        self._seen: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.rejected: str | None = None
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=not persistent
        )
        self._client.reconnect_delay_set(min_delay=0.1, max_delay=2)
        user = username if username is not None else self.address.username
        if user:
            self._client.username_pw_set(user, password if password is not None else self.address.password)
        if self.address.tls or ca_certs:
            self._client.tls_set(ca_certs=ca_certs, cert_reqs=ssl.CERT_REQUIRED)
            self._client.tls_insecure_set(tls_insecure)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            logger.error("broker %s rejected subscriber %s: %s", self.address.url, self.client_id, reason_code)
            self.rejected = str(reason_code)
            return
        # Subscribe on every connect: a broker without a stored session forgets subscriptions.
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self._subscribed.set()

    def _on_message(self, client, userdata, message) -> None:
        try:
            payload = json.loads(message.payload)
            key = (str(payload["source"]), int(payload["message_id"]))
        except (ValueError, KeyError, TypeError) as error:
            self.invalid += 1
            logger.warning("%s", catalog_message("hardware_labs.payload_not_reading", topic=message.topic, error=error))
            return
        payload["topic"] = message.topic
        payload["received_at"] = time.time()
        with self._lock:
            if key in self._seen:
                self.duplicates += 1
                return
            self._seen.add(key)
            self.payloads.append(payload)
        if self.on_payload is not None:
            self.on_payload(payload)

    def start(self, *, timeout: float = 10.0) -> LiveSubscriber:
        """Connect, subscribe and return once the broker has confirmed the subscription.

        Raises
        ------
        OSError
            If the broker's host or port cannot be reached.
        KenshuError
            If the broker rejects the user name or password.
        ConnectionRefusedError
            If the broker rejects the connection for another reason.
        TimeoutError
            If no subscription is confirmed within *timeout* seconds, for
            example because the port is not an MQTT broker's.
        """
        self._client.connect(self.address.host, self.address.port, keepalive=30)
        self._client.loop_start()
        deadline = time.monotonic() + timeout
        while not self._subscribed.wait(0.05):
            if self.rejected is not None or time.monotonic() >= deadline:
                self.stop()
                break
        if self.rejected is not None:
            if any(words in self.rejected.lower() for words in ("not authorized", "bad user name")):
                raise KenshuError("hardware_labs.broker_not_authorized", url=self.address.url)
            raise ConnectionRefusedError(f"broker {self.address.url} rejected the connection: {self.rejected}")
        if not self._subscribed.is_set():
            raise TimeoutError(f"no subscription to {self.topic!r} on {self.address.url} after {timeout} s")
        logger.info("subscribed to %s on %s", self.topic, self.address.url)
        return self

    def stop(self) -> None:
        """Disconnect. Safe to call twice."""
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> LiveSubscriber:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def count(self) -> int:
        """Distinct readings received so far."""
        return len(self.payloads)

    def wait_for(self, count: int, *, timeout: float) -> bool:
        """Block until *count* distinct readings have arrived; return ``False`` after *timeout* seconds."""
        deadline = time.monotonic() + timeout
        while self.count < count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def frame(self) -> pd.DataFrame:
        """Return the readings received so far as a DataFrame (see `payloads_frame`)."""
        with self._lock:
            payloads = list(self.payloads)
        return payloads_frame(payloads)


def collect_readings(
    broker: str, *, topic: str = "kenshu/#", count: int | None = None, duration: float = 10.0
) -> pd.DataFrame:
    """Subscribe, collect for *duration* seconds or until *count* readings arrive, and return the DataFrame."""
    with LiveSubscriber(broker, topic=topic) as subscriber:
        if count is None:
            time.sleep(duration)
        else:
            subscriber.wait_for(count, timeout=duration)
        return subscriber.frame()
