"""Attendance and the yearly KPI report of the training programme.

Sign-in sheets and nbgrader submissions go into one SQLAlchemy store, each
record with the file and row it came from. ``write_report`` turns the store
and ``kpi_reports/plan.yml`` into the public report (aggregates only) or the
office's internal one.
"""

from kenshu.kpi_reports.duplicates import PossibleDuplicate, find_possible_duplicates
from kenshu.kpi_reports.events import add_company_event, set_value_added
from kenshu.kpi_reports.export import export_course_sheet
from kenshu.kpi_reports.fiscal import fiscal_year, fiscal_year_bounds, fiscal_year_label, gregorian_year
from kenshu.kpi_reports.hub_import import import_hub_activity
from kenshu.kpi_reports.importer import ImportResult, RejectedRow, import_signin_sheet
from kenshu.kpi_reports.kpi import attendance_by_trainee, compute_actuals, counted_trainees
from kenshu.kpi_reports.nbgrader_import import import_nbgrader_submissions
from kenshu.kpi_reports.normalise import Status, name_key, normalise_text, parse_date, parse_mark
from kenshu.kpi_reports.plan import Plan, load_plan
from kenshu.kpi_reports.report import ReportFiles, write_report
from kenshu.kpi_reports.roster import Roster, RosterEntry, make_roster
from kenshu.kpi_reports.store import default_db_url, open_store

__all__ = [
    "ImportResult",
    "Plan",
    "PossibleDuplicate",
    "RejectedRow",
    "ReportFiles",
    "Roster",
    "RosterEntry",
    "Status",
    "add_company_event",
    "attendance_by_trainee",
    "compute_actuals",
    "counted_trainees",
    "default_db_url",
    "export_course_sheet",
    "find_possible_duplicates",
    "fiscal_year",
    "fiscal_year_bounds",
    "fiscal_year_label",
    "gregorian_year",
    "import_hub_activity",
    "import_nbgrader_submissions",
    "import_signin_sheet",
    "load_plan",
    "make_roster",
    "name_key",
    "normalise_text",
    "open_store",
    "parse_date",
    "parse_mark",
    "set_value_added",
    "write_report",
]
