"""The ``kenshu`` command: ``kenshu <area> <verb> [options]``.

Each area module contributes its verbs through a ``register(subparsers)``
function, listed in ``AREAS``. A verb's handler takes the parsed arguments and
returns the exit status.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from kenshu import __version__
from kenshu.cli_parser import KenshuArgumentParser
from kenshu.errors import KenshuError
from kenshu.i18n import message, set_language

logger = logging.getLogger(__name__)

# Modules that define a ``register(subparsers)`` function, in the order of --help.
AREAS = (
    "kenshu.courses.cli",
    "kenshu.grading.cli",
    "kenshu.kpi_reports.cli",
    "kenshu.datasets.cli",
    "kenshu.inspection.cli",
    "kenshu.hardware_labs.cli",
    "kenshu.demo",
)


class LevelFormatter(logging.Formatter):
    """Log lines as "警告: message", with the level word from the catalog; with -v also the logger's name."""

    def __init__(self, *, with_logger_name: bool) -> None:
        super().__init__()
        self.with_logger_name = with_logger_name

    def format(self, record: logging.LogRecord) -> str:
        """Return the record's line with its level in the current language."""
        level = message(f"cli.log_level.{record.levelname.lower()}") if record.levelno in _LEVELS else record.levelname
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if self.with_logger_name:
            return f"{level} {record.name}: {text}"
        return f"{level}: {text}"


_LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)


def _take_language_option(argv: list[str]) -> tuple[str | None, list[str]]:
    """Remove ``--lang X`` from anywhere in *argv* and return X with the rest.

    The option is read before parsing, so that help text is already in that
    language, and it may follow any verb (``kenshu course check DIR --lang en``).
    """
    language = None
    rest: list[str] = []
    arguments = iter(argv)
    for argument in arguments:
        if argument == "--lang":
            language = next(arguments, None)
        elif argument.startswith("--lang="):
            language = argument.split("=", 1)[1]
        else:
            rest.append(argument)
    return language, rest


def describe_os_error(error: OSError) -> str:
    """Return a sentence naming the path of *error*, the reason in the current language, and what to do."""
    reason_key = _ERRNO_KEYS.get(error.errno)
    reason = message(reason_key) if reason_key else (error.strerror or str(error))
    paths = [str(path) for path in (error.filename, error.filename2) if path is not None]
    if not paths:
        return message("cli.os_error_no_path", reason=reason)
    return message("cli.os_error", path=" → ".join(paths), reason=reason)


# errno values with a sentence in the catalog; others are shown with the system's own text.
_ERRNO_KEYS = {
    errno.EEXIST: "cli.errno.exists",
    errno.EISDIR: "cli.errno.is_folder",
    errno.ENOTDIR: "cli.errno.not_folder",
    errno.ENOENT: "cli.errno.not_found",
    errno.EACCES: "cli.errno.permission",
    errno.EPERM: "cli.errno.permission",
    errno.ENOSPC: "cli.errno.no_space",
    errno.EROFS: "cli.errno.read_only",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every area that can be imported."""
    parser = KenshuArgumentParser(prog="kenshu", description=message("cli.description"))
    parser.add_argument("--version", action="version", version=f"kenshu {__version__}", help=message("cli.argparse.version"))
    parser.add_argument("--lang", choices=("ja", "en"), help=message("cli.lang_help"))
    parser.add_argument("-v", "--verbose", action="count", default=0, help=message("cli.verbose_help"))
    subparsers = parser.add_subparsers(dest="area", metavar="<area>")

    for module_name in AREAS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            # An area that is not written yet must not break the others.
            if error.name and module_name.startswith(error.name):
                continue
            raise
        module.register(subparsers)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    language, argv = _take_language_option(list(sys.argv[1:] if argv is None else argv))
    if language is not None and language not in ("ja", "en"):
        print(message("cli.unknown_language", value=language), file=sys.stderr)
        return 2
    set_language(language)
    parser = build_parser()
    args = parser.parse_args(argv)

    level = logging.WARNING - 10 * min(args.verbose, 2)
    handler = logging.StreamHandler()
    handler.setFormatter(LevelFormatter(with_logger_name=args.verbose > 0))
    logging.basicConfig(level=level, handlers=[handler])

    if not getattr(args, "handler", None):
        parser.print_help()
        return 2

    try:
        status = int(args.handler(args) or 0)
        # Flush here, so that a closed pipe is met inside this try and not at interpreter exit.
        sys.stdout.flush()
        return status
    except KenshuError as error:
        print(message("cli.error_prefix", error=error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(message("cli.interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of the output has gone (``kenshu ... | head``): stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:
        # A path the user gave cannot be used. The traceback is shown with -v only.
        logger.debug("operating-system error", exc_info=True)
        print(message("cli.error_prefix", error=describe_os_error(error)), file=sys.stderr)
        return 2
