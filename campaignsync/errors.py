"""The one error tree of campaignsync; `cli` turns each branch into a message and exit code.

CampaignsyncError                 exit 1 unless stated
├── ConfigError                   a bad setting, flag or campaignsync.yaml
├── ValidationFailed              campaign files broken; carries every Problem found
├── PlanError                     the desired change cannot be planned (create-only edit)
├── StateError                    the state file is unreadable, foreign or inconsistent
│   └── StateConflict             the stored state moved since it was read (lost a race)
├── LockHeld                      exit 3: another process holds the state lock
├── StalePlan                     exit 3: state moved since the saved plan was made
└── ApiError                      the Ontora API refused or failed a request
    └── NotSent                   a request never sent: its body cannot be JSON
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a file, located as precisely as the input allows."""

    path: str
    line: int | None
    column: int | None
    message: str

    def location(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"


class CampaignsyncError(Exception):
    """Base of every error campaignsync reports to the user as a message, not a traceback."""

    exit_code = 1


class ConfigError(CampaignsyncError):
    """A setting is missing, malformed or unsafe."""


class ValidationFailed(CampaignsyncError):
    """One or more campaign files are invalid; every problem is collected before raising."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_problem_order)
        super().__init__(f"{len(self.problems)} problem(s) in campaign files")


def _problem_order(problem: Problem) -> tuple[str, int, int]:
    return (problem.path, problem.line or 0, problem.column or 0)


class PlanError(CampaignsyncError):
    """The files ask for a change campaignsync cannot make."""


class StateError(CampaignsyncError):
    """The state file cannot be used as it is."""


class StateConflict(StateError):
    """A write was refused: the stored serial is no longer the one read, or the lock was lost."""


class LockHeld(CampaignsyncError):
    """Another process holds the state lock."""

    exit_code = 3


class StalePlan(CampaignsyncError):
    """A saved plan no longer matches the state it was made against."""

    exit_code = 3


class ApiError(CampaignsyncError):
    """The Ontora API answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: object = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail


class NotSent(ApiError):
    """A request that was never sent, so it surely took no effect: its body holds what
    JSON cannot carry (a number that is not finite, from a saved plan edited by hand)."""


class Cancelled(CampaignsyncError):
    """A request given up because the run was asked to stop (Ctrl-C, SIGTERM).

    `may_have_taken_effect` says whether an attempt went unanswered or failed on the
    server's side (a 5xx); one only ever answered 429 was never taken up.
    """

    exit_code = 130

    def __init__(self, message: str, *, may_have_taken_effect: bool) -> None:
        super().__init__(message)
        self.may_have_taken_effect = may_have_taken_effect
