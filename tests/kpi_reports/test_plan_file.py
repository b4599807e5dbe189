"""Mistakes in plan.yml: each reported in the user's language with its key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kenshu.errors import CollectedErrors, KenshuError
from kenshu.kpi_reports.plan import load_plan

from .kpi_helpers import REPO

SHIPPED_PLAN = REPO / "kpi_reports" / "plan.yml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(CollectedErrors) as caught:
        load_plan(path)
    assert caught.value.key == "kpi.plan_invalid"
    return caught.value.problems


def test_rule_out_of_range_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "targets:\n  2026: {trainees: 30}\nrules:\n  min_session_share: 1.5\n")
    problems = _problems(path)
    assert len(problems) == 1
    assert "4行目" in problems[0]
    assert "rules.min_session_share" in problems[0]
    assert "1 以下の値にしてください (書かれた値: 1.5)" in problems[0]
    assert "Input should" not in problems[0]


def test_unknown_kpi_names_year_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "targets:\n  2026: {trainees: 30}\n  2027: {trainee: 30}\n")
    problems = _problems(path)
    assert len(problems) == 1
    assert "3行目" in problems[0]
    assert "targets.2027.trainee" in problems[0]
    assert "知らない項目です" in problems[0]


def test_year_that_is_not_a_number(tmp_path: Path) -> None:
    path = _write(tmp_path, "targets:\n  2026: {trainees: 30}\n  next: {trainees: 30}\n")
    problems = _problems(path)
    assert len(problems) == 1
    assert "3行目" in problems[0]
    assert "整数にしてください (書かれた値: next)" in problems[0]


def test_several_problems_in_line_order(tmp_path: Path) -> None:
    text = SHIPPED_PLAN.read_text(encoding="utf-8")
    text = text.replace("time_zone: Asia/Tokyo", "time_zone: Asia/Tokio")
    text = text.replace("    days_after: 1\n", "    days_after: -1\n")
    text = text.replace("attended_statuses: [present, late, left_early]", "attended_statuses: [present, here]")
    problems = _problems(_write(tmp_path, text))
    assert len(problems) == 3
    assert "rules.attended_statuses[1]" in problems[0]
    assert "present、absent、late、left_early、submitted のどれか" in problems[0]
    assert "rules.nbgrader_evidence.days_after" in problems[1]
    assert "0 以上の値にしてください (書かれた値: -1)" in problems[1]
    assert "rules.time_zone" in problems[2]
    assert "タイムゾーン「Asia/Tokio」はありません" in problems[2]


def test_duplicate_year_names_both_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "targets:\n  2026: {trainees: 30}\n  2026: {trainees: 40}\n")
    with pytest.raises(KenshuError) as caught:
        load_plan(path)
    assert caught.value.key == "kpi.plan_duplicate_key"
    assert "「2026」" in str(caught.value)
    assert "2行目と3行目" in str(caught.value)


def test_yaml_syntax_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "targets:\n  2026: {trainees: 30\nrules: {}\n")
    with pytest.raises(KenshuError) as caught:
        load_plan(path)
    assert caught.value.key == "kpi.plan_yaml"
    assert "行目付近" in str(caught.value)


def test_english_plan_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_LANG", "en")
    path = _write(tmp_path, "targets:\n  2026: {trainees: 30}\nrules:\n  min_session_share: 0\n")
    problems = _problems(path)
    assert "line 4" in problems[0]
    assert "must be greater than 0 (given: 0)" in problems[0]
