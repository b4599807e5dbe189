"""``kenshu lab`` input checks and failure paths: no embedded broker for protected URLs, safe --link,
bounded --duration, connection reasons, Japanese errors instead of tracebacks."""

from __future__ import annotations

import json
import os
import socket
import re
import subprocess
import sys
import threading
import time

import pytest

from kenshu.cli import main
from kenshu.hardware_labs.broker import broker_reachable, free_port
from kenshu.hardware_labs.serial_sensor import SerialSensor
from kenshu.hardware_labs.simulator import SensorSimulator
from kenshu.hardware_labs.spool import Spool

KENSHU = [sys.executable, "-m", "kenshu", "lab"]


def run_kenshu(arguments: list[str], *, timeout: float = 120, **environment: str) -> subprocess.CompletedProcess:
    """Run ``kenshu lab ...`` in its own process with Japanese messages."""
    return subprocess.run(
        KENSHU + arguments,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "KENSHU_LANG": "ja", **environment},
    )


def left_in_spool(summary: str) -> int:
    """Return N from "スプールに残り N 件" in the bridge's summary."""
    match = re.search(r"スプールに残り (\d+) 件", summary)
    assert match, summary
    return int(match.group(1))


@pytest.mark.parametrize(
    ("scheme", "options"),
    [("mqtt", ["--username", "line1"]), ("mqtts", [])],
    ids=["username", "tls"],
)
def test_bridge_protected_url_never_embeds(tmp_path, scheme, options):
    url = f"{scheme}://127.0.0.1:{free_port()}"
    spool = tmp_path / "s.sqlite"
    with SensorSimulator(sensor="env", rate=20, random_state=0) as simulator:
        result = run_kenshu(
            ["bridge", "--port", simulator.path, "--broker", url, "--duration", "2", "--spool", str(spool), *options],
            KENSHU_MQTT_PASSWORD="secret",
        )
    assert result.returncode == 0, result.stderr
    assert "組み込みブローカーは起動しません" in result.stdout
    assert "このコマンドのプロセスの中で" not in result.stdout
    assert "ブローカー受領 0 件" in result.stdout
    assert left_in_spool(result.stdout) > 0
    assert Spool(spool).count() > 0
    assert "接続を拒否されました" in result.stderr


def test_bridge_embedded_warning_names_process(tmp_path):
    url = f"mqtt://127.0.0.1:{free_port()}"
    with SensorSimulator(sensor="env", rate=50, random_state=0) as simulator:
        result = run_kenshu(["bridge", "--port", simulator.path, "--broker", url, "--count", "5",
                             "--spool", str(tmp_path / "s.sqlite")])
    assert result.returncode == 0, result.stderr
    assert "警告:" in result.stdout
    assert "このコマンドのプロセスの中で組み込みブローカー" in result.stdout
    assert "Mosquitto" in result.stdout


def test_simulator_link_keeps_regular_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("keep me", encoding="utf-8")
    with pytest.raises(FileExistsError):
        SensorSimulator(link=path).start()
    assert path.read_text(encoding="utf-8") == "keep me"
    assert not (tmp_path / "notes.txt.new").exists()


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_simulate_link_refuses_existing_path(tmp_path, capsys, kind):
    path = tmp_path / "ttySIM"
    if kind == "file":
        path.write_text("keep me", encoding="utf-8")
    else:
        path.mkdir()
    status = main(["lab", "simulate", "--link", str(path), "--duration", "0"])
    error = capsys.readouterr().err
    assert status == 2
    assert str(path) in error
    assert "シンボリックリンクではありません" in error
    assert (path.read_text(encoding="utf-8") == "keep me") if kind == "file" else path.is_dir()
    assert not os.path.lexists(tmp_path / "ttySIM.new")


def test_simulate_link_replaces_old_symlink(tmp_path, capsys):
    path = tmp_path / "ttySIM"
    path.symlink_to("/dev/null")
    status = main(["lab", "simulate", "--link", str(path), "--duration", "0.2"])
    assert status == 0, capsys.readouterr().err
    assert not os.path.lexists(path)


def test_readings_duration_ends_while_port_gone(tmp_path):
    link = tmp_path / "ttySIM"
    finished = threading.Event()
    with SensorSimulator(sensor="env", rate=20, link=link, random_state=0) as simulator:
        sensor = SerialSensor(str(link), backoff_initial=0.05, backoff_max=5.0).open()
        simulator.unplug()

        def read() -> None:
            list(sensor.readings(duration=1.0))
            finished.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # Generous bound: the duration is 1 s, and a reopen loop without a deadline never ends.
        reader.join(timeout=30)
        sensor.close()
    assert finished.is_set()


def test_bridge_duration_with_port_gone(tmp_path):
    link = tmp_path / "ttySIM"
    with SensorSimulator(sensor="env", rate=20, link=link, random_state=0) as simulator:
        process = subprocess.Popen(
            KENSHU + ["bridge", "--port", str(link), "--broker", f"mqtt://127.0.0.1:{free_port()}",
                      "--duration", "3", "--spool", str(tmp_path / "s.sqlite")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "KENSHU_LANG": "ja"},
        )
        try:
            # The bridge prints its start line once the port is open and the broker is up.
            while "を読み、" not in process.stdout.readline():
                pass
            simulator.unplug()
            output, errors = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 0, errors
    assert "シリアルポート" in errors
    assert "serial port" not in errors
    assert "ブリッジを停止しました" in output


def test_bridge_duration_with_broker_away(tmp_path):
    with SensorSimulator(sensor="env", rate=20, random_state=0) as simulator:
        started = time.monotonic()
        result = run_kenshu(["bridge", "--port", simulator.path, "--broker", f"mqtt://127.0.0.1:{free_port()}",
                             "--username", "u", "--duration", "1", "--spool", str(tmp_path / "s.sqlite")],
                            KENSHU_MQTT_PASSWORD="x")
        elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "ブリッジを停止しました" in result.stdout
    # Generous: 1 s of reading, Python start-up and no flush while the broker is away. The old
    # behaviour (5 s first-connect wait plus a 10 s flush) took over 16 s.
    assert elapsed < 12


def http_like_server(stop: threading.Event) -> tuple[int, threading.Thread]:
    """Listen on a free port of 127.0.0.1 and reply to every connection as a web server would."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)

    def serve() -> None:
        with listener:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                with connection:
                    connection.settimeout(1)
                    try:
                        connection.recv(1024)
                        connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    except OSError:
                        pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def test_bridge_says_why_http_port_fails(tmp_path):
    stop = threading.Event()
    port, server = http_like_server(stop)
    try:
        with SensorSimulator(sensor="env", rate=20, random_state=0) as simulator:
            result = run_kenshu(["bridge", "--port", simulator.path, "--broker", f"mqtt://127.0.0.1:{port}",
                                 "--duration", "3", "--spool", str(tmp_path / "s.sqlite")])
    finally:
        stop.set()
        server.join()
    assert result.returncode == 0, result.stderr
    assert f"ブローカー mqtt://127.0.0.1:{port} に接続できません" in result.stderr
    assert "MQTT ではない応答" in result.stderr or "MQTT の応答がありません" in result.stderr
    # Several attempts in 3 s, but the same reason is logged once.
    assert result.stderr.count("に接続できません") == 1


def test_bridge_says_why_tls_fails(mosquitto, tmp_path):
    url = mosquitto.url.replace("mqtt://", "mqtts://")
    with SensorSimulator(sensor="env", rate=20, random_state=0) as simulator:
        result = run_kenshu(["bridge", "--port", simulator.path, "--broker", url, "--duration", "3",
                             "--spool", str(tmp_path / "s.sqlite")])
    assert result.returncode == 0, result.stderr
    assert "TLS の接続に失敗しました" in result.stderr
    assert "組み込みブローカー" not in result.stdout


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--rate", "0"], "--rate 0 は使えません"),
        (["--rate", "50000"], "--rate 50000 は使えません"),
        (["--corrupt", "2"], "--corrupt 2 は使えません"),
        (["--link", "/nonexistent/dir/x"], "フォルダ /nonexistent/dir がありません"),
        (["--device-id", "bad id"], "--device-id 'bad id' は使えません"),
    ],
)
def test_simulate_bad_options_in_japanese(capsys, arguments, expected):
    status = main(["lab", "simulate", *arguments, "--duration", "0"])
    captured = capsys.readouterr()
    assert status == 2
    assert expected in captured.err
    assert "Traceback" not in captured.err
    assert "起動しました" not in captured.out


def test_bridge_missing_ca_certs(tmp_path, capsys):
    with SensorSimulator(sensor="env", rate=20, random_state=0) as simulator:
        status = main(["lab", "bridge", "--port", simulator.path, "--ca-certs", str(tmp_path / "nope" / "ca.crt"),
                       "--spool", str(tmp_path / "s.sqlite"), "--duration", "1"])
    error = capsys.readouterr().err
    assert status == 2
    assert "CA 証明書ファイル" in error
    assert "ca.crt" in error


def test_subscribe_bad_topic_filter(capsys):
    status = main(["lab", "subscribe", "--broker", f"mqtt://127.0.0.1:{free_port()}", "--topic", "kenshu/#/x"])
    error = capsys.readouterr().err
    assert status == 2
    assert "トピックフィルタ 'kenshu/#/x' が正しくありません" in error
    assert "ブローカー" not in error.split("トピックフィルタ")[0]


@pytest.mark.parametrize("kind", ["folder", "no_folder"])
def test_subscribe_csv_checked_first(mosquitto, tmp_path, capsys, kind):
    target = tmp_path if kind == "folder" else tmp_path / "missing" / "out.csv"
    status = main(["lab", "subscribe", "--broker", mosquitto.url, "--duration", "30", "--csv", str(target)])
    captured = capsys.readouterr()
    assert status == 2
    assert "受信を始める前に止めました" in captured.err
    assert "購読しています" not in captured.out


def test_decode_tts_non_utf8(tmp_path, capsys):
    path = tmp_path / "up.json"
    path.write_bytes(b'{"a": "\xff\xfe"}')
    status = main(["lab", "decode", "tts", str(path)])
    error = capsys.readouterr().err
    assert status == 2
    assert "UTF-8 のテキストではありません" in error
    assert "UnicodeDecodeError" not in error


def test_decode_tts_folder_input(tmp_path, capsys):
    status = main(["lab", "decode", "tts", str(tmp_path)])
    error = capsys.readouterr().err
    assert status == 2
    assert "ファイルではありません" in error
    assert "見つかりません" not in error


def test_decode_tts_json_array(tmp_path, capsys):
    path = tmp_path / "up.json"
    path.write_text("[1, 2]", encoding="utf-8")
    status = main(["lab", "decode", "tts", str(path)])
    error = capsys.readouterr().err
    assert status == 2
    assert "オブジェクト" in error
    assert "list indices" not in error


def test_bridge_summary_problems_in_japanese(tmp_path):
    with SensorSimulator(sensor="env", rate=100, corrupt=0.3, random_state=1) as simulator:
        result = run_kenshu(["bridge", "--port", simulator.path, "--broker", f"mqtt://127.0.0.1:{free_port()}",
                             "--count", "60", "--spool", str(tmp_path / "s.sqlite")])
    assert result.returncode == 0, result.stderr
    summary = result.stdout.splitlines()[-1]
    assert "行の問題: " in summary
    assert "{" not in summary
    assert " 件" in summary.split("行の問題: ")[1]
    assert "KS1 line problem" not in result.stderr
    assert "KS1 の行の問題" in result.stderr


def test_embedded_broker_probe_is_quiet(tmp_path):
    url = f"mqtt://127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        KENSHU + ["subscribe", "--broker", url, "--duration", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KENSHU_LANG": "ja"},
    )
    try:
        process.stdout.readline()
        # Another command checking for a broker connects and closes without MQTT.
        for _ in range(3):
            assert broker_reachable(url)
        output, errors = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, errors
    assert "No data from" not in errors
    assert "Failed to initialize client session" not in errors


def test_decode_repeated_field(capsys):
    status = main(["lab", "decode", "sigfox", "0102", "--grammar", "a:0:uint:8 a:1:uint:8"])
    error = capsys.readouterr().err
    assert status == 2
    assert "フィールド名 a が 2 回出てきます" in error


def test_decode_zero_bits_reason(capsys):
    status = main(["lab", "decode", "sigfox", "0102", "--grammar", "temperature:0:int:0"])
    error = capsys.readouterr().err
    assert status == 2
    assert "'temperature:0:int:0'" in error
    assert "ビット長は 1 以上です" in error
    assert "またいでいます" not in error


def test_decode_error_echoes_grammar_as_typed(capsys):
    status = main(["lab", "decode", "sigfox", "0102", "--grammar", "a:1:int:12"])
    error = capsys.readouterr().err
    assert status == 2
    assert "'a:1:int:12'" in error
    assert "a:1.0:int:12" not in error


def test_decode_tts_without_frm_payload(tmp_path, capsys):
    from kenshu.hardware_labs.lpwa import make_tts_uplinks

    uplink = make_tts_uplinks(1, random_state=0)[0]
    del uplink["uplink_message"]["frm_payload"]
    path = tmp_path / "up.json"
    path.write_text(json.dumps(uplink), encoding="utf-8")
    status = main(["lab", "decode", "tts", str(path), "--grammar", "t:0:int:16"])
    error = capsys.readouterr().err
    assert status == 2
    assert "frm_payload がありません" in error


def test_decode_tts_hints_grammar(tmp_path, capsys):
    from kenshu.hardware_labs.lpwa import make_tts_uplinks

    path = tmp_path / "up.json"
    path.write_text(json.dumps(make_tts_uplinks(1, random_state=0)[0]), encoding="utf-8")
    status = main(["lab", "decode", "tts", str(path)])
    captured = capsys.readouterr()
    assert status == 0
    assert json.loads(captured.out)["fields"] == {}
    assert "--grammar" in captured.err
