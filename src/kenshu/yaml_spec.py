"""YAML files that a user writes by hand (course.yml, plan.yml), read with line numbers.

``read_yaml_document`` parses a file with ruamel's round-trip loader so that
every key keeps its line, and turns the loader's failures (a syntax error, a
key written twice, an impossible date such as ``2026-06-31``) into catalog
messages. ``Problems`` collects what validation finds, each problem with its
key and line, and ``report_validation_error`` renders pydantic's errors as
catalog messages in the user's language.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import YAMLError

from kenshu.errors import KenshuError
from kenshu.i18n import message

# Year, month and day at the start of a value, as YAML timestamps and ISO 8601 write them,
# or with slashes as Japanese offices write them (2026/10/21).
_DATE_PREFIX = re.compile(r"^\s*(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?![0-9])")
# Characters that YAML does not accept as indentation or as the space after ":", "-" or ",".
# An IME in full-width mode types U+3000 (the ideographic space) for the space bar.
_FULLWIDTH_SPACE = "\u3000"
_TAB = "\t"


@dataclass(frozen=True)
class DocumentMessages:
    """Catalog keys for the failures of reading one kind of file.

    Each message gets the field ``path``; ``yaml_syntax`` also gets ``line``
    and ``detail``, ``not_utf8`` gets ``position``, ``duplicate_key`` gets
    ``key``, ``line`` and ``first_line``, and ``fullwidth_space`` and ``tab``
    get ``line``, ``place`` and ``shown`` (the line with the character marked).
    """

    not_found: str
    not_utf8: str
    yaml_syntax: str
    not_a_mapping: str
    duplicate_key: str
    fullwidth_space: str = "yaml.fullwidth_space"
    tab: str = "yaml.tab"


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first_line: int | None) -> None:
        super().__init__(key)
        self.key = key
        self.line = line
        self.first_line = first_line


class _SpecConstructor(RoundTripConstructor):
    """The round-trip constructor, but with failures a hand-written file can have made reportable.

    An impossible date (``2026-06-31``) stays the text it was written as, so
    that validation reports it at its key like any other bad value. A key
    written twice raises ``_DuplicateKey`` with the lines of both.
    """

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError:
            return str(node.value)

    def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any) -> bool:
        if key not in mapping:
            return True
        first_line = None
        for other_key_node, _ in node.value:
            if other_key_node is key_node:
                break
            if getattr(other_key_node, "value", None) == key_node.value:
                first_line = other_key_node.start_mark.line + 1
                break
        raise _DuplicateKey(str(key), key_node.start_mark.line + 1, first_line)


_SpecConstructor.add_constructor("tag:yaml.org,2002:timestamp", _SpecConstructor.construct_yaml_timestamp)


def read_yaml_document(path: Path, messages: DocumentMessages) -> CommentedMap:
    """Parse the YAML mapping in *path*, keeping the line of every key.

    Raises
    ------
    KenshuError
        With a key of *messages*, if the file is missing, is not UTF-8, is not
        YAML, writes a key twice, or is not a mapping.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KenshuError(messages.not_found, path=path) from None
    except UnicodeDecodeError as error:
        raise KenshuError(messages.not_utf8, path=path, position=error.start) from None

    yaml = YAML(typ="rt")
    yaml.Constructor = _SpecConstructor
    try:
        document = yaml.load(text)
    except _DuplicateKey as duplicate:
        raise KenshuError(
            messages.duplicate_key,
            path=path,
            key=duplicate.key,
            line=duplicate.line,
            first_line=duplicate.first_line if duplicate.first_line is not None else "?",
        ) from None
    except YAMLError as error:
        _raise_for_misplaced_space(text, error, path, messages)
        mark = getattr(error, "problem_mark", None)
        detail = "\n    ".join(line for line in str(error).splitlines() if line.strip())
        raise KenshuError(messages.yaml_syntax, path=path, line=(mark.line + 1) if mark else "?", detail=detail) from None

    if not isinstance(document, CommentedMap):
        raise KenshuError(messages.not_a_mapping, path=path)
    return document


def _misplaced_space(line: str, character: str) -> str | None:
    """Return where *character* breaks the YAML syntax of *line* ("indent" or "separator"), or None.

    Inside a value (``statement: 傷の　ある部品``) the character is text and
    stays allowed, so only the indentation and the space after ``:``, ``-``
    or ``,`` are looked at.
    """
    indentation = line[: len(line) - len(line.lstrip(" \t" + _FULLWIDTH_SPACE))]
    if character in indentation:
        return "indent"
    if re.search(f"[:,]{character}", line) or re.match(rf"\s*-{character}", line):
        return "separator"
    return None


def _raise_for_misplaced_space(text: str, error: YAMLError, path: Path, messages: DocumentMessages) -> None:
    """Raise a KenshuError that names a full-width space or a tab that caused *error*; return if none did.

    The parser notices such a character late: on the line that contains it, on
    the line after it, or (at the end of the file) past the last line. So
    the reported line, the line before it and the line where the failing
    token began are looked at, in that order.
    """
    lines = text.splitlines()
    candidates: list[int] = []
    for mark in (getattr(error, "problem_mark", None), getattr(error, "context_mark", None)):
        if mark is not None:
            candidates.extend([mark.line, mark.line - 1])
    for index in dict.fromkeys(candidates):
        if not 0 <= index < len(lines):
            continue
        for character, key in ((_FULLWIDTH_SPACE, messages.fullwidth_space), (_TAB, messages.tab)):
            place = _misplaced_space(lines[index], character)
            if place is not None:
                shown = lines[index].replace(_FULLWIDTH_SPACE, "□").replace(_TAB, "→")
                raise KenshuError(key, path=path, line=index + 1, place=message(f"yaml.place_{place}"), shown=shown) from None


def plain(value: Any) -> Any:
    """Turn ruamel's round-trip containers into plain dicts (with str keys) and lists for pydantic."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def _child_key(node: CommentedMap, key: str | int) -> Any:
    """Return the key of *node* that pydantic's *key* names; ``plain`` made every key a str."""
    if key in node:
        return key
    for candidate in node:
        if str(candidate) == str(key):
            return candidate
    return None


def line_of(document: Any, location: Sequence[str | int]) -> int | None:
    """Return the 1-based line of the value at *location*, or of the nearest parent that exists."""
    node = document
    line = None
    for key in location:
        if isinstance(node, CommentedMap) and (found := _child_key(node, key)) is not None:
            line = node.lc.key(found)[0] + 1
            node = node[found]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    if line is None and hasattr(document, "lc"):
        line = document.lc.line + 1
    return line


def key_text(location: Sequence[str | int]) -> str:
    """Return *location* written as a key path: ``sessions[1].date``."""
    text = ""
    for key in location:
        if isinstance(key, int):
            text += f"[{key}]"
        elif text:
            text += f".{key}"
        else:
            text = str(key)
    return text or "(top)"


class Problems:
    """Collects problems of one file, each rendered with its key and line."""

    def __init__(self, path: Path, document: Any) -> None:
        self.path = path
        self.document = document
        self._found: list[tuple[int, int, str]] = []

    @property
    def items(self) -> list[str]:
        """The problems in the order of their lines in the file."""
        return [text for _, _, text in sorted(self._found)]

    def add(self, location: Sequence[str | int], key: str, **fields: object) -> None:
        """Add the catalog message *key* with *fields* as a problem of the value at *location*."""
        self.add_text(location, message(key, **fields))

    def add_text(self, location: Sequence[str | int], text: str) -> None:
        """Add an already rendered *text* as a problem of the value at *location*."""
        line = line_of(self.document, location)
        rendered = message(
            "spec.problem",
            file=self.path,
            line=line if line is not None else "?",
            key=key_text(location),
            text=text,
        )
        self._found.append((line or 0, len(self._found), rendered))


def calendar_problem(year: int, month: int, day: int) -> str | None:
    """Return why *year*-*month*-*day* is not a day of the calendar ("6月は30日まで"), or None if it is one."""
    if not 1 <= month <= 12:
        return message("spec.reason_month_range", month=month)
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        return message("spec.reason_year_range", year=year)
    last_day = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last_day:
        return message("spec.reason_month_days", month=month, days=last_day)
    return None


def impossible_date_reason(value: object) -> str | None:
    """Return why *value*, written as ``YYYY-MM-DD…``, names no day of the calendar; None if it does."""
    if isinstance(value, (dt.date, dt.datetime)):
        return None
    match = _DATE_PREFIX.match(str(value))
    if match is None:
        return None
    year, _, month, day = match.groups()
    return calendar_problem(int(year), int(month), int(day))


def _shown(value: object) -> str:
    """Return *value* as the user wrote it, for a message, or "-" when it is a whole mapping or list."""
    if isinstance(value, (dict, list)):
        return "-"
    return str(value)


def _choices(expected: str) -> str:
    """Return pydantic's ``'a', 'b' or 'c'`` as ``a、b、c`` (``a, b, c`` in English)."""
    names = re.findall(r"'([^']*)'", expected) or [expected]
    return message("spec.choice_separator").join(names)


# pydantic error types and the catalog message for each; the message gets the
# fields value, limit and choices. Types not listed fall back to spec.invalid_value
# with pydantic's own text.
_MESSAGES_BY_TYPE = {
    "greater_than": "spec.value_greater_than",
    "greater_than_equal": "spec.value_greater_equal",
    "less_than": "spec.value_less_than",
    "less_than_equal": "spec.value_less_equal",
    "int_parsing": "spec.value_not_integer",
    "int_type": "spec.value_not_integer",
    "int_from_float": "spec.value_not_integer",
    "float_parsing": "spec.value_not_number",
    "float_type": "spec.value_not_number",
    "finite_number": "spec.value_not_number",
    "bool_parsing": "spec.value_not_bool",
    "bool_type": "spec.value_not_bool",
    "string_type": "spec.value_not_text",
    "string_too_long": "spec.value_text_too_long",
    "too_long": "spec.value_too_many_items",
    "list_type": "spec.value_not_list",
    "dict_type": "spec.value_not_mapping",
    "model_type": "spec.value_not_mapping",
    "model_attributes_type": "spec.value_not_mapping",
    "literal_error": "spec.value_not_one_of",
    "enum": "spec.value_not_one_of",
    "path_type": "spec.value_not_path",
    "date_type": "spec.value_bad_date",
    "date_parsing": "spec.value_bad_date",
    "date_from_datetime_parsing": "spec.value_bad_date",
    "date_from_datetime_inexact": "spec.value_bad_date",
    "datetime_type": "spec.value_bad_datetime",
    "datetime_parsing": "spec.value_bad_datetime",
    "datetime_from_date_parsing": "spec.value_bad_datetime",
    "datetime_object_invalid": "spec.value_bad_datetime",
}
_LIMIT_CONTEXT = ("gt", "ge", "lt", "le", "max_length")


def _problem_text(detail: dict[str, Any]) -> str:
    """Return the catalog message for one pydantic error *detail*."""
    kind = detail["type"]
    context = detail.get("ctx") or {}
    value = detail.get("input")

    if kind == "missing":
        return message("spec.missing_key")
    if kind == "extra_forbidden":
        # An IME's full-width space before a key makes a key of its own, which YAML still parses.
        written = str(detail["loc"][-1]) if detail.get("loc") else ""
        if _FULLWIDTH_SPACE in written:
            return message("spec.unknown_key_fullwidth_space", key=written.strip(" " + _FULLWIDTH_SPACE))
        return message("spec.unknown_key")
    if kind == "date_does_not_exist":
        return message("spec.value_date_does_not_exist", value=value, reason=context.get("reason", ""))
    if kind.startswith(("date", "datetime")) and (reason := impossible_date_reason(value)) is not None:
        return message("spec.value_date_does_not_exist", value=value, reason=reason)
    if kind in ("string_too_short", "too_short"):
        minimum = context.get("min_length", 1)
        if kind == "string_too_short":
            return message("spec.value_empty_text" if minimum <= 1 else "spec.value_text_too_short", limit=minimum)
        return message("spec.value_too_few_items", limit=minimum)
    if kind == "value_error":
        # Validators of this package raise ValueError with a catalog message already.
        return message("spec.invalid_value", detail=str(context.get("error") or detail["msg"].removeprefix("Value error, ")))

    key = _MESSAGES_BY_TYPE.get(kind)
    if key is None:
        return message("spec.invalid_value", detail=detail["msg"])
    limit = next((context[name] for name in _LIMIT_CONTEXT if name in context), "")
    if isinstance(limit, float) and limit.is_integer():
        # pydantic gives the bound of a float field as a float: show le=100 as 100, not 100.0.
        limit = int(limit)
    return message(key, value=_shown(value), limit=limit, choices=_choices(str(context.get("expected", ""))))


def report_validation_error(error: ValidationError, problems: Problems) -> None:
    """Add each error of *error* to *problems*, at its key, as a message of the catalog."""
    for detail in error.errors():
        # A bad dict key (targets: {abc: …}) is located at "[key]" below the key itself.
        location = [part for part in detail["loc"] if part != "[key]"]
        problems.add_text(location, _problem_text(detail))
