"""Exceptions that carry a message fit to show a member or an operator."""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken; `message` is shown to the member as it is.

    A refusal that names other members gives their ids in `members` and marks where each
    goes with `{}` in `message`: services return ids, and the Discord side turns them into
    mentions (`bot.ui.errors.describe`).
    """

    def __init__(self, message: str, *, members: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.members = members


class NotFound(DomainError):
    """The thing the member asked about does not exist (in this server)."""


class PermissionDenied(DomainError):
    """The member may not do this."""


class RateLimited(DomainError):
    """The member must wait; `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StartupError(Exception):
    """The bot cannot start; the message tells the operator what to fix."""
