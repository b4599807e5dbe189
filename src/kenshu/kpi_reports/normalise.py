"""Normalisation of what an office writes into a sign-in sheet.

Every cell is first put through Unicode NFKC, which turns full-width digits,
letters and spaces (``２０２６``, ``ｓ０１``, the ideographic space) into
their ASCII forms. On top of that this module reads dates in the ways people
write them (``2026/4/1``, ``2026-04-01``, ``令和8年4月1日``, ``R8.4.1``) and
attendance marks (``出``, ``〇``, ``欠``, ``遅刻`` …), and makes the keys
by which a name or a company is compared.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import unicodedata

from kenshu.kpi_reports.fiscal import ERAS, Era, era_by_name, gregorian_year


class Status(str, enum.Enum):
    """Attendance status of one trainee at one session."""

    PRESENT = "present"
    ABSENT = "absent"
    LATE = "late"
    LEFT_EARLY = "left_early"
    SUBMITTED = "submitted"


# Marks after NFKC and with spaces removed. NFKC leaves 〇 (U+3007), ○ (U+25CB)
# and ◯ (U+25EF) apart, so each is listed.
MARKS: dict[str, Status] = {
    "出": Status.PRESENT,
    "出席": Status.PRESENT,
    "〇": Status.PRESENT,
    "○": Status.PRESENT,
    "◯": Status.PRESENT,
    "欠": Status.ABSENT,
    "欠席": Status.ABSENT,
    "×": Status.ABSENT,
    "✕": Status.ABSENT,
    "x": Status.ABSENT,
    "X": Status.ABSENT,
    "遅": Status.LATE,
    "遅刻": Status.LATE,
    "早": Status.LEFT_EARLY,
    "早退": Status.LEFT_EARLY,
}

# The mark written for each status when a sheet is exported.
STATUS_MARKS: dict[Status, str] = {
    Status.PRESENT: "出",
    Status.ABSENT: "欠",
    Status.LATE: "遅刻",
    Status.LEFT_EARLY: "早退",
    Status.SUBMITTED: "提出",
}

_WHITESPACE = re.compile(r"\s+")
_WESTERN_DATE = re.compile(r"^(\d{4})\s*[/\-.年]\s*(\d{1,2})\s*[/\-.月]\s*(\d{1,2})\s*日?$")
_ERA_NAMES = "|".join(era.name for era in ERAS)
_ERA_LETTERS = "".join(era.letter for era in ERAS)
_ERA_DATE = re.compile(
    rf"^(?P<era>{_ERA_NAMES}|[{_ERA_LETTERS}{_ERA_LETTERS.lower()}])\s*(?P<year>\d{{1,2}}|元)\s*[/\-.年]\s*"
    r"(?P<month>\d{1,2})\s*[/\-.月]\s*(?P<day>\d{1,2})\s*日?$"
)
_COMPANY_FORMS = (("(株)", "株式会社"), ("(有)", "有限会社"), ("(合)", "合同会社"), ("㈱", "株式会社"), ("㈲", "有限会社"))


# A sheet repeats the same dates, names, companies and marks on many rows, so
# the text functions below cache their results for the strings they have seen.
_CACHE_SIZE = 65536


def normalise_text(value: object) -> str:
    """Return *value* as NFKC text with runs of whitespace made one space and the ends stripped."""
    if value is None:
        return ""
    return _normalise_string(value if isinstance(value, str) else str(value))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _normalise_string(text: str) -> str:
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def name_key(name: str) -> str:
    """Return the key by which two spellings of a person's name are the same: NFKC, no spaces.

    ``山田 太郎``, ``山田　太郎`` (ideographic space) and ``山田太郎`` share one key.
    """
    return normalise_text(name).replace(" ", "")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def company_key(name: str) -> str:
    """Return the key by which two spellings of a company name are the same.

    NFKC, no spaces, and ``(株)``, ``㈱`` written out as ``株式会社`` (likewise
    有限会社 and 合同会社).
    """
    text = normalise_text(name).replace(" ", "")
    for short, full in _COMPANY_FORMS:
        text = text.replace(short, full)
    return text


class DateMissing(ValueError):
    """The date cell or argument is empty."""


class DateDoesNotExist(ValueError):
    """The text is written as a date, but no such day exists.

    Either the calendar has no such day (``2026/6/31``) or the era had not
    begun (``令和元年4月1日``; 令和 began on 1 May 2019). ``era`` is set only
    in the second case.
    """

    def __init__(self, text: str, year: int, month: int, day: int, era: Era | None = None) -> None:
        super().__init__(f"no such day: {text!r}" if era is None else f"{text!r} is before {era.name} began on {era.start}")
        self.text = text
        self.year = year
        self.month = month
        self.day = day
        self.era = era

    def reason(self) -> str:
        """Return, from the message catalog, why the day does not exist ("6月は30日まで")."""
        from kenshu.i18n import message
        from kenshu.yaml_spec import calendar_problem

        if self.era is not None:
            return message("kpi.reason_before_era", era=self.era.name, start=self.era.start)
        return calendar_problem(self.year, self.month, self.day) or message("kpi.reason_no_such_day")


def _make_date(text: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DateDoesNotExist(text, year, month, day) from None


def parse_date(value: object) -> dt.date:
    """Read a date as an office writes it.

    Accepted: ``datetime.date`` and ``datetime.datetime`` (as openpyxl gives
    them), ``2026/4/1``, ``2026-04-01``, ``2026.4.1``, ``2026年4月1日``,
    ``令和8年4月1日``, ``令和元年5月1日``, ``R8.4.1``, ``R8/4/1`` (also 平成 H
    and 昭和 S), in full-width or half-width characters.

    Raises
    ------
    DateMissing
        If the value is empty.
    DateDoesNotExist
        If the text names a day that does not exist (``2026/6/31``) or an era
        year before the era began (``令和元年4月1日``).
    ValueError
        If the text is not a date in one of those forms.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value

    return _parse_date_text(normalise_text(value))


_WEEKDAY_SUFFIX = re.compile(r"\s*[(（][月火水木金土日](?:曜日?)?[)）]\s*$")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse_date_text(text: str) -> dt.date:
    if not text:
        raise DateMissing("empty date")
    # Offices often add the weekday: 2026/10/7(水), 令和8年10月7日（水曜日）. It is dropped, not checked.
    text = _WEEKDAY_SUFFIX.sub("", text)

    match = _WESTERN_DATE.match(text)
    if match:
        year, month, day = (int(group) for group in match.groups())
        return _make_date(text, year, month, day)

    match = _ERA_DATE.match(text)
    if match:
        era = era_by_name(match["era"])
        number = 1 if match["year"] == "元" else int(match["year"])
        year, month, day = gregorian_year(era, number), int(match["month"]), int(match["day"])
        date = _make_date(text, year, month, day)
        if date < era.start:
            raise DateDoesNotExist(text, year, month, day, era=era)
        return date

    raise ValueError(f"not a date: {text!r}")


def parse_mark(value: object) -> Status:
    """Return the status an attendance mark stands for (``出``/``〇``/``○`` present, ``欠``/``×`` absent …).

    Raises
    ------
    ValueError
        If the mark is empty or not one of ``MARKS``.
    """
    text = normalise_text(value).replace(" ", "")
    if not text:
        raise ValueError("empty mark")
    try:
        return MARKS[text]
    except KeyError:
        raise ValueError(f"unknown attendance mark {text!r}") from None
