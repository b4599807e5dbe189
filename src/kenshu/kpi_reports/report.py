"""The yearly KPI report: an HTML page printable on A4, an .xlsx workbook and a bar chart.

The public report contains aggregates only: no trainee name or id, and no
company name, goes into the HTML, the workbook or the chart. ``internal=True``
writes a second set of files for the office with per-company and per-course
detail, the events that made each company count, and the trainees counted.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kenshu.i18n import get_language, message
from kenshu.kpi_reports.fiscal import fiscal_year, fiscal_year_label
from kenshu.kpi_reports.importer import _open
from kenshu.kpi_reports.kpi import KpiRow, YearActuals, compute_actuals, kpi_rows
from kenshu.kpi_reports.plan import KPI_IDS, Plan, load_plan
from kenshu.kpi_reports.report_html import render_html
from kenshu.kpi_reports.store import Course, TrainingSession
from kenshu.paths import project_root

logger = logging.getLogger(__name__)


@dataclass
class ReportData:
    """Everything a report shows, computed once and written to each format."""

    year: int
    plan: Plan
    rows: list[KpiRow]
    actuals: dict[int, YearActuals]
    lang: str
    internal: bool = False
    by_company: list[dict[str, object]] = field(default_factory=list)
    by_course: list[dict[str, object]] = field(default_factory=list)

    @property
    def year_label(self) -> str:
        """The report year as ``2026年度（令和8年度）``."""
        return fiscal_year_label(self.year, lang=self.lang)

    @property
    def years(self) -> list[int]:
        """Every fiscal year from the plan's first year to the report year."""
        return list(range(self.plan.first_year, self.year + 1))

    @property
    def no_data_years(self) -> list[int]:
        """The years up to the report year without any record in the store."""
        return [year for year in self.years if not self.actuals[year].has_records]

    def year_ranges(self, years: list[int]) -> str:
        """Return *years* as short ranges: ``2019年度〜2025年度、2027年度``."""
        runs: list[list[int]] = []
        for year in years:
            if runs and year == runs[-1][-1] + 1:
                runs[-1].append(year)
            else:
                runs.append([year])
        tick = lambda year: self.text("kpi.report.year_tick", year=year)  # noqa: E731
        parts = [tick(run[0]) if len(run) == 1 else self.text("kpi.report.year_range", first=tick(run[0]), last=tick(run[-1])) for run in runs]
        return self.text("kpi.report.list_separator").join(parts)

    def no_data_note(self) -> str | None:
        """Return the sentence naming the years without records, or None when every year has some."""
        missing = self.no_data_years
        if not missing:
            return None
        covered = [year for year in self.years if year not in missing]
        key = "kpi.report.no_data_years" if covered else "kpi.report.no_data_all"
        return self.text(key, years=self.year_ranges(missing), covered=self.year_ranges(covered), mark=self.text("kpi.report.not_set"))

    def no_target_note(self) -> str | None:
        """Return the sentence saying the plan has no targets for the report's year, or None when it has."""
        if self.year in self.plan.targets:
            return None
        plan_name = self.plan.path.name if self.plan.path else "plan.yml"
        return self.text("kpi.report.no_target_year", year=self.year_label, plan=plan_name, fy=self.year, mark=self.text("kpi.report.not_set"))

    def text(self, key: str, **fields: object) -> str:
        """Return catalog text in the report's language."""
        return message(key, lang=self.lang, **fields)

    def title(self) -> str:
        """Return the report's title."""
        key = "kpi.report.internal_title" if self.internal else "kpi.report.title"
        return self.text(key, year=self.year_label)

    def rule_lines(self) -> list[str]:
        """Return the counting rules of the plan as sentences."""
        rules = self.plan.rules
        evidence = rules.nbgrader_evidence
        return [
            self.text(
                "kpi.report.rule_trainees",
                share=f"{rules.min_session_share:.0%}",
                once=self.text("kpi.report.rule_once") if rules.count_once_per_year else "",
                statuses="、".join(self.text(f"kpi.status.{status.value}") for status in rules.attended_statuses),
                nbgrader=self.text("kpi.report.rule_nbgrader", before=evidence.days_before, after=evidence.days_after)
                if evidence.enabled
                else "",
            )
            + (
                self.text("kpi.report.rule_hub", before=rules.hub_evidence.days_before, after=rules.hub_evidence.days_after)
                if rules.hub_evidence.enabled
                else ""
            ),
            self.text("kpi.report.rule_companies"),
            self.text("kpi.report.rule_cumulative", first=self.text("kpi.report.year_tick", year=self.plan.first_year)),
        ]


def format_number(value: float | None, *, lang: str = "ja") -> str:
    """Return *value* with thousands separators and no needless decimals, or a dash when None."""
    if value is None:
        return message("kpi.report.not_set", lang=lang)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def format_rate(value: float | None, *, lang: str = "ja") -> str:
    """Return a rate as a percentage with one decimal, or a dash when None."""
    return message("kpi.report.not_set", lang=lang) if value is None else f"{value:.1%}"


def _internal_detail(session: Session, data: ReportData) -> None:
    actuals = data.actuals[data.year]

    # Per company: the people counted, and the companies' events.
    companies: dict[str, dict[str, object]] = defaultdict(lambda: {"trainees": 0, "ai_iot_companies": 0, "ai_system_companies": 0})
    for item in actuals.trainees:
        companies[item.company or "-"]["trainees"] += 1
    for kpi, events in actuals.events.items():
        for company in {event.company for event in events}:
            companies[company][kpi] += 1
    data.by_company = [{"company": name, **values} for name, values in sorted(companies.items())]

    # Per course: sessions held in the year, and the people counted.
    per_course: dict[str, int] = defaultdict(int)
    for item in actuals.trainees:
        per_course[item.course_id] += 1
    sessions: dict[str, int] = defaultdict(int)
    for course_id, date in session.execute(select(Course.course_id, TrainingSession.date).join(TrainingSession.course)):
        if fiscal_year(date) == data.year:
            sessions[course_id] += 1
    data.by_course = [
        {"course": course, "sessions": sessions.get(course, 0), "trainees": per_course.get(course, 0)}
        for course in sorted(set(sessions) | set(per_course))
    ]


def collect_report_data(
    year: int,
    *,
    db: str | Path | sessionmaker[Session] | None = None,
    plan: Plan | str | Path | None = None,
    internal: bool = False,
    lang: str | None = None,
) -> ReportData:
    """Compute what the report of fiscal *year* shows.

    Raises
    ------
    ValueError
        If *year* is before the plan's first year.
    """
    plan = plan if isinstance(plan, Plan) else load_plan(plan)
    if year < plan.first_year:
        raise ValueError(f"fiscal year {year} is before the plan's first year {plan.first_year}")
    lang = lang or get_language()

    with _open(db)() as session:
        actuals = compute_actuals(session, plan, list(range(plan.first_year, year + 1)))
        data = ReportData(year, plan, kpi_rows(plan, actuals, year), actuals, lang, internal)
        if internal:
            _internal_detail(session, data)
    return data


def make_chart_figure(data: ReportData):  # noqa: ANN201
    """Return a matplotlib figure with one bar chart per KPI, target beside actual for each year."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from kenshu.plotting import use_japanese_font

    use_japanese_font()
    years = data.years
    ticks = [data.text("kpi.report.year_tick", year=year) for year in years]
    positions = list(range(len(years)))
    width = 0.4

    figure = Figure(figsize=(11, 7.5), layout="constrained")
    axes = figure.subplots(2, 2)
    for axis, kpi in zip(axes.flat, KPI_IDS):
        targets = [data.plan.target(kpi, year) or 0 for year in years]
        # A year without records gets no actual bar and a dash, so that it does not read as 0;
        # a true 0 is a bar of height 0 with its value written above it.
        actuals = [(position, data.actuals[year].values.get(kpi)) for position, year in zip(positions, years)]
        shown = [(position, value) for position, value in actuals if value is not None]
        axis.bar([p - width / 2 for p in positions], targets, width, label=data.text("kpi.report.legend_target"), color="#b8c7dd")
        axis.bar(
            [p + width / 2 for p, _ in shown], [value for _, value in shown], width, label=data.text("kpi.report.legend_actual"), color="#1f4e8c"
        )
        for position, value in actuals:
            if value is None or value == 0:
                mark = data.text("kpi.report.not_set") if value is None else "0"
                axis.annotate(mark, (position + width / 2, 0), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8, color="#555")
        axis.set_title(data.text(f"kpi.short.{kpi}"))
        axis.set_xticks(positions, ticks, rotation=45, ha="right", fontsize=8)
        axis.legend(fontsize=8)
    figure.suptitle(data.text("kpi.report.chart") + " " + data.year_label)
    note = data.no_data_note()
    if note:
        figure.supxlabel(note, fontsize=8, color="#555", wrap=True)
    return figure


def draw_chart(data: ReportData, path: Path) -> Path:
    """Draw the KPI bar charts and save them as PNG at *path*."""
    figure = make_chart_figure(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Only aggregate text goes into the PNG's metadata: the title and matplotlib's Software entry.
    figure.savefig(path, dpi=120, metadata={"Title": data.title()})
    return path


def write_workbook(data: ReportData, path: Path) -> Path:
    """Write the report as an .xlsx workbook with Japanese headers."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    text = data.text
    first = text("kpi.report.year_tick", year=data.plan.first_year)
    workbook = Workbook()
    workbook.properties.creator = "kenshu"
    workbook.properties.title = data.title()
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE6F0")

    def add_table(sheet, headers: list[str], rows: list[list[object]]) -> None:
        sheet.append(headers)
        for cell in sheet[sheet.max_row]:
            cell.font, cell.fill = header_font, header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for row in rows:
            sheet.append(row)
        for column, header in enumerate(headers, start=1):
            sheet.column_dimensions[sheet.cell(1, column).column_letter].width = max(12, min(48, len(header) * 2 + 4))

    # 1. The report year's KPIs.
    summary = workbook.active
    summary.title = "KPI"
    summary.append([data.title()])
    summary.append([])
    headers = [
        text("kpi.report.kpi"),
        text("kpi.report.unit"),
        text("kpi.report.target"),
        text("kpi.report.actual"),
        text("kpi.report.rate"),
        text("kpi.report.cumulative_target", first=first),
        text("kpi.report.cumulative_actual", first=first),
        text("kpi.report.cumulative_rate"),
    ]
    summary.append(headers)
    for cell in summary[3]:
        cell.font, cell.fill = header_font, header_fill
    for row in data.rows:
        summary.append(
            [text(f"kpi.name.{row.kpi}"), text(f"kpi.unit.{row.kpi}"), row.target, row.actual, row.rate, row.cumulative_target, row.cumulative_actual, row.cumulative_rate]
        )
        for column in (5, 8):
            summary.cell(summary.max_row, column).number_format = "0.0%"
    summary.column_dimensions["A"].width = 52
    for letter in "BCDEFGH":
        summary.column_dimensions[letter].width = 16
    summary.append([])
    for note in (data.no_target_note(), data.no_data_note()):
        if note:
            summary.append([note])
    for line in data.rule_lines():
        summary.append([line])

    # 2. Every year of the plan up to the report year.
    by_year = workbook.create_sheet(text("kpi.report.year"))
    year_headers = [text("kpi.report.year")]
    for kpi in KPI_IDS:
        year_headers += [f"{text(f'kpi.short.{kpi}')} {text('kpi.report.target')}", f"{text(f'kpi.short.{kpi}')} {text('kpi.report.actual')}"]
    year_rows = []
    for year in data.years:
        row: list[object] = [fiscal_year_label(year, lang=data.lang)]
        for kpi in KPI_IDS:
            row += [data.plan.target(kpi, year), data.actuals[year].values.get(kpi)]
        year_rows.append(row)
    add_table(by_year, year_headers, year_rows)
    by_year.column_dimensions["A"].width = 24
    # A year without records has empty actual cells (not 0), and the note below the table names those years.
    if note:
        by_year.append([])
        by_year.append([note])

    # 3. Internal detail for the office only.
    if data.internal:
        _add_internal_sheets(data, workbook, add_table)

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def _add_internal_sheets(data: ReportData, workbook, add_table) -> None:  # noqa: ANN001
    text = data.text
    actuals = data.actuals[data.year]
    add_table(
        workbook.create_sheet(text("kpi.report.by_company")),
        [text("kpi.report.company")] + [text(f"kpi.short.{kpi}") for kpi in KPI_IDS[:3]],
        [[row["company"], row["trainees"], row["ai_iot_companies"], row["ai_system_companies"]] for row in data.by_company],
    )
    add_table(
        workbook.create_sheet(text("kpi.report.by_course")),
        [text("kpi.report.course"), text("kpi.report.sessions"), text("kpi.short.trainees")],
        [[row["course"], row["sessions"], row["trainees"]] for row in data.by_course],
    )
    add_table(
        workbook.create_sheet(text("kpi.report.events")),
        [text("kpi.report.company"), text("kpi.report.event_kind"), text("kpi.report.date"), text("kpi.report.course"), text("kpi.report.evidence")],
        [
            [event.company, text(f"kpi.report.kind.{event.kind}"), event.date, event.course_id, event.evidence]
            for kpi in ("ai_iot_companies", "ai_system_companies")
            for event in actuals.events.get(kpi, [])
        ],
    )
    add_table(
        workbook.create_sheet(text("kpi.report.counted_trainees")),
        [
            text("kpi.report.trainee_id"),
            text("kpi.report.name"),
            text("kpi.report.company"),
            text("kpi.report.course"),
            text("kpi.report.qualified_on"),
            text("kpi.report.attended"),
            text("kpi.report.evidence"),
        ],
        [
            [item.trainee_key, item.name, item.company, item.course_id, item.qualified_on, f"{item.attended}/{item.sessions}", " ".join(item.evidence)]
            for item in actuals.trainees
        ],
    )


@dataclass(frozen=True)
class ReportFiles:
    """Paths of the files one report run wrote."""

    html: Path
    xlsx: Path
    chart: Path


def default_output_dir() -> Path:
    """Return ``kpi_reports/_build/reports`` of the checkout (git-ignored output)."""
    return project_root() / "kpi_reports" / "_build" / "reports"


def write_report(
    year: int,
    *,
    db: str | Path | sessionmaker[Session] | None = None,
    plan: Plan | str | Path | None = None,
    out_dir: str | Path | None = None,
    internal: bool = False,
    lang: str | None = None,
) -> ReportFiles:
    """Write the KPI report of fiscal *year*: ``kpi_<year>.html``, ``.xlsx`` and ``.png``.

    With *internal*, the files are ``kpi_<year>_internal.*`` and add
    per-company and per-course detail, the events counted and the trainees
    counted. They are for the office and must not be published.

    Returns
    -------
    ReportFiles
        The paths written.
    """
    out_dir = Path(out_dir) if out_dir is not None else default_output_dir()
    data = collect_report_data(year, db=db, plan=plan, internal=internal, lang=lang)
    stem = f"kpi_{year}_internal" if internal else f"kpi_{year}"
    logger.info("writing KPI report %s to %s", stem, out_dir)

    chart = draw_chart(data, out_dir / f"{stem}.png")
    xlsx = write_workbook(data, out_dir / f"{stem}.xlsx")
    html = out_dir / f"{stem}.html"
    html.write_text(render_html(data, chart_name=chart.name, made_on=dt.date.today()), encoding="utf-8")
    return ReportFiles(html, xlsx, chart)
