"""Q&A over the community's knowledge base, with or without an LLM."""

from bot.services.qa.kb import KnowledgeBase
from bot.services.qa.service import QAService

__all__ = ["KnowledgeBase", "QAService"]
