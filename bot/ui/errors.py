"""One place that turns any error of an interaction into a short, honest reply."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.errors import DomainError
from bot.ui.replies import reply

log = logging.getLogger(__name__)


class NotModerator(app_commands.CheckFailure):
    """Raised by the moderator check; its text is shown as it is."""


class NotReviewer(app_commands.CheckFailure):
    """Raised by the reviewer check; its text is shown as it is."""


def new_ref() -> str:
    return secrets.token_hex(3).upper()


def domain_text(error: DomainError) -> str:
    """A domain error's message, the members it names mentioned (they are not pinged:
    replies allow no mentions)."""
    if not error.members:
        return error.message
    return error.message.format(*(f"<@{member}>" for member in error.members))


def describe(error: Exception) -> str | None:
    """The member-facing sentence for an expected error, or None for a bug."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        inner = error.__cause__ or getattr(error, "original", None)
        if isinstance(error, app_commands.TransformerError) and not isinstance(inner, DomainError):
            return f"'{str(error.value)[:50]}' is not a valid {error.type.name.lower()} here."
        if inner is not None and inner is not error:
            return describe(inner)
        return None
    if isinstance(error, DomainError):
        return domain_text(error)
    if isinstance(error, NotModerator | NotReviewer):
        return str(error)
    if isinstance(error, app_commands.MissingPermissions):
        names = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"You need the {names} permission to use this."
    if isinstance(error, app_commands.BotMissingPermissions):
        names = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"I am missing the {names} permission here; ask a server admin to grant it."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: you can use this again in {error.retry_after:.0f} seconds."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This only works inside a server, not in direct messages."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this here."
    if isinstance(error, discord.Forbidden):
        return "Discord refused that: I am missing a permission in this channel or server."
    return None


def explain(interaction: discord.Interaction, error: Exception) -> str:
    """The member-facing sentence for `error`: its reason, or a reference for a bug (logged
    with the traceback under that reference).

    The outcome ("refused" or "error") and the reference are left in `interaction.extras`
    for the tree's one log line per command, so the member's ref matches that line.
    """
    message = describe(error)
    interaction.extras["outcome"] = "refused" if message is not None else "error"
    if message is not None:
        # The kind of refusal only: its message may quote what the member typed.
        log.debug("Refused %s (%s)", interaction.id, type(error).__name__)
        return message
    ref = interaction.extras.setdefault("ref", new_ref())
    name = interaction.command.qualified_name if interaction.command else interaction.type.name
    log.error(
        "Unexpected error (ref %s) in %s by user %s in guild %s",
        ref,
        name,
        interaction.user.id,
        interaction.guild_id,
        exc_info=error,
    )
    return f"Something went wrong (ref {ref}). The moderators can find it in the logs."


async def report_error(interaction: discord.Interaction, error: Exception) -> None:
    """Reply ephemerally: the reason for an expected error, a reference for a bug."""
    message = explain(interaction, error)
    try:
        await reply(interaction, message)
    except discord.HTTPException:
        log.warning("Could not tell user %s about an error", interaction.user.id, exc_info=True)
