"""Benchmark: import 100,000 generated attendance rows in mixed encodings, then write the KPI report.

Run: ``python benchmarks/bench_kpi_import.py [--rows 100000] [--workdir DIR]``.

Measured, each in a fresh process so that peak memory is per step:
1. the first import of every file into a new SQLite store;
2. a second import of the same files, which must add nothing (the content
   hash recognises them);
3. a forced second import (``force=True``), which reads every row again and
   must still add nothing (the natural key recognises each record);
4. the public KPI report of fiscal year 2026.

Wall time and CPU time are both printed, because on a shared machine the
wall time mostly measures the other processes. Peak memory is the process's
maximum resident set size (``ru_maxrss``), so it
includes the Python interpreter and the imported libraries. Target: under
10 s and 500 MB for each step.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENCODINGS = ("cp932", "utf-8-sig", "utf-8")
FAMILY = "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水".split()
GIVEN = "太郎 花子 一郎 美咲 健 さくら 翔太 陽菜 大輔 結衣 拓也 彩 直樹 由美 誠 真由美 和也 愛 浩 恵".split()
MARKS = ("出", "〇", "○", "欠", "×", "遅刻", "早退")


def generate(folder: Path, rows: int, *, random_state: int = 0) -> list[Path]:
    """Write sign-in sheets with *rows* rows in total: 100 trainees per course, 20 sessions, one file per course."""
    rng = random.Random(random_state)
    per_course = 100 * 20
    courses = max(1, rows // per_course)
    paths = []
    for course in range(courses):
        company = f"株式会社テスト工業{course:03d}"
        names = [f"{FAMILY[(course + i) % 20]} {GIVEN[(course * 7 + i) % 20]}{i}" for i in range(100)]
        lines = ["日付,氏名,会社名,出欠,コースID"]
        for session in range(20):
            month, day = 4 + session // 3 % 9, 1 + session * 9 % 28
            date = f"令和8年{month}月{day}日" if session % 4 == 0 else f"2026/{month}/{day}"
            for name in names:
                lines.append(f"{date},{name},{company},{rng.choice(MARKS)},bench-{course:03d}")
        path = folder / f"出席簿_{course:03d}.csv"
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode(ENCODINGS[course % 3]))
        paths.append(path)
    return paths


def _step(step: str, workdir: Path) -> dict[str, float]:
    """Run one measured step in this process and return its time and peak memory."""
    os.environ["KENSHU_PROGRESS"] = "0"
    from kenshu.kpi_reports.importer import import_signin_sheet
    from kenshu.kpi_reports.report import write_report
    from kenshu.kpi_reports.store import open_store

    files = sorted((workdir / "sheets").glob("*.csv"))
    factory = open_store(workdir / "attendance.sqlite")
    added = present = read = 0

    start, cpu_start = time.perf_counter(), time.process_time()
    if step == "report":
        write_report(2026, db=factory, out_dir=workdir / "report")
    else:
        for path in files:
            result = import_signin_sheet(path, db=factory, force=(step == "forced"))
            read += result.rows_read
            added += result.added
            present += result.present
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2), "peak_mb": round(peak_mb, 1), "read": read, "added": added, "present": present}


def main() -> None:
    """Generate the sheets, run each step in a child process and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.step:
        print(json.dumps(_step(args.step, args.workdir)))
        return

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_kpi_"))
    (workdir / "sheets").mkdir(parents=True, exist_ok=True)
    files = generate(workdir / "sheets", args.rows)
    print(f"{len(files)} files, {args.rows:,} rows, encodings {', '.join(ENCODINGS)}, in {workdir}")

    for step in ("first", "again", "forced", "report"):
        output = subprocess.run(
            [sys.executable, __file__, "--step", step, "--workdir", str(workdir)],
            check=True, capture_output=True, text=True,
        ).stdout
        result = json.loads(output.strip().splitlines()[-1])
        print(f"{step:7s} {result['seconds']:7.2f} s wall {result['cpu_seconds']:7.2f} s CPU {result['peak_mb']:7.1f} MB  "
              f"read {result['read']:>7,}  added {result['added']:>7,}  present {result['present']:>7,}")


if __name__ == "__main__":
    main()
