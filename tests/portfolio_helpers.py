"""Builders shared by the portfolio tests."""

from __future__ import annotations

from typing import Any

from bot.services.portfolio import PortfolioService
from bot.services.portfolio.drafts import (
    ResubmitDraft,
    ReviewDraft,
    request_draft,
    resubmit_draft,
    review_draft,
)
from bot.services.portfolio.models import Actor, PostLocation, Request

GUILD = 1000
OWNER = 11
RITA = 21  # a reviewer
REX = 22  # another reviewer
MOD = 31  # a moderator
STRANGER = 41  # a plain member

REVIEWER = {RITA: Actor(RITA, is_reviewer=True), REX: Actor(REX, is_reviewer=True)}
MODERATOR = Actor(MOD, is_reviewer=True, is_moderator=True)


def reviewer(user_id: int) -> Actor:
    return Actor(user_id, is_reviewer=True)


async def submit(
    svc: PortfolioService,
    owner: int = OWNER,
    *,
    guild: int = GUILD,
    title: str = "Docs assistant",
    archetype: str = "rag_app",
    posted: bool = True,
) -> Request:
    draft = request_draft(
        svc.rubric,
        archetype=archetype,
        title=title,
        repo_url="https://github.com/someone/docs-assistant",
        demo_url="https://youtu.be/abc123",
        description="Answers questions about our team handbook with citations to the pages.",
        feedback_wanted="Is the retrieval evaluation convincing?",
        self_check="complete",
    )
    request = await svc.submit(guild, owner, draft)
    if posted:
        request = await svc.attach_post(
            guild, request.id, PostLocation(500, 600 + request.id, 700 + request.id, 800)
        )
    return request


def a_review(svc: PortfolioService, scores: str = "4 3 5 2 4") -> ReviewDraft:
    return review_draft(
        svc.rubric,
        scores=scores,
        strengths="Clear problem statement and a tidy retrieval module.",
        improvements="Add an evaluation set and deploy it somewhere public.",
    )


def a_resubmission(
    note: str = "Added an evaluation set and deployed to Fly.io.",
) -> ResubmitDraft:
    return resubmit_draft(
        repo_url="https://github.com/someone/docs-assistant",
        demo_url="https://docs-assistant.fly.dev",
        description="Answers questions about our team handbook, now with an evaluation set.",
        change_note=note,
        feedback_wanted="Is the deployment production-ready?",
        self_check="skipped",
    )


async def reviewed(svc: PortfolioService, owner: int = OWNER, **kwargs: Any) -> Request:
    request = await submit(svc, owner, **kwargs)
    await svc.claim(request.guild_id, request.id, reviewer(RITA))
    outcome = await svc.submit_review(request.guild_id, request.id, reviewer(RITA), a_review(svc))
    return outcome.request
