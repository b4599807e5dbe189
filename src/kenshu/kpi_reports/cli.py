"""Command line of the KPI report and the attendance store: ``kenshu kpi …`` and ``kenshu attendance …``."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
from pathlib import Path

from kenshu.cli_parser import int_in_range
from kenshu.errors import KenshuError
from kenshu.i18n import message

logger = logging.getLogger(__name__)

# Years --fy accepts: 平成 and later, so that a typo such as 20 for 2020 gets a clear error.
FISCAL_YEAR = int_in_range(1989, 2200)


def _date(text: str) -> dt.date:
    from kenshu.kpi_reports.normalise import DateDoesNotExist, parse_date

    try:
        return parse_date(text)
    except DateDoesNotExist as error:
        raise argparse.ArgumentTypeError(message("kpi.cli.date_does_not_exist", value=text, reason=error.reason())) from None
    except ValueError:
        raise argparse.ArgumentTypeError(message("kpi.cli.bad_date", value=text)) from None


def _current_fiscal_year() -> int:
    from kenshu.kpi_reports.fiscal import current_fiscal_year

    return current_fiscal_year()


def _require_existing_store(args: argparse.Namespace) -> None:
    """Raise when the store of a command that only reads it does not exist (a mistyped --db)."""
    from kenshu.kpi_reports.store import existing_store_url

    existing_store_url(args.db)


def _today_jst() -> dt.date:
    from kenshu.kpi_reports.fiscal import JST, now_utc

    return now_utc().astimezone(JST).date()


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help=message("kpi.cli.db_help"))


def _help_of(parser: argparse.ArgumentParser):  # noqa: ANN202
    """Return a handler that prints *parser*'s help, for an area or verb given without its sub-verb."""

    def show_help(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show_help


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``kpi`` and ``attendance`` areas to the ``kenshu`` command."""
    # kenshu kpi …
    kpi = subparsers.add_parser("kpi", help=message("kpi.cli.kpi_help"), description=message("kpi.cli.kpi_help"))
    kpi_verbs = kpi.add_subparsers(dest="verb", metavar="<verb>")
    kpi.set_defaults(handler=_help_of(kpi))

    report = kpi_verbs.add_parser("report", help=message("kpi.cli.report_help"), description=message("kpi.cli.report_help"))
    report.add_argument("--fy", type=FISCAL_YEAR, default=None, metavar="YEAR", help=message("kpi.cli.fy_help"))
    _add_db(report)
    report.add_argument("--plan", type=Path, metavar="PATH", help=message("kpi.cli.plan_help"))
    report.add_argument("--out", type=Path, metavar="DIR", help=message("kpi.cli.out_help"))
    report.add_argument("--internal", action="store_true", help=message("kpi.cli.internal_help"))
    report.set_defaults(handler=_report)

    event = kpi_verbs.add_parser("event", help=message("kpi.cli.event_help"), description=message("kpi.cli.event_help"))
    event_verbs = event.add_subparsers(dest="event_verb", metavar="<verb>")
    event.set_defaults(handler=_help_of(event))
    add = event_verbs.add_parser("add", help=message("kpi.cli.event_add_help"), description=message("kpi.cli.event_add_help"))
    add.add_argument("--company", required=True, help=message("kpi.cli.company_help"))
    add.add_argument("--kind", required=True, choices=("introduced", "developed"), help=message("kpi.cli.kind_help"))
    add.add_argument("--date", required=True, type=_date, help=message("kpi.cli.date_help"))
    add.add_argument("--course", default="", metavar="COURSE_ID", help=message("kpi.cli.event_course_help"))
    add.add_argument("--evidence", required=True, help=message("kpi.cli.evidence_help"))
    _add_db(add)
    add.set_defaults(handler=_event_add)
    listing = event_verbs.add_parser("list", help=message("kpi.cli.event_list_help"), description=message("kpi.cli.event_list_help"))
    listing.add_argument("--fy", type=FISCAL_YEAR, default=None, metavar="YEAR", help=message("kpi.cli.fy_help"))
    _add_db(listing)
    listing.set_defaults(handler=_event_list)

    value = kpi_verbs.add_parser("value-added", help=message("kpi.cli.value_help"), description=message("kpi.cli.value_help"))
    value.add_argument("--fy", type=FISCAL_YEAR, default=None, metavar="YEAR", help=message("kpi.cli.fy_help"))
    value.add_argument("--million-yen", type=float, required=True, metavar="AMOUNT", help=message("kpi.cli.amount_help"))
    value.add_argument("--note", default="", help=message("kpi.cli.note_help"))
    _add_db(value)
    value.set_defaults(handler=_value_added)

    # kenshu attendance …
    attendance = subparsers.add_parser(
        "attendance", help=message("kpi.cli.attendance_help"), description=message("kpi.cli.attendance_help")
    )
    verbs = attendance.add_subparsers(dest="verb", metavar="<verb>")
    attendance.set_defaults(handler=_help_of(attendance))

    imports = verbs.add_parser("import", help=message("kpi.cli.import_help"), description=message("kpi.cli.import_help"))
    imports.add_argument("files", nargs="+", type=Path, metavar="FILE", help=message("kpi.cli.files_help"))
    _add_db(imports)
    imports.add_argument("--course", type=Path, metavar="DIR", help=message("kpi.cli.course_help"))
    imports.add_argument("--course-id", metavar="ID", help=message("kpi.cli.course_id_help"))
    imports.add_argument("--force", action="store_true", help=message("kpi.cli.force_help"))
    imports.set_defaults(handler=_import)

    nbgrader = verbs.add_parser(
        "import-nbgrader", help=message("kpi.cli.nbgrader_help"), description=message("kpi.cli.nbgrader_help")
    )
    nbgrader.add_argument("--gradebook", required=True, metavar="URL", help=message("kpi.cli.gradebook_help"))
    nbgrader.add_argument("--course-id", required=True, metavar="ID", help=message("kpi.cli.nbgrader_course_id_help"))
    nbgrader.add_argument("--course", type=Path, metavar="DIR", help=message("kpi.cli.course_help"))
    _add_db(nbgrader)
    nbgrader.set_defaults(handler=_import_nbgrader)

    hub = verbs.add_parser("import-hub", help=message("kpi.cli.hub_help"), description=message("kpi.cli.hub_help"))
    hub.add_argument("--hub-url", required=True, metavar="URL", help=message("kpi.cli.hub_url_help"))
    hub.add_argument("--course-id", required=True, metavar="ID", help=message("kpi.cli.hub_course_id_help"))
    hub.add_argument("--course", type=Path, metavar="DIR", help=message("kpi.cli.course_help"))
    hub.add_argument("--token-env", default="JUPYTERHUB_API_TOKEN", metavar="NAME", help=message("kpi.cli.token_env_help"))
    _add_db(hub)
    hub.set_defaults(handler=_import_hub)

    duplicates = verbs.add_parser(
        "duplicates", help=message("kpi.cli.duplicates_help"), description=message("kpi.cli.duplicates_help")
    )
    _add_db(duplicates)
    duplicates.set_defaults(handler=_duplicates)

    export = verbs.add_parser("export", help=message("kpi.cli.export_help"), description=message("kpi.cli.export_help"))
    export.add_argument("--course-id", required=True, metavar="ID", help=message("kpi.cli.export_course_id_help"))
    export.add_argument("--out", type=Path, metavar="FILE", help=message("kpi.cli.export_out_help"))
    _add_db(export)
    export.set_defaults(handler=_export)


def _print_result(result) -> None:  # noqa: ANN001
    print(result.summary())
    for rejected in result.rejected:
        print(f"  - {rejected}")


def _import(args: argparse.Namespace) -> int:
    from kenshu.kpi_reports.importer import import_signin_sheet
    from kenshu.kpi_reports.store import open_store

    factory = open_store(args.db)
    roster = None
    if args.course is not None:
        from kenshu.kpi_reports.roster import make_roster

        roster = make_roster(args.course)

    totals = {"read": 0, "added": 0, "present": 0, "rejected": 0}
    failed = 0
    for path in args.files:
        # Excel keeps "~$name.xlsx" beside a workbook while it is open. The lock file contains no sheet.
        if Path(path).name.startswith("~$"):
            print(message("kpi.cli.skip_lock_file", path=path))
            continue
        # A file that cannot be read at all is reported, and the other files are still imported.
        try:
            result = import_signin_sheet(path, db=factory, course=roster, course_id=args.course_id, force=args.force)
        except KenshuError as error:
            print(message("cli.error_prefix", error=error))
            failed += 1
            continue
        _print_result(result)
        totals["read"] += result.rows_read
        totals["added"] += result.added
        totals["present"] += result.present
        totals["rejected"] += len(result.rejected)

    if len(args.files) > 1:
        print(message("kpi.cli.import_total", files=len(args.files), failed=failed, **totals))
    return 1 if failed else 0


def _import_nbgrader(args: argparse.Namespace) -> int:
    from kenshu.kpi_reports.nbgrader_import import import_nbgrader_submissions

    result = import_nbgrader_submissions(args.gradebook, course_id=args.course_id, db=args.db, course=args.course)
    _print_result(result)
    return 0


def _import_hub(args: argparse.Namespace) -> int:
    import os

    from kenshu.kpi_reports.hub_import import import_hub_activity

    token = os.environ.get(args.token_env, "")
    if not token:
        raise KenshuError("kpi.hub_no_token", variable=args.token_env)
    result = import_hub_activity(args.hub_url, token=token, course_id=args.course_id, db=args.db, course=args.course)
    _print_result(result)
    return 0


def _report(args: argparse.Namespace) -> int:
    _require_existing_store(args)
    from kenshu.kpi_reports.fiscal import fiscal_year_label
    from kenshu.kpi_reports.plan import load_plan
    from kenshu.kpi_reports.report import write_report

    year = args.fy if args.fy is not None else _current_fiscal_year()
    plan = load_plan(args.plan)
    if year < plan.first_year:
        raise KenshuError(
            "kpi.cli.year_before_plan",
            year=fiscal_year_label(year),
            first=fiscal_year_label(plan.first_year),
            first_year=plan.first_year,
            path=plan.path,
        )

    if year not in plan.targets:
        logger.warning(message("kpi.cli.no_target_year", year=fiscal_year_label(year), fy=year, path=plan.path))

    # The public report is always written; --internal adds the internal one beside it.
    versions = [False, True] if args.internal else [False]
    written = []
    try:
        for internal in versions:
            written.append(write_report(year, db=args.db, plan=plan, out_dir=args.out, internal=internal))
    except ValueError as error:
        raise KenshuError("kpi.cli.report_failed", detail=str(error)) from None
    print(message("kpi.report.written"))
    for files in written:
        for path in (files.html, files.xlsx, files.chart):
            print(f"  {path}")
    return 0


def _event_add(args: argparse.Namespace) -> int:
    from kenshu.kpi_reports.events import add_company_event
    from kenshu.kpi_reports.normalise import company_key

    if not company_key(args.company):
        raise KenshuError("kpi.cli.company_empty")
    if args.date > _today_jst():
        logger.warning(message("kpi.cli.event_in_future", date=args.date))

    try:
        result = add_company_event(
            company=args.company, kind=args.kind, date=args.date, course_id=args.course, evidence=args.evidence, db=args.db
        )
    except ValueError as error:
        raise KenshuError("kpi.cli.event_invalid", detail=str(error)) from None
    key = "kpi.cli.event_added" if result.added else "kpi.cli.event_present"
    print(message(key, company=args.company, kind=message(f"kpi.report.kind.{args.kind}"), date=args.date, id=result.event_id))
    return 0


def _event_list(args: argparse.Namespace) -> int:
    _require_existing_store(args)
    from kenshu.kpi_reports.fiscal import fiscal_year_label
    from kenshu.kpi_reports.kpi import compute_year
    from kenshu.kpi_reports.plan import Plan, YearTargets
    from kenshu.kpi_reports.store import open_store

    year = args.fy if args.fy is not None else _current_fiscal_year()
    # Events need no targets, so an empty plan is enough here.
    plan = Plan(targets={year: YearTargets()})
    with open_store(args.db)() as session:
        actuals = compute_year(session, plan, year, counted=[])
    print(fiscal_year_label(year))
    for kpi in ("ai_iot_companies", "ai_system_companies"):
        # A year without any record has None ("no data") as its value. It has no events either, so the count is 0.
        count = actuals.values[kpi] or 0
        print(message("kpi.cli.event_count", kpi=message(f"kpi.short.{kpi}"), count=count))
        for event in actuals.events[kpi]:
            print(f"  {event.date}  {event.company}  {event.course_id or '-'}  {event.evidence}")
    return 0


def _value_added(args: argparse.Namespace) -> int:
    from kenshu.kpi_reports.events import set_value_added
    from kenshu.kpi_reports.fiscal import fiscal_year_label

    year = args.fy if args.fy is not None else _current_fiscal_year()
    if not math.isfinite(args.million_yen) or args.million_yen < 0:
        raise KenshuError("kpi.cli.million_yen_invalid", value=args.million_yen)
    try:
        previous = set_value_added(year, args.million_yen, note=args.note, db=args.db)
    except ValueError as error:
        raise KenshuError("kpi.cli.value_invalid", detail=str(error)) from None
    print(
        message(
            "kpi.cli.value_set",
            year=fiscal_year_label(year),
            amount=f"{args.million_yen:,g}",
            previous="-" if previous is None else f"{previous:,g}",
        )
    )
    return 0


def _duplicates(args: argparse.Namespace) -> int:
    _require_existing_store(args)
    from kenshu.kpi_reports.duplicates import find_possible_duplicates

    found = find_possible_duplicates(db=args.db)
    if not found:
        print(message("kpi.cli.no_duplicates"))
        return 0
    print(message("kpi.cli.duplicates_found", count=len(found)))
    for item in found:
        print(f"  - {item}")
    return 0


def _export(args: argparse.Namespace) -> int:
    _require_existing_store(args)
    from kenshu.kpi_reports.export import export_course_sheet

    path = export_course_sheet(args.course_id, out=args.out, db=args.db)
    print(message("kpi.cli.exported", path=path))
    return 0
