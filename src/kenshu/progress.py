"""Progress bars for long steps, on standard error.

Set ``KENSHU_PROGRESS=0`` to hide them (for example in logs that keep every
carriage return).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled() -> bool:
    """Return whether progress bars are shown."""
    return os.environ.get("KENSHU_PROGRESS", "1") != "0"


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
