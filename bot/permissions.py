"""What the bot asks for when it is invited: scopes and the exact permissions."""

from __future__ import annotations

import base64
import binascii

import discord

SCOPES = ("bot", "applications.commands")

REQUIRED_PERMISSIONS: dict[str, str] = {
    "view_channel": "see the channels you configure",
    "send_messages": "post challenges, digests, review requests and reminders",
    "send_messages_in_threads": "answer in challenge, review and Q&A threads",
    "create_public_threads": "open a discussion thread under each post",
    "manage_threads": "archive review and challenge threads when they close",
    "embed_links": "show embeds",
    "attach_files": "attach heatmaps, charts and exports",
    "read_message_history": "edit its own posts (live counts, review states)",
    "manage_roles": "give and take the optional phase and streak roles",
}


def required_permissions() -> discord.Permissions:
    return discord.Permissions(**dict.fromkeys(REQUIRED_PERMISSIONS, True))


def application_id_from_token(token: str) -> int | None:
    """A bot token starts with the bot's user id in base64, which is the application id."""
    first = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), validate=False).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return int(decoded) if decoded.isdigit() else None


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(
        application_id, permissions=required_permissions(), scopes=SCOPES
    )
