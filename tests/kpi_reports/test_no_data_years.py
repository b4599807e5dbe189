"""Years without any record show "—" (no data), not 0; years with records keep their true zeros."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import pytest
from matplotlib.container import BarContainer

from kenshu.kpi_reports.events import set_value_added
from kenshu.kpi_reports.fiscal import fiscal_year_label
from kenshu.kpi_reports.importer import import_signin_sheet
from kenshu.kpi_reports.kpi import compute_actuals
from kenshu.kpi_reports.plan import KPI_IDS, load_plan
from kenshu.kpi_reports.report import collect_report_data, make_chart_figure, write_report

from .kpi_helpers import COMPANY, HEADER, REPO, SESSIONS, TRAINEES, full_sheet_rows, write_sheet
from .test_report import _png_metadata, _private_strings, _xlsx_text

PLAN = REPO / "kpi_reports" / "plan.yml"
DASH = "—"
# Two trainees miss two of the three sessions, so they stay under the plan's half.
MISSING = {(name, date): "欠" for _, name in TRAINEES[:2] for date in SESSIONS[:2]}


@pytest.fixture
def fy2026_db(tmp_path: Path, db, roster):
    """A store whose only records are the FY2026 course (a sheet with two absentees) and its value added."""
    import_signin_sheet(write_sheet(tmp_path / "sheet.csv", full_sheet_rows(MISSING)), db=db, course=roster)
    set_value_added(2026, 320, db=db)
    return db


def _html_year_row(html: str, year: int) -> list[str]:
    """Return the cells of the by-year table's row of *year*."""
    label = fiscal_year_label(year)
    row = re.search(rf"<tr><td>{re.escape(label)}</td>(.*?)</tr>", html, re.S)
    assert row is not None, label
    return [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_years_without_records_have_no_values(fy2026_db) -> None:
    plan = load_plan(PLAN)
    data = collect_report_data(2026, db=fy2026_db, plan=plan, lang="ja")

    assert data.no_data_years == list(range(2019, 2026))
    for year in range(2019, 2026):
        assert data.actuals[year].values == dict.fromkeys(KPI_IDS), year
    expected = len(TRAINEES) - len({name for name, _ in MISSING})
    assert data.actuals[2026].values == {"trainees": expected, "ai_iot_companies": 0, "ai_system_companies": 0, "value_added": 320}


def test_cumulative_covers_years_with_records(fy2026_db) -> None:
    plan = load_plan(PLAN)
    rows = {row.kpi: row for row in collect_report_data(2026, db=fy2026_db, plan=plan, lang="ja").rows}
    actual_2026 = len(TRAINEES) - len({name for name, _ in MISSING})
    plan_total = sum(plan.target("trainees", year) or 0 for year in range(plan.first_year, 2027))
    assert rows["trainees"].cumulative_actual == actual_2026
    assert rows["trainees"].cumulative_target == plan_total
    assert rows["trainees"].cumulative_rate == pytest.approx(actual_2026 / plan_total)
    assert rows["value_added"].cumulative_actual == 320


def test_html_shows_dash_and_names_years(tmp_path: Path, fy2026_db) -> None:
    files = write_report(2026, db=fy2026_db, plan=PLAN, out_dir=tmp_path / "out", lang="ja")
    html = files.html.read_text(encoding="utf-8")
    plan = load_plan(PLAN)
    for year in range(2019, 2026):
        cells = _html_year_row(html, year)
        assert cells[1::2] == [DASH] * len(KPI_IDS), (year, cells)
    cells_2026 = _html_year_row(html, 2026)
    assert cells_2026[1::2] == [str(len(TRAINEES) - 2), "0", "0", "320"]
    assert cells_2026[0::2] == [f"{plan.target(kpi, 2026):,g}" for kpi in KPI_IDS]
    assert "2019年度〜2025年度は" in html
    assert "記録のある2026年度だけの合計" in html


def test_workbook_leaves_no_data_cells_empty(tmp_path: Path, fy2026_db) -> None:
    files = write_report(2026, db=fy2026_db, plan=PLAN, out_dir=tmp_path / "out", lang="ja")
    workbook = openpyxl.load_workbook(files.xlsx)
    sheet = workbook["年度"]
    rows = {row[0]: row[1:] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    for year in range(2019, 2026):
        assert rows[fiscal_year_label(year)][1::2] == (None,) * len(KPI_IDS), year
    assert rows[fiscal_year_label(2026)][1::2] == (len(TRAINEES) - 2, 0, 0, 320)
    notes = [row[0] for row in workbook["KPI"].iter_rows(values_only=True) if row[0] and "2019年度〜2025年度" in str(row[0])]
    assert len(notes) == 1


def test_chart_draws_no_bar_for_years_without_records(fy2026_db) -> None:
    data = collect_report_data(2026, db=fy2026_db, plan=PLAN, lang="ja")
    figure = make_chart_figure(data)
    for axis in figure.axes:
        targets, actuals = [artist for artist in axis.containers if isinstance(artist, BarContainer)]
        assert len(targets) == len(data.years)
        assert len(actuals) == 1  # FY2026 only
        marks = [text.get_text() for text in axis.texts]
        assert marks.count(DASH) == len(data.no_data_years)


def test_year_with_sessions_but_no_trainee_counts_zero(tmp_path: Path, db) -> None:
    # FY2025: a course held, but every trainee absent. FY2024: nothing at all.
    rows = [HEADER] + [(f"2025/6/{day}", name, COMPANY, "欠") for day in (4, 18) for _, name in TRAINEES]
    import_signin_sheet(write_sheet(tmp_path / "absent.csv", rows), db=db, course_id="absent-2025")
    data = collect_report_data(2025, db=db, plan=PLAN, lang="ja")

    assert data.actuals[2025].has_records
    assert data.actuals[2025].values["trainees"] == 0
    assert data.actuals[2025].values["ai_iot_companies"] == 0
    assert not data.actuals[2024].has_records
    assert data.actuals[2024].values["trainees"] is None
    rows_2025 = {row.kpi: row for row in data.rows}
    assert rows_2025["trainees"].actual == 0
    assert rows_2025["trainees"].rate is None  # the plan sets no FY2025 target


def test_html_zero_for_year_with_sessions(tmp_path: Path, db) -> None:
    rows = [HEADER] + [(f"2025/6/{day}", name, COMPANY, "欠") for day in (4, 18) for _, name in TRAINEES]
    import_signin_sheet(write_sheet(tmp_path / "absent.csv", rows), db=db, course_id="absent-2025")
    files = write_report(2025, db=db, plan=PLAN, out_dir=tmp_path / "out", lang="ja")
    html = files.html.read_text(encoding="utf-8")
    assert _html_year_row(html, 2025)[1] == "0"
    assert _html_year_row(html, 2024)[1] == DASH
    assert "2019年度〜2024年度は" in html


def test_value_added_alone_is_a_record(db) -> None:
    set_value_added(2022, 150, db=db)
    plan = load_plan(PLAN)
    with db() as session:
        actuals = compute_actuals(session, plan, [2021, 2022])
    assert not actuals[2021].has_records
    assert actuals[2022].values == {"trainees": 0, "ai_iot_companies": 0, "ai_system_companies": 0, "value_added": 150}


def test_note_in_english(tmp_path: Path, fy2026_db) -> None:
    data = collect_report_data(2026, db=fy2026_db, plan=PLAN, lang="en")
    assert data.no_data_note().startswith("No records at all for FY2019–FY2025")


def test_no_data_report_has_no_names(tmp_path: Path, fy2026_db) -> None:
    files = write_report(2026, db=fy2026_db, plan=PLAN, out_dir=tmp_path / "out")
    private = _private_strings(fy2026_db)
    assert len(private) >= 12
    for text in (files.html.read_text(encoding="utf-8"), _xlsx_text(files.xlsx), _png_metadata(files.chart)):
        assert [item for item in private if item in text] == []


def test_every_year_with_records_has_no_note(tmp_path: Path, fy2026_db) -> None:
    plan_path = tmp_path / "plan.yml"
    plan_path.write_text("targets:\n  2026: {trainees: 30}\n", encoding="utf-8")
    data = collect_report_data(2026, db=fy2026_db, plan=plan_path, lang="ja")
    assert data.no_data_years == []
    assert data.no_data_note() is None
    assert "2025年度" not in write_report(2026, db=fy2026_db, plan=plan_path, out_dir=tmp_path / "out").html.read_text(encoding="utf-8")


def test_event_list_of_year_without_records(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from kenshu.cli import main

    from kenshu.kpi_reports.store import open_store

    open_store(tmp_path / "empty.sqlite")  # a store that exists and contains no records
    status = main(["kpi", "event", "list", "--fy", "2024", "--db", str(tmp_path / "empty.sqlite")])
    listing = capsys.readouterr().out
    assert status == 0
    assert "AI・IoT導入企業数（社）: 0" in listing
    assert "None" not in listing
