"""The HTML report of a trained inspection, with its figures (Japanese by default).

Every number in the report's tables carries a ``data-metric`` attribute with
its key, so tests and scripts can read them back.
"""

from __future__ import annotations

import html
import logging
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from kenshu.i18n import get_language, message  # noqa: E402
from kenshu.inspection.fitting import FittedProgram  # noqa: E402
from kenshu.inspection.models import PatchNearestNeighbourScorer  # noqa: E402
from kenshu.plotting import use_japanese_font  # noqa: E402

logger = logging.getLogger(__name__)

MAX_MISTAKES = 8
MAX_HEAT_MAPS = 6


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _plot_confusion(confusion: list[list[int]], path: Path) -> Path:
    names = [message("inspection.report_good"), message("inspection.report_defect")]
    figure, axes = plt.subplots(figsize=(4, 3.6))
    counts = np.asarray(confusion)
    axes.imshow(counts, cmap="Blues")
    # White digits on the dark cells, dark digits on the light ones, so every count stays readable.
    middle = (counts.max() + counts.min()) / 2
    for row in range(2):
        for column in range(2):
            colour = "white" if counts[row, column] > middle else "#222222"
            axes.text(column, row, str(confusion[row][column]), ha="center", va="center", fontsize=14, color=colour)
    axes.set_xticks([0, 1], names)
    axes.set_yticks([0, 1], names)
    axes.set_xlabel(message("inspection.report_judged"))
    axes.set_ylabel(message("inspection.report_true"))
    axes.set_title(message("inspection.report_confusion_title"))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _plot_images(images: list[np.ndarray], titles: list[str], path: Path, *, overlays: list[np.ndarray] | None = None,
                 contours: list[np.ndarray | None] | None = None) -> Path:
    count = len(images)
    columns = min(4, count)
    rows = math.ceil(count / columns)
    # Titles hold two lines (file name, then label and score), so each row is taller than its image.
    figure, axes_grid = plt.subplots(rows, columns, figsize=(3 * columns, 3.6 * rows), squeeze=False, layout="constrained")
    for axes in axes_grid.ravel():
        axes.axis("off")
    for index, (image, title) in enumerate(zip(images, titles)):
        axes = axes_grid.ravel()[index]
        axes.imshow(image, cmap="gray", vmin=0, vmax=1)
        if overlays is not None:
            heat = overlays[index]
            span = float(heat.max() - heat.min()) or 1.0
            axes.imshow((heat - heat.min()) / span, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        if contours is not None and contours[index] is not None and contours[index].any():
            axes.contour(contours[index].astype(float), levels=[0.5], colors="lime", linewidths=1)
        axes.set_title(title, fontsize=9)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _plot_curves(history: dict[str, list[float]], path: Path) -> Path:
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    figure, axes = plt.subplots(figsize=(5.5, 3.5))
    axes.plot(epochs, history["train_loss"], label=message("inspection.report_train_loss"))
    axes.plot(epochs, history["validation_loss"], label=message("inspection.report_validation_loss"))
    axes.set_xlabel(message("inspection.report_epoch"))
    axes.set_ylabel(message("inspection.report_loss"))
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _metric_rows(prefix: str, metrics: dict) -> str:
    rows = []
    for key, label_key in [
        ("accuracy", "inspection.report_accuracy"),
        ("balanced_accuracy", "inspection.report_balanced_accuracy"),
        ("recall", "inspection.report_recall"),
        ("miss_rate", "inspection.report_miss_rate"),
        ("false_alarm_rate", "inspection.report_false_alarm_rate"),
        ("roc_auc", "inspection.report_roc_auc"),
        ("set_aside_per_thousand", "inspection.report_set_aside"),
    ]:
        digits = 1 if key == "set_aside_per_thousand" else 3
        value = _number(metrics[key], digits)
        rows.append(f'<tr><th>{html.escape(message(label_key))}</th><td data-metric="{prefix}.{key}">{value}</td></tr>')
    return "\n".join(rows)


def _confusion_table(confusion: list[list[int]]) -> str:
    """Return the test confusion matrix as a labelled table (rows: true class, columns: verdict)."""
    good, defect = message("inspection.report_good"), message("inspection.report_defect")
    corner = message("inspection.report_confusion_corner")
    rows = [f"<tr><th>{html.escape(corner)}</th><th>{html.escape(good)}</th><th>{html.escape(defect)}</th></tr>"]
    for true_index, true_name in enumerate(("good", "defect")):
        cells = "".join(
            f'<td data-metric="test.confusion.{true_name}_judged_{judged_name}">{confusion[true_index][judged_index]}</td>'
            for judged_index, judged_name in enumerate(("good", "defect"))
        )
        rows.append(f"<tr><th>{html.escape(good if true_index == 0 else defect)}</th>{cells}</tr>")
    return '<table class="confusion">\n' + "\n".join(rows) + "\n</table>"


def _without_note_prefix(text: str) -> str:
    """Return a warning without its leading "注意: " (or "Note: "), which the list heading already states."""
    prefix = message("inspection.warning_prefix")
    return text[len(prefix):] if text.startswith(prefix) else text


def _inputs_section(result) -> str:
    """Return the "入力" section: photo folder, photos per class, folders not read, options and date."""
    inputs = result.inputs or {}
    options = inputs.get("options", {})
    none = message("inspection.report_none")
    rows = [(message("inspection.report_input_folder"), inputs.get("folder") or message("inspection.report_input_arrays"), "")]
    for name, label, count in inputs.get("classes", []):
        rows.append((message("inspection.report_input_class", name=name, label=label), str(count), f"input.count.{name}"))
    skipped = inputs.get("skipped_folders") or []
    if skipped:
        rows.append((message("inspection.report_input_skipped"), "、".join(skipped), ""))
    if options:
        mode = options["mode"] if options["mode"] == result.mode else f"{options['mode']} → {result.mode}"
        rate = options.get("line_defect_rate")
        rows += [
            (message("inspection.report_input_mode"), mode, ""),
            (message("inspection.report_input_image_size"), f"{options['image_size']} px", ""),
            (message("inspection.report_input_epochs"), str(options["epochs"]), ""),
            (message("inspection.report_input_max_per_class"), none if options.get("max_per_class") is None else str(options["max_per_class"]), ""),
            (message("inspection.report_input_line_defect"), none if rate is None else f"{100 * rate:g} %", ""),
            (message("inspection.report_input_random_state"), str(options["random_state"]), ""),
        ]
    if inputs.get("trained_at"):
        rows.append((message("inspection.report_input_date"), inputs["trained_at"], ""))
    cells = []
    for label, value, key in rows:
        attribute = f' data-metric="{html.escape(key)}"' if key else ""
        cells.append(f"<tr><th>{html.escape(label)}</th><td{attribute}>{html.escape(value)}</td></tr>")
    return f'<h2>{html.escape(message("inspection.report_input_heading"))}</h2>\n<table class="inputs">\n' + "\n".join(cells) + "\n</table>"


def _programs_section(result, kind_name: str) -> str:
    """Return the table of the programs compared, or one sentence when only one program was trained."""
    if len(result.candidates) < 2:
        return (f'<h2>{html.escape(message("inspection.report_single_program_heading"))}</h2>\n'
                f'<p>{html.escape(message("inspection.report_single_program", kind=kind_name))}</p>')
    candidate_rows = "\n".join(
        f"<tr><td>{html.escape(message(f'inspection.kind_{kind}'))}</td>"
        f'<td data-metric="candidate.{kind}.validation_roc_auc">{_number(info["validation_roc_auc"])}</td>'
        f'<td data-metric="candidate.{kind}.validation_false_alarm_rate">{_number(info["validation_false_alarm_rate"])}</td>'
        f'<td data-metric="candidate.{kind}.training_seconds">{_number(info["training_seconds"], 1)}</td></tr>'
        for kind, info in result.candidates.items()
    )
    return f"""<h2>{html.escape(message("inspection.report_programs_heading"))}</h2>
<table>
<tr><th>{html.escape(message("inspection.report_program"))}</th><th>{html.escape(message("inspection.report_validation_auc"))}</th>
<th>{html.escape(message("inspection.report_validation_false_alarm"))}</th><th>{html.escape(message("inspection.report_training_seconds"))}</th></tr>
{candidate_rows}
</table>
<p>{html.escape(message("inspection.report_kept", kind=kind_name))}</p>"""


def write_report(result, program: FittedProgram, *, images: np.ndarray, labels: np.ndarray, scores: np.ndarray,
                 paths: list, masks: np.ndarray | None = None) -> dict[str, Path]:
    """Write ``report.html`` and its figures into ``result.out_dir`` and return the files by role.

    Parameters
    ----------
    result : InspectionResult
        Measures and files of the training run.
    program : FittedProgram
        The program kept, used for the heat maps and learning curves.
    images, labels, scores, paths : arrays of the test set
        The images the figures show, their labels, scores and file paths.
    masks : ndarray, optional
        Defect masks of the test images, drawn as outlines on the heat maps.
    """
    from kenshu.inspection.training import explain_images

    folder = Path(result.out_dir)
    use_japanese_font()
    threshold = result.threshold.threshold
    files: dict[str, Path] = {"report": folder / "report.html"}
    judged = scores >= threshold

    # Figure 1: confusion matrix of the test set.
    files["confusion_matrix"] = _plot_confusion(result.test.confusion, folder / "confusion_matrix.png")

    # Figure 2: the worst mistakes (furthest on the wrong side of the threshold), or the closest calls.
    wrong = np.flatnonzero(judged != (labels == 1))
    margin = np.abs(scores - threshold)
    if wrong.size:
        shown = wrong[np.argsort(-margin[wrong])][:MAX_MISTAKES]
        mistakes_title = message("inspection.report_mistakes_title")
    else:
        shown = np.argsort(margin)[: min(4, len(scores))]
        mistakes_title = message("inspection.report_closest_title")
    titles = [
        message("inspection.report_image_caption", name=Path(str(paths[i])).name,
                true=message("inspection.report_defect" if labels[i] == 1 else "inspection.report_good"),
                judged=message("inspection.report_defect" if judged[i] else "inspection.report_good"), score=scores[i])
        for i in shown
    ]
    if len(shown):
        files["mistakes"] = _plot_images([images[i] for i in shown], titles, folder / "mistakes.png")

    # Figure 3: where the model looked on defect images.
    defects = np.flatnonzero(labels == 1)[:MAX_HEAT_MAPS]
    if defects.size:
        heat = explain_images(program, images[defects])
        contours = [None if masks is None else masks[i] for i in defects]
        heat_titles = [message("inspection.report_heat_caption", name=Path(str(paths[i])).name, score=scores[i]) for i in defects]
        files["heat_maps"] = _plot_images([images[i] for i in defects], heat_titles, folder / "heat_maps.png", overlays=heat, contours=contours)

    # Figure 4: learning curves of the CNN.
    if program.history.get("train_loss"):
        files["learning_curves"] = _plot_curves(program.history, folder / "learning_curves.png")

    files["report"].write_text(_render(result, program, files, mistakes_title, bool(wrong.size)), encoding="utf-8")
    logger.info("report written to %s", files["report"])
    return files


def _render(result, program: FittedProgram, files: dict[str, Path], mistakes_title: str, has_mistakes: bool) -> str:
    choice = result.threshold
    kind_name = message(f"inspection.kind_{result.kind}")

    def figure(role: str, caption_key: str) -> str:
        if role not in files:
            return ""
        return f'<figure><img src="{files[role].name}" alt="{html.escape(message(caption_key))}"><figcaption>{html.escape(message(caption_key))}</figcaption></figure>'

    heat_caption = "inspection.report_heat_anomaly" if isinstance(program.scorer, PatchNearestNeighbourScorer) else "inspection.report_heat_occlusion"
    warnings_html = ""
    if result.warnings():
        items = "".join(f"<li>{html.escape(_without_note_prefix(text))}</li>" for text in result.warnings())
        warnings_html = f'<h2>{html.escape(message("inspection.report_warnings_heading"))}</h2>\n<ul class="warnings">{items}</ul>'
    if result.load_problems:
        items = "".join(f"<li>{html.escape(text)}</li>" for text in result.load_problems)
        warnings_html += f'\n<h3>{html.escape(message("inspection.report_left_out_heading"))}</h3>\n<ul class="left-out">{items}</ul>'

    summary = message(
        "inspection.report_summary",
        kind=kind_name,
        recall=_number(result.test.recall),
        false_alarm=_number(result.test.false_alarm_rate),
        per_thousand=_number(choice.set_aside_per_thousand, 0),
        false_alarms_per_thousand=_number(choice.false_alarms_per_thousand_good, 0),
        defect_percent=_number(100 * choice.defect_rate, 2),
        rate_source=result.rate_note(),
    )
    threshold_text = message(
        f"inspection.report_threshold_{choice.rule}",
        threshold=f"{choice.threshold:.6g}",
        n_defect=choice.n_defect,
        n_good=choice.n_good,
        misses=choice.misses,
        false_alarms=choice.false_alarms,
    )
    return f"""<!DOCTYPE html>
<html lang="{get_language()}">
<head><meta charset="utf-8"><title>{html.escape(message("inspection.report_title"))}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.6}}table{{border-collapse:collapse}}
th,td{{border:1px solid #bbb;padding:.2em .6em;text-align:left}}td{{text-align:right}}figure{{margin:1em 0}}img{{max-width:100%}}</style>
</head>
<body>
<h1>{html.escape(message("inspection.report_title"))}</h1>
<p>{html.escape(summary)}</p>
{warnings_html}
{_inputs_section(result)}
<h2>{html.escape(message("inspection.report_threshold_heading"))}</h2>
<p>{html.escape(threshold_text)}</p>
<table>
<tr><th>{html.escape(message("inspection.report_threshold"))}</th><td data-metric="threshold">{choice.threshold:.6g}</td></tr>
<tr><th>{html.escape(message("inspection.report_set_aside_line"))}</th><td data-metric="threshold.set_aside_per_thousand">{_number(choice.set_aside_per_thousand, 1)}</td></tr>
<tr><th>{html.escape(message("inspection.report_false_alarms_per_thousand"))}</th><td data-metric="threshold.false_alarms_per_thousand_good">{_number(choice.false_alarms_per_thousand_good, 1)}</td></tr>
</table>
<h2>{html.escape(message("inspection.report_test_heading", n=result.test.n_images, n_good=result.test.n_good, n_defect=result.test.n_defect))}</h2>
<table>
{_metric_rows("test", result.test.to_dict())}
</table>
{figure("confusion_matrix", "inspection.report_confusion_title")}
{_confusion_table(result.test.confusion)}
<h2>{html.escape(message("inspection.report_validation_heading", n=result.validation.n_images))}</h2>
<table>
{_metric_rows("validation", result.validation.to_dict())}
</table>
{_programs_section(result, kind_name)}
{figure("learning_curves", "inspection.report_curves_caption")}
<h2>{html.escape(mistakes_title)}</h2>
{"" if has_mistakes else "<p>" + html.escape(message("inspection.report_no_mistakes")) + "</p>"}
{figure("mistakes", "inspection.report_mistakes_caption")}
<h2>{html.escape(message("inspection.report_heat_heading"))}</h2>
{figure("heat_maps", heat_caption) or "<p>" + html.escape(message("inspection.report_no_heat_maps")) + "</p>"}
<h2>{html.escape(message("inspection.report_export_heading"))}</h2>
<table>
<tr><th>{html.escape(message("inspection.report_model_file"))}</th><td>{html.escape(result.model_path.name)}</td></tr>
<tr><th>{html.escape(message("inspection.report_model_size"))}</th><td data-metric="model_size_kb">{result.model_size_bytes / 1024:.1f}</td></tr>
<tr><th>{html.escape(message("inspection.report_time_per_image"))}</th><td data-metric="milliseconds_per_image">{result.seconds_per_image * 1000:.2f}</td></tr>
</table>
<p>{html.escape(message("inspection.report_export_note"))}</p>
</body>
</html>
"""
