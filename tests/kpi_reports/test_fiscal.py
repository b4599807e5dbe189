"""Fiscal years (1 April to 31 March) and their 和暦 labels."""

from __future__ import annotations

import datetime as dt

import pytest

from kenshu.kpi_reports.fiscal import current_fiscal_year, fiscal_year, fiscal_year_bounds, fiscal_year_label, gregorian_year


def test_fiscal_year_march_31() -> None:
    assert fiscal_year(dt.date(2027, 3, 31)) == 2026


def test_fiscal_year_april_1() -> None:
    assert fiscal_year(dt.date(2027, 4, 1)) == 2027


def test_fiscal_year_january() -> None:
    assert fiscal_year(dt.date(2027, 1, 15)) == 2026


def test_fiscal_year_bounds() -> None:
    assert fiscal_year_bounds(2026) == (dt.date(2026, 4, 1), dt.date(2027, 3, 31))


@pytest.mark.parametrize(
    ("year", "label"),
    [
        (2026, "2026年度（令和8年度）"),
        (2019, "2019年度（令和元年度）"),
        (2020, "2020年度（令和2年度）"),
        (2018, "2018年度（平成30年度）"),
        (1989, "1989年度（平成元年度）"),
    ],
)
def test_fiscal_year_label(year: int, label: str) -> None:
    assert fiscal_year_label(year) == label


def test_fiscal_year_label_english() -> None:
    assert fiscal_year_label(2019, lang="en") == "FY2019 (Reiwa 1)"


def test_first_reiwa_fiscal_year_starts_in_heisei() -> None:
    # 1 April 2019 was still 平成31年, yet the fiscal year is 令和元年度.
    assert fiscal_year(dt.date(2019, 4, 1)) == 2019
    assert fiscal_year_label(fiscal_year(dt.date(2019, 4, 30))) == "2019年度（令和元年度）"


@pytest.mark.parametrize(("era", "number", "year"), [("令和", 1, 2019), ("R", 8, 2026), ("r", 8, 2026), ("平成", 31, 2019)])
def test_gregorian_year(era: str, number: int, year: int) -> None:
    assert gregorian_year(era, number) == year


def test_gregorian_year_rejects_zero() -> None:
    with pytest.raises(ValueError):
        gregorian_year("令和", 0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 31 March 23:59 JST is still the old fiscal year; 1 April 00:00 JST is the new one.
        (dt.datetime(2027, 3, 31, 14, 59, tzinfo=dt.timezone.utc), 2026),
        (dt.datetime(2027, 3, 31, 15, 0, tzinfo=dt.timezone.utc), 2027),
        (dt.datetime(2027, 4, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=9))), 2027),
    ],
)
def test_current_fiscal_year_by_japan_date(now: dt.datetime, expected: int) -> None:
    assert current_fiscal_year(now) == expected


def test_current_fiscal_year_rejects_naive_time() -> None:
    with pytest.raises(ValueError, match="time zone"):
        current_fiscal_year(dt.datetime(2027, 4, 1))
