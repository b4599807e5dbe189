"""The project's own files agree on what to install and what the catalog holds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from ruamel.yaml import YAML

from kenshu.i18n import SUPPORTED_LANGUAGES, load_catalog

REPO = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    return {Requirement(text).name.lower(): str(Requirement(text).specifier) for text in requirements}


def _conda_requirements() -> dict[str, str]:
    environment = YAML(typ="safe").load((REPO / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    requirements = [Requirement(text) for text in pip_section if not text.startswith("-e")]
    return {requirement.name.lower(): str(requirement.specifier) for requirement in requirements}


def test_environment_matches_pyproject() -> None:
    assert _conda_requirements() == _pyproject_requirements()


def test_torch_pinned_to_local_build() -> None:
    assert _pyproject_requirements()["torch"] == "==2.13.0"


def test_catalog_has_every_language() -> None:
    catalog = load_catalog()
    assert len(catalog) > 50
    for key, texts in catalog.items():
        for language in SUPPORTED_LANGUAGES:
            assert texts[language].strip(), f"{key} has an empty {language} text"


def test_catalog_fields_agree_between_languages() -> None:
    field = re.compile(r"{(\w+)}")
    for key, texts in load_catalog().items():
        assert set(field.findall(texts["ja"])) == set(field.findall(texts["en"])), key


def test_help_imports_no_heavy_library() -> None:
    """``kenshu --help`` parses its arguments without loading torch, scikit-learn or nbgrader."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from kenshu.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(name for name in ('torch', 'sklearn', 'nbgrader', 'matplotlib') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
