"""An argument parser whose own words (usage, section titles, errors) come from the message catalog.

argparse writes "usage:", "options", "show this help message and exit" and
its error messages in English through ``gettext`` in its own module. Rather
than install a gettext translation for the whole process, the parser below
sets its section titles and help option itself, and translates the error
messages of Python 3.11's argparse by their English patterns. A message it
does not recognise is shown in English, unchanged.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

from kenshu.i18n import message

# English patterns of argparse's error messages (Python 3.11) and the catalog key of each.
_ERROR_PATTERNS = (
    (re.compile(r"^the following arguments are required: (?P<names>.+)$"), "cli.argparse.required"),
    (re.compile(r"^unrecognized arguments: (?P<names>.+)$"), "cli.argparse.unrecognized"),
    (re.compile(r"^argument (?P<name>\S+): invalid choice: (?P<value>.+) \(choose from (?P<choices>.+)\)$"), "cli.argparse.invalid_choice"),
    (re.compile(r"^argument (?P<name>\S+): invalid (?P<type>\w+) value: (?P<value>.+)$"), "cli.argparse.invalid_value"),
    (re.compile(r"^argument (?P<name>\S+): expected one argument$"), "cli.argparse.expected_one"),
    (re.compile(r"^argument (?P<name>\S+): expected at least one argument$"), "cli.argparse.expected_some"),
    (re.compile(r"^ambiguous option: (?P<name>\S+) could match (?P<matches>.+)$"), "cli.argparse.ambiguous"),
    # Last: the message of an ArgumentTypeError, already in the current language.
    (re.compile(r"^argument (?P<name>\S+): (?P<detail>.+)$"), "cli.argparse.argument_detail"),
)

# Subcommand placeholders the areas use, as the README writes them (kenshu <分野> <操作>).
_PLACEHOLDER_KEYS = {"<area>": "cli.argparse.area", "<verb>": "cli.argparse.verb"}

# Type names argparse puts in "invalid <type> value"; others are shown as written.
_TYPE_KEYS = {"int": "cli.argparse.type_int", "float": "cli.argparse.type_float"}


def translate_error(text: str) -> str:
    """Return argparse's English error *text* in the current language, or *text* when no pattern matches."""
    for pattern, key in _ERROR_PATTERNS:
        found = pattern.match(text)
        if found:
            fields = found.groupdict()
            if fields.get("type") in _TYPE_KEYS:
                fields["type"] = message(_TYPE_KEYS[fields["type"]])
            return message(key, **fields)
    return text


def int_in_range(minimum: int, maximum: int | None = None):
    """Return an argparse ``type`` that reads an integer from *minimum* to *maximum* (no upper bound when None)."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(message("cli.argparse.not_integer", value=text)) from None
        if value < minimum or (maximum is not None and value > maximum):
            key = "cli.argparse.out_of_range" if maximum is not None else "cli.argparse.below_minimum"
            raise argparse.ArgumentTypeError(message(key, value=value, minimum=minimum, maximum=maximum))
        return value

    return convert


class KenshuHelpFormatter(argparse.HelpFormatter):
    """Help formatter whose usage line starts with the catalog's word for "usage".

    Help texts come from the catalog with their values already filled in, so
    argparse's ``%``-expansion is off, and a ``%`` in a help text (``不良率 (%)``)
    prints as written.
    """

    def _expand_help(self, action: argparse.Action) -> str:
        """Return the help text of *action* as written."""
        return self._get_help_string(action)

    def add_usage(self, usage, actions, groups, prefix=None) -> None:  # noqa: ANN001  (argparse's signature)
        """Add the usage line with the catalog's prefix."""
        super().add_usage(usage, actions, groups, prefix=prefix if prefix is not None else message("cli.argparse.usage"))


class _SubcommandsAction(argparse._SubParsersAction):
    """argparse's subcommand action; a subcommand without a description shows its help line as one."""

    def add_parser(self, name, **kwargs):  # noqa: ANN001, ANN003, ANN201  (argparse's signature)
        """Add subcommand *name*, describing it by its help line unless a description is given."""
        if kwargs.get("help") and not kwargs.get("description"):
            kwargs["description"] = kwargs["help"]
        return super().add_parser(name, **kwargs)


class KenshuArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with titles, help option and errors from the catalog.

    Subparsers made with ``add_subparsers().add_parser`` are of this class too,
    because argparse gives them the class of their parent.
    """

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003  (argparse's signature)
        add_help = kwargs.pop("add_help", True)
        kwargs.setdefault("formatter_class", KenshuHelpFormatter)
        super().__init__(*args, add_help=False, **kwargs)
        self.register("action", "parsers", _SubcommandsAction)
        self._positionals.title = message("cli.argparse.positionals")
        self._optionals.title = message("cli.argparse.options")
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=message("cli.argparse.help"))

    def add_subparsers(self, **kwargs):  # noqa: ANN003, ANN201  (argparse's signature)
        """Add subcommands; the placeholders ``<area>`` and ``<verb>`` are shown in the current language."""
        placeholder = _PLACEHOLDER_KEYS.get(kwargs.get("metavar", ""))
        if placeholder is not None:
            kwargs["metavar"] = message(placeholder)
        return super().add_subparsers(**kwargs)

    def error(self, text: str) -> NoReturn:
        """Print the usage and the translated error to standard error, and exit with status 2."""
        self.print_usage(sys.stderr)
        self.exit(2, message("cli.argparse.error", prog=self.prog, error=translate_error(text)) + "\n")
