"""Normalisation of dates, marks, names and company names as offices write them."""

from __future__ import annotations

import datetime as dt

import pytest

from kenshu.kpi_reports.normalise import (
    DateDoesNotExist,
    DateMissing,
    Status,
    company_key,
    name_key,
    normalise_text,
    parse_date,
    parse_mark,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026/4/1", dt.date(2026, 4, 1)),
        ("2026-04-01", dt.date(2026, 4, 1)),
        ("2026.4.1", dt.date(2026, 4, 1)),
        ("2026年4月1日", dt.date(2026, 4, 1)),
        ("２０２６/４/１", dt.date(2026, 4, 1)),
        ("令和8年4月1日", dt.date(2026, 4, 1)),
        ("令和８年４月１日", dt.date(2026, 4, 1)),
        ("R8.4.1", dt.date(2026, 4, 1)),
        ("r8/4/1", dt.date(2026, 4, 1)),
        ("Ｒ８．４．１", dt.date(2026, 4, 1)),
        ("令和元年5月1日", dt.date(2019, 5, 1)),
        ("R1.5.1", dt.date(2019, 5, 1)),
        ("平成31年4月30日", dt.date(2019, 4, 30)),
        (" 2026/6/4 ", dt.date(2026, 6, 4)),
        ("2026/10/7(水)", dt.date(2026, 10, 7)),
        ("令和８年１０月７日（水）", dt.date(2026, 10, 7)),
        ("2026年10月7日 (水曜日)", dt.date(2026, 10, 7)),
        ("2026年10月7日（水曜）", dt.date(2026, 10, 7)),
    ],
)
def test_parse_date_forms(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


def test_parse_date_passes_date_objects() -> None:
    assert parse_date(dt.datetime(2026, 6, 4, 9, 30)) == dt.date(2026, 6, 4)
    assert parse_date(dt.date(2026, 6, 4)) == dt.date(2026, 6, 4)


@pytest.mark.parametrize("text", ["", "来週", "2026/13/1", "2026/2/30", "令和元年4月1日", "R0.5.1", "6/4", "(水)", "2026/10/7(祝)"])
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        ("出", Status.PRESENT),
        ("〇", Status.PRESENT),
        ("○", Status.PRESENT),
        ("出席", Status.PRESENT),
        ("欠", Status.ABSENT),
        ("×", Status.ABSENT),
        ("欠席", Status.ABSENT),
        ("遅刻", Status.LATE),
        ("早退", Status.LEFT_EARLY),
        (" 出 ", Status.PRESENT),
        ("遅　刻", Status.LATE),
    ],
)
def test_parse_mark_forms(mark: str, expected: Status) -> None:
    assert parse_mark(mark) == expected


@pytest.mark.parametrize("mark", ["", "？", "休み", "1"])
def test_parse_mark_rejects(mark: str) -> None:
    with pytest.raises(ValueError):
        parse_mark(mark)


def test_name_key_spaces_and_width() -> None:
    assert name_key("山田 太郎") == "山田太郎"
    assert name_key("山田　太郎") == "山田太郎"
    assert name_key("山田太郎") == "山田太郎"
    assert name_key(" 山田  太郎 ") == "山田太郎"


def test_name_key_keeps_different_names_apart() -> None:
    assert name_key("田中 健") != name_key("田中 建")


def test_normalise_text_full_width() -> None:
    assert normalise_text("ｓ０１") == "s01"
    assert normalise_text("ＡＢＣ　株式会社") == "ABC 株式会社"
    assert normalise_text(None) == ""


def test_company_key_spellings() -> None:
    assert company_key("(株)さくら精工") == company_key("株式会社さくら精工")
    assert company_key("（株）さくら精工") == company_key("株式会社さくら精工")
    assert company_key("㈱さくら精工") == company_key("株式会社 さくら精工")
    assert company_key("(有)さくら精工") != company_key("株式会社さくら精工")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026/6/31", "6月は30日まで"),
        ("２０２６/２/２９", "2月は28日まで"),
        ("2026-13-01", "13月はありません"),
        ("令和8年9月31日", "9月は30日まで"),
        ("令和元年4月1日", "令和は 2019-05-01 から"),
    ],
)
def test_parse_date_day_does_not_exist(text: str, reason: str) -> None:
    with pytest.raises(DateDoesNotExist) as caught:
        parse_date(text)
    assert reason in caught.value.reason()


@pytest.mark.parametrize("value", ["", "  ", None])
def test_parse_date_missing(value: object) -> None:
    with pytest.raises(DateMissing):
        parse_date(value)
