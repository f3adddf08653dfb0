"""Roadmap check-ins and accountability streaks (issue 4)."""

from bot.services.roadmap.service import RoadmapService

__all__ = ["RoadmapService"]
