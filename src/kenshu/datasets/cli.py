"""``kenshu datasets make-press-parts``, ``make-process-log`` and ``card``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from kenshu.errors import KenshuError
from kenshu.i18n import message

logger = logging.getLogger(__name__)


def _print_folder_summary(data) -> None:
    """Print the count per class, the folders not read and every problem of a loaded image folder.

    The folder is loaded with ``log_problems=False``, so this is the one place each problem is shown.
    """
    counts = {name: 0 for name in data.class_names}
    for index in data.class_index:
        counts[data.class_names[int(index)]] += 1
    print(message("datasets.cli_folder_summary", path=data.source, n_images=len(data.paths), good_class=data.good_class))
    for name, count in counts.items():
        label = data.target_names[0] if name == data.good_class else data.target_names[1]
        print(message("datasets.cli_class_line", name=name, label=label, count=count))
    if data.skipped_folders:
        print(message("datasets.cli_skipped_folders", count=len(data.skipped_folders)))
        for problem in data.skipped_folders:
            print(f"  - {problem.describe()}")
    if data.problems:
        print(message("datasets.cli_problems", count=len(data.problems)))
        for problem in data.problems:
            print(f"  - {problem.describe()}")
    else:
        print(message("datasets.cli_no_problems"))
    if data.card_path is not None:
        print(message("datasets.cli_card_written", path=data.card_path))
    else:
        print(message("datasets.cli_card_not_written", path=data.source))


# numpy's RandomState takes seeds from 0 to 2**32 - 1.
MAX_RANDOM_STATE = 2**32 - 1
# Written by make-press-parts at the top of its output folder: the settings that produced the photos.
PRESS_PARTS_RECORD = "make_press_parts.json"
PRESS_PARTS_GENERATOR = "kenshu datasets make-press-parts"


def _check_count(option: str, value: int) -> None:
    if value < 1:
        raise KenshuError("datasets.cli_bad_count", option=option, value=value)


def _check_fraction(option: str, value: float, *, one_allowed: bool) -> None:
    # "not (inside)" also rejects NaN, which compares false to everything.
    upper_ok = value <= 1.0 if one_allowed else value < 1.0
    if not (0.0 <= value and upper_ok):
        key = "datasets.cli_bad_fraction" if one_allowed else "datasets.cli_bad_fraction_below_one"
        raise KenshuError(key, option=option, value=value)


def _check_image_size(value: int, minimum: int) -> None:
    if value < minimum:
        raise KenshuError("datasets.cli_bad_image_size", value=value, minimum=minimum)


def _check_random_state(value: int) -> None:
    if not 0 <= value <= MAX_RANDOM_STATE:
        raise KenshuError("datasets.cli_bad_random_state", value=value, maximum=MAX_RANDOM_STATE)


def _check_class_names(good_name: str, defect_name: str) -> None:
    for option, name in (("--good-name", good_name), ("--defect-name", defect_name)):
        if not name.strip() or "/" in name or "\\" in name or name in (".", ".."):
            raise KenshuError("datasets.cli_bad_class_name", option=option, value=name)
    if good_name == defect_name:
        raise KenshuError("datasets.cli_same_class_names", value=good_name)


def _user_files(folder: Path) -> list[Path]:
    """Return the files below *folder*, leaving out hidden files and folders (``.DS_Store``, ``.ipynb_checkpoints``)."""
    return [
        path for path in folder.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]


def _check_press_parts_folder(folder: Path, settings: dict) -> None:
    """Raise a catalog error unless generating into *folder* mixes nothing in.

    *folder* may be missing, empty, or written before by make-press-parts
    with the same *settings*, in which case the run rewrites the same bytes.
    """
    if not folder.exists():
        return
    if not folder.is_dir():
        raise KenshuError("datasets.cli_out_is_file", path=folder)
    files = _user_files(folder)
    if not files:
        return
    try:
        recorded = json.loads((folder / PRESS_PARTS_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if recorded == settings:
        return
    if isinstance(recorded, dict) and recorded.get("generator") == PRESS_PARTS_GENERATOR:
        changed = "、".join(
            f"--{key.replace('_', '-')} {recorded.get(key)} → {value}" for key, value in settings.items() if recorded.get(key) != value
        )
        raise KenshuError("datasets.cli_out_other_settings", path=folder, count=len(files), changed=changed)
    raise KenshuError("datasets.cli_out_not_empty", path=folder, count=len(files))


def _write_press_parts_record(folder: Path, settings: dict) -> None:
    record = folder / PRESS_PARTS_RECORD
    text = json.dumps(settings, ensure_ascii=False, indent=2) + "\n"
    if not record.is_file() or record.read_text(encoding="utf-8") != text:
        record.write_text(text, encoding="utf-8")


def _make_press_parts(args: argparse.Namespace) -> int:
    from kenshu.datasets import load_image_folder, make_press_parts, save_image_folder
    from kenshu.datasets.press_parts import MIN_IMAGE_SIZE

    # 1. Check every option before anything is generated or written.
    _check_count("--n-samples", args.n_samples)
    _check_fraction("--defect-ratio", args.defect_ratio, one_allowed=True)
    _check_image_size(args.image_size, MIN_IMAGE_SIZE)
    _check_random_state(args.random_state)
    _check_class_names(args.good_name, args.defect_name)
    settings = {
        "generator": PRESS_PARTS_GENERATOR,
        "n_samples": args.n_samples,
        "defect_ratio": args.defect_ratio,
        "image_size": args.image_size,
        "random_state": args.random_state,
        "good_name": args.good_name,
        "defect_name": args.defect_name,
    }
    _check_press_parts_folder(args.out, settings)

    # 2. Generate, write (creating the folder and its parents) and read back for the summary.
    parts = make_press_parts(
        args.n_samples,
        defect_ratio=args.defect_ratio,
        image_size=args.image_size,
        random_state=args.random_state,
    )
    try:
        folder = save_image_folder(parts, args.out, good_name=args.good_name, defect_name=args.defect_name)
        _write_press_parts_record(folder, settings)
    except OSError as error:
        raise KenshuError("datasets.cli_write_failed", path=args.out, detail=error.strerror or error) from None
    data = load_image_folder(folder, good_class=args.good_name, image_size=args.image_size, show_progress=False, log_problems=False)
    _print_folder_summary(data)
    return 0


def _make_process_log(args: argparse.Namespace) -> int:
    from kenshu.datasets import make_process_log

    # 1. Check the options and the output path. Only the file is created: a
    # missing folder is more often a typing mistake than a wish for a new tree.
    _check_count("--n-samples", args.n_samples)
    _check_fraction("--defect-rate", args.defect_rate, one_allowed=False)
    _check_random_state(args.random_state)
    if args.out.is_dir():
        raise KenshuError("datasets.cli_out_is_folder", path=args.out)
    folder = args.out.parent
    if not folder.is_dir():
        raise KenshuError("datasets.cli_out_folder_missing", path=args.out, folder=folder)

    # 2. Generate and write: UTF-8 with a byte order mark, so that Excel shows the Japanese headers correctly.
    frame = make_process_log(args.n_samples, defect_rate=args.defect_rate, units_in_columns=True, random_state=args.random_state)
    try:
        frame.to_csv(args.out, index=False, encoding="utf-8-sig")
    except OSError as error:
        raise KenshuError("datasets.cli_write_failed", path=args.out, detail=error.strerror or error) from None
    defects = int((frame["品質"] == "不良品").sum())
    print(message("datasets.cli_process_log_written", path=args.out, rows=len(frame), defects=defects))
    return 0


def _check_card_dir(card_dir: Path) -> None:
    """Raise a catalog error when *card_dir* or a folder on its path is a file; nothing is created."""
    if card_dir.exists() and not card_dir.is_dir():
        raise KenshuError("datasets.cli_card_dir_is_file", path=card_dir)
    existing = card_dir.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise KenshuError("datasets.cli_card_dir_below_file", path=card_dir, parent=existing)


def _card(args: argparse.Namespace) -> int:
    from kenshu.datasets import load_image_folder
    from kenshu.datasets.image_folder import MIN_LOAD_IMAGE_SIZE

    _check_image_size(args.image_size, MIN_LOAD_IMAGE_SIZE)
    if args.card_dir is not None:
        _check_card_dir(args.card_dir)
    data = load_image_folder(
        args.folder,
        good_class=args.good_class,
        image_size=args.image_size,
        card_dir=args.card_dir,
        log_problems=False,
    )
    _print_folder_summary(data)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``kenshu datasets`` and its verbs."""
    parser = subparsers.add_parser("datasets", help=message("datasets.cli_help"))
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)

    press = verbs.add_parser("make-press-parts", help=message("datasets.cli_make_press_parts_help"))
    press.add_argument("out", type=Path, help=message("datasets.cli_out_folder_help"))
    press.add_argument("--n-samples", type=int, default=200, help=message("datasets.cli_n_samples_help"))
    press.add_argument("--defect-ratio", type=float, default=0.5, help=message("datasets.cli_defect_ratio_help"))
    press.add_argument("--image-size", type=int, default=128, help=message("datasets.cli_image_size_help"))
    press.add_argument("--random-state", type=int, default=0, help=message("datasets.cli_random_state_help"))
    press.add_argument("--good-name", default="良品", help=message("datasets.cli_good_name_help"))
    press.add_argument("--defect-name", default="不良品", help=message("datasets.cli_defect_name_help"))
    press.set_defaults(handler=_make_press_parts)

    process = verbs.add_parser("make-process-log", help=message("datasets.cli_make_process_log_help"))
    process.add_argument("out", type=Path, help=message("datasets.cli_out_csv_help"))
    process.add_argument("--n-samples", type=int, default=1000, help=message("datasets.cli_n_rows_help"))
    process.add_argument("--defect-rate", type=float, default=0.05, help=message("datasets.cli_defect_rate_help"))
    process.add_argument("--random-state", type=int, default=0, help=message("datasets.cli_random_state_help"))
    process.set_defaults(handler=_make_process_log)

    card = verbs.add_parser("card", help=message("datasets.cli_card_help"))
    card.add_argument("folder", type=Path, help=message("datasets.cli_folder_help"))
    card.add_argument("--good-class", default=None, help=message("datasets.cli_good_class_help"))
    card.add_argument("--card-dir", type=Path, default=None, help=message("datasets.cli_card_dir_help"))
    card.add_argument("--image-size", type=int, default=64, help=message("datasets.cli_load_size_help"))
    card.set_defaults(handler=_card)
