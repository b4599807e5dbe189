"""Readers for sign-in sheets (出席簿): CSV in any office encoding, and Excel workbooks.

A sheet is a table with a header row naming its columns in Japanese: 日付,
氏名 or 受講者ID (or both), 会社名, 出欠, and optionally コースID. The
readers only find the header and yield the cells of each row with its row
number; what the cells mean is decided by ``kenshu.kpi_reports.importer``.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kenshu.errors import KenshuError
from kenshu.kpi_reports.normalise import normalise_text

logger = logging.getLogger(__name__)

# Accepted header texts (after NFKC, spaces removed, lower case) for each column.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("日付", "実施日", "受講日", "年月日", "date"),
    "name": ("氏名", "名前", "受講者名", "受講者氏名", "name"),
    "trainee_id": ("受講者id", "id", "学籍番号", "ユーザーid", "student_id", "trainee_id"),
    "company": ("会社名", "企業名", "所属", "company"),
    "mark": ("出欠", "出席", "出欠席", "attendance"),
    "course_id": ("コースid", "講座id", "コース", "講座", "course_id"),
}
REQUIRED_COLUMNS = ("date", "mark")

# How many rows of a sheet are searched for the header row (titles often sit above it).
HEADER_SEARCH_ROWS = 20


@dataclass(frozen=True)
class RawRow:
    """The cells of one sheet row by column name, and where the row is."""

    row: int
    cells: dict[str, object]
    sheet: str | None = None


def detect_encoding(data: bytes) -> str:
    """Return the encoding of a text file from an office: UTF-8 (with or without BOM), UTF-16 with BOM, or cp932.

    cp932 is Microsoft's Shift_JIS, which Excel writes for a Japanese "CSV"; it
    also reads plain Shift_JIS. Text that is valid UTF-8 is taken as UTF-8,
    because Shift_JIS text with kana or kanji is almost never valid UTF-8.

    Raises
    ------
    ValueError
        If the bytes are not valid in any of these encodings.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp932"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ValueError("neither UTF-8 nor cp932 (Shift_JIS)")


def _header_key(text: object) -> str:
    return normalise_text(text).replace(" ", "").lower()


def _date_header(cell: object) -> str | None:
    """Return the day a grid column is headed by, as text for its ``day:`` name, or None if no date heads it."""
    from kenshu.kpi_reports.normalise import DateDoesNotExist, parse_date

    try:
        return parse_date(cell).isoformat()
    except DateDoesNotExist:
        # A header such as 2026/6/31 still heads a day column, so the marks under
        # it are rejected row by row with the reason instead of being dropped unseen.
        return normalise_text(cell)
    except (ValueError, TypeError):
        return None


def match_header(cells: list[object]) -> dict[int, str] | None:
    """Return {column index: column name} if *cells* is a header row, else None.

    Two layouts are recognised. A list has one row per record, with 日付 and
    出欠 columns. A grid has one row per trainee and one column per session
    day, headed by the date; its date columns are named ``day:<ISO date>``.
    """
    columns: dict[int, str] = {}
    days: dict[int, str] = {}
    for index, cell in enumerate(cells):
        key = _header_key(cell)
        for name, aliases in COLUMN_ALIASES.items():
            if key in aliases and name not in columns.values():
                columns[index] = name
                break
        else:
            date = _date_header(cell) if key else None
            if date is not None:
                days[index] = f"day:{date}"
    names = set(columns.values())
    if not names & {"name", "trainee_id"}:
        return None
    if all(name in names for name in REQUIRED_COLUMNS):
        return columns
    if days and not names & set(REQUIRED_COLUMNS):
        return {**columns, **days}
    return None


def _rows_from_table(table: Iterator[tuple[int, list[object]]], *, source: str, sheet: str | None) -> Iterator[RawRow]:
    header: dict[int, str] | None = None
    for row_number, cells in table:
        if header is None:
            header = match_header(cells)
            if header is None and row_number >= HEADER_SEARCH_ROWS:
                break
            continue
        if not any(cell is not None and str(cell).strip() for cell in cells):
            continue
        values = {name: cells[index] if index < len(cells) else None for index, name in header.items()}
        days = {name: value for name, value in values.items() if name.startswith("day:")}
        if not days:
            yield RawRow(row_number, values, sheet)
            continue
        # A grid row contains one record per non-blank day cell. A blank cell is no record.
        person = {name: value for name, value in values.items() if not name.startswith("day:")}
        for name, mark in days.items():
            if normalise_text(mark):
                yield RawRow(row_number, {**person, "date": name.removeprefix("day:"), "mark": mark}, sheet)

    if header is None:
        raise KenshuError("kpi.sheet_no_header", path=source, sheet=sheet or "-")


def read_csv_sheet(path: Path) -> tuple[str, Iterator[RawRow]]:
    """Read a CSV sign-in sheet and return its encoding and its rows (blank lines skipped).

    Row numbers are line numbers in the file, counting the header, as a text
    editor or Excel shows them.

    Raises
    ------
    KenshuError
        If the file cannot be read, has an unknown encoding, or has no header row.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise KenshuError("kpi.file_unreadable", path=path, detail=error.strerror or str(error)) from None
    try:
        encoding = detect_encoding(data)
    except ValueError:
        raise KenshuError("kpi.unknown_encoding", path=path) from None
    text = data.decode(encoding)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","

    def table() -> Iterator[tuple[int, list[object]]]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        line_number = 0
        for cells in reader:
            # reader.line_num counts physical lines, so a quoted cell over two lines keeps the numbering right.
            line_number = reader.line_num
            yield line_number, list(cells)

    return encoding, _rows_from_table(table(), source=str(path), sheet=None)


def read_xlsx_sheets(path: Path) -> Iterator[RawRow]:
    """Read every worksheet of an Excel sign-in workbook that has a header row.

    Merged cells are read as if each cell of the range held the value of its
    top-left cell, so a header merged over two columns or a date merged down
    several rows still names every row. Worksheets without a header row (a
    cover sheet, a note) are skipped with a log message.

    Raises
    ------
    KenshuError
        If the workbook cannot be opened, or no worksheet has a header row.
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, data_only=True)
    except (OSError, InvalidFileException, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise KenshuError("kpi.file_unreadable", path=path, detail=str(error)) from None

    found = False
    for worksheet in workbook.worksheets:
        merged: dict[tuple[int, int], object] = {}
        for cell_range in worksheet.merged_cells.ranges:
            value = worksheet.cell(cell_range.min_row, cell_range.min_col).value
            for row in range(cell_range.min_row, cell_range.max_row + 1):
                for column in range(cell_range.min_col, cell_range.max_col + 1):
                    merged[(row, column)] = value

        def table(worksheet=worksheet, merged=merged) -> Iterator[tuple[int, list[object]]]:
            for row_number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                # A row blank but for a merged range reaching into it (a date merged down the day) is blank.
                if all(normalise_text(value) == "" for value in values):
                    yield row_number, []
                    continue
                yield row_number, [
                    merged.get((row_number, column), value) for column, value in enumerate(values, start=1)
                ]

        try:
            rows = list(_rows_from_table(table(), source=str(path), sheet=worksheet.title))
        except KenshuError:
            logger.info("%s: sheet %s has no sign-in header row, skipped", path, worksheet.title)
            continue
        found = True
        yield from rows

    if not found:
        raise KenshuError("kpi.sheet_no_header", path=path, sheet="*")
