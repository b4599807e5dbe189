"""Training modes of ``train_inspector``, in a module light enough for the command line to import."""

MODES = ("auto", "supervised", "anomaly")
# With fewer defect photos than this, ``mode="auto"`` trains on good parts only.
MIN_DEFECT_IMAGES = 20
