"""The KPI report: values, Japanese glyphs in the chart, and no trainee name or id in the public files."""

from __future__ import annotations

import datetime as dt
import warnings
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from matplotlib import font_manager
from matplotlib.text import Text
from sqlalchemy import select

from kenshu.kpi_reports.events import add_company_event, set_value_added
from kenshu.kpi_reports.importer import import_signin_sheet
from kenshu.kpi_reports.report import collect_report_data, draw_chart, make_chart_figure, write_report
from kenshu.kpi_reports.store import Trainee
from kenshu.plotting import missing_glyphs

from .kpi_helpers import COMPANY, HEADER, REPO, SAMPLE_SHEET, write_sheet

PLAN = REPO / "kpi_reports" / "plan.yml"


@pytest.fixture
def filled_db(tmp_path: Path, db, roster):
    """A store with the sample sheet, a name-only trainee of another course, events and a value-added figure."""
    import_signin_sheet(SAMPLE_SHEET, db=db, course=roster)
    rows = [HEADER, ("2026/9/1", "渡辺 翔太", "株式会社もみじ工業", "出")]
    import_signin_sheet(write_sheet(tmp_path / "momiji.csv", rows), db=db, course_id="momiji-iot-2026")
    add_company_event(company=COMPANY, kind="introduced", date=dt.date(2026, 9, 1), course_id="sakura-press-2026", evidence="外観検査に画像判定を試験導入", db=db)
    add_company_event(company=COMPANY, kind="introduced", date=dt.date(2026, 11, 1), course_id="sakura-press-2026", evidence="2ライン目に展開", db=db)
    add_company_event(company="株式会社もみじ工業", kind="developed", date=dt.date(2027, 2, 1), evidence="振動監視システムを開発", db=db)
    set_value_added(2026, 320, db=db)
    return db


def _private_strings(db) -> set[str]:  # noqa: ANN001
    """Every trainee name (with and without the space) and id in the store."""
    strings: set[str] = set()
    with db() as session:
        for trainee in session.scalars(select(Trainee)):
            strings.update({trainee.name, trainee.name_key, trainee.key})
            if trainee.trainee_id:
                strings.add(trainee.trainee_id)
            strings.update(part for part in trainee.name.split(" ") if len(part) > 1)
    return {text for text in strings if text}


def _png_metadata(path: Path) -> str:
    """Return the text of every PNG chunk but the image data, zTXt chunks decompressed."""
    data = path.read_bytes()
    position = 8
    texts = []
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IDAT":
            continue
        if kind == b"zTXt":
            keyword, _, rest = body.partition(b"\0")
            body = keyword + b" " + zlib.decompress(rest[1:])
        texts.append(body.decode("utf-8", errors="replace"))
    return "\n".join(texts)


def _xlsx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "\n".join(archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist())


def test_public_report_has_no_names(tmp_path: Path, filled_db) -> None:
    files = write_report(2026, db=filled_db, plan=PLAN, out_dir=tmp_path / "out")
    private = _private_strings(filled_db)
    html = files.html.read_text(encoding="utf-8")
    workbook = _xlsx_text(files.xlsx)
    png = _png_metadata(files.chart)
    assert len(private) >= 20
    assert [text for text in private if text in html] == []
    assert [text for text in private if text in workbook] == []
    assert [text for text in private if text in png] == []


def test_public_report_has_no_company_names(tmp_path: Path, filled_db) -> None:
    files = write_report(2026, db=filled_db, plan=PLAN, out_dir=tmp_path / "out")
    html = files.html.read_text(encoding="utf-8")
    assert "さくら精工" not in html
    assert "さくら精工" not in _xlsx_text(files.xlsx)


def test_internal_report_has_detail(tmp_path: Path, filled_db) -> None:
    # The search above must be able to find names: the internal report has them.
    files = write_report(2026, db=filled_db, plan=PLAN, out_dir=tmp_path / "out", internal=True)
    html = files.html.read_text(encoding="utf-8")
    workbook = _xlsx_text(files.xlsx)
    assert files.html.name == "kpi_2026_internal.html"
    assert "山田 太郎" in html
    assert "山田 太郎" in workbook
    assert "s01" in html
    assert "外観検査に画像判定を試験導入" in html
    assert "momiji-iot-2026" in html


def test_report_values(filled_db) -> None:
    data = collect_report_data(2026, db=filled_db, plan=PLAN, lang="ja")
    rows = {row.kpi: row for row in data.rows}
    assert rows["trainees"].actual == 6  # five of the sample course and 渡辺 of the other course
    assert rows["trainees"].target == 30
    assert rows["trainees"].rate == pytest.approx(6 / 30)
    assert rows["ai_iot_companies"].actual == 1
    assert rows["ai_system_companies"].actual == 1
    assert rows["value_added"].actual == 320


def test_report_cumulative_from_first_year(filled_db) -> None:
    data = collect_report_data(2026, db=filled_db, plan=PLAN, lang="ja")
    rows = {row.kpi: row for row in data.rows}
    assert rows["trainees"].cumulative_target == 40 + 40 + 50 + 30
    assert rows["trainees"].cumulative_actual == 6
    assert rows["value_added"].cumulative_target == 1245 + 1884 + 1980 + 1500


def test_report_before_plan_raises(filled_db) -> None:
    with pytest.raises(ValueError, match="2018"):
        collect_report_data(2018, db=filled_db, plan=PLAN)


def test_html_labels_years_both_ways(tmp_path: Path, filled_db) -> None:
    files = write_report(2026, db=filled_db, plan=PLAN, out_dir=tmp_path / "out")
    html = files.html.read_text(encoding="utf-8")
    assert "2026年度（令和8年度）" in html
    assert "2019年度（令和元年度）" in html
    assert "@page { size: A4" in html


def test_workbook_japanese_headers(tmp_path: Path, filled_db) -> None:
    files = write_report(2026, db=filled_db, plan=PLAN, out_dir=tmp_path / "out")
    sheet = openpyxl.load_workbook(files.xlsx)["KPI"]
    headers = [cell.value for cell in sheet[3]]
    assert headers[:5] == ["指標", "単位", "目標", "実績", "達成率"]
    first = [cell.value for cell in sheet[4]]
    assert first[0] == "本事業で実施する研修の受講者数"
    assert first[2:4] == [30, 6]


def test_chart_glyphs_in_font(filled_db) -> None:
    data = collect_report_data(2026, db=filled_db, plan=PLAN, lang="ja")
    figure = make_chart_figure(data)
    figure.canvas.draw()
    texts = [artist for artist in figure.findobj(Text) if artist.get_text()]
    labels = "".join(artist.get_text() for artist in texts)
    assert "受講者数" in labels
    assert "令和8年度" in labels
    for artist in texts:
        font_path = font_manager.findfont(artist.get_fontproperties(), fallback_to_default=False)
        assert missing_glyphs(artist.get_text(), font_path) == [], (artist.get_text(), font_path)


def test_chart_no_missing_glyph_warning(tmp_path: Path, filled_db) -> None:
    data = collect_report_data(2026, db=filled_db, plan=PLAN, lang="ja")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw_chart(data, tmp_path / "chart.png")
    messages = [str(item.message) for item in caught]
    assert [text for text in messages if "missing from" in text or "Glyph" in text] == []
    assert (tmp_path / "chart.png").stat().st_size > 10_000


def test_report_in_english(tmp_path: Path, filled_db) -> None:
    files = write_report(2026, db=filled_db, plan=PLAN, out_dir=tmp_path / "out", lang="en")
    html = files.html.read_text(encoding="utf-8")
    assert "FY2026 (Reiwa 8)" in html
    assert "Trainees of the programme" in html
