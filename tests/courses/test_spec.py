"""Validation of course.yml: each problem is reported with its key and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from kenshu.cli import main
from kenshu.courses.spec import load_course_spec
from kenshu.errors import CollectedErrors, KenshuError


def _edit(course_dir: Path, old: str, new: str) -> None:
    spec_path = course_dir / "course.yml"
    text = spec_path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found: {old!r}"
    spec_path.write_text(text.replace(old, new), encoding="utf-8")


def _problems(course_dir: Path) -> list[str]:
    with pytest.raises(CollectedErrors) as caught:
        load_course_spec(course_dir)
    return caught.value.problems


def test_valid_spec_loads(course_dir: Path) -> None:
    spec = load_course_spec(course_dir)
    assert spec.company == "株式会社テスト精機"
    assert [trainee.id for trainee in spec.trainees] == ["t1", "t2", "t3"]
    assert spec.problem.data.folder == (course_dir / "photos").resolve()
    assert spec.sessions[0].date.isoformat() == "2026-06-04"


def test_unknown_module_names_key_and_line(course_dir: Path) -> None:
    _edit(course_dir, 'modules: ["01"]', 'modules: ["01", "99"]')
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "9行目" in problems[0]
    assert "modules[1]" in problems[0]
    assert "「99」" in problems[0]
    assert "01" in problems[0].split("使えるモジュール")[1]


def test_missing_data_folder(course_dir: Path) -> None:
    _edit(course_dir, "folder: photos", "folder: fotos")
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "problem.data.folder" in problems[0]
    assert "7行目" in problems[0]
    assert "fotos" in problems[0]
    assert "見つかりません" in problems[0]


def test_empty_class_folder(course_dir: Path) -> None:
    for image in (course_dir / "photos" / "不良品").iterdir():
        image.unlink()
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "不良品" in problems[0]
    assert "画像がありません" in problems[0]


def test_duplicate_trainee_id(course_dir: Path) -> None:
    _edit(course_dir, "{id: t3,", "{id: t1,")
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "trainees[2].id" in problems[0]
    assert "16行目" in problems[0]
    assert "14行目と同じ" in problems[0]


def test_sessions_out_of_order(course_dir: Path) -> None:
    _edit(course_dir, "2026-06-18", "2026-06-01")
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "sessions[1].date" in problems[0]
    assert "12行目" in problems[0]
    assert "2026-06-01" in problems[0]


def test_trainee_of_another_company(course_dir: Path) -> None:
    _edit(course_dir, "{id: t2, name: 試験 二郎, company: 株式会社テスト精機}", "{id: t2, name: 試験 二郎, company: 他社工業}")
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "trainees[1].company" in problems[0]
    assert "他社工業" in problems[0]
    assert "試験 二郎" in problems[0]


def test_company_name_compared_after_nfkc(course_dir: Path) -> None:
    _edit(course_dir, "{id: t2, name: 試験 二郎, company: 株式会社テスト精機}", "{id: t2, name: 試験 二郎, company: 株式会社テスト精機 }")
    assert load_course_spec(course_dir).trainees[1].company == "株式会社テスト精機"


def test_several_problems_reported_together(course_dir: Path) -> None:
    _edit(course_dir, "{id: t3,", "{id: t1,")
    _edit(course_dir, "2026-06-18", "2026-06-01")
    _edit(course_dir, 'modules: ["01"]', 'modules: ["07"]')
    assert len(_problems(course_dir)) == 3


def test_missing_and_unknown_keys(course_dir: Path) -> None:
    _edit(course_dir, "course_id: test-2026\n", "courseid: test-2026\n")
    problems = _problems(course_dir)
    assert any("course_id" in problem and "必須" in problem for problem in problems)
    assert any("courseid" in problem and "知らない項目" in problem and "2行目" in problem for problem in problems)


def test_yaml_syntax_error_names_line(course_dir: Path) -> None:
    _edit(course_dir, "  - {date: 2026-06-04, title: 一回目}", "  - {date: 2026-06-04, title: 一回目")
    with pytest.raises(KenshuError) as caught:
        load_course_spec(course_dir)
    assert caught.value.key == "spec.yaml_syntax"
    assert "行目" in str(caught.value)


def test_english_messages(course_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_LANG", "en")
    _edit(course_dir, "2026-06-18", "2026-06-01")
    problems = _problems(course_dir)
    assert "line 12" in problems[0]
    assert "not after the previous one" in problems[0]


def test_check_command_prints_problems(course_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(course_dir, "{id: t3,", "{id: t1,")
    assert main(["course", "check", str(course_dir)]) == 2
    error = capsys.readouterr().err
    assert "受講者ID「t1」が重複しています" in error


def test_check_command_prints_summary(course_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Enough defect photos that the folder draws no warning.
    for index in range(20):
        Image.new("L", (16, 16), 255 - index).save(course_dir / "photos" / "不良品" / f"extra_{index}.png")
    assert main(["course", "check", str(course_dir)]) == 0
    output = capsys.readouterr().out
    assert "問題ありません" in output
    assert "受講者: 3 名" in output


def _append(course_dir: Path, text: str) -> None:
    spec_path = course_dir / "course.yml"
    spec_path.write_text(spec_path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("2026-06-31", "6月は30日まで"),
        ('"2026-06-31"', "6月は30日まで"),
        ("2026-02-29", "2月は28日まで"),
        ("2026-13-01", "13月はありません"),
    ],
)
def test_impossible_session_date(course_dir: Path, written: str, reason: str) -> None:
    _edit(course_dir, "2026-06-18", written)
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "12行目" in problems[0]
    assert "sessions[1].date" in problems[0]
    assert "という日付はありません" in problems[0]
    assert reason in problems[0]
    assert "読めません" not in problems[0]


def test_impossible_due_date(course_dir: Path) -> None:
    _append(course_dir, 'grading:\n  due: {"01": 2026-13-01}\n')
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "20行目" in problems[0]
    assert "grading.due.01" in problems[0]
    assert "2026-13-01 という日付はありません" in problems[0]


def test_impossible_due_date_with_time(course_dir: Path) -> None:
    _append(course_dir, 'grading:\n  due: {"01": 2026-11-31 17:00:00}\n')
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "grading.due.01" in problems[0]
    assert "11月は30日まで" in problems[0]


def test_malformed_date_asks_for_form(course_dir: Path) -> None:
    _edit(course_dir, "2026-06-18", "2026-06-xx")
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "日付として読めません" in problems[0]
    assert "2026-06-04 の形" in problems[0]


@pytest.mark.parametrize(
    ("grading", "key", "expected"),
    [
        ("cell_timeout: -5", "grading.cell_timeout", "0 より大きい値にしてください (書かれた値: -5)"),
        ("memory_mb: abc", "grading.memory_mb", "整数にしてください (書かれた値: abc)"),
        ("late_penalty: {rule: late}", "grading.late_penalty.rule", "none、zero、percent_per_day のどれか"),
        ("late_penalty: {rule: percent_per_day, percent: 150}", "grading.late_penalty.percent", "100 以下の値"),
        ("exchange: [a, b]", "grading.exchange", "パスを文字列で"),
        ("timeout: 5", "grading.timeout", "知らない項目です"),
    ],
)
def test_value_errors_in_japanese(course_dir: Path, grading: str, key: str, expected: str) -> None:
    _append(course_dir, f"grading:\n  {grading}\n")
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "20行目" in problems[0]
    assert key in problems[0]
    assert expected in problems[0]
    # Neither the date hint nor pydantic's English text belongs to a value that is not a date.
    assert "2026-06-04" not in problems[0]
    assert "Input should" not in problems[0]


def test_text_that_looks_like_a_date(course_dir: Path) -> None:
    _edit(course_dir, "title: 一回目", "title: 2026-06-04")
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "sessions[0].title" in problems[0]
    assert "文字列にしてください" in problems[0]


def test_empty_lists_and_texts(course_dir: Path) -> None:
    _edit(course_dir, 'modules: ["01"]', "modules: []")
    _edit(course_dir, "statement: 傷のある部品を見つけたい", 'statement: ""')
    problems = _problems(course_dir)
    assert len(problems) == 2
    assert "problem.statement" in problems[0]
    assert "空です" in problems[0]
    assert "modules" in problems[1]
    assert "1 件以上" in problems[1]


def test_english_value_error(course_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_LANG", "en")
    _append(course_dir, "grading:\n  cell_timeout: -5\n")
    _edit(course_dir, "2026-06-18", "2026-06-31")
    problems = _problems(course_dir)
    assert "must be greater than 0 (given: -5)" in problems[1]
    assert "the date 2026-06-31 does not exist (month 6 has 30 days)" in problems[0]


def test_unmapped_pydantic_error_keeps_its_text() -> None:
    from pydantic import BaseModel, Field, ValidationError

    from kenshu.yaml_spec import Problems, report_validation_error

    class Code(BaseModel):
        code: str = Field(pattern=r"^[A-Z]+$")

    with pytest.raises(ValidationError) as caught:
        Code(code="abc")
    problems = Problems(Path("x.yml"), None)
    report_validation_error(caught.value, problems)
    assert len(problems.items) == 1
    assert "値が正しくありません" in problems.items[0]
    assert "^[A-Z]+$" in problems.items[0]


def test_duplicate_top_level_key(course_dir: Path) -> None:
    _append(course_dir, "company: 別の会社\n")
    with pytest.raises(KenshuError) as caught:
        load_course_spec(course_dir)
    text = str(caught.value)
    assert caught.value.key == "spec.duplicate_key"
    assert "「company」" in text
    assert "1行目と19行目" in text
    assert "yaml.dev" not in text


def test_duplicate_nested_key_names_first_line(course_dir: Path) -> None:
    _edit(course_dir, "    good_class: 良品\n", "    good_class: 良品\n    folder: other\n")
    with pytest.raises(KenshuError) as caught:
        load_course_spec(course_dir)
    assert "「folder」" in str(caught.value)
    assert "7行目と9行目" in str(caught.value)


def test_check_command_impossible_date(course_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(course_dir, "2026-06-18", "2026-06-31")
    assert main(["course", "check", str(course_dir)]) == 2
    error = capsys.readouterr().err
    assert "6月は30日まで" in error
    assert "Traceback" not in error


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "place"),
    [
        ("    folder: photos", "\u3000\u3000folder: photos", 7, "yaml.fullwidth_space", "字下げ"),
        ("company: 株式会社テスト精機", "company:\u3000株式会社テスト精機", 1, "yaml.fullwidth_space", "「:」「-」「,」の後ろ"),
        ("course_id: test-2026\n", "course_id:\u3000test-2026\n", 2, "yaml.fullwidth_space", "「:」「-」「,」の後ろ"),
        ("  - {id: t3,", "\t- {id: t3,", 16, "yaml.tab", "字下げ"),
        ("course_id: test-2026", "course_id:\ttest-2026", 2, "yaml.tab", "「:」「-」「,」の後ろ"),
    ],
)
def test_misplaced_space_named(course_dir: Path, old: str, new: str, line: int, key: str, place: str) -> None:
    _edit(course_dir, old, new)
    with pytest.raises(KenshuError) as caught:
        load_course_spec(course_dir)
    text = str(caught.value)
    assert caught.value.key == key
    assert f"course.yml の {line}行目: {place}" in text
    assert "半角スペースに置き換えてください" in text
    assert "括弧やコロン" not in text


def test_fullwidth_space_english(course_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_LANG", "en")
    _edit(course_dir, "company: 株式会社テスト精機", "company:\u3000株式会社テスト精機")
    with pytest.raises(KenshuError) as caught:
        load_course_spec(course_dir)
    assert "line 1: a full-width space (U+3000, marked □)" in str(caught.value)
    assert "line 1: company:□株式会社テスト精機" in str(caught.value)


def test_fullwidth_space_before_flow_key(course_dir: Path) -> None:
    _edit(course_dir, "{date: 2026-06-04, title: 一回目}", "{date: 2026-06-04,\u3000title: 一回目}")
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "11行目" in problems[0]
    assert "項目名「title」の前か後ろに全角スペースがあります" in problems[0]


def test_fullwidth_space_inside_value_allowed(course_dir: Path) -> None:
    _edit(course_dir, "statement: 傷のある部品を見つけたい", "statement: 傷のある\u3000部品を見つけたい")
    assert load_course_spec(course_dir).problem.statement == "傷のある\u3000部品を見つけたい"


def test_other_syntax_error_keeps_parser_text(course_dir: Path) -> None:
    _edit(course_dir, "title: 一回目}", "title: 一回目")
    with pytest.raises(KenshuError) as caught:
        load_course_spec(course_dir)
    assert caught.value.key == "spec.yaml_syntax"
    assert "括弧やコロンの対応" in str(caught.value)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026/06/18", "2026-06-18"),
        ("2026/6/18", "2026-06-18"),
        ("令和8年6月18日", "2026-06-18"),
        ("令和８年６月１８日", "2026-06-18"),
    ],
)
def test_session_date_office_forms(course_dir: Path, written: str, expected: str) -> None:
    _edit(course_dir, "2026-06-18", written)
    assert load_course_spec(course_dir).sessions[1].date.isoformat() == expected


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("2026/06/31", "6月は30日まで"),
        ("令和8年6月31日", "6月は30日まで"),
        ("令和元年4月1日", "令和"),
    ],
)
def test_impossible_office_date(course_dir: Path, written: str, reason: str) -> None:
    _edit(course_dir, "2026-06-18", written)
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "12行目" in problems[0]
    assert f"{written} という日付はありません" in problems[0]
    assert reason in problems[0]


def test_malformed_date_lists_forms(course_dir: Path) -> None:
    _edit(course_dir, "2026-06-18", "6月18日")
    problems = _problems(course_dir)
    assert len(problems) == 1
    assert "日付として読めません (書かれた値: 6月18日)" in problems[0]
    assert "2026/06/04 や 令和8年6月4日" in problems[0]
