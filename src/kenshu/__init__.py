"""kenshu: a Jupyter course kit for made-to-order AI/IoT training of factory engineers."""

__version__ = "0.1.0"
