"""MQTT brokers for the labs: a running Mosquitto, a Mosquitto started here, or an embedded broker.

`ensure_broker` returns the URL of a reachable broker, starting an embedded
one in this process when nothing responds, so the labs work on a laptop with
nothing installed. The embedded broker is amqtt (a pure-Python MQTT 3.1.1
broker from PyPI) running on its own asyncio loop in a background thread.
`MosquittoBroker` starts the ``mosquitto`` program on 127.0.0.1 with a
generated configuration file; the tests and the benchmark use it to restart
a real broker under a running bridge.
"""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

from kenshu.errors import KenshuError

logger = logging.getLogger(__name__)

DEFAULT_BROKER_URL = "mqtt://127.0.0.1:1883"


@dataclasses.dataclass(frozen=True)
class BrokerAddress:
    """Address and credentials of a broker, parsed from ``mqtt://[user[:password]@]host[:port]``.

    ``mqtts://`` turns TLS on and defaults the port to 8883.
    """

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The URL without credentials, safe to log."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """Parse a broker URL; raise `KenshuError` naming the URL when it is not ``mqtt://`` or ``mqtts://``."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise KenshuError("hardware_labs.broker_url_invalid", url=url)
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise KenshuError("hardware_labs.broker_url_invalid", url=url) from None
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on *host* right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def broker_reachable(url: str, *, timeout: float = 0.5) -> bool:
    """Return whether something accepts TCP connections at the broker URL's host and port."""
    address = parse_broker_url(url)
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout):
            return True
    except OSError:
        return False


def _quiet_amqtt() -> None:
    """Hide amqtt's log lines unless the user asked for details (``kenshu -v`` or an INFO-level root logger).

    amqtt 0.12 logs "No data from (client …)" at ERROR and "Failed to
    initialize client session" at WARNING for every connection that closes
    without an MQTT CONNECT, and `broker_reachable` makes such connections.
    A start failure is still raised to the caller.
    """
    amqtt_logger = logging.getLogger("amqtt")
    if amqtt_logger.level == logging.NOTSET and not logging.getLogger().isEnabledFor(logging.INFO):
        amqtt_logger.setLevel(logging.CRITICAL)


class EmbeddedBroker:
    """An amqtt broker in a background thread of this process, listening on *host*:*port*.

    ``port=0`` picks a free port. Anonymous clients are allowed, so bind it
    to 127.0.0.1 only.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``mqtt://host:port`` of this broker."""
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> EmbeddedBroker:
        """Start the broker and return once it accepts connections."""
        try:
            from amqtt.broker import Broker
        except ImportError as error:
            raise KenshuError("hardware_labs.embedded_broker_missing", error=error) from error

        _quiet_amqtt()
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._broker = Broker(config, loop=self._loop)
                self._loop.run_until_complete(self._broker.start())
            except Exception as error:  # reported to the caller of start()
                failure.append(error)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="embedded-mqtt-broker", daemon=True)
        self._thread.start()
        ready.wait(15)
        if failure or not ready.is_set():
            raise KenshuError("hardware_labs.embedded_broker_failed", url=self.url, error=failure[0] if failure else "-")
        logger.info("embedded MQTT broker (amqtt) listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Shut the broker down. Safe to call twice."""
        if self._loop is None or self._broker is None:
            return
        broker = self._broker

        async def shut_down() -> None:
            await broker.shutdown()
            # amqtt can leave the handler task of a client that has just disconnected.
            # Cancel it here. Otherwise Python collects its coroutine after the loop
            # has closed and prints "Event loop is closed".
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(shut_down(), self._loop).result(10)
        except Exception as error:  # a broker that fails to shut down cleanly is still stopped below
            logger.warning("embedded broker shutdown: %s", error)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()
        self._loop = self._broker = self._thread = None
        logger.info("embedded MQTT broker on %s stopped", self.url)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


class MosquittoBroker:
    """A ``mosquitto`` process on 127.0.0.1 with its own configuration, data folder and log.

    Persistence is on, so subscriptions of persistent sessions and queued
    QoS 1 messages survive `restart` (Mosquitto writes them on a clean
    shutdown). An optional *password_file* (made with ``mosquitto_passwd``)
    turns anonymous access off.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        directory: str | Path | None = None,
        password_file: str | Path | None = None,
        executable: str | None = None,
    ) -> None:
        self.executable = executable or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(self.executable).exists():
            raise KenshuError("hardware_labs.mosquitto_missing")
        self.port = port or free_port()
        self.directory = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="kenshu-mosquitto-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.password_file = Path(password_file) if password_file else None
        self.config_path = self.directory / "mosquitto.conf"
        self.log_path = self.directory / "mosquitto.log"
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:port`` of this broker."""
        return f"mqtt://127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        lines = [
            # Run as the user who started it; mosquitto started as root would
            # otherwise switch to the "mosquitto" user and could not write here.
            f"user {getpass.getuser()}",
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {self.directory}/",
            "autosave_interval 1",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "max_queued_messages 0",
            "max_inflight_messages 0",
            # Send each small QoS 1 message at once instead of letting Nagle's
            # algorithm hold it for the TCP acknowledgement of the previous one.
            "set_tcp_nodelay true",
        ]
        if self.password_file is not None:
            lines += ["allow_anonymous false", f"password_file {self.password_file}"]
        else:
            lines.append("allow_anonymous true")
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def start(self, *, timeout: float = 10.0) -> MosquittoBroker:
        """Start mosquitto and wait until it accepts connections."""
        self._write_config()
        self._process = subprocess.Popen(
            [self.executable, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                raise KenshuError("hardware_labs.mosquitto_failed", url=self.url, error=error.strip() or self.log_path)
            if broker_reachable(self.url, timeout=0.2):
                logger.info("mosquitto started on %s (pid %d)", self.url, self._process.pid)
                return self
            time.sleep(0.05)
        self.stop()
        raise KenshuError("hardware_labs.mosquitto_failed", url=self.url, error="timeout")

    def stop(self) -> None:
        """Stop mosquitto with SIGTERM, so that it saves its persistence file. Safe to call twice."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stderr is not None:
            self._process.stderr.close()
        logger.info("mosquitto on %s stopped", self.url)
        self._process = None

    def restart(self, *, down_for: float = 0.0) -> None:
        """Stop mosquitto, wait *down_for* seconds and start it again on the same port."""
        self.stop()
        time.sleep(down_for)
        self.start()

    @property
    def running(self) -> bool:
        """Whether the mosquitto process is alive."""
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def _start_private_broker(attempts: int = 3) -> tuple[str, EmbeddedBroker]:
    # free_port() only reports a port that was free a moment ago, and another
    # process (a second kernel doing the same) may bind it first, so try again.
    for attempt in range(1, attempts + 1):
        try:
            broker = EmbeddedBroker(host="127.0.0.1", port=0).start()
        except KenshuError:
            if attempt == attempts:
                raise
            continue
        return broker.url, broker
    raise AssertionError("unreachable")


def ensure_broker(url: str | None = DEFAULT_BROKER_URL) -> tuple[str, EmbeddedBroker | None]:
    """Return (URL of a reachable broker, embedded broker started here or ``None``).

    When *url* responds, it is used as it is. Otherwise, for a broker on this
    machine, an embedded broker is started on the same port (or a free one if
    that port is taken by something else); the caller stops it when done. A
    remote broker that does not answer is returned unchanged, because the
    bridge spools readings until it returns. ``url=None`` always starts a
    private embedded broker on a free port, as the lab tests do.
    """
    if url is None:
        return _start_private_broker()
    if broker_reachable(url):
        logger.info("using the MQTT broker at %s", parse_broker_url(url).url)
        return url, None
    address = parse_broker_url(url)
    if address.host not in ("127.0.0.1", "localhost"):
        return url, None
    try:
        broker = EmbeddedBroker(host="127.0.0.1", port=address.port).start()
    except KenshuError:
        broker = EmbeddedBroker(host="127.0.0.1", port=0).start()
    # Info, not a warning, because the command line prints its own message (hardware_labs.broker_embedded).
    logger.info("no MQTT broker at %s; started an embedded broker at %s", address.url, broker.url)
    return broker.url, broker
