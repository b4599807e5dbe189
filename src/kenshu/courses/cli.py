"""``kenshu course check`` and ``kenshu course build``."""

from __future__ import annotations

import argparse
from pathlib import Path

from kenshu.i18n import message


def _check(args: argparse.Namespace) -> int:
    from kenshu.courses.data_checks import image_folder_warnings
    from kenshu.courses.spec import load_course_spec

    spec = load_course_spec(args.course)
    data = spec.problem.data
    source = data.folder or data.csv or data.generator
    # A generated folder does not exist before the build, and is made without such problems.
    warnings = image_folder_warnings(data) if data.kind == "images" and data.folder is not None else []
    verdict = message("course.verdict_warnings", count=len(warnings)) if warnings else message("course.verdict_ok")
    print(
        message(
            "course.summary",
            company=spec.company,
            course_id=spec.course_id,
            verdict=verdict,
            problem=spec.problem.statement.strip().splitlines()[0],
            data=f"{data.kind}: {source}",
            modules=", ".join(spec.modules),
            sessions=len(spec.sessions),
            first=spec.sessions[0].date,
            last=spec.sessions[-1].date,
            trainees=len(spec.trainees),
            instructors=len(spec.instructors),
        )
    )
    for warning in warnings:
        print(f"  {warning}")
    if warnings:
        print(f"  {message('course.folder_card_hint', folder=data.folder)}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from kenshu.courses.build import build_course

    result = build_course(args.course, fast=args.fast)
    print(
        message(
            "course.built",
            course_id=result.spec.course_id,
            count=len(result.assignments),
            root=result.root,
            written=len(result.written),
            unchanged=len(result.unchanged),
        )
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``kenshu course`` and its verbs."""
    parser = subparsers.add_parser("course", help=message("course.help"))
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)

    check = verbs.add_parser("check", help=message("course.check_help"))
    check.add_argument("course", type=Path, help=message("course.dir_help"))
    check.set_defaults(handler=_check)

    build = verbs.add_parser("build", help=message("course.build_help"))
    build.add_argument("course", type=Path, help=message("course.dir_help"))
    build.add_argument("--fast", action="store_true", help=message("course.fast_help"))
    build.set_defaults(handler=_build)
