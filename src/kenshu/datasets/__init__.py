"""Data for the courses: generators of factory-like data and importers of a company's own.

Named as scikit-learn names its dataset functions: ``make_*`` generates data
reproducibly from ``random_state``, ``load_*`` reads files.

Images
    :func:`make_press_parts`, :func:`save_image_folder`,
    :func:`load_image_folder`, :func:`read_image`, :func:`resize_image`,
    :func:`train_validation_test_split`,
    :func:`write_dataset_card`.
Sensor and process data
    :func:`make_process_log`, :func:`make_bearing_vibration`,
    :func:`bearing_fault_frequencies`, :func:`load_sensor_csv`.
"""

from typing import TYPE_CHECKING

from kenshu.lazy import lazy_exports

# Names are imported on first use, so `kenshu --help` does not load torch or scikit-learn.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "cards": ["write_dataset_card"],
        "image_folder": ["ImageProblem", "decide_good_class", "is_good_class_name", "load_image_folder", "read_image", "resize_image"],
        "press_parts": ["DEFECT_KINDS", "make_press_parts", "save_image_folder"],
        "process_log": ["make_process_log"],
        "sensor_csv": ["RowProblem", "load_sensor_csv"],
        "split": ["train_validation_test_split"],
        "vibration": ["bearing_fault_frequencies", "make_bearing_vibration"],
    },
)

if TYPE_CHECKING:
    from kenshu.datasets.cards import write_dataset_card
    from kenshu.datasets.image_folder import ImageProblem, decide_good_class, is_good_class_name, load_image_folder, read_image, resize_image
    from kenshu.datasets.press_parts import DEFECT_KINDS, make_press_parts, save_image_folder
    from kenshu.datasets.process_log import make_process_log
    from kenshu.datasets.sensor_csv import RowProblem, load_sensor_csv
    from kenshu.datasets.split import train_validation_test_split
    from kenshu.datasets.vibration import bearing_fault_frequencies, make_bearing_vibration
