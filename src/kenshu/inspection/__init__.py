"""Image inspection for the shop floor: 良品/不良品 classification and 異常検知 from good parts only.

The same functions serve ``kenshu inspect`` and the course notebooks:

- :func:`train_inspector`: from a folder of photos to a trained, measured,
  explained and exported model (``model.pt`` as TorchScript, ``report.html``).
- :func:`choose_threshold`: the score threshold for the line (by default the
  fewest false alarms that miss no validation defect).
- :func:`load_exported`, :func:`predict`: judge new photos with ``model.pt``.
- :func:`fit_feature_baseline`, :func:`fit_cnn`, :func:`combine_programs`,
  :func:`fit_anomaly_detector`, :func:`score_images`, :func:`evaluate_scores`:
  the steps one by one.
- :func:`fit_tabular_classifier`: the same question asked of process data in
  a table (gradient boosting, or a logistic regression as the baseline).
"""

from typing import TYPE_CHECKING

from kenshu.lazy import lazy_exports

# Names are imported on first use, so `kenshu --help` does not load torch or scikit-learn.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "evaluation": ["InspectionMetrics", "anomaly_heat_map", "evaluate_scores", "occlusion_map"],
        "export": ["LoadedInspector", "Verdict", "export_model", "load_exported", "predict", "write_verdicts_csv"],
        "fitting": ["FittedProgram", "augment", "combine_programs", "fit_anomaly_detector", "fit_cnn", "fit_feature_baseline", "score_images"],
        "models": ["InspectionModel", "SmallCNN"],
        "tabular": ["TabularProgram", "fit_tabular_classifier"],
        "threshold": ["ThresholdChoice", "choose_threshold"],
        "training": ["InspectionResult", "explain_images", "train_inspector"],
    },
)

if TYPE_CHECKING:
    from kenshu.inspection.evaluation import InspectionMetrics, anomaly_heat_map, evaluate_scores, occlusion_map
    from kenshu.inspection.export import LoadedInspector, Verdict, export_model, load_exported, predict, write_verdicts_csv
    from kenshu.inspection.fitting import FittedProgram, augment, combine_programs, fit_anomaly_detector, fit_cnn, fit_feature_baseline, score_images
    from kenshu.inspection.models import InspectionModel, SmallCNN
    from kenshu.inspection.tabular import TabularProgram, fit_tabular_classifier
    from kenshu.inspection.threshold import ThresholdChoice, choose_threshold
    from kenshu.inspection.training import InspectionResult, explain_images, train_inspector
