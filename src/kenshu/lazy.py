"""Lazy re-exports for package ``__init__`` modules (PEP 562).

``kenshu <area> --help`` imports every area's command-line module, and with
it the area's package. A package that imported its submodules eagerly would
pull in torch or scikit-learn (about a second each here) before the command
even parsed its arguments. A package built with :func:`lazy_exports` imports
a submodule only when one of its names is first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, list[str]]) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """Return ``__getattr__``, ``__dir__`` and ``__all__`` for *package*.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict of str to list of str
        Submodule (relative to *package*) to the public names it defines.
    """
    owner = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> object:
        module = owner.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted(owner)

    return __getattr__, __dir__, sorted(owner)
