"""Portfolio reviews: members ask for a review of a project, reviewers answer with a rubric.

No Discord here: the cog turns interactions into these calls and the results into posts.
"""

from __future__ import annotations

from bot.services.portfolio.base import PortfolioRules
from bot.services.portfolio.insights import Insights
from bot.services.portfolio.lifecycle import Lifecycle
from bot.services.portfolio.notices import Notices
from bot.services.portfolio.privacy import MemberData
from bot.services.portfolio.upkeep import Upkeep


class PortfolioService(Lifecycle, Insights, Upkeep, Notices, MemberData):
    """Requests, their state machine, the queue, statistics, scheduled upkeep, the notices
    its changes owe, and privacy."""


__all__ = ["PortfolioRules", "PortfolioService"]
