"""What a member saw after an interaction, read from the simulator's records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.state import SimInteraction, SimMessage, SimState


class UnansweredInteraction(AssertionError):
    """The bot never answered: Discord would show "The application did not respond"."""


@dataclass
class Reply:
    """What the member saw after an interaction: a message, a modal, choices, or nothing."""

    interaction: SimInteraction
    message: SimMessage | None
    followups: list[SimMessage] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None

    @property
    def content(self) -> str | None:
        return self.message.content if self.message else None

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.message.embeds if self.message else []

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.message.components if self.message else []

    @property
    def files(self) -> list[tuple[str, bytes]]:
        return self.message.files if self.message else []

    @property
    def ephemeral(self) -> bool:
        return bool(self.message and self.message.ephemeral)

    @property
    def deferred(self) -> bool:
        return self.interaction.deferred

    @property
    def text(self) -> str:
        """Content, embed titles, descriptions and fields in one string, for assertions."""
        parts = [self.content or ""]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            for item in embed.get("fields") or []:
                parts += [item.get("name") or "", item.get("value") or ""]
            parts.append((embed.get("footer") or {}).get("text") or "")
        return "\n".join(p for p in parts if p)


def reply_for(state: SimState, interaction: SimInteraction) -> Reply:
    """The answer as the member sees it now: the response message, or the first follow-up
    when the response only acknowledged a button (deferred update) or was deleted."""
    followups = [state.messages[i] for i in interaction.followup_ids]
    followups = [m for m in followups if not m.deleted]
    message = state.messages.get(interaction.original_id or 0)
    if message is not None and message.deleted:
        message = None
    if followups and (interaction.response_type == 6 or message is None):
        message = followups[0]
    return Reply(
        interaction, message, followups, modal=interaction.modal, choices=interaction.choices
    )
