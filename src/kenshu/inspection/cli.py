"""``kenshu inspect``: train an inspection model on a folder of photos, and judge photos with it."""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from kenshu.errors import KenshuError
from kenshu.i18n import message

logger = logging.getLogger(__name__)

DEFAULT_IMAGE_SIZE = 128
DEFAULT_EPOCHS = 25


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` area with its verbs ``train`` and ``predict``."""
    from kenshu.inspection.modes import MIN_DEFECT_IMAGES, MODES

    parser = subparsers.add_parser("inspect", help=message("inspection.help"), description=message("inspection.help"))
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>")

    train = verbs.add_parser("train", help=message("inspection.train_help"), description=message("inspection.train_help"))
    train.add_argument("folder", type=Path, help=message("inspection.folder_help"))
    train.add_argument("--good-class", help=message("inspection.good_class_help"))
    train.add_argument("--out", type=Path, help=message("inspection.out_help"))
    train.add_argument("--mode", choices=MODES, default="auto", help=message("inspection.mode_help", min_defects=MIN_DEFECT_IMAGES))
    train.add_argument("--random-state", type=int, default=0, help=message("inspection.random_state_help"))
    train.add_argument("--image-size", type=int, default=DEFAULT_IMAGE_SIZE, help=message("inspection.image_size_help", default=DEFAULT_IMAGE_SIZE))
    train.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=message("inspection.epochs_help", default=DEFAULT_EPOCHS))
    train.add_argument("--threads", type=int, help=message("inspection.threads_help"))
    train.add_argument("--max-per-class", type=int, help=message("inspection.max_per_class_help"))
    train.add_argument("--line-defect-percent", type=float, help=message("inspection.line_defect_percent_help"))
    train.set_defaults(handler=run_train)

    predict = verbs.add_parser("predict", help=message("inspection.predict_help"), description=message("inspection.predict_help"))
    predict.add_argument("model", type=Path, help=message("inspection.model_help"))
    predict.add_argument("images", nargs="+", type=Path, help=message("inspection.images_help"))
    predict.add_argument("--csv", type=Path, default=Path("verdicts.csv"), help=message("inspection.csv_help"))
    predict.set_defaults(handler=run_predict)

    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def _format(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def _line_defect_rate(percent: float | None) -> float | None:
    """Return the line's defect share from a percentage, or raise KenshuError when it is outside 0 to 100."""
    if percent is None:
        return None
    if not 0.0 <= percent <= 100.0:
        raise KenshuError("inspection.bad_line_defect_percent", value=percent)
    return percent / 100.0


def _check_train_options(args: argparse.Namespace) -> None:
    """Raise a catalog error for an option out of range, before anything is loaded or written."""
    from kenshu.datasets.image_folder import MIN_LOAD_IMAGE_SIZE

    if args.image_size < MIN_LOAD_IMAGE_SIZE:
        raise KenshuError("inspection.bad_image_size", value=args.image_size, minimum=MIN_LOAD_IMAGE_SIZE, default=DEFAULT_IMAGE_SIZE)
    if args.epochs < 1:
        raise KenshuError("inspection.bad_epochs", value=args.epochs, default=DEFAULT_EPOCHS)
    if args.threads is not None and args.threads < 1:
        raise KenshuError("inspection.bad_threads", value=args.threads)
    if args.max_per_class is not None and args.max_per_class < 1:
        raise KenshuError("inspection.bad_max_per_class", value=args.max_per_class)


def run_train(args: argparse.Namespace) -> int:
    """Train on ``args.folder`` and print where the model and report are."""
    from kenshu.inspection.training import train_inspector

    _check_train_options(args)
    out_dir = args.out or Path.cwd() / f"inspection_{args.folder.resolve().name}"
    result = train_inspector(
        args.folder,
        out_dir=out_dir,
        good_class=args.good_class,
        mode=args.mode,
        image_size=args.image_size,
        epochs=args.epochs,
        max_per_class=args.max_per_class,
        n_threads=args.threads,
        random_state=args.random_state,
        line_defect_rate=_line_defect_rate(args.line_defect_percent),
    )
    test = result.test
    print(
        message(
            "inspection.train_done",
            kind=message(f"inspection.kind_{result.kind}"),
            threshold=result.threshold.threshold,
            accuracy=_format(test.accuracy),
            recall=_format(test.recall),
            miss_rate=_format(test.miss_rate),
            false_alarm=_format(test.false_alarm_rate),
            auc=_format(test.roc_auc),
            per_thousand=f"{result.threshold.set_aside_per_thousand:.0f}",
            defect_percent=f"{100 * result.threshold.defect_rate:.2f}",
            rate_source=result.rate_note(),
            model=result.model_path,
            size_kb=result.model_size_bytes / 1024,
            ms=result.seconds_per_image * 1000,
            report=result.report_path,
        )
    )
    for warning in result.warnings():
        print(warning)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """Judge the photos, print one line each and write the CSV; exit 1 if any photo could not be read."""
    from kenshu.inspection.export import list_images, load_exported, predict, write_verdicts_csv

    inspector = load_exported(args.model)
    if not list_images(args.images):
        raise KenshuError("inspection.no_images", paths=" ".join(map(str, args.images)))
    verdicts = predict(inspector, args.images)
    for verdict in verdicts:
        if verdict.error:
            print(message("inspection.predict_error_line", path=verdict.path, error=verdict.error))
        else:
            print(message("inspection.predict_line", path=verdict.path, label=verdict.label, score=verdict.score))

    csv_path = write_verdicts_csv(verdicts, args.csv)
    errors = sum(1 for verdict in verdicts if verdict.error)
    defects = sum(1 for verdict in verdicts if verdict.is_defect)
    print(message("inspection.predict_summary", count=len(verdicts) - errors, defects=defects, errors=errors, csv=csv_path))
    # Training stores its warnings (weak ranking, no test defects) in model.json, so they are repeated here.
    training_warnings = inspector.config.get("training_warnings") or []
    if training_warnings:
        print(message("inspection.predict_model_warnings", path=inspector.path.with_name("report.html")))
        for warning in training_warnings:
            print(f"  {warning}")
    return 1 if errors else 0
