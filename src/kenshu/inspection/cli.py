"""``kenshu inspect``: train an inspection model on a folder of photos, and judge photos with it."""

from __future__ import annotations

import argparse
import logging
import math
import os
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


def _nearest_existing(path: Path) -> Path:
    """Return *path* or its closest ancestor that exists."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_out_dir(out_dir: Path) -> None:
    """Raise a catalog error when *out_dir* cannot become the output folder; nothing is created."""
    if out_dir.exists() and not out_dir.is_dir():
        raise KenshuError("inspection.out_is_file", path=out_dir)
    existing = _nearest_existing(out_dir)
    if not existing.is_dir():
        raise KenshuError("inspection.out_parent_is_file", path=out_dir, parent=existing)
    if not os.access(existing, os.W_OK):
        raise KenshuError("inspection.out_not_writable", path=out_dir, parent=existing)


def _check_csv_path(csv_path: Path) -> None:
    """Raise a catalog error when the verdicts CSV cannot be written at *csv_path*; nothing is created.

    The folder of the CSV must exist: a missing folder is more often a typing mistake than a wish for a new tree.
    """
    if csv_path.is_dir():
        raise KenshuError("inspection.csv_is_folder", path=csv_path)
    folder = csv_path.absolute().parent
    if not folder.is_dir():
        raise KenshuError("inspection.csv_folder_missing", path=csv_path, folder=folder)
    if not os.access(folder, os.W_OK) or (csv_path.exists() and not os.access(csv_path, os.W_OK)):
        raise KenshuError("inspection.csv_not_writable", path=csv_path)


def _print_inputs(data) -> None:
    """Print the classes and photo counts that training will use, then the folders and files left out."""
    from kenshu.inspection.training import class_counts

    print(message("inspection.train_classes", folder=data.source, good_class=data.good_class))
    for name, label, count in class_counts(data):
        print(message("inspection.train_class_line", name=name, label=label, count=count))
    if data.skipped_folders:
        print(message("inspection.train_skipped_folders", count=len(data.skipped_folders)))
        for problem in data.skipped_folders:
            print(f"  - {problem.describe()}")
    if data.problems:
        print(message("inspection.train_problems", count=len(data.problems)))
        for problem in data.problems:
            print(f"  - {problem.describe()}")


def run_train(args: argparse.Namespace) -> int:
    """Train on ``args.folder`` and print the classes used, then where the model and report are."""
    from kenshu.inspection.training import load_training_photos, train_inspector

    _check_train_options(args)
    line_defect_rate = _line_defect_rate(args.line_defect_percent)
    out_dir = args.out or Path.cwd() / f"inspection_{args.folder.resolve().name}"
    _check_out_dir(out_dir)
    # The photos are loaded here, not in train_inspector, so the classes are shown before training starts.
    data = load_training_photos(
        args.folder,
        out_dir=out_dir,
        good_class=args.good_class,
        image_size=args.image_size,
        max_per_class=args.max_per_class,
        random_state=args.random_state,
        log_problems=False,
    )
    _print_inputs(data)
    result = train_inspector(
        data,
        out_dir=out_dir,
        good_class=args.good_class,
        mode=args.mode,
        image_size=args.image_size,
        epochs=args.epochs,
        max_per_class=args.max_per_class,
        n_threads=args.threads,
        random_state=args.random_state,
        line_defect_rate=line_defect_rate,
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

    _check_csv_path(args.csv)
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
