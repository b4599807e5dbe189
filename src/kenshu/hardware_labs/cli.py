"""``kenshu lab``: simulate, bridge, subscribe, decode."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import logging
import os
import signal
import stat
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kenshu.errors import KenshuError
from kenshu.i18n import message

if TYPE_CHECKING:
    from kenshu.hardware_labs.broker import EmbeddedBroker
    from kenshu.hardware_labs.serial_sensor import SerialSensor

logger = logging.getLogger(__name__)

# Seconds `kenshu lab subscribe` waits for the broker to confirm the subscription.
SUBSCRIBE_TIMEOUT = 10.0
# Seconds `kenshu lab bridge` waits for the result of its first connection
# attempt before reading, to stop early on a rejected password.
FIRST_CONNECT_WAIT = 5.0
# Seconds `kenshu lab bridge` waits at the end for a connected broker to acknowledge the rest.
FLUSH_TIMEOUT = 10.0


def _wait_first_attempt(bridge, *, timeout: float) -> bool:
    """Wait until the bridge's first connection attempt has succeeded or failed, and return whether it is connected."""
    deadline = time.monotonic() + timeout
    while not bridge.connected and not bridge.connect_failures and time.monotonic() < deadline:
        bridge.wait_connected(timeout=0.05)
    return bridge.connected


def _remaining(started: float, duration: float | None, limit: float) -> float:
    """Return *limit*, or less when the ``--duration`` that began at *started* ends sooner."""
    if duration is None:
        return limit
    return max(0.0, min(limit, duration - (time.monotonic() - started)))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``lab`` area and its verbs to the ``kenshu`` command."""
    from kenshu.hardware_labs.broker import DEFAULT_BROKER_URL
    from kenshu.hardware_labs.simulator import SENSORS

    area = subparsers.add_parser("lab", help=message("hardware_labs.help"), description=message("hardware_labs.help"))
    verbs = area.add_subparsers(dest="verb", metavar="<verb>")

    simulate = verbs.add_parser("simulate", help=message("hardware_labs.simulate_help"))
    simulate.add_argument("--sensor", choices=SENSORS, default="env", help=message("hardware_labs.sensor_help"))
    simulate.add_argument("--fault", help=message("hardware_labs.fault_help"))
    simulate.add_argument("--rate", type=float, help=message("hardware_labs.rate_help"))
    simulate.add_argument("--device-id", help=message("hardware_labs.device_id_help"))
    simulate.add_argument("--link", help=message("hardware_labs.link_help"))
    simulate.add_argument("--corrupt", type=float, default=0.0, help=message("hardware_labs.corrupt_help"))
    simulate.add_argument("--duration", type=float, help=message("hardware_labs.duration_help"))
    simulate.add_argument("--seed", type=int, help=message("hardware_labs.seed_help"))
    simulate.set_defaults(handler=run_simulate)

    bridge = verbs.add_parser("bridge", help=message("hardware_labs.bridge_help"))
    bridge.add_argument("--port", required=True, help=message("hardware_labs.port_help"))
    bridge.add_argument("--baudrate", type=int, default=115200, help=message("hardware_labs.baudrate_help"))
    _add_broker_options(bridge, DEFAULT_BROKER_URL)
    bridge.add_argument("--site", default="kenshu", help=message("hardware_labs.site_help"))
    bridge.add_argument("--line", default="line1", help=message("hardware_labs.line_help"))
    bridge.add_argument("--spool", default="kenshu-bridge-spool.sqlite", help=message("hardware_labs.spool_help"))
    bridge.add_argument("--client-id", help=message("hardware_labs.client_id_help"))
    bridge.add_argument("--certfile", help=message("hardware_labs.certfile_help"))
    bridge.add_argument("--keyfile", help=message("hardware_labs.keyfile_help"))
    bridge.add_argument("--count", type=int, help=message("hardware_labs.count_help"))
    bridge.add_argument("--duration", type=float, help=message("hardware_labs.duration_help"))
    bridge.set_defaults(handler=run_bridge)

    subscribe = verbs.add_parser("subscribe", help=message("hardware_labs.subscribe_help"))
    _add_broker_options(subscribe, DEFAULT_BROKER_URL)
    subscribe.add_argument("--topic", default="kenshu/#", help=message("hardware_labs.topic_help"))
    subscribe.add_argument("--count", type=int, help=message("hardware_labs.count_help"))
    subscribe.add_argument("--duration", type=float, default=10.0, help=message("hardware_labs.subscribe_duration_help"))
    subscribe.add_argument("--csv", help=message("hardware_labs.csv_help"))
    subscribe.set_defaults(handler=run_subscribe)

    decode = verbs.add_parser("decode", help=message("hardware_labs.decode_help"))
    decode.add_argument("format", choices=("sigfox", "tts"), help=message("hardware_labs.decode_format_help"))
    decode.add_argument("input", help=message("hardware_labs.decode_input_help"))
    decode.add_argument("--grammar", help=message("hardware_labs.grammar_help"))
    decode.add_argument("--scale", action="append", default=[], help=message("hardware_labs.scale_help"))
    decode.set_defaults(handler=run_decode)


def _add_broker_options(parser: argparse.ArgumentParser, default_url: str) -> None:
    parser.add_argument("--broker", default=default_url, help=message("hardware_labs.broker_help"))
    parser.add_argument("--username", help=message("hardware_labs.username_help"))
    parser.add_argument("--password-file", help=message("hardware_labs.password_file_help"))
    parser.add_argument("--ca-certs", help=message("hardware_labs.ca_certs_help"))
    parser.add_argument("--tls-insecure", action="store_true", help=message("hardware_labs.tls_insecure_help"))


def _password(args: argparse.Namespace) -> str | None:
    if args.password_file:
        try:
            return Path(args.password_file).read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError) as error:
            raise KenshuError("hardware_labs.password_file_unreadable", path=args.password_file, error=error) from error
    return os.environ.get("KENSHU_MQTT_PASSWORD")


def _stop_on_sigterm(stop: threading.Event) -> None:
    # A service manager stops the bridge with SIGTERM; finish as on Ctrl-C.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda number, frame: stop.set())


def _check_serial_path(port: str) -> None:
    """Raise `KenshuError` when *port* is an existing file, folder or other path that is not a character device.

    pyserial opens a regular file and then fails with "Inappropriate ioctl for
    device", a message that gives a trainee no next step. A missing path or a
    permission problem is left to `SerialSensor`, which reports those itself.
    """
    if "://" in port:
        return
    try:
        mode = os.stat(port).st_mode
    except OSError:
        return
    if stat.S_ISCHR(mode):
        return
    if stat.S_ISREG(mode):
        kind = "regular"
    elif stat.S_ISDIR(mode):
        kind = "directory"
    else:
        kind = "other"
    raise KenshuError("hardware_labs.port_not_serial", port=port, kind=message(f"hardware_labs.path_kind.{kind}"))


def _open_sensor(port: str, baudrate: int) -> SerialSensor:
    """Open *port* as a `SerialSensor`, with a clear message for paths that are not serial devices."""
    from kenshu.hardware_labs.serial_sensor import SerialSensor

    _check_serial_path(port)
    try:
        return SerialSensor(port, baudrate=baudrate).open()
    except KenshuError as error:
        # A character device that is not a terminal (/dev/null, /dev/zero) opens,
        # and pyserial then fails to set the line speed with ENOTTY.
        # NOTE: pyserial puts the errno only into the text of its exception, so
        # the text is matched here.
        cause = str(error.__cause__ or "")
        if error.key == "hardware_labs.port_open_failed" and f"({errno.ENOTTY}," in cause:
            kind = message("hardware_labs.path_kind.other")
            raise KenshuError("hardware_labs.port_not_serial", port=port, kind=kind) from error
        raise


def _secured(args: argparse.Namespace) -> bool:
    """Return whether the user asked for credentials or TLS, which the embedded broker cannot check."""
    from kenshu.hardware_labs.broker import parse_broker_url

    address = parse_broker_url(args.broker)
    options = (args.username, args.password_file, args.ca_certs, getattr(args, "certfile", None))
    return address.tls or address.username is not None or any(option for option in options)


def _start_broker(requested: str, *, notice: str = "hardware_labs.broker_embedded") -> tuple[str, EmbeddedBroker | None]:
    """Return (URL, embedded broker or ``None``) as `ensure_broker` does, and print *notice* when it starts an embedded broker."""
    from kenshu.hardware_labs.broker import ensure_broker

    url, embedded = ensure_broker(requested)
    if embedded is not None:
        print(message(notice, requested=requested, url=url), flush=True)
    return url, embedded


def _check_tls_files(args: argparse.Namespace) -> None:
    """Raise `KenshuError` when a certificate or key file given on the command line cannot be read."""
    files = [("--ca-certs", args.ca_certs)]
    files += [("--certfile", getattr(args, "certfile", None)), ("--keyfile", getattr(args, "keyfile", None))]
    for option, path in files:
        if not path:
            continue
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as error:
            reason = error.strerror or error
            if option == "--ca-certs":
                raise KenshuError("hardware_labs.ca_certs_unreadable", path=path, error=reason) from None
            raise KenshuError("hardware_labs.tls_file_unreadable", option=option, path=path, error=reason) from None


def _check_simulate_options(args: argparse.Namespace) -> None:
    """Raise `KenshuError` for simulator options that would fail only after it started."""
    from kenshu.hardware_labs.protocol import DEVICE_ID_PATTERN
    from kenshu.hardware_labs.simulator import MAX_RATE, SENSOR_FAULTS

    if args.fault and args.fault not in SENSOR_FAULTS[args.sensor]:
        raise KenshuError(
            "hardware_labs.fault_invalid",
            sensor=args.sensor,
            fault=args.fault,
            choices=", ".join(SENSOR_FAULTS[args.sensor]),
        )
    # "not 0 < rate" also rejects NaN.
    if args.rate is not None and not 0 < args.rate <= MAX_RATE:
        raise KenshuError("hardware_labs.rate_invalid", rate=f"{args.rate:g}", maximum=f"{MAX_RATE:g}")
    if not 0 <= args.corrupt <= 1:
        raise KenshuError("hardware_labs.corrupt_invalid", corrupt=f"{args.corrupt:g}")
    if args.device_id is not None and not DEVICE_ID_PATTERN.match(args.device_id):
        raise KenshuError("hardware_labs.device_id_invalid", device_id=args.device_id)
    if args.link:
        _check_link_path(Path(args.link))


def _check_link_path(link: Path) -> None:
    """Raise `KenshuError` unless *link* is unused or a symlink that may be replaced."""
    if link.is_symlink():
        return
    if os.path.lexists(link):
        kind = "other"
        if link.is_dir():
            kind = "directory"
        elif link.is_file():
            kind = "regular"
        raise KenshuError("hardware_labs.link_exists", path=link, kind=message(f"hardware_labs.path_kind.{kind}"))
    folder = link.parent
    if not folder.is_dir():
        raise KenshuError("hardware_labs.link_folder_missing", path=link, folder=folder)


def _check_csv_path(path: str) -> None:
    """Raise `KenshuError` when the ``--csv`` file cannot be written, before anything is received."""
    target = Path(path)
    if target.is_dir():
        reason = message("hardware_labs.csv_reason.folder")
    elif not target.parent.is_dir():
        reason = message("hardware_labs.csv_reason.no_folder", folder=target.parent)
    elif not os.access(target if target.exists() else target.parent, os.W_OK):
        reason = os.strerror(errno.EACCES)
    else:
        return
    raise KenshuError("hardware_labs.csv_unwritable", path=path, reason=reason)


def _problem_summary(stats: dict[str, int]) -> str:
    """Return the line problems as "チェックサム誤り 7 件、欠番 2 件", or "なし"."""
    parts = [
        message("hardware_labs.problem_count", kind=message(f"hardware_labs.problem_kind.{kind}"), count=count)
        for kind, count in stats.items()
        if kind not in ("lines", "readings") and count
    ]
    return message("hardware_labs.list_separator").join(parts) if parts else message("hardware_labs.problems_none")


def run_simulate(args: argparse.Namespace) -> int:
    """Run the simulator until Ctrl-C, SIGTERM or ``--duration`` seconds."""
    from kenshu.hardware_labs.simulator import SensorSimulator

    _check_simulate_options(args)
    simulator = SensorSimulator(
        sensor=args.sensor,
        fault=args.fault,
        device_id=args.device_id,
        rate=args.rate,
        link=args.link,
        corrupt=args.corrupt,
        random_state=args.seed,
    )
    stop = threading.Event()
    _stop_on_sigterm(stop)
    try:
        simulator.start()
    except OSError as error:
        # The link path changed between the check and the start, or the folder is not writable.
        simulator.stop()
        raise KenshuError("hardware_labs.link_failed", path=args.link, error=error) from error
    with simulator:
        print(
            message(
                "hardware_labs.simulate_started",
                device_id=simulator.device_id,
                sensor=simulator.sensor,
                rate=f"{simulator.rate:g}",
                path=simulator.path,
            ),
            flush=True,
        )
        if args.link:
            print(message("hardware_labs.simulate_link", link=args.link), flush=True)
        try:
            stop.wait(args.duration)
        except KeyboardInterrupt:
            pass
    print(message("hardware_labs.simulate_stopped", written=simulator.lines_written, dropped=simulator.lines_dropped))
    return 0


def run_bridge(args: argparse.Namespace) -> int:
    """Read the serial port and publish until Ctrl-C, SIGTERM, ``--count`` or ``--duration``."""
    from kenshu.hardware_labs.broker import broker_reachable, parse_broker_url
    from kenshu.hardware_labs.mqtt_bridge import MqttBridge, check_credentials

    started = time.monotonic()
    password = _password(args)
    _check_tls_files(args)
    sensor = _open_sensor(args.port, args.baudrate)
    if _secured(args):
        # The embedded broker accepts anyone without TLS, so readings meant for a
        # protected broker would be acknowledged there and leave the spool. Wait instead.
        url, embedded = args.broker, None
        if not broker_reachable(url):
            print(message("hardware_labs.broker_waiting_secured", url=parse_broker_url(url).url, spool=args.spool), flush=True)
    else:
        url, embedded = _start_broker(args.broker, notice="hardware_labs.broker_embedded_bridge")
    bridge = MqttBridge(
        url,
        spool_path=args.spool,
        site=args.site,
        line=args.line,
        client_id=args.client_id,
        username=args.username,
        password=password,
        ca_certs=args.ca_certs,
        certfile=args.certfile,
        keyfile=args.keyfile,
        tls_insecure=args.tls_insecure,
    )
    stop = threading.Event()
    _stop_on_sigterm(stop)
    # The main thread reads and parses the port; MqttBridge.submit only queues
    # each reading for the sender thread, so SQLite and the broker never hold
    # up the reader. NOTE: both threads share one Python process, which runs
    # Python code on one core at a time (the GIL). If other work starves the
    # process for longer than the board's buffer lasts, lines are lost before
    # the bridge reads them, and the parser counts them as gaps.
    stop_reader = threading.Thread(target=lambda: (stop.wait(), sensor.close()), daemon=True)
    stop_reader.start()
    try:
        with sensor:
            print(
                message(
                    "hardware_labs.bridge_started",
                    port=args.port,
                    broker=bridge.address.url,
                    topic=f"{args.site}/{args.line}/<device>/<sensor>",
                    spool=args.spool,
                ),
                flush=True,
            )
            bridge.start()
            if not _wait_first_attempt(bridge, timeout=_remaining(started, args.duration, FIRST_CONNECT_WAIT)):
                # A wrong password will not fix itself, but an unreachable broker may
                # come back, so only the first stops the bridge here.
                try:
                    check_credentials(bridge)
                except KenshuError:
                    bridge.stop(flush_timeout=0)
                    raise
            # --duration counts from the start of the command, including the wait for the broker above.
            duration = None if args.duration is None else max(0.0, args.duration - (time.monotonic() - started))
            try:
                bridge.run(sensor.readings(max_readings=args.count, duration=duration))
            except KeyboardInterrupt:
                pass
            # Waiting for a broker that is away would only delay the exit: what is
            # not acknowledged stays in the spool for the next run.
            bridge.stop(flush_timeout=FLUSH_TIMEOUT if bridge.connected else 0)
            check_credentials(bridge)
    finally:
        stop.set()
        if embedded is not None:
            embedded.stop()

    print(
        message(
            "hardware_labs.bridge_stopped",
            submitted=bridge.submitted,
            acknowledged=bridge.acknowledged,
            pending=bridge.left_in_spool,
            # The first connection is not a reconnect.
            reconnects=max(0, bridge.connects - 1),
            problems=_problem_summary(sensor.stats.as_dict()),
        )
    )
    return 0


def run_subscribe(args: argparse.Namespace) -> int:
    """Print readings as they arrive, for ``--duration`` seconds or ``--count`` readings.

    As with ``bridge``, a broker URL on this machine where no broker listens
    gets an embedded broker, so a bridge started afterwards publishes to it.
    """
    from kenshu.hardware_labs.subscriber import LiveSubscriber, check_topic_filter

    def show(payload: dict) -> None:
        values = ", ".join(f"{name}={item['value']} {item['unit']}" for name, item in payload["values"].items())
        print(f"{payload['timestamp']} {payload['topic']} #{payload['sequence']} {values}", flush=True)

    password = _password(args)
    check_topic_filter(args.topic)
    _check_tls_files(args)
    if args.csv:
        _check_csv_path(args.csv)
    if _secured(args):
        url, embedded = args.broker, None
    else:
        url, embedded = _start_broker(args.broker)
    try:
        subscriber = LiveSubscriber(
            url,
            topic=args.topic,
            on_payload=show,
            username=args.username,
            password=password,
            ca_certs=args.ca_certs,
            tls_insecure=args.tls_insecure,
        )
        try:
            subscriber.start(timeout=SUBSCRIBE_TIMEOUT)
        except TimeoutError as error:
            raise KenshuError("hardware_labs.broker_no_answer", url=subscriber.address.url, seconds=SUBSCRIBE_TIMEOUT) from error
        except OSError as error:
            raise KenshuError("hardware_labs.broker_unreachable", url=subscriber.address.url, error=error) from error
        print(message("hardware_labs.subscribe_started", topic=args.topic, url=subscriber.address.url), flush=True)
        try:
            if args.count is not None:
                subscriber.wait_for(args.count, timeout=args.duration)
            else:
                threading.Event().wait(args.duration)
        except KeyboardInterrupt:
            pass
        finally:
            subscriber.stop()
    finally:
        if embedded is not None:
            embedded.stop()

    if args.csv:
        subscriber.frame().to_csv(args.csv, index=False, encoding="utf-8-sig")
    print(message("hardware_labs.subscribe_summary", count=subscriber.count, duplicates=subscriber.duplicates))
    return 0


def _parse_scales(values: list[str]) -> dict[str, tuple[float, str]]:
    scales = {}
    for value in values:
        name, equals, rest = value.partition("=")
        factor, _, unit = rest.partition(":")
        try:
            scales[name] = (float(factor), unit)
        except ValueError:
            raise KenshuError("hardware_labs.scale_invalid", value=value) from None
        if not equals or not name:
            raise KenshuError("hardware_labs.scale_invalid", value=value)
    return scales


def run_decode(args: argparse.Namespace) -> int:
    """Decode one payload and print it as JSON."""
    from kenshu.hardware_labs.lpwa import decode_sigfox, decode_tts_uplink, parse_grammar, read_tts_uplink

    scales = _parse_scales(args.scale)
    grammar = parse_grammar(args.grammar, scales=scales) if args.grammar else None
    units = {field.name: field.unit for field in grammar or []}

    if args.format == "sigfox":
        if grammar is None:
            raise KenshuError("hardware_labs.grammar_required")
        result = {"payload": args.input, "fields": decode_sigfox(args.input, grammar)}
    else:
        if grammar is None:
            print(message("hardware_labs.decode_grammar_hint"), file=sys.stderr)
        if args.input == "-":
            uplink = decode_tts_uplink(sys.stdin.read(), grammar=grammar, source="stdin")
        else:
            uplink = read_tts_uplink(args.input, grammar=grammar)
        result = dataclasses.asdict(uplink)
        result["payload"] = uplink.payload.hex()
        result["received_at"] = uplink.received_at.isoformat()

    result["units"] = {name: unit for name, unit in units.items() if unit}
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0
