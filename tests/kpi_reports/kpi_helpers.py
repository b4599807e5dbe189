"""Constants and sheet writers shared by the attendance and KPI tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE_SHEET = REPO / "courses" / "sample_press" / "attendance" / "出席簿_2026.csv"
COMPANY = "株式会社さくら精工"
COURSE_ID = "sakura-press-2026"
SESSIONS = [dt.date(2026, 6, 4), dt.date(2026, 6, 18), dt.date(2026, 7, 2)]
TRAINEES = [
    ("s01", "山田 太郎"),
    ("s02", "佐藤 花子"),
    ("s03", "鈴木 一郎"),
    ("s04", "高橋 美咲"),
    ("s05", "田中 健"),
    ("s06", "伊藤 さくら"),
]



def write_sheet(path: Path, rows: list[tuple[str, ...]], *, encoding: str = "cp932") -> Path:
    """Write *rows* as a CSV sign-in sheet with CR LF line ends, the way Excel saves one."""
    text = "".join(",".join(row) + "\r\n" for row in rows)
    path.write_bytes(text.encode(encoding))
    return path


HEADER = ("日付", "氏名", "会社名", "出欠")


def full_sheet_rows(marks: dict[tuple[str, dt.date], str] | None = None) -> list[tuple[str, ...]]:
    """Return a clean sheet of every trainee at every session, all 出 unless *marks* gives another mark."""
    marks = marks or {}
    rows = [HEADER]
    for date in SESSIONS:
        for _, name in TRAINEES:
            rows.append((f"{date.year}/{date.month}/{date.day}", name, COMPANY, marks.get((name, date), "出")))
    return rows
