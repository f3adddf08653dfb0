"""Why a transition is not allowed, in a sentence for the member who tried it.

Transitions are conditional UPDATEs; when one changes nothing, the request is read again
and these functions explain what stood in the way (including a race just lost).
"""

from __future__ import annotations

from bot.errors import DomainError, PermissionDenied
from bot.services.portfolio.models import Actor, Request, Status

CLOSED_BECAUSE = {
    Status.REVIEWED: "it has already been reviewed",
    Status.WITHDRAWN: "its owner withdrew it",
    Status.EXPIRED: "it expired without a review",
}


def refuse_claim(request: Request, actor: Actor) -> DomainError:
    n = request.id
    if request.owner_id == actor.user_id:
        return PermissionDenied(
            f"You can't claim your own project (request #{n}); another reviewer will pick it up."
        )
    if request.status is Status.CLAIMED:
        if request.reviewer_id == actor.user_id:
            return DomainError(f"You have already claimed request #{n}.")
        return DomainError(f"Another reviewer claimed request #{n} just before you.")
    return _closed(request, "claimed")


def refuse_unclaim(request: Request, actor: Actor) -> DomainError:
    n = request.id
    if request.status is Status.OPEN:
        return DomainError(f"Nobody has claimed request #{n}, so there is nothing to unclaim.")
    if request.status is Status.CLAIMED:
        return PermissionDenied(
            f"Only the reviewer who claimed request #{n}, or a moderator, can unclaim it."
        )
    return _closed(request, "unclaimed")


def refuse_review(request: Request, actor: Actor) -> DomainError:
    n = request.id
    if request.status is Status.OPEN:
        return DomainError(f"Claim request #{n} first; then you can submit its review.")
    if request.status is Status.CLAIMED:
        return PermissionDenied(
            f"Request #{n} is claimed by another reviewer; only they can submit its review."
        )
    if request.status is Status.WITHDRAWN:
        return DomainError(
            f"Request #{n} was withdrawn by its owner, so it can't be reviewed any more. "
            "Your text was not saved anywhere; copy it if you want to keep it."
        )
    return _closed(request, "reviewed")


def refuse_withdraw(request: Request, actor: Actor) -> DomainError:
    n = request.id
    if request.owner_id != actor.user_id:
        return PermissionDenied(f"Only the member who asked for request #{n} can withdraw it.")
    return _closed(request, "withdrawn")


def refuse_rate(request: Request, actor: Actor, helpful: int | None) -> DomainError:
    n = request.id
    if request.owner_id != actor.user_id:
        return PermissionDenied(f"Only the owner of request #{n} can rate its review.")
    if request.status is not Status.REVIEWED:
        return DomainError(f"Request #{n} has no review to rate.")
    if helpful is not None:
        return DomainError(f"You already rated the review of request #{n} ({helpful}/5).")
    return DomainError(f"The review of request #{n} can't be rated right now.")


def refuse_transfer(request: Request, to_user_id: int) -> DomainError:
    n = request.id
    if request.owner_id == to_user_id:
        return DomainError(f"Request #{n} can't go to its own owner; pick another reviewer.")
    if request.status is Status.OPEN:
        return DomainError(
            f"Request #{n} isn't claimed: any reviewer can claim it from the post or the queue."
        )
    if request.status is Status.CLAIMED and request.reviewer_id == to_user_id:
        return DomainError(f"That reviewer already holds request #{n}.")
    return _closed(request, "transferred")


def refuse_resubmit(request: Request, actor: Actor, *, newer_round: int | None) -> DomainError:
    n = request.id
    if request.owner_id != actor.user_id:
        return PermissionDenied(f"Only the owner of request #{n} can resubmit it.")
    if newer_round is not None:
        return DomainError(
            f"Round {newer_round} of this project already exists; resubmit from its latest "
            "reviewed round, once nothing is waiting for a review."
        )
    if request.status is not Status.REVIEWED:
        return DomainError(
            f"Only a reviewed request can be resubmitted; request #{n} is {request.status}."
        )
    return DomainError(f"Request #{n} can't be resubmitted right now.")


def _closed(request: Request, verb: str) -> DomainError:
    reason = CLOSED_BECAUSE.get(request.status, f"it is {request.status}")
    return DomainError(f"Request #{request.id} can't be {verb}: {reason}.")
