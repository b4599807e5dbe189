"""Progress bars for long steps: a widget in a notebook, otherwise a bar on standard error.

By default a bar is shown in a notebook and when standard error is a
terminal, and hidden when it goes to a file or a pipe, where every redraw
would become a line of the log. ``KENSHU_PROGRESS=1`` shows them always and
``KENSHU_PROGRESS=0`` never.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled() -> bool:
    """Return whether progress bars are shown: ``KENSHU_PROGRESS`` if set, else in a notebook or a terminal."""
    setting = os.environ.get("KENSHU_PROGRESS")
    if setting is not None:
        return setting != "0"
    return _in_jupyter_kernel() or sys.stderr.isatty()


def _in_jupyter_kernel() -> bool:
    """Return whether this code runs in a Jupyter kernel, where tqdm.auto draws a widget."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and "IPKernelApp" in shell.config


def progress(iterable: Iterable[T], *, description: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate over *iterable* while showing a progress bar labelled *description*."""
    yield from tqdm(
        iterable,
        desc=description,
        total=total,
        unit=unit,
        disable=not progress_enabled(),
        dynamic_ncols=True,
        leave=True,
    )


def progress_bar(*, description: str, total: int | None, unit: str = "it") -> tqdm:
    """Return a progress bar to update by hand, to be used as a context manager."""
    return tqdm(desc=description, total=total, unit=unit, disable=not progress_enabled(), dynamic_ncols=True)
