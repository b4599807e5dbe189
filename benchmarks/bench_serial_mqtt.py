"""Serial-to-MQTT benchmark: throughput, latency and readings lost across a Mosquitto restart.

Setup, all on 127.0.0.1:

- a `SensorSimulator` (motor current board) on a pseudo-terminal in this
  process, writing ``--rate`` lines per second and stamping each line's
  write time;
- ``kenshu lab bridge`` in a child process, reading the pseudo-terminal and
  publishing with QoS 1 through its SQLite spool;
- a Mosquitto started here with a generated configuration (persistence on),
  restarted with SIGTERM ``--restart-at`` seconds into the run and kept down
  for ``--down-for`` seconds;
- a paho-mqtt subscriber with a persistent session, stamping each arrival.

Latency is arrival time minus write time of the same sequence number. The
steady-state figures leave out readings written between one second before
the restart and the moment the bridge's spool has drained. A reading is lost when its
sequence number was written and never arrived.

Run: ``.venv/bin/python benchmarks/bench_serial_mqtt.py [--duration 60]``.
Targets: at least 2,000 readings/s, p99 under 20 ms, zero lost.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt

from kenshu.hardware_labs.broker import MosquittoBroker
from kenshu.hardware_labs.simulator import SensorSimulator


class ArrivalRecorder:
    """A persistent-session subscriber that stamps each (source, message_id) on arrival."""

    def __init__(self, port: int) -> None:
        self.arrivals: dict[tuple[str, int], tuple[int, float]] = {}
        self.duplicates = 0
        self.max_message_id = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-subscriber", clean_session=False)
        self.client.reconnect_delay_set(min_delay=0.05, max_delay=0.5)
        self.client.on_connect = lambda client, userdata, flags, code, properties: client.subscribe("bench/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        now = time.time()
        payload = json.loads(message.payload)
        key = (payload["source"], payload["message_id"])
        with self._lock:
            self.max_message_id = max(self.max_message_id, payload["message_id"])
            if key in self.arrivals:
                self.duplicates += 1
            else:
                self.arrivals[key] = (payload["sequence"], now)

    def snapshot(self) -> list[tuple[int, float]]:
        """Return (sequence, arrival time) of every distinct message so far."""
        with self._lock:
            return list(self.arrivals.values())

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds the simulator writes")
    parser.add_argument("--rate", type=float, default=2500.0, help="lines per second written by the simulator")
    parser.add_argument("--restart-at", type=float, default=30.0, help="seconds into the run to restart Mosquitto")
    parser.add_argument("--down-for", type=float, default=1.0, help="seconds Mosquitto stays down")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="kenshu-bench-"))
    written: dict[int, float] = {}
    broker = MosquittoBroker(directory=workdir / "mosquitto").start()
    recorder = ArrivalRecorder(broker.port)
    simulator = SensorSimulator(sensor="current", rate=args.rate, random_state=0, on_line=written.__setitem__)
    simulator.start()
    written.clear()  # the bridge is not reading yet; count from its start

    # 1. The bridge as a user runs it, in its own process.
    bridge = subprocess.Popen(
        [sys.executable, "-m", "kenshu", "lab", "bridge", "--port", simulator.path, "--broker", broker.url,
         "--site", "bench", "--spool", str(workdir / "spool.sqlite"), "--client-id", "bench-bridge"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "KENSHU_LANG": "en"},
    )
    bridge.stdout.readline()  # "Reading ... and publishing ..." once the port is open
    time.sleep(1.0)
    written.clear()
    start = time.time()

    # 2. Run, restarting the broker in the middle.
    time.sleep(args.restart_at)
    restart_time = time.time()
    broker.restart(down_for=args.down_for)
    time.sleep(max(0.0, args.duration - (time.time() - start)))
    simulator.stop()
    end = time.time()

    # 3. Let the bridge drain its spool, then stop it.
    deadline = time.time() + 60
    expected = {sequence for sequence, stamp in written.items() if start <= stamp <= end}
    while time.time() < deadline:
        received = {sequence for sequence, _ in recorder.snapshot()}
        if expected <= received:
            break
        time.sleep(0.2)
    bridge.send_signal(signal.SIGTERM)
    bridge_output = bridge.communicate(timeout=60)[0].strip()
    recorder.stop()
    broker.stop()

    # 4. Figures.
    arrivals = [(sequence, stamp) for sequence, stamp in recorder.snapshot() if sequence in expected]
    received = {sequence for sequence, _ in arrivals}
    latencies = np.array([(stamp - written[sequence]) * 1000 for sequence, stamp in arrivals])
    write_times = np.array([written[sequence] for sequence, _ in arrivals])
    last_spooled = max((written[s] for s, stamp in arrivals if stamp - written[s] > 0.1 and written[s] >= restart_time - 1), default=restart_time)
    steady = (write_times < restart_time - 1.0) | (write_times > last_spooled)
    lost = len(expected - received)

    print(f"run: {end - start:.1f} s at {args.rate:g} lines/s, Mosquitto restarted at {args.restart_at:g} s for {args.down_for:g} s")
    print(f"readings written: {len(expected)}, received: {len(received)}, lost: {lost}, duplicates dropped: {recorder.duplicates}")
    # Message ids of one fresh spool run 1, 2, 3, ... so any id never received was lost after the bridge read it.
    lost_after_bridge = recorder.max_message_id - len(recorder.arrivals)
    print(f"  lost after the bridge read them (MQTT path): {lost_after_bridge}; "
          f"never read from the pseudo-terminal (bridge too slow, buffer full): {lost - lost_after_bridge}")
    print(f"throughput: {len(received) / (end - start):.0f} readings/s sustained end to end")
    print(f"latency steady state (n={int(steady.sum())}): p50 {np.percentile(latencies[steady], 50):.2f} ms, "
          f"p99 {np.percentile(latencies[steady], 99):.2f} ms, max {latencies[steady].max():.1f} ms")
    print(f"latency all readings (n={len(latencies)}): p50 {np.percentile(latencies, 50):.2f} ms, "
          f"p99 {np.percentile(latencies, 99):.2f} ms, max {latencies.max():.0f} ms (spooled during the restart)")
    print(f"bridge: {bridge_output.splitlines()[-1] if bridge_output else '-'}")
    print(f"simulator lines dropped for a full pseudo-terminal buffer: {simulator.lines_dropped}")
    return 0 if lost == 0 else 1


# NOTE: the simulator, the subscriber and this bookkeeping share one Python
# process, and the bridge runs in a second one; on a machine with two cores,
# anything else running lowers every figure here.


if __name__ == "__main__":
    sys.exit(main())
