"""The HTML page of the KPI report, one A4 page per section when printed.

The template is kept here, in the package, so that an installed kenshu has it
without package data. Jinja2 escapes every value.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import jinja2

if TYPE_CHECKING:
    from kenshu.kpi_reports.report import ReportData

TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
  @page { size: A4 portrait; margin: 15mm; }
  body { font-family: "IPAexGothic", "Hiragino Kaku Gothic ProN", "Yu Gothic", "Meiryo", sans-serif;
         font-size: 10.5pt; color: #111; max-width: 180mm; margin: 0 auto; }
  h1 { font-size: 15pt; border-bottom: 2px solid #1f4e8c; padding-bottom: 2mm; }
  h2 { font-size: 12pt; margin-top: 7mm; }
  table { border-collapse: collapse; width: 100%; margin: 2mm 0; page-break-inside: avoid; }
  th, td { border: 1px solid #888; padding: 1.2mm 2mm; }
  th { background: #dde6f0; font-weight: bold; }
  td.number { text-align: right; font-variant-numeric: tabular-nums; }
  img { width: 100%; page-break-inside: avoid; }
  .meta { color: #555; font-size: 9pt; }
  .note { font-size: 9.5pt; }
  .rules li { margin-bottom: 1mm; }
  section.internal { page-break-before: always; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="meta">{{ generated }}</p>

<h2>{{ t("kpi.report.summary", year=year_label) }}</h2>
<table>
  <tr>
    <th>{{ t("kpi.report.kpi") }}</th><th>{{ t("kpi.report.unit") }}</th>
    <th>{{ t("kpi.report.target") }}</th><th>{{ t("kpi.report.actual") }}</th><th>{{ t("kpi.report.rate") }}</th>
    <th>{{ t("kpi.report.cumulative_target", first=first) }}</th><th>{{ t("kpi.report.cumulative_actual", first=first) }}</th>
    <th>{{ t("kpi.report.cumulative_rate") }}</th>
  </tr>
  {% for row in rows %}
  <tr>
    <td>{{ t("kpi.name." ~ row.kpi) }}</td><td>{{ t("kpi.unit." ~ row.kpi) }}</td>
    <td class="number">{{ number(row.target) }}</td><td class="number">{{ number(row.actual) }}</td>
    <td class="number">{{ rate(row.rate) }}</td>
    <td class="number">{{ number(row.cumulative_target) }}</td><td class="number">{{ number(row.cumulative_actual) }}</td>
    <td class="number">{{ rate(row.cumulative_rate) }}</td>
  </tr>
  {% endfor %}
</table>
{% if no_target_note %}<p class="note">{{ no_target_note }}</p>{% endif %}
{% if no_data_note %}<p class="note">{{ no_data_note }}</p>{% endif %}

<h2>{{ t("kpi.report.chart") }}</h2>
<img src="{{ chart_name }}" alt="{{ t('kpi.report.chart') }}">

<h2>{{ t("kpi.report.by_year") }}</h2>
<table>
  <tr><th rowspan="2">{{ t("kpi.report.year") }}</th>
  {% for kpi in kpis %}<th colspan="2">{{ t("kpi.short." ~ kpi) }}</th>{% endfor %}</tr>
  <tr>{% for kpi in kpis %}<th>{{ t("kpi.report.target") }}</th><th>{{ t("kpi.report.actual") }}</th>{% endfor %}</tr>
  {% for year in years %}
  <tr><td>{{ year_label_of(year) }}</td>
  {% for kpi in kpis %}<td class="number">{{ number(target(kpi, year)) }}</td><td class="number">{{ number(actual(kpi, year)) }}</td>{% endfor %}
  </tr>
  {% endfor %}
</table>
{% if no_data_note %}<p class="note">{{ no_data_note }}</p>{% endif %}

<h2>{{ t("kpi.report.rules") }}</h2>
<ul class="rules">{% for line in rule_lines %}<li>{{ line }}</li>{% endfor %}</ul>

{% if internal %}
<section class="internal">
<h2>{{ t("kpi.report.by_company") }}</h2>
<table>
  <tr><th>{{ t("kpi.report.company") }}</th>{% for kpi in kpis[:3] %}<th>{{ t("kpi.short." ~ kpi) }}</th>{% endfor %}</tr>
  {% for row in by_company %}
  <tr><td>{{ row.company }}</td><td class="number">{{ row.trainees }}</td>
      <td class="number">{{ row.ai_iot_companies }}</td><td class="number">{{ row.ai_system_companies }}</td></tr>
  {% endfor %}
</table>

<h2>{{ t("kpi.report.by_course") }}</h2>
<table>
  <tr><th>{{ t("kpi.report.course") }}</th><th>{{ t("kpi.report.sessions") }}</th><th>{{ t("kpi.short.trainees") }}</th></tr>
  {% for row in by_course %}
  <tr><td>{{ row.course }}</td><td class="number">{{ row.sessions }}</td><td class="number">{{ row.trainees }}</td></tr>
  {% endfor %}
</table>

<h2>{{ t("kpi.report.events") }}</h2>
<table>
  <tr><th>{{ t("kpi.report.company") }}</th><th>{{ t("kpi.report.event_kind") }}</th><th>{{ t("kpi.report.date") }}</th>
      <th>{{ t("kpi.report.course") }}</th><th>{{ t("kpi.report.evidence") }}</th></tr>
  {% for event in events %}
  <tr><td>{{ event.company }}</td><td>{{ t("kpi.report.kind." ~ event.kind) }}</td><td>{{ event.date }}</td>
      <td>{{ event.course_id }}</td><td>{{ event.evidence }}</td></tr>
  {% endfor %}
</table>

<h2>{{ t("kpi.report.counted_trainees") }}</h2>
<table>
  <tr><th>{{ t("kpi.report.trainee_id") }}</th><th>{{ t("kpi.report.name") }}</th><th>{{ t("kpi.report.company") }}</th>
      <th>{{ t("kpi.report.course") }}</th><th>{{ t("kpi.report.qualified_on") }}</th><th>{{ t("kpi.report.attended") }}</th></tr>
  {% for item in counted %}
  <tr><td>{{ item.trainee_key }}</td><td>{{ item.name }}</td><td>{{ item.company }}</td><td>{{ item.course_id }}</td>
      <td>{{ item.qualified_on }}</td><td class="number">{{ item.attended }}/{{ item.sessions }}</td></tr>
  {% endfor %}
</table>
</section>
{% endif %}
</body>
</html>
"""


def render_html(data: ReportData, *, chart_name: str, made_on: dt.date) -> str:
    """Return the report page for *data*, with the chart image *chart_name* beside it."""
    from kenshu.kpi_reports.fiscal import fiscal_year_label
    from kenshu.kpi_reports.plan import KPI_IDS
    from kenshu.kpi_reports.report import format_number, format_rate

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(TEMPLATE)
    actuals = data.actuals[data.year]
    plan_name = data.plan.path.name if data.plan.path else "plan.yml"
    return template.render(
        lang=data.lang,
        title=data.title(),
        generated=data.text("kpi.report.generated", date=made_on.isoformat(), plan=plan_name),
        year_label=data.year_label,
        first=data.text("kpi.report.year_tick", year=data.plan.first_year),
        rows=data.rows,
        kpis=list(KPI_IDS),
        years=data.years,
        chart_name=chart_name,
        rule_lines=data.rule_lines(),
        no_data_note=data.no_data_note(),
        no_target_note=data.no_target_note(),
        internal=data.internal,
        by_company=data.by_company,
        by_course=data.by_course,
        events=[event for kpi in ("ai_iot_companies", "ai_system_companies") for event in actuals.events.get(kpi, [])],
        counted=actuals.trainees,
        t=data.text,
        number=lambda value: format_number(value, lang=data.lang),
        rate=lambda value: format_rate(value, lang=data.lang),
        target=data.plan.target,
        actual=lambda kpi, year: data.actuals[year].values.get(kpi),
        year_label_of=lambda year: fiscal_year_label(year, lang=data.lang),
    )
