"""The message catalog: every text a user reads, in Japanese and English.

Messages live in ``locale/*.yml``, one file per area, each key holding a ``ja``
and an ``en`` text with ``str.format`` fields. The language is chosen by the
``--lang`` option, then the ``KENSHU_LANG`` environment variable, then the
locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``). Japanese is the default
whenever none of them names a supported language.
"""

from __future__ import annotations

import functools
import locale
import os
from importlib import resources

from ruamel.yaml import YAML

SUPPORTED_LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"

_current_language: str | None = None


@functools.cache
def load_catalog() -> dict[str, dict[str, str]]:
    """Load and merge every ``locale/*.yml`` file of the package.

    Raises
    ------
    ValueError
        If a key appears in two files or lacks one of the supported languages.
    """
    catalog: dict[str, dict[str, str]] = {}
    yaml = YAML(typ="safe")

    for entry in sorted(resources.files("kenshu.locale").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yml"):
            continue
        messages = yaml.load(entry.read_text(encoding="utf-8")) or {}
        for key, texts in messages.items():
            if key in catalog:
                raise ValueError(f"message key {key!r} is defined twice (second time in {entry.name})")
            missing = [lang for lang in SUPPORTED_LANGUAGES if not isinstance(texts, dict) or lang not in texts]
            if missing:
                raise ValueError(f"message key {key!r} in {entry.name} has no text for {missing}")
            catalog[key] = {lang: str(texts[lang]) for lang in SUPPORTED_LANGUAGES}

    return catalog


def _language_from_locale() -> str | None:
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return value.split("_")[0].split(".")[0].lower()
    try:
        code = locale.getlocale(locale.LC_MESSAGES)[0]
    except (AttributeError, ValueError):
        code = None
    return code.split("_")[0].lower() if code else None


def resolve_language(requested: str | None = None) -> str:
    """Return the language for messages: *requested*, then ``KENSHU_LANG``, then the locale."""
    for candidate in (requested, os.environ.get("KENSHU_LANG"), _language_from_locale()):
        if candidate:
            code = candidate.lower().split("_")[0].split("-")[0]
            if code in SUPPORTED_LANGUAGES:
                return code
    return DEFAULT_LANGUAGE


def set_language(requested: str | None) -> str:
    """Fix the language for the rest of the process and return it."""
    global _current_language
    _current_language = resolve_language(requested)
    return _current_language


def get_language() -> str:
    """Return the language in force, resolving it from the environment on first use."""
    return _current_language or resolve_language(None)


def message(key: str, /, *, lang: str | None = None, **fields: object) -> str:
    """Return the catalog text for *key* in the current language, with *fields* filled in.

    Raises
    ------
    KeyError
        If *key* is not in the catalog.
    """
    texts = load_catalog()[key]
    return texts[lang or get_language()].format(**fields)


_ = message
