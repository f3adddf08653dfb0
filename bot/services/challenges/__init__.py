"""Daily and weekly challenges: the bank, posts, answers, submissions and points."""

from bot.services.challenges.bank import describe_bank, load_shipped
from bot.services.challenges.service import ChallengeService

__all__ = ["ChallengeService", "describe_bank", "load_shipped"]
