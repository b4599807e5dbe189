"""Exceptions whose text comes from the message catalog."""

from __future__ import annotations

from kenshu.i18n import message


class KenshuError(Exception):
    """An error a user can act on, with the catalog message *key* and its *fields* as text.

    The command line prints it without a traceback and exits with status 2.
    """

    def __init__(self, key: str, /, **fields: object) -> None:
        self.key = key
        self.fields = fields
        super().__init__(key)

    def __str__(self) -> str:
        return message(self.key, **self.fields)


class CollectedErrors(KenshuError):
    """Several problems found in one input, reported together (for example a course spec)."""

    def __init__(self, key: str, problems: list[str], /, **fields: object) -> None:
        super().__init__(key, count=len(problems), **fields)
        self.problems = problems

    def __str__(self) -> str:
        lines = [message(self.key, **self.fields)]
        lines.extend(f"  - {problem}" for problem in self.problems)
        return "\n".join(lines)
