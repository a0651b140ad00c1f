"""Errors the plan engine raises for bad input.

Both carry a message that names the offending field (and, for policy files, the line), so the
command line can print one clear sentence instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class PlanError(ValueError):
    """A case (account + hardship statement) that cannot be planned as given."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


@dataclass(frozen=True)
class Problem:
    """One problem found in a policy file: where it is and what is wrong."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class PolicyError(ValueError):
    """A policy file that is malformed, contradicts itself or tries to switch off a guard."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
