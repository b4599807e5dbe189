"""Serial-to-MQTT benchmark: throughput, latency, bridge CPU and readings lost across a Mosquitto restart.

Setup, all on 127.0.0.1, once per bridge design:

- a `SensorSimulator` (motor current board) on a pseudo-terminal in this
  process, writing ``--rate`` lines per second and stamping each line's
  write time;
- the bridge in a child process, reading the pseudo-terminal and publishing
  with QoS 1 through its SQLite spool. ``current`` is ``kenshu lab bridge``
  as a user runs it. ``baseline`` is the previous design
  (benchmarks/baseline_serial_bridge.py): paho's network thread plus a sender
  thread woken for every reading and every acknowledgement, publishing each
  reading after reading it back from the spool;
- a Mosquitto started here with a generated configuration (persistence on),
  restarted with SIGTERM ``--restart-at`` seconds into the run and kept down
  for ``--down-for`` seconds;
- a paho-mqtt subscriber with a persistent session, stamping each arrival.

Latency is arrival time minus write time of the same sequence number. A
reading is lost when its sequence number falls in the measured window and
never arrives. That includes lines the simulator had to drop because the
bridge did not read the pseudo-terminal in time, and lines the bridge read
but never delivered. The steady-state latency leaves out readings written
between the broker stop and the moment the bridge's backlog has arrived.
Bridge CPU is user plus system time of the bridge process during the window.

Run: ``.venv/bin/python benchmarks/bench_serial_mqtt.py [--duration 60] [--designs baseline,current] [--rounds 2]``.
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

BENCHMARKS = Path(__file__).resolve().parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Seconds the simulator keeps running after the window, so that lines written
# inside the window leave its transmit buffer before it stops.
TAIL_SECONDS = 2.0


class ArrivalRecorder:
    """A persistent-session subscriber that stamps each (source, message_id) on arrival."""

    def __init__(self, port: int, client_id: str) -> None:
        self.arrivals: dict[tuple[str, int], tuple[int, float]] = {}
        self.duplicates = 0
        self.sequence_repeats = 0
        self._sequences: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.reconnect_delay_set(min_delay=0.05, max_delay=0.5)
        self.client.on_connect = lambda client, userdata, flags, code, properties: client.subscribe("bench/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        now = time.time()
        payload = json.loads(message.payload)
        key = (payload["source"], payload["message_id"])
        reading_key = (payload["device_id"], payload["sequence"])
        with self._lock:
            # A repeat is detected both by the bridge's message id and by the
            # board's own (device id, sequence number); the two counts must agree.
            if reading_key in self._sequences:
                self.sequence_repeats += 1
            self._sequences.add(reading_key)
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


def cpu_seconds(pid: int) -> float:
    """Return user plus system CPU seconds used so far by process *pid* (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def bridge_command(design: str, port: str, broker_url: str, spool: Path) -> list[str]:
    """Return the command line that starts the bridge of *design* on *port*."""
    common = ["--broker", broker_url, "--site", "bench", "--spool", str(spool), "--client-id", f"bench-{design}"]
    if design == "baseline":
        return [sys.executable, str(BENCHMARKS / "baseline_serial_bridge.py"), "--port", port, *common]
    return [sys.executable, "-m", "kenshu", "lab", "bridge", "--port", port, *common]


def run_design(design: str, args: argparse.Namespace) -> dict:
    """Run one bridge design through a full window with a broker restart; return its figures."""
    workdir = Path(tempfile.mkdtemp(prefix=f"kenshu-bench-{design}-"))
    written: dict[int, float] = {}
    broker = MosquittoBroker(directory=workdir / "mosquitto").start()
    recorder = ArrivalRecorder(broker.port, client_id=f"bench-subscriber-{design}")
    simulator = SensorSimulator(sensor="current", rate=args.rate, random_state=0, on_line=written.__setitem__)
    simulator.start()

    # 1. The bridge in its own process, as a user runs it; one second to settle.
    bridge = subprocess.Popen(
        bridge_command(design, simulator.path, broker.url, workdir / "spool.sqlite"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "KENSHU_LANG": "en"},
    )
    bridge.stdout.readline()  # printed once the port is open
    time.sleep(1.0)
    start = time.time()
    cpu_start = cpu_seconds(bridge.pid)
    dropped_start = simulator.lines_dropped

    # 2. Run, restarting the broker in the middle.
    time.sleep(args.restart_at)
    broker_down = time.time()
    broker.restart(down_for=args.down_for)
    broker_up = time.time()
    time.sleep(max(0.0, args.duration - (time.time() - start)))
    end = time.time()
    cpu_end = cpu_seconds(bridge.pid)
    dropped_in_window = simulator.lines_dropped - dropped_start
    load = os.getloadavg()
    time.sleep(TAIL_SECONDS)
    simulator.stop()

    # 3. The window is every sequence number between the first and the last
    #    line stamped inside it, including lines the simulator had to drop.
    in_window = [sequence for sequence, stamp in list(written.items()) if start <= stamp <= end]
    expected = set(range(min(in_window), max(in_window) + 1))
    deadline = time.time() + 60
    while time.time() < deadline:
        if expected <= {sequence for sequence, _ in recorder.snapshot()}:
            break
        time.sleep(0.2)
    bridge.send_signal(signal.SIGTERM)
    bridge_output = bridge.communicate(timeout=60)[0].strip()
    recorder.stop()
    broker.stop()

    # 4. Figures.
    arrivals = [(sequence, stamp) for sequence, stamp in recorder.snapshot() if sequence in expected and sequence in written]
    received = {sequence for sequence, _ in arrivals}
    latencies = np.array([(stamp - written[sequence]) * 1000 for sequence, stamp in arrivals])
    write_times = np.array([written[sequence] for sequence, _ in arrivals])
    arrival_times = np.array([stamp for _, stamp in arrivals])
    backlog = write_times < broker_up
    drained_at = arrival_times[backlog].max() if backlog.any() else broker_up
    steady = (write_times < broker_down - 0.1) | (write_times > drained_at)
    return {
        "design": design,
        "seconds": end - start,
        "expected": len(expected),
        "received": len(received),
        "lost": len(expected - received),
        "dropped_by_simulator": dropped_in_window,
        "duplicates": recorder.duplicates,
        "sequence_repeats": recorder.sequence_repeats,
        "throughput": len(received) / (end - start),
        "steady_n": int(steady.sum()),
        "steady_p50": float(np.percentile(latencies[steady], 50)),
        "steady_p99": float(np.percentile(latencies[steady], 99)),
        "steady_max": float(latencies[steady].max()),
        "all_p50": float(np.percentile(latencies, 50)),
        "all_p99": float(np.percentile(latencies, 99)),
        "all_max": float(latencies.max()),
        "recovery": drained_at - broker_up,
        "cpu_seconds": cpu_end - cpu_start,
        "cpu_ms_per_1000": (cpu_end - cpu_start) * 1000 / max(1, len(received)) * 1000,
        "load": load,
        "bridge_output": bridge_output.splitlines()[-1] if bridge_output else "-",
    }


def print_figures(figures: dict, args: argparse.Namespace) -> None:
    load = ", ".join(f"{value:.2f}" for value in figures["load"])
    print(f"== {figures['design']} bridge ==")
    print(f"run: {figures['seconds']:.1f} s, simulator asked for {args.rate:g} lines/s; "
          f"Mosquitto restarted at {args.restart_at:g} s for {args.down_for:g} s; load average at the end {load}")
    print(f"readings in the window: {figures['expected']}, received: {figures['received']}, lost: {figures['lost']} "
          f"(of which dropped by the simulator because the bridge read too slowly: {figures['dropped_by_simulator']})")
    print(f"duplicates dropped by (source, message_id): {figures['duplicates']}, "
          f"by (device_id, sequence): {figures['sequence_repeats']}")
    print(f"throughput: {figures['throughput']:.0f} readings/s sustained end to end")
    print(f"latency steady state (n={figures['steady_n']}): p50 {figures['steady_p50']:.2f} ms, "
          f"p99 {figures['steady_p99']:.2f} ms, max {figures['steady_max']:.1f} ms")
    print(f"latency all readings: p50 {figures['all_p50']:.2f} ms, p99 {figures['all_p99']:.1f} ms, "
          f"max {figures['all_max']:.0f} ms; backlog delivered {figures['recovery']:.2f} s after the broker was back")
    print(f"bridge CPU: {figures['cpu_seconds']:.1f} s in the window = {figures['cpu_ms_per_1000']:.0f} ms per 1000 readings "
          f"({figures['cpu_seconds'] / figures['seconds'] * 100:.0f}% of one core)")
    print(f"bridge: {figures['bridge_output']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds in the measured window")
    parser.add_argument("--rate", type=float, default=2500.0, help="lines per second written by the simulator")
    parser.add_argument("--restart-at", type=float, default=30.0, help="seconds into the window to restart Mosquitto")
    parser.add_argument("--down-for", type=float, default=1.0, help="seconds Mosquitto stays down")
    parser.add_argument("--designs", default="baseline,current", help="comma-separated: baseline, current")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of each design, alternating their order; medians are compared")
    args = parser.parse_args()
    designs = [name.strip() for name in args.designs.split(",") if name.strip()]
    if not designs or set(designs) - {"baseline", "current"}:
        parser.error(f"--designs must list baseline and/or current, got {args.designs!r}")
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")

    print(f"machine: {os.cpu_count()} CPU(s), shared with other jobs; load average at start "
          f"{', '.join(f'{value:.2f}' for value in os.getloadavg())}")
    # Alternate the order in each round, so that a change in the machine's
    # load over time does not always favour the same design.
    runs: dict[str, list[dict]] = {design: [] for design in designs}
    for round_index in range(args.rounds):
        for design in designs if round_index % 2 == 0 else designs[::-1]:
            figures = run_design(design, args)
            runs[design].append(figures)
            print_figures(figures, args)

    summary = {design: summarize(figures) for design, figures in runs.items()}
    print(f"== summary over {args.rounds} round(s): medians, lost and duplicates summed ==")
    for design, figures in summary.items():
        print(f"{design}: {figures['throughput']:.0f} readings/s, steady p50 {figures['steady_p50']:.2f} ms, "
              f"steady p99 {figures['steady_p99']:.2f} ms, {figures['cpu_ms_per_1000']:.0f} ms CPU per 1000 readings, "
              f"lost {figures['lost']}, duplicates dropped {figures['duplicates']}")
    if "baseline" in summary and "current" in summary:
        base, current = summary["baseline"], summary["current"]
        print("== current against baseline (same machine, same process tree) ==")
        print(f"bridge CPU per reading: {base['cpu_ms_per_1000'] / current['cpu_ms_per_1000']:.2f}x less")
        print(f"steady-state p99 latency: {base['steady_p99'] / current['steady_p99']:.2f}x lower "
              f"({base['steady_p99']:.2f} ms -> {current['steady_p99']:.2f} ms)")
        print(f"throughput: {current['throughput'] / base['throughput']:.2f}x; lost: {base['lost']} -> {current['lost']}")
    return 0 if all(figures["lost"] == 0 for figures in summary.values()) else 1


def summarize(runs: list[dict]) -> dict:
    """Return the median of each figure over *runs*, with lost and duplicate readings summed."""
    summary = {key: float(np.median([figures[key] for figures in runs]))
               for key in ("throughput", "steady_p50", "steady_p99", "cpu_ms_per_1000")}
    summary["lost"] = sum(figures["lost"] for figures in runs)
    summary["duplicates"] = sum(figures["duplicates"] for figures in runs)
    return summary


# NOTE: the simulator, the subscriber and this bookkeeping share one Python
# process, and the bridge runs in a second one; on a machine with two cores,
# anything else running lowers every figure here, so compare designs within
# one run rather than across runs.


if __name__ == "__main__":
    sys.exit(main())
