"""The command line's own words: usage, section titles and argparse's errors, in Japanese first."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kenshu.cli import build_parser, main
from kenshu.cli_parser import translate_error
from kenshu.i18n import set_language


def _run(capsys: pytest.CaptureFixture, arguments: list[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(arguments)
    captured = capsys.readouterr()
    return stopped.value.code, captured.out, captured.err


def test_help_in_japanese(capsys: pytest.CaptureFixture) -> None:
    status, out, _ = _run(capsys, ["course", "--help"])

    assert status == 0
    assert out.startswith("使い方: kenshu course")
    assert "\n引数:\n" in out
    assert "\nオプション:\n" in out
    assert "このヘルプを表示して終了します" in out
    assert "usage:" not in out
    assert "show this help message" not in out
    assert "<操作>" in out
    assert "<verb>" not in out


def test_help_in_english(capsys: pytest.CaptureFixture) -> None:
    status, out, _ = _run(capsys, ["course", "--help", "--lang", "en"])

    assert status == 0
    assert out.startswith("usage: kenshu course")
    assert "\noptions:\n" in out
    assert "<verb>" in out


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["course", "check"], "次の引数を指定してください: course"),
        (["kpi", "report", "--fy", "abc"], "引数 --fy: 'abc' は整数として読めません"),
        (["lab", "simulate", "--sensor", "foo"], "引数 --sensor に 'foo' は使えません"),
        (["course", "check", "x", "--bogus"], "知らない引数です: --bogus"),
        (["kpi", "report", "--fy"], "引数 --fy には値を一つ指定してください"),
    ],
    ids=["required", "invalid-int", "invalid-choice", "unrecognized", "expected-one"],
)
def test_argparse_error_in_japanese(capsys: pytest.CaptureFixture, arguments: list[str], expected: str) -> None:
    status, _, err = _run(capsys, arguments)

    assert status == 2
    assert err.startswith("使い方: ")
    assert "エラー: " + expected in err
    assert "error:" not in err


def test_argparse_error_in_english(capsys: pytest.CaptureFixture) -> None:
    status, _, err = _run(capsys, ["kpi", "report", "--fy", "abc", "--lang", "en"])

    assert status == 2
    assert "kenshu kpi report: error: argument --fy: 'abc' is not an integer" in err


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["kpi", "report", "--fy", "20"], "引数 --fy: 20 は使えません。1989 から 2200 までの整数を指定してください"),
        (["grade", "autograde", "courses/x", "--workers", "0"], "引数 --workers: 0 は使えません。1 以上の整数を指定してください"),
    ],
    ids=["year-typo", "no-workers"],
)
def test_out_of_range_integer_rejected(capsys: pytest.CaptureFixture, arguments: list[str], expected: str) -> None:
    status, _, err = _run(capsys, arguments)

    assert status == 2
    assert expected in err
    assert "Traceback" not in err


def test_unusable_path_gets_message(tmp_path, capsys: pytest.CaptureFixture) -> None:
    # A file given where a course folder is expected: the operating system's error becomes a sentence.
    (tmp_path / "afile").write_text("not a folder", encoding="utf-8")

    status = main(["course", "build", str(tmp_path / "afile")])
    err = capsys.readouterr().err

    assert status == 2
    assert err.startswith("エラー: ")
    assert str(tmp_path / "afile") in err
    assert "フォルダではなくファイルです" in err
    assert "Traceback" not in err


def test_closed_pipe_ends_quietly() -> None:
    # `kenshu course check ... | head -0`: the reader has gone before the command prints its result.
    import subprocess
    import sys

    reader = subprocess.Popen(["true"], stdin=subprocess.PIPE)
    reader.wait(timeout=30)
    writer = subprocess.run(
        [sys.executable, "-m", "kenshu", "course", "check", str(Path(__file__).parents[1] / "courses" / "sample_press")],
        stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=120,
    )
    reader.stdin.close()

    assert writer.returncode == 141
    assert "Traceback" not in writer.stderr
    assert "BrokenPipeError" not in writer.stderr


def test_unknown_error_kept_as_written() -> None:
    assert translate_error("a message from a newer argparse") == "a message from a newer argparse"


def test_log_lines_in_japanese(tmp_path, capsys: pytest.CaptureFixture) -> None:
    """A warning logged during a command reads "警告: ..." without the logger's module path."""
    import logging

    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        # The bundled plan has no targets for 2027, so the report command logs a warning.
        from kenshu.kpi_reports.store import open_store

        open_store(tmp_path / "a.sqlite")
        main(["kpi", "report", "--fy", "2027", "--db", str(tmp_path / "a.sqlite"), "--out", str(tmp_path / "out")])
    finally:
        root.handlers = saved
    err = capsys.readouterr().err

    warning = next(line for line in err.splitlines() if "目標が計画ファイル" in line)
    assert warning.startswith("警告: ")
    assert "kenshu.kpi_reports" not in warning


def _all_parsers(parser: argparse.ArgumentParser):
    """Yield *parser* and every subcommand parser below it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _all_parsers(child)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_command_help_formats(language: str) -> None:
    # A literal "%" in a help text once broke argparse's formatting of one command's help.
    set_language(language)
    pages = {parser.prog: parser.format_help() for parser in _all_parsers(build_parser())}

    assert "kenshu inspect train" in pages
    assert len(pages) > 20
    # Every command's page describes it under the usage line, as `kenshu <area> --help` lists it.
    described = {parser.prog: parser.description for parser in _all_parsers(build_parser())}
    assert [prog for prog, description in described.items() if not description] == []
    for prog, page in pages.items():
        assert page.startswith(("使い方: " if language == "ja" else "usage: ") + prog), prog
    if language == "ja":
        assert "(%" in pages["kenshu inspect train"]
