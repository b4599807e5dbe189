"""``kenshu grade``: an instructor's round on nbgrader, one verb per step."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from kenshu.cli_parser import int_in_range
from kenshu.i18n import message


def _grader(args: argparse.Namespace):
    from kenshu.courses.spec import load_course_spec
    from kenshu.grading.api import CourseGrader

    return CourseGrader(load_course_spec(args.course))


def _assignments(grader, args: argparse.Namespace) -> list[str]:
    from kenshu.errors import KenshuError

    if args.assignment is None:
        return grader.assignments
    if args.assignment in grader.assignments:
        return [args.assignment]
    # A module id alone ("01", as course.yml writes it) names the assignment that starts with it.
    matches = [name for name in grader.assignments if name.split("_", 1)[0] == args.assignment]
    if len(matches) == 1:
        return matches
    raise KenshuError("grade.unknown_assignment", name=args.assignment, known=", ".join(grader.assignments))


def _release(args: argparse.Namespace) -> int:
    grader = _grader(args)
    for assignment in _assignments(grader, args):
        grader.generate(assignment)
        outbound = grader.release(assignment)
        print(message("grade.released", assignment=assignment, path=outbound))
    return 0


def _collect(args: argparse.Namespace) -> int:
    grader = _grader(args)
    for assignment in _assignments(grader, args):
        trainees = grader.collect(assignment)
        print(message("grade.collected", assignment=assignment, count=len(trainees), trainees=", ".join(trainees) or "-"))
    return 0


def _autograde(args: argparse.Namespace) -> int:
    grader = _grader(args)
    failed = 0
    graded = grader.autograde_assignments(_assignments(grader, args), workers=args.workers)
    for assignment, results in graded.items():
        for result in results:
            if result.status == "failed":
                failed += 1
                print(message("grade.autograde_failed", trainee=result.trainee_id, assignment=assignment, reason=result.reason))
            elif result.reason:
                print(message("grade.autograde_problem", trainee=result.trainee_id, assignment=assignment, reason=result.reason))
        counts = Counter(result.status for result in results)
        print(
            message(
                "grade.autograded",
                assignment=assignment,
                graded=len(results) - counts["failed"] - counts["not_submitted"],
                failed=counts["failed"],
                missing=counts["not_submitted"],
            )
        )
    return 1 if failed else 0


def _feedback(args: argparse.Namespace) -> int:
    grader = _grader(args)
    for assignment in _assignments(grader, args):
        graded = [result.trainee_id for result in grader.last_results() if result.assignment == assignment and result.status != "not_submitted"]
        files = grader.feedback(assignment, graded)
        print(message("grade.feedback_written", assignment=assignment, count=len(files), path=grader.root / "feedback"))
    return 0


def _export(args: argparse.Namespace) -> int:
    from kenshu.grading.export import export_grades

    grader = _grader(args)
    out = args.out or grader.root.parent / "exports"
    files = export_grades(grader, out, grader.last_results())
    print(message("grade.exported", csv=files.csv, xlsx=files.xlsx))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``kenshu grade`` and its verbs."""
    parser = subparsers.add_parser("grade", help=message("grade.help"))
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)

    for name, handler in (
        ("release", _release),
        ("collect", _collect),
        ("autograde", _autograde),
        ("feedback", _feedback),
        ("export", _export),
    ):
        verb = verbs.add_parser(name, help=message(f"grade.{name}_help"))
        verb.add_argument("course", type=Path, help=message("course.dir_help"))
        if name == "export":
            verb.add_argument("--out", type=Path, help=message("grade.out_help"))
        else:
            verb.add_argument("--assignment", help=message("grade.assignment_help"))
        if name == "autograde":
            verb.add_argument("--workers", type=int_in_range(1), default=None, help=message("grade.workers_help"))
        verb.set_defaults(handler=handler)
