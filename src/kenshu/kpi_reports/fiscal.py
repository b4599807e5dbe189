"""Fiscal years (年度, 1 April to 31 March) and Japanese era (和暦) years.

The programme reports by fiscal year, labelled both ways, for example
``2026年度（令和8年度）``. The fiscal year that began on 1 April 2019 is
called 令和元年度 although 令和 itself began on 1 May 2019; that is the usage
of Japanese public administration, followed here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Era:
    """A Japanese era: its name, the Latin letter used in short dates, and its first day."""

    name: str
    letter: str
    start: dt.date


# Newest first, so that the first era whose start is not after a date is its era.
ERAS: tuple[Era, ...] = (
    Era("令和", "R", dt.date(2019, 5, 1)),
    Era("平成", "H", dt.date(1989, 1, 8)),
    Era("昭和", "S", dt.date(1926, 12, 25)),
)


def era_by_name(name: str) -> Era:
    """Return the era called *name* (``令和``) or with the letter *name* (``R``, ``r``).

    Raises
    ------
    ValueError
        If no supported era has that name or letter.
    """
    for era in ERAS:
        if name == era.name or name.upper() == era.letter:
            return era
    raise ValueError(f"unknown era {name!r}; expected one of {[era.name for era in ERAS]}")


def fiscal_year(date: dt.date) -> int:
    """Return the fiscal year (年度) of *date*: the calendar year in which that 年度 began on 1 April."""
    return date.year if date.month >= 4 else date.year - 1


# Japan keeps no daylight saving time, so JST is a fixed offset.
JST = dt.timezone(dt.timedelta(hours=9), "JST")


def now_utc() -> dt.datetime:
    """Return the current time, UTC; the one place where kpi_reports reads the clock."""
    return dt.datetime.now(dt.timezone.utc)


def current_fiscal_year(now: dt.datetime | None = None) -> int:
    """Return the fiscal year in force at *now* (an aware datetime; default ``now_utc()``), by the date in Japan.

    From 00:00 JST on 1 April (15:00 UTC on 31 March) the new fiscal year has begun.
    """
    now = now if now is not None else now_utc()
    if now.tzinfo is None:
        raise ValueError(f"now must carry a time zone, got the naive datetime {now}")
    return fiscal_year(now.astimezone(JST).date())


def fiscal_year_bounds(year: int) -> tuple[dt.date, dt.date]:
    """Return the first and the last day of fiscal year *year* (1 April and 31 March)."""
    return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)


def era_year(date: dt.date) -> tuple[Era, int]:
    """Return the era of *date* and the year within it (1 for the first year, 元年)."""
    for era in ERAS:
        if date >= era.start:
            return era, date.year - era.start.year + 1
    raise ValueError(f"date {date} is before the first supported era ({ERAS[-1].name})")


def fiscal_era_year(year: int) -> tuple[Era, int]:
    """Return the era and era year that name fiscal year *year* (FY2019 is 令和 1, 令和元年度).

    A fiscal year takes the newest era that began in its calendar year or
    earlier, so the year that began in 平成 on 1 April 2019 is 令和元年度, and
    FY1988 (平成 began in January 1989, within it) stays 昭和63年度.
    """
    for era in ERAS:
        if era.start.year <= year:
            return era, year - era.start.year + 1
    raise ValueError(f"fiscal year {year} is before the first supported era ({ERAS[-1].name})")


def era_year_text(era_year_number: int) -> str:
    """Return ``元`` for the first year of an era and the number otherwise."""
    return "元" if era_year_number == 1 else str(era_year_number)


def fiscal_year_label(year: int, *, lang: str = "ja") -> str:
    """Return the label of fiscal year *year*: ``2026年度（令和8年度）``, or ``FY2026 (Reiwa 8)`` in English."""
    era, number = fiscal_era_year(year)
    if lang == "en":
        romaji = {"令和": "Reiwa", "平成": "Heisei", "昭和": "Showa"}[era.name]
        return f"FY{year} ({romaji} {number})"
    return f"{year}年度（{era.name}{era_year_text(number)}年度）"


def gregorian_year(era: Era | str, number: int) -> int:
    """Return the calendar year of year *number* of *era* (令和 1 is 2019).

    Raises
    ------
    ValueError
        If *number* is smaller than 1.
    """
    if number < 1:
        raise ValueError(f"era year must be 1 or more, got {number}")
    if isinstance(era, str):
        era = era_by_name(era)
    return era.start.year + number - 1
