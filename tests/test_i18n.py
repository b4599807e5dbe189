"""Language choice: --lang, then KENSHU_LANG, then the locale, then Japanese."""

from __future__ import annotations

import pytest

from kenshu.cli import main
from kenshu.i18n import message, resolve_language


@pytest.mark.parametrize(
    ("requested", "kenshu_lang", "lang", "expected"),
    [
        ("en", "ja", "ja_JP.UTF-8", "en"),
        (None, "en", "ja_JP.UTF-8", "en"),
        (None, None, "en_US.UTF-8", "en"),
        (None, None, "ja_JP.UTF-8", "ja"),
        (None, None, "C.UTF-8", "ja"),
        (None, None, "fr_FR.UTF-8", "ja"),
        (None, "de", "en_GB.UTF-8", "en"),
    ],
)
def test_language_order(monkeypatch: pytest.MonkeyPatch, requested, kenshu_lang, lang, expected) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    if kenshu_lang is None:
        monkeypatch.delenv("KENSHU_LANG", raising=False)
    else:
        monkeypatch.setenv("KENSHU_LANG", kenshu_lang)
    monkeypatch.setenv("LANG", lang)
    assert resolve_language(requested) == expected


def test_message_fills_fields() -> None:
    assert message("grade.unknown_assignment", lang="en", name="x", known="a, b") == "no assignment 'x' in this course; assignments: a, b"


def test_cli_lang_option_switches_errors(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert main(["--lang", "en", "course", "check", str(tmp_path)]) == 2
    assert "Error: Course spec" in capsys.readouterr().err
    assert main(["course", "check", str(tmp_path)]) == 2
    assert "エラー: コース定義" in capsys.readouterr().err
