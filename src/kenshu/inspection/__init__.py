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

from kenshu.inspection.evaluation import InspectionMetrics, anomaly_heat_map, evaluate_scores, occlusion_map
from kenshu.inspection.export import LoadedInspector, Verdict, export_model, load_exported, predict, write_verdicts_csv
from kenshu.inspection.fitting import FittedProgram, augment, combine_programs, fit_anomaly_detector, fit_cnn, fit_feature_baseline, score_images
from kenshu.inspection.models import InspectionModel, SmallCNN
from kenshu.inspection.tabular import TabularProgram, fit_tabular_classifier
from kenshu.inspection.threshold import ThresholdChoice, choose_threshold
from kenshu.inspection.training import InspectionResult, explain_images, train_inspector

__all__ = [
    "FittedProgram",
    "InspectionMetrics",
    "InspectionModel",
    "InspectionResult",
    "LoadedInspector",
    "SmallCNN",
    "TabularProgram",
    "ThresholdChoice",
    "Verdict",
    "anomaly_heat_map",
    "augment",
    "choose_threshold",
    "combine_programs",
    "evaluate_scores",
    "explain_images",
    "export_model",
    "fit_anomaly_detector",
    "fit_cnn",
    "fit_feature_baseline",
    "fit_tabular_classifier",
    "load_exported",
    "occlusion_map",
    "predict",
    "score_images",
    "train_inspector",
    "write_verdicts_csv",
]
