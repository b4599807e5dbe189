"""Read a company's sensor or process CSV as it comes from the shop floor.

Such files are written by spreadsheet programs and data loggers: in cp932
(Shift_JIS with the Windows extensions) or UTF-8, with or without a byte
order mark, with units in the column headers (``Air temperature [K]``,
``温度(℃)``), and with the odd broken row. This reader detects the encoding,
moves the units from the headers into ``df.attrs["units"]``, and reports bad
rows by their line number instead of failing on them.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kenshu.errors import KenshuError
from kenshu.i18n import message

logger = logging.getLogger(__name__)

# A header "name [unit]", "name (unit)", "name（unit）" or "name［unit］".
_UNIT_HEADER = re.compile(r"^(?P<name>.*?\S)\s*[\[(（［](?P<unit>[^\[\]()（）［］]+)[\])）］]\s*$")
_DATE_HINTS = ("日時", "日付", "時刻", "timestamp", "datetime", "date", "time")
# Windows programs write cp932 under the name Shift_JIS. It adds characters such as ① and ㈱
# and reads plain Shift_JIS as well.
_ENCODING_ALIASES = {"shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "s_jis": "cp932", "ms932": "cp932", "windows-31j": "cp932"}
# A column counts as numeric when at least this share of its non-empty cells are numbers.
NUMERIC_SHARE = 0.9
_MAX_LOGGED_PROBLEMS = 20


@dataclass(frozen=True)
class RowProblem:
    """A row or cell that could not be read; ``row`` is the line number in the file (header = 1)."""

    row: int
    reason: str
    column: str | None = None
    value: str | None = None

    def describe(self, path: Path | str, *, lang: str | None = None) -> str:
        """Return the problem as one sentence of the message catalog."""
        return message(
            f"datasets.csv_{self.reason}", lang=lang, path=path, row=self.row, column=self.column, value=self.value
        )


def detect_encoding(data: bytes) -> str:
    """Return the Python codec name for CSV bytes: ``utf-8-sig``, ``utf-16``, ``utf-8`` or ``cp932``.

    Raises
    ------
    ValueError
        If the bytes are neither valid UTF-8 nor valid cp932.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for candidate in ("utf-8", "cp932"):
        try:
            data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return candidate
    raise ValueError("neither UTF-8 nor cp932")


def split_unit(header: str) -> tuple[str, str | None]:
    """Split ``"Air temperature [K]"`` into ``("Air temperature", "K")``; no unit gives None."""
    text = header.strip()
    found = _UNIT_HEADER.match(text)
    if not found:
        return text, None
    return found.group("name").strip(), found.group("unit").strip()


def _to_number(cell: str) -> float | None:
    """Parse a cell as a number, accepting full-width digits and thousands separators."""
    text = unicodedata.normalize("NFKC", cell).strip().replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _to_numbers(cells: list[str]) -> list[float | None]:
    """Parse a column of cells as :func:`_to_number` does, vectorised for the cells pandas can read."""
    text = pd.Series(cells, dtype=object).str.normalize("NFKC").str.strip().str.replace(",", "", regex=False)
    parsed = pd.to_numeric(text, errors="coerce")

    # Cells pandas could not read (text, blanks, Python-only spellings such as "1_000") go
    # through the scalar parser, so the result is the same as parsing every cell with it.
    numbers: list[float | None] = parsed.astype("float64").tolist()
    for position in np.flatnonzero(parsed.isna().to_numpy()):
        numbers[position] = _to_number(cells[position])
    return numbers


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def load_sensor_csv(
    path: str | Path,
    *,
    encoding: str | None = None,
    sep: str | None = None,
    parse_dates: bool = True,
) -> pd.DataFrame:
    """Read a sensor or process CSV, keeping the units of its columns.

    Parameters
    ----------
    path : str or Path
        The CSV file. The first non-empty line is the header.
    encoding : str, optional
        Text encoding. By default detected: a UTF-8 or UTF-16 byte order
        mark, else UTF-8 if the bytes are valid UTF-8, else cp932. ``shift_jis``
        and ``sjis`` are read as cp932, which Windows writes under that name.
    sep : str, optional
        Field separator; by default detected among comma, semicolon and tab.
    parse_dates : bool, default=True
        Convert columns named like 日時, 日付, 時刻, date or time to
        datetimes when every non-empty cell parses.

    Returns
    -------
    df : pandas.DataFrame
        Columns named without their units. Numeric columns are float or int.
        ``df.attrs`` contains ``units`` (column -> unit, for columns that had
        one), ``source`` (the path), ``encoding``, ``original_columns``
        (column -> header as written) and ``problems`` (a list of dicts with
        ``row``, ``reason``, ``column``, ``value``).

    Raises
    ------
    KenshuError
        If the file is missing, cannot be decoded, or has no header.

    Notes
    -----
    A row with more or fewer fields than the header is skipped and reported.
    A cell that is not a number in an otherwise numeric column becomes NaN and
    is reported. Empty cells are missing values and are not reported.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise KenshuError("datasets.file_not_found", path=source)
    data = source.read_bytes()
    logger.info("reading sensor CSV %s", source)

    # Step 1: decode.
    if encoding is None:
        try:
            codec = detect_encoding(data)
        except ValueError:
            raise KenshuError("datasets.csv_undecodable", path=source) from None
    else:
        codec = _ENCODING_ALIASES.get(encoding.lower(), encoding)
        if codec.lower().replace("-", "_") in ("utf_8", "utf8") and data.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"
    try:
        text = data.decode(codec)
    except (UnicodeDecodeError, LookupError) as error:
        raise KenshuError("datasets.csv_decode_failed", path=source, encoding=codec, error=error) from None

    # Step 2: split into rows, keeping each row's line number in the file.
    delimiter = sep or _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    problems: list[RowProblem] = []
    for fields in reader:
        if not any(cell.strip() for cell in fields):
            continue
        if header is None:
            header = fields
            continue
        if len(fields) != len(header):
            problems.append(RowProblem(reader.line_num, "wrong_field_count", value=f"{len(fields)}/{len(header)}"))
            continue
        rows.append(fields)
        line_numbers.append(reader.line_num)
    if header is None:
        raise KenshuError("datasets.csv_empty", path=source)

    # Step 3: column names without units; a name that would repeat keeps its full header.
    columns: list[str] = []
    units: dict[str, str] = {}
    original: dict[str, str] = {}
    for position, raw in enumerate(header):
        name, unit = split_unit(raw)
        if not name:
            name = f"column_{position + 1}"
        if name in columns:
            name = raw.strip() if raw.strip() not in columns else f"{name}_{position + 1}"
            unit = None if name == raw.strip() else unit
        columns.append(name)
        original[name] = raw
        if unit:
            units[name] = unit

    # Step 4: types. Mostly-numeric columns become numbers; the odd text cell is reported.
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    for name in columns:
        cells = frame[name].astype(str)
        cell_list = cells.tolist()
        numbers = _to_numbers(cell_list)
        filled = [(cell, number) for cell, number in zip(cell_list, numbers) if cell.strip()]
        if not filled:
            frame[name] = pd.Series([float("nan")] * len(frame), dtype="float64")
            continue
        parsed = sum(number is not None for _, number in filled)
        if parsed / len(filled) >= NUMERIC_SHARE:
            for line, cell, number in zip(line_numbers, cell_list, numbers):
                if cell.strip() and number is None:
                    problems.append(RowProblem(line, "not_a_number", column=name, value=cell))
            series = pd.Series([float("nan") if n is None else n for n in numbers], dtype="float64")
            whole = series.dropna()
            if len(whole) == len(series) and (whole == whole.round()).all() and whole.abs().max() < 2**53:
                series = series.astype("int64")
            frame[name] = series
        elif parse_dates and any(hint in name.casefold() for hint in _DATE_HINTS):
            frame[name] = _parse_dates(cells)
        else:
            frame[name] = cells.where(cells.str.strip() != "", None)

    problems.sort(key=lambda problem: problem.row)
    for problem in problems[:_MAX_LOGGED_PROBLEMS]:
        logger.warning("%s", problem.describe(source))
    if len(problems) > _MAX_LOGGED_PROBLEMS:
        logger.warning("%s", message("datasets.csv_more_problems", path=source, count=len(problems) - _MAX_LOGGED_PROBLEMS))

    frame.attrs["units"] = units
    frame.attrs["source"] = str(source)
    frame.attrs["encoding"] = codec
    frame.attrs["original_columns"] = original
    frame.attrs["problems"] = [asdict(problem) for problem in problems]
    logger.info("read %d rows and %d columns from %s (%s), %d problems", len(frame), len(columns), source, codec, len(problems))
    return frame


def _parse_dates(cells: pd.Series) -> pd.Series:
    """Convert to datetimes when every non-empty cell parses; otherwise keep the text."""
    stripped = cells.str.strip()
    filled = stripped != ""
    try:
        parsed = pd.to_datetime(stripped.where(filled, None), errors="raise", format="mixed")
    except (ValueError, TypeError):
        return cells
    return parsed
