"""Where the kit's content folders are.

The content folders (courses/, notebooks/, hardware_labs/, kpi_reports/ …) sit
at the top of a kenshu checkout, beside src/. ``KENSHU_HOME`` points at
another checkout or a copy of those folders.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """Return the folder holding notebooks/ and courses/.

    ``KENSHU_HOME`` wins; then the checkout this package was installed from
    in editable mode; then the current directory.
    """
    if os.environ.get("KENSHU_HOME"):
        return Path(os.environ["KENSHU_HOME"]).resolve()

    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "notebooks").is_dir() and (checkout / "courses").is_dir():
        return checkout

    return Path.cwd().resolve()


def build_dir(course_dir: Path) -> Path:
    """Return the git-ignored folder with everything generated for one course."""
    return course_dir / "_build"
